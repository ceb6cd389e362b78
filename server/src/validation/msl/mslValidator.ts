// MSL validation: Apple's Metal compiler where it exists (macOS), else our parser: tree-sitter's
// C++ grammar over the MSL pre-pass for syntax, plus entry-signature checks. The parser runs in a
// worker thread (mslParserWorker.ts, child/mslParserMain.ts calls validateMslInThisThread), so a
// fault or a hang of its WebAssembly ends the worker, never the server.
import { LineIndex, type ValidationResult } from '../diagnostic';
import { cppParser, discardCppParser } from './cppParser';
import { checkEntrySignatures } from './kernelSignatures';
import { METAL_SOURCE, metalCompilerAvailable, runMetalCompiler } from './metalCompiler';
import { mslPrepass } from './mslPrepass';
import { MSL_PARSER_SOURCE, syntaxDiagnostics } from './mslSyntax';
import { sharedMslParser } from './mslParserWorker';

export interface MslValidateOptions {
  /** Deadline for the Metal compiler (default 10 s). */
  timeoutMs?: number | undefined;
  /** Parse-time budget for our parser (default 2 s): tree-sitter stops there rather than block. */
  parseBudgetMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Tests only: parse past the nesting limits below (to reach the faults they prevent). */
  unlimited?: boolean | undefined;
  /** Use our parser even where the Metal compiler exists (tests; a broken Xcode). */
  parserOnly?: boolean | undefined;
  /** The user's name for the file, put in place of the temporary copy's path in messages. */
  displayName?: string | undefined;
}

/**
 * Brackets nested deeper than this are not given to tree-sitter's walk: about 300 '(' inside a
 * function overflowed its WebAssembly stack while the errors were read ("memory access out of
 * bounds"), corrupting the instance for every later file (found by fuzzing). Real kernels nest a
 * few levels.
 */
export const MAX_BRACKET_DEPTH = 100;

/**
 * Preprocessor conditionals (`#if`, `#ifdef`, `#ifndef`) nested deeper than this are not parsed
 * either: each level is a level of the tree, and 8,000 of them (found by fuzzing) made the
 * signature checks quadratic in the depth (web-tree-sitter finds a node's parent from the root):
 * 150 s in the server's thread, outside the parse budget.
 */
export const MAX_CONDITIONAL_DEPTH = 100;

/**
 * A run of more prefix operators than this (`-`, `+`, `!`, `~`; blanks between allowed) is not
 * parsed: each is a level of the tree, and 1,000 `-` before a missing operand overflowed
 * tree-sitter's WebAssembly stack while its errors were read, like deep brackets did. (`*` and
 * `&` are left out: comment banners are made of them, and 20,000 parse and walk fine.)
 */
export const MAX_OPERATOR_RUN = 200;

/**
 * More `else` branches than this in one block are not parsed: each `else if` nests the tree one
 * level deeper, and freeing the tree of a chain of 300 made tree-sitter's WebAssembly instance
 * fault ("memory access out of bounds", found by a test of 20,000). Written code chains a few dozen.
 */
export const MAX_ELSE_CHAIN = 200;

interface Nesting {
  /** The deepest nesting of (), [] and {}, ignoring whether they match. */
  brackets: number;
  /** The deepest nesting of preprocessor conditionals. */
  conditionals: number;
  /** The longest run of `-`, `+`, `!` and `~`. */
  operators: number;
  /** The most `else` keywords inside one bracket level. */
  elses: number;
}

const isWordChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

const CONDITIONAL = /^[ \t]*#[ \t]*(if|ifdef|ifndef|endif)\b/;

function nestingOf(text: string): Nesting {
  let depth = 0;
  let brackets = 0;
  let open = 0;
  let conditionals = 0;
  let run = 0;
  let operators = 0;
  let elses = 0;
  // `else` keywords counted per open bracket level (index = depth).
  const elsesAt: number[] = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 45 || c === 43 || c === 33 || c === 126) operators = Math.max(operators, ++run);
    else if (c !== 32 && c !== 9 && c !== 10 && c !== 13) run = 0;
    if (c === 40 || c === 91 || c === 123) {
      brackets = Math.max(brackets, ++depth);
      elsesAt[depth] = 0;
    } else if ((c === 41 || c === 93 || c === 125) && depth > 0) depth--;
    else if (
      c === 101 /* e */ &&
      text.startsWith('else', i) &&
      !isWordChar(text.charCodeAt(i - 1)) &&
      !isWordChar(text.charCodeAt(i + 4))
    ) {
      elsesAt[depth] = (elsesAt[depth] ?? 0) + 1;
      elses = Math.max(elses, elsesAt[depth] ?? 0);
    } else if (c === 35 /* # */) {
      // Only a `#` first on its line (after blanks) starts a directive: look back, then read it.
      let j = i - 1;
      while (j >= 0 && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j--;
      if (j >= 0 && text.charCodeAt(j) !== 10 && text.charCodeAt(j) !== 13) continue;
      const directive = CONDITIONAL.exec(text.slice(i, i + 16))?.[1];
      if (directive === 'endif') open = Math.max(0, open - 1);
      else if (directive !== undefined) conditionals = Math.max(conditionals, ++open);
    }
  }
  return { brackets, conditionals, operators, elses };
}

/** Our own MSL validation, no compiler needed: in the parser's worker thread. */
export function validateMslWithParser(text: string, options: MslValidateOptions = {}): Promise<ValidationResult> {
  return sharedMslParser().validate(text, options);
}

/** Our own MSL validation in the calling thread: the parser worker's work (child/mslParserMain.ts). */
export async function validateMslInThisThread(
  text: string,
  options: MslValidateOptions = {},
): Promise<ValidationResult> {
  const nesting = nestingOf(text);
  const reason =
    options.unlimited === true
      ? undefined
      : nesting.brackets > MAX_BRACKET_DEPTH
        ? `the file nests brackets ${nesting.brackets} deep, more than the ${MAX_BRACKET_DEPTH} the MSL parser reads; not validated`
        : nesting.conditionals > MAX_CONDITIONAL_DEPTH
          ? `the file nests #if ${nesting.conditionals} deep, more than the ${MAX_CONDITIONAL_DEPTH} the MSL parser reads; not validated`
          : nesting.operators > MAX_OPERATOR_RUN
            ? `the file has ${nesting.operators} operators in a row, more than the ${MAX_OPERATOR_RUN} the MSL parser reads; not validated`
            : nesting.elses > MAX_ELSE_CHAIN
              ? `the file has ${nesting.elses} \`else\` branches in one block, more than the ${MAX_ELSE_CHAIN} the MSL parser reads; not validated`
              : undefined;
  if (reason !== undefined) return { diagnostics: [], validator: MSL_PARSER_SOURCE, skipped: reason, unchecked: true };
  try {
    return await parseAndCheck(text, options);
  } catch (error) {
    // The parser's WebAssembly instance may be corrupt now: the next file gets a new one.
    if (error instanceof Error && error.name === 'RuntimeError') discardCppParser();
    throw error;
  }
}

async function parseAndCheck(text: string, options: MslValidateOptions): Promise<ValidationResult> {
  const parser = await cppParser();
  const budget = options.parseBudgetMs ?? 2000;
  // The budget covers everything done in the server's thread: the pre-pass, the parse and the walk for errors.
  const started = performance.now();
  const prepass = mslPrepass(text);
  let cancelled = false;
  const tree = parser.parse(prepass.text, null, {
    progressCallback: () => {
      cancelled = performance.now() - started > budget || options.signal?.aborted === true;
      return cancelled;
    },
  });
  if (!tree || cancelled) {
    parser.reset();
    tree?.delete();
    const reason =
      options.signal?.aborted === true
        ? 'cancelled'
        : `the MSL parser stopped after ${budget} ms (the file has ${text.length} characters); not validated`;
    return { diagnostics: [], validator: MSL_PARSER_SOURCE, skipped: reason, unchecked: true };
  }
  try {
    const index = new LineIndex(text);
    const outOfTime = (): boolean => performance.now() - started > budget || options.signal?.aborted === true;
    const diagnostics = syntaxDiagnostics(tree.rootNode, index, 5000, outOfTime);
    if (outOfTime()) {
      const reason =
        options.signal?.aborted === true
          ? 'cancelled'
          : `the MSL parser stopped after ${budget} ms while looking for errors (the file has ${text.length} characters); ` +
            `${diagnostics.length === 0 ? 'none found so far' : `only the first ${diagnostics.length} found are shown`}, and kernel signatures were not checked`;
      // With nothing found, the file must not look clean: unchecked adds the "not validated" note.
      return {
        diagnostics,
        validator: MSL_PARSER_SOURCE,
        skipped: reason,
        ...(diagnostics.length === 0 ? { unchecked: true as const } : {}),
      };
    }
    diagnostics.push(...checkEntrySignatures(tree.rootNode, prepass, index, outOfTime));
    if (outOfTime()) {
      const reason =
        options.signal?.aborted === true
          ? 'cancelled'
          : `the MSL parser stopped after ${budget} ms while checking kernel signatures (the file has ${text.length} characters); ` +
            'syntax was checked, signatures only in part';
      return { diagnostics, validator: MSL_PARSER_SOURCE, skipped: reason };
    }
    return { diagnostics, validator: MSL_PARSER_SOURCE };
  } finally {
    tree.delete();
  }
}

export async function validateMsl(text: string, options: MslValidateOptions = {}): Promise<ValidationResult> {
  if (options.parserOnly !== true && (await metalCompilerAvailable())) {
    const run = await runMetalCompiler(text, {
      timeoutMs: options.timeoutMs ?? 10_000,
      signal: options.signal,
      displayName: options.displayName,
    });
    if (run.kind === 'ran') return { diagnostics: run.diagnostics, validator: METAL_SOURCE };
    if (run.reason === 'cancelled')
      return { diagnostics: [], validator: METAL_SOURCE, skipped: run.reason, unchecked: true };
    const fallback = await validateMslWithParser(text, options);
    return {
      ...fallback,
      notes: [...(fallback.notes ?? []), `Metal compiler skipped (${run.reason}); used our parser instead`],
    };
  }
  return validateMslWithParser(text, options);
}
