// MSL validation: Apple's Metal compiler where it exists (macOS), else our parser: tree-sitter's
// C++ grammar over the MSL pre-pass for syntax, plus entry-signature checks.
import { LineIndex, type ValidationResult } from '../diagnostic';
import { cppParser, discardCppParser } from './cppParser';
import { checkEntrySignatures } from './kernelSignatures';
import { METAL_SOURCE, metalCompilerAvailable, runMetalCompiler } from './metalCompiler';
import { mslPrepass } from './mslPrepass';
import { MSL_PARSER_SOURCE, syntaxDiagnostics } from './mslSyntax';

export interface MslValidateOptions {
  /** Deadline for the Metal compiler (default 10 s). */
  timeoutMs?: number | undefined;
  /** Parse-time budget for our parser (default 2 s): tree-sitter stops there rather than block. */
  parseBudgetMs?: number | undefined;
  signal?: AbortSignal | undefined;
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

/** The deepest nesting of (), [] and {} in a text, ignoring whether they match. */
function bracketDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) deepest = Math.max(deepest, ++depth);
    else if ((c === 41 || c === 93 || c === 125) && depth > 0) depth--;
  }
  return deepest;
}

/** Our own MSL validation, no compiler needed. */
export async function validateMslWithParser(text: string, options: MslValidateOptions = {}): Promise<ValidationResult> {
  const depth = bracketDepth(text);
  if (depth > MAX_BRACKET_DEPTH) {
    const reason = `the file nests brackets ${depth} deep, more than the ${MAX_BRACKET_DEPTH} the MSL parser reads; not validated`;
    return { diagnostics: [], validator: MSL_PARSER_SOURCE, skipped: reason, unchecked: true };
  }
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
    diagnostics.push(...checkEntrySignatures(tree.rootNode, prepass, index));
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
