// `ringkernel check FILE... [--json] [--ptxas PATH] [--allow-unchecked] [--jobs N] [--verbose]`:
// the editor's validation for scripts and CI. Prints `file:line:col: error|warning|note: message
// [source]` (1-based, columns in UTF-16 code units as editors count them), one line per diagnostic
// with its details indented under it, and exits 1 when any file has an error, or was not checked.
import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logger';
import { COMMANDS } from './commandHelp';
import {
  findPtxas,
  NOT_VALIDATED,
  ValidatorSet,
  kernelLanguageOf,
  type Diagnostic,
  type ValidationOutcome,
} from '../validation';

interface CheckOptions {
  files: string[];
  json: boolean;
  ptxasPath?: string;
  /** A file nothing could check (too large, out of time) is then a note, not an error. */
  allowUnchecked: boolean;
  /** Files checked at once: each PTX file runs its own ptxas (default: one per core). */
  jobs: number;
  /** Every detail line of a diagnostic, not only the first few. */
  verbose: boolean;
}

/** Detail lines shown under a diagnostic without --verbose (Tint lists up to 20 candidate overloads). */
const DETAILS_SHOWN = 6;

function parseArgs(args: string[]): CheckOptions | string {
  const options: CheckOptions = {
    files: [],
    json: false,
    allowUnchecked: false,
    jobs: Math.max(1, availableParallelism()),
    verbose: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--json') options.json = true;
    else if (arg === '--allow-unchecked') options.allowUnchecked = true;
    else if (arg === '--verbose') options.verbose = true;
    else if (arg === '--ptxas') {
      const path = args[++i];
      if (!path) return '--ptxas needs a path to a ptxas executable';
      options.ptxasPath = path;
    } else if (arg === '--jobs') {
      const value = args[++i] ?? '';
      if (!/^[1-9]\d{0,3}$/.test(value))
        return `--jobs needs a whole number of files to check at once, 1 or more (got ${value === '' ? 'nothing' : value})`;
      options.jobs = Number(value);
    } else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else options.files.push(arg);
  }
  if (options.files.length === 0) return 'name at least one .wgsl, .ptx or .metal file';
  return options;
}

const stderrLogger: Logger = {
  error: (message) => process.stderr.write(`ringkernel check: ${message}\n`),
  warn: (message) => process.stderr.write(`ringkernel check: ${message}\n`),
  info: () => undefined,
  debug: () => undefined,
};

interface FileResult {
  file: string;
  outcome?: ValidationOutcome;
  problem?: string;
}

/** Runs `work` over `items` with at most `limit` at once; results keep the items' order. */
async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const at = next++;
      results[at] = await work(items[at] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** In `check`, a file that was not validated is an error (a clean exit must mean clean files), unless allowed. */
function markUnchecked(outcome: ValidationOutcome, allow: boolean): ValidationOutcome {
  if (allow || outcome.unchecked !== true) return outcome;
  const diagnostics = outcome.diagnostics.map((d): Diagnostic =>
    d.code === NOT_VALIDATED
      ? { ...d, severity: 'error', message: `${d.message} (--allow-unchecked accepts files that could not be checked)` }
      : d,
  );
  return { ...outcome, diagnostics };
}

export async function checkCommand(args: string[]): Promise<number> {
  const options = parseArgs(args);
  if (typeof options === 'string') {
    process.stderr.write(`ringkernel check: ${options}. Usage: ${COMMANDS.check.usage}\n`);
    return 2;
  }
  if (options.ptxasPath !== undefined) {
    // An explicit ptxas that does not work is a mistake on the command line: never check with another one instead.
    const lookup = await findPtxas({ explicitPath: options.ptxasPath });
    if (!lookup.found) {
      process.stderr.write(
        `ringkernel check: --ptxas ${options.ptxasPath} ${lookup.explicit?.problem ?? `cannot be used: ${lookup.reason}`}. Give the path of a working ptxas, or leave --ptxas out to find it through CUDA_HOME, CUDA_PATH or PATH.\n`,
      );
      return 2;
    }
  }
  const validators = new ValidatorSet({ logger: stderrLogger });
  let results: FileResult[];
  try {
    results = await inParallel(options.files, options.jobs, async (file): Promise<FileResult> => {
      const language = kernelLanguageOf(file);
      if (language === undefined)
        return { file, problem: 'not a kernel file: the name must end in .wgsl, .ptx or .metal' };
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        return { file, problem: `could not be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
      }
      const outcome = await validators.validate(language, text, {
        displayName: file,
        ...(options.ptxasPath !== undefined ? { ptxasPath: options.ptxasPath } : {}),
      });
      return { file, outcome: markUnchecked(outcome, options.allowUnchecked) };
    });
  } finally {
    validators.dispose();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else printText(results, options.verbose);
  const failed = results.some(
    (r) => r.problem !== undefined || r.outcome?.diagnostics.some((d) => d.severity === 'error'),
  );
  return failed ? 1 : 0;
}

/** A diagnostic's details, indented under its line: CI tools that read `file:line:col:` lines skip them. */
function detailLines(d: Diagnostic, verbose: boolean): string[] {
  const related = d.related ?? [];
  const shown = verbose ? related : related.slice(0, DETAILS_SHOWN);
  const lines = shown.map((r) => {
    const elsewhere = r.range.start.line !== d.range.start.line || r.range.start.character !== d.range.start.character;
    return `    ${r.message.replace(/\s*\n\s*/g, ' ')}${elsewhere ? ` (at ${r.range.start.line + 1}:${r.range.start.character + 1})` : ''}`;
  });
  if (shown.length < related.length) lines.push(`    … ${related.length - shown.length} more (--verbose shows them)`);
  return lines;
}

/** Diagnostics that already say why the file was not (fully) checked: the stderr note would repeat them. */
const SAYS_WHY = new Set([NOT_VALIDATED, 'compiler-fallback', 'ptxas-path']);

function printText(results: FileResult[], verbose: boolean): void {
  let errors = 0;
  let warnings = 0;
  let unchecked = 0;
  for (const { file, outcome, problem } of results) {
    if (problem !== undefined) {
      process.stdout.write(`${file}: error: ${problem}\n`);
      errors++;
      unchecked++;
      continue;
    }
    if (!outcome) continue;
    if (outcome.unchecked === true) unchecked++;
    for (const d of outcome.diagnostics) {
      const severity = d.severity === 'information' ? 'note' : d.severity;
      if (d.severity === 'error') errors++;
      if (d.severity === 'warning') warnings++;
      // The first line only on the diagnostic's line; the rest (if any) goes under it.
      const [first = '', ...rest] = d.message.split('\n');
      const lines = [
        `${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${severity}: ${first} [${d.source}]`,
      ];
      for (const line of rest) if (line.trim() !== '') lines.push(`    ${line.trim()}`);
      lines.push(...detailLines(d, verbose));
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    if (outcome.skipped !== undefined && !outcome.diagnostics.some((d) => SAYS_WHY.has(d.code ?? ''))) {
      process.stderr.write(`${file}: not fully checked (${outcome.validator}): ${outcome.skipped}\n`);
    }
  }
  const checked = results.length - unchecked;
  process.stderr.write(
    `${checked} file(s) checked${unchecked > 0 ? `, ${unchecked} not checked` : ''}: ${errors} error(s), ${warnings} warning(s)\n`,
  );
}
