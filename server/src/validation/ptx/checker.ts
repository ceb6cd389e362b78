// Semantic checks over PTX as the parser streams it: .version/.target consistency, instruction
// names and operand counts, registers used outside their declarations, undefined and duplicate
// labels, undefined identifiers. Like ptxas, registers and variables must be declared before use;
// labels may be used before they are defined.
import type {
  Declaration,
  DeclaredName,
  Instruction,
  Label,
  ParseProblem,
  PtxFunction,
  PtxModule,
  PtxVisitor,
  Span,
  TargetList,
} from './ast';
import {
  baseMnemonic,
  expectedOperandCounts,
  isSpecialRegister,
  PREDEFINED_IDENTIFIERS,
  PTX_MNEMONICS,
  REGISTER_TYPES,
  suggestMnemonic,
} from './instructions';
import type { Token } from './lexer';
import { TARGET_OPTIONS, formatVersion, minimumPtxVersion, parseArch, type ParsedArch } from './targets';

interface Scope {
  /** Plain names: registers declared one by one, variables, parameters. */
  names: Map<string, DeclaredName>;
  /** Register ranges by prefix: `%r` → the `%r<13>` declaration. */
  ranges: Map<string, DeclaredName>;
}

const newScope = (): Scope => ({ names: new Map(), ranges: new Map() });

export interface CheckContext {
  /** Line (0-based) of an offset, for messages that point elsewhere ("first defined on line N"). */
  lineOf(offset: number): number;
}

interface PendingName {
  token: Token;
  span: Span;
  name: string;
  /** A `bra` target or a `.branchtargets` entry must be a label of the function. */
  label: boolean;
  /** Set when the name is a register range's prefix with an index outside it. */
  outsideRange?: string;
}

/** The checker; pass it to `parsePtx` as the visitor, then call `finish(module)`. */
export class PtxChecker implements PtxVisitor {
  private readonly problems: ParseProblem[] = [];
  private readonly moduleScope = newScope();
  /** Every module-level name seen so far: functions, variables, section labels. */
  private readonly moduleNames = new Map<string, Span>();
  private scopes: Scope[] = [this.moduleScope];
  private labels = new Map<string, Span>();
  private pendingInFunction: PendingName[] = [];
  /** Names not found in their function, looked up again when the whole module is known. */
  private readonly pendingInModule: PendingName[] = [];
  private inFunction = false;
  private checkIdentifiers = true;

  constructor(private readonly context: CheckContext) {}

  private report(span: Span, message: string, code: string, severity: ParseProblem['severity'] = 'error'): void {
    this.problems.push({ start: span.start, end: span.end, message, code, severity });
  }

  declaration(declaration: Declaration, depth: number): void {
    const scope = depth === 0 ? this.moduleScope : this.scopes[this.scopes.length - 1];
    if (scope) this.declare(declaration, scope);
    if (depth === 0)
      for (const name of declaration.names)
        if (!this.moduleNames.has(name.name)) this.moduleNames.set(name.name, name.span);
  }

  private declare(declaration: Declaration, scope: Scope): void {
    if (declaration.stateSpace === '.reg') this.checkRegisterType(declaration);
    for (const name of declaration.names) {
      const table = name.count !== undefined ? scope.ranges : scope.names;
      const previous = table.get(name.name);
      if (previous) {
        const shown = name.count !== undefined ? `${name.name}<${name.count}>` : name.name;
        this.report(
          name.span,
          `duplicate declaration of ${shown} in this scope (first declared on line ${this.context.lineOf(previous.span.start) + 1})`,
          'duplicate-declaration',
        );
        continue;
      }
      table.set(name.name, name);
    }
  }

  private checkRegisterType(declaration: Declaration): void {
    const type = declaration.directives.find((d) => d.text !== '.reg' && !/^\.v\d+$/.test(d.text));
    if (type === undefined) {
      this.report(
        declaration.directives[0] ?? declaration.span,
        '.reg needs a type, such as .b32, .f32 or .pred',
        'register-type',
      );
    } else if (!REGISTER_TYPES.has(type.text)) {
      this.report(
        type,
        `'${type.text}' is not a register type: use one such as .b32, .u64, .f32, .f16x2 or .pred`,
        'register-type',
      );
    }
  }

  functionStart(fn: PtxFunction): void {
    if (!this.moduleNames.has(fn.name)) this.moduleNames.set(fn.name, fn.nameSpan);
    this.inFunction = true;
    this.labels = new Map();
    this.pendingInFunction = [];
    const params = newScope();
    for (const declaration of [...fn.returns, ...fn.params]) this.declare(declaration, params);
    this.scopes = [this.moduleScope, params];
  }

  blockOpen(): void {
    this.scopes.push(newScope());
  }

  blockClose(): void {
    if (this.scopes.length > 2) this.scopes.pop();
  }

  label(label: Label, inFunction: boolean): void {
    if (!inFunction) {
      if (!this.moduleNames.has(label.name)) this.moduleNames.set(label.name, label.span);
      return;
    }
    const previous = this.labels.get(label.name);
    if (previous)
      this.report(
        label.span,
        `duplicate label ${label.name} (first defined on line ${this.context.lineOf(previous.start) + 1})`,
        'duplicate-label',
      );
    else this.labels.set(label.name, label.span);
  }

  targets(list: TargetList): void {
    for (const entry of list.entries) {
      if (list.directive.text === '.branchtargets')
        this.pendingInFunction.push({ token: entry, span: entry, name: entry.text, label: true });
      else this.checkName(entry);
    }
  }

  instruction(instruction: Instruction): void {
    const base = baseMnemonic(instruction.mnemonic.text);
    const baseSpan = { start: instruction.mnemonic.start, end: instruction.mnemonic.start + base.length };
    if (!PTX_MNEMONICS.has(base)) {
      const suggestion = suggestMnemonic(base);
      this.report(
        baseSpan,
        `unknown instruction '${base}'${suggestion !== undefined ? `: did you mean '${suggestion}'?` : ''}`,
        'unknown-instruction',
      );
      return;
    }
    const counts = expectedOperandCounts(base);
    const count = instruction.operands.length;
    if (counts !== undefined && !counts.includes(count)) {
      const most = counts[counts.length - 1] ?? 0;
      const expected = counts.length === 1 ? `${most}` : `${counts.slice(0, -1).join(', ')} or ${most}`;
      const at = count > most ? (instruction.operands[most]?.span ?? baseSpan) : baseSpan;
      this.report(
        at,
        `'${base}' takes ${expected} operand${most === 1 && counts.length === 1 ? '' : 's'}, found ${count}`,
        'operand-count',
      );
    }
    if (instruction.guard) this.checkName(instruction.guard.register);
    if (base === 'bra') {
      const target = instruction.operands[0];
      const only = target?.tokens.length === 1 ? target.tokens[0] : undefined;
      if (only?.kind === 'word' && !only.text.startsWith('%')) {
        this.pendingInFunction.push({ token: only, span: only, name: only.text, label: true });
        return;
      }
    }
    for (const operand of instruction.operands) {
      for (const token of operand.tokens) if (token.kind === 'word') this.checkName(token);
    }
  }

  functionEnd(): void {
    for (const pending of this.pendingInFunction) {
      if (this.labels.has(pending.name)) continue;
      if (pending.label)
        this.report(
          pending.span,
          `undefined label ${pending.name}: no label of that name in this function`,
          'undefined-label',
        );
      else this.pendingInModule.push(pending);
    }
    this.pendingInFunction = [];
    this.labels = new Map();
    this.scopes = [this.moduleScope];
    this.inFunction = false;
  }

  private lookup(name: string): DeclaredName | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const found = this.scopes[i]?.names.get(name);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * A name's register range, when its name is a range's prefix plus a decimal index: `%r5` in
   * `%r<13>`, and just as well `temp0` in `temp<4>` (PTX allows ranges of names without `%`).
   * Returns whether the index lies inside the range, and the message when it does not.
   */
  private rangeMatch(name: string): { inside: true } | { inside: false; message: string } | undefined {
    let digits = name.length;
    while (digits > 1 && name.charCodeAt(digits - 1) >= 48 && name.charCodeAt(digits - 1) <= 57) digits--;
    if (digits === name.length) return undefined;
    const prefix = name.slice(0, digits);
    const indexText = name.slice(digits);
    const index = Number(indexText);
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const range = this.scopes[i]?.ranges.get(prefix);
      if (!range) continue;
      const count = range.count ?? 0;
      if (index < count && String(index) === indexText) return { inside: true };
      const line = this.context.lineOf(range.span.start) + 1;
      return {
        inside: false,
        message:
          count > 0
            ? `register ${name} is outside its declaration ${prefix}<${count}> on line ${line}, which declares ${prefix}0 to ${prefix}${count - 1}`
            : `register ${name} is not declared: ${prefix}<0> on line ${line} declares none`,
      };
    }
    return undefined;
  }

  private checkName(token: Token): void {
    // `%tid.x`, `%v.x`: the component is not part of the name.
    const dot = token.text.indexOf('.');
    const name = dot > 0 ? token.text.slice(0, dot) : token.text;
    const span = { start: token.start, end: token.start + name.length };
    if (name.charCodeAt(0) === 37 /* % */) {
      if (this.lookup(name) || isSpecialRegister(token.text)) return;
      const range = this.rangeMatch(name);
      if (range?.inside === true) return;
      if (range) {
        this.report(span, range.message, 'register-range');
        return;
      }
      if (this.moduleNames.has(name)) return; // a variable whose name starts with %
      this.report(
        span,
        `undeclared register ${name}: declare it before this use, for example .reg .b32 ${name};`,
        'undeclared-register',
      );
      return;
    }
    if (!this.checkIdentifiers || PREDEFINED_IDENTIFIERS.has(name) || this.moduleNames.has(name) || this.lookup(name))
      return;
    const range = this.rangeMatch(name);
    if (range?.inside === true) return;
    // Perhaps a label defined further down, or a module symbol declared later; a range that
    // misses is said only if it is neither.
    const pending: PendingName = { token, span, name, label: false };
    if (range) pending.outsideRange = range.message;
    if (this.inFunction) this.pendingInFunction.push(pending);
    else this.pendingInModule.push(pending);
  }

  /** The checks that need the whole module; returns every problem, the parser's first. */
  finish(module: PtxModule): ParseProblem[] {
    this.checkIdentifiers = !module.usesPreprocessor;
    if (!module.usesPreprocessor) {
      for (const pending of this.pendingInModule) {
        const later = this.moduleNames.get(pending.name);
        if (later) {
          this.report(
            pending.span,
            `${pending.name} is used before its declaration on line ${this.context.lineOf(later.start) + 1}: declare it first`,
            'used-before-declaration',
          );
        } else if (pending.outsideRange !== undefined) {
          this.report(pending.span, pending.outsideRange, 'register-range');
        } else {
          this.report(
            pending.span,
            `undefined identifier ${pending.name}: no variable, parameter, function or label of that name`,
            'undefined-identifier',
          );
        }
      }
    }
    checkHeader(module, (span, message, code, severity) => this.report(span, message, code, severity));
    return [...module.problems, ...this.problems];
  }
}

type Report = (span: Span, message: string, code: string, severity?: ParseProblem['severity']) => void;

function checkHeader(module: PtxModule, report: Report): void {
  const version = module.version;
  if (!version) {
    report(
      module.firstStatement ?? { start: 0, end: 0 },
      'missing .version: a PTX module must start with a .version directive, such as .version 8.0',
      'version',
    );
  } else if (module.firstStatement !== undefined && module.firstStatement !== version.directive) {
    report(
      version.directive,
      `.version must be the first statement of the module (only comments may come before it); the module starts with '${module.firstStatement.text}'`,
      'version',
    );
  }
  for (const repeated of module.repeatedDirectives)
    report(repeated, `${repeated.text} may appear only once in a module`, 'version');

  const target = module.target;
  if (!target) {
    if (version)
      report(version.directive, 'missing .target: add one right after .version, such as .target sm_80', 'target');
    return;
  }
  const between = module.statementsBeforeTarget[0];
  if (version && between !== undefined)
    report(between, `.target must come directly after .version (found '${between.text}' between them)`, 'target');
  let arches = 0;
  let unknown = 0;
  for (const word of target.words) {
    if (TARGET_OPTIONS.has(word.text)) continue;
    const arch = parseArch(word.text);
    if (!arch) {
      unknown++;
      report(
        word,
        `unknown .target '${word.text}': expected an architecture such as sm_90 or compute_90, or one of ${[...TARGET_OPTIONS].join(', ')}`,
        'target',
      );
      continue;
    }
    arches++;
    if (arches > 1)
      report(word, `.target names more than one architecture: keep one (${word.text} is the second)`, 'target');
    checkArchVersion(arch, word, version?.value, report);
  }
  if (arches === 0 && unknown === 0 && target.words.length > 0)
    report(target.directive, '.target names no architecture: add one such as sm_80', 'target');
}

function checkArchVersion(arch: ParsedArch, word: Token, version: number | undefined, report: Report): void {
  const minimum = minimumPtxVersion(arch);
  if (minimum === undefined) {
    report(
      word,
      `${word.text} is not an architecture this checker knows; ptxas will say whether this PTX version supports it`,
      'target',
      'information',
    );
    return;
  }
  if (version !== undefined && version < minimum) {
    report(
      word,
      `.target ${word.text} needs PTX ISA ${formatVersion(minimum)} or newer, but this module declares .version ${formatVersion(version)}`,
      'target-version',
    );
  }
}
