// `ringkernel check FILE... [--json] [--ptxas PATH]`: the editor's validation for scripts and CI.
// Prints `file:line:col: error|warning: message [source]` (1-based, columns in UTF-16 code units
// as editors count them) and exits 1 when any file has an error.
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logger';
import { ValidatorSet, kernelLanguageOf, type ValidationOutcome } from '../validation';

interface CheckOptions {
  files: string[];
  json: boolean;
  ptxasPath?: string;
}

function parseArgs(args: string[]): CheckOptions | string {
  const options: CheckOptions = { files: [], json: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--json') options.json = true;
    else if (arg === '--ptxas') {
      const path = args[++i];
      if (!path) return '--ptxas needs a path to a ptxas executable';
      options.ptxasPath = path;
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

export async function checkCommand(args: string[]): Promise<number> {
  const options = parseArgs(args);
  if (typeof options === 'string') {
    process.stderr.write(`ringkernel check: ${options}. Usage: ringkernel check FILE... [--json] [--ptxas PATH]\n`);
    return 2;
  }
  const validators = new ValidatorSet({ logger: stderrLogger });
  const results: FileResult[] = [];
  try {
    for (const file of options.files) {
      const language = kernelLanguageOf(file);
      if (language === undefined) {
        results.push({ file, problem: 'not a kernel file: the name must end in .wgsl, .ptx or .metal' });
        continue;
      }
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        results.push({ file, problem: `could not be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
        continue;
      }
      results.push({ file, outcome: await validators.validate(language, text, options.ptxasPath ? { ptxasPath: options.ptxasPath } : {}) });
    }
  } finally {
    validators.dispose();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else printText(results);
  const failed = results.some((r) => r.problem !== undefined || r.outcome?.diagnostics.some((d) => d.severity === 'error'));
  return failed ? 1 : 0;
}

function printText(results: FileResult[]): void {
  let errors = 0;
  let warnings = 0;
  for (const { file, outcome, problem } of results) {
    if (problem !== undefined) {
      process.stdout.write(`${file}: error: ${problem}\n`);
      errors++;
      continue;
    }
    if (!outcome) continue;
    for (const d of outcome.diagnostics) {
      const severity = d.severity === 'information' ? 'note' : d.severity;
      if (d.severity === 'error') errors++;
      if (d.severity === 'warning') warnings++;
      process.stdout.write(`${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${severity}: ${d.message} [${d.source}]\n`);
    }
    if (outcome.skipped !== undefined) process.stderr.write(`${file}: not fully checked (${outcome.validator}): ${outcome.skipped}\n`);
  }
  process.stderr.write(`${results.length} file(s) checked: ${errors} error(s), ${warnings} warning(s)\n`);
}
