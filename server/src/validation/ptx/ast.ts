// The shape of a parsed PTX module. Spans are UTF-16 offsets into the source text.
import type { Token } from './lexer';

export interface Span {
  start: number;
  end: number;
}

export interface ParseProblem extends Span {
  message: string;
  severity: 'error' | 'warning' | 'information';
  code: string;
}

export interface DeclaredName {
  name: string;
  span: Span;
  /** `%r<5>` declares `%r0`..`%r4`: count 5. Absent for a plain name. */
  count?: number;
}

export interface Declaration {
  kind: 'declaration';
  /** `.reg`, `.shared`, `.param`, ...; absent when the declaration has none (a malformed one). */
  stateSpace: string | undefined;
  /** Every directive of the declaration, in order (`.align`, `.v4`, `.b32`, ...). */
  directives: Token[];
  names: DeclaredName[];
  span: Span;
}

export interface Operand {
  /** The operand's tokens (an address `[a+8]` or a vector `{a, b}` is one operand). */
  tokens: Token[];
  span: Span;
}

export interface Instruction {
  kind: 'instruction';
  guard?: { register: Token; negated: boolean };
  mnemonic: Token;
  operands: Operand[];
  span: Span;
}

export interface Label {
  kind: 'label';
  name: string;
  span: Span;
}

/** `.branchtargets` / `.calltargets` lists, whose entries are labels or functions. */
export interface TargetList {
  kind: 'targets';
  directive: Token;
  entries: Token[];
}

/** A `{ ... }` body or nested block. Its statements are streamed to a visitor, not kept. */
export interface Block {
  open: Span;
  /** Absent when the file ended first. */
  close?: Span;
}

/**
 * Receives the statements as the parser meets them, in source order. The parser keeps only
 * module-level structure, so a 10 MB module is checked in one pass without holding its tokens.
 */
export interface PtxVisitor {
  /** `depth` 0 is module scope; 1 is a function body; more is a nested block. */
  declaration(declaration: Declaration, depth: number): void;
  /** A function's header, before its body (or for a prototype, alone). */
  functionStart(fn: PtxFunction): void;
  blockOpen(open: Span): void;
  blockClose(): void;
  label(label: Label, inFunction: boolean): void;
  instruction(instruction: Instruction): void;
  targets(list: TargetList): void;
  functionEnd(fn: PtxFunction): void;
}

export interface PtxFunction {
  kind: 'entry' | 'func';
  name: string;
  nameSpan: Span;
  params: Declaration[];
  returns: Declaration[];
  body?: Block;
  span: Span;
}

export interface PtxModule {
  version?: { text: string; value?: number; directive: Token; valueSpan: Span };
  target?: { directive: Token; words: Token[] };
  addressSize?: { directive: Token; value?: Token };
  /** The first statement's first token: `.version` must be it. */
  firstStatement?: Token;
  /** Every `.version`/`.target` after the first, and what came between. */
  repeatedDirectives: Token[];
  /** Tokens of statements that came between `.version` and `.target`. */
  statementsBeforeTarget: Token[];
  functions: PtxFunction[];
  declarations: Declaration[];
  /** Labels outside functions (in debug `.section`s). */
  moduleLabels: Label[];
  problems: ParseProblem[];
  /** `#define` and friends can introduce names we cannot see; identifier checks are then off. */
  usesPreprocessor: boolean;
}
