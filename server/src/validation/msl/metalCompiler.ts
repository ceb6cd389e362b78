// Apple's Metal compiler, where it exists (macOS with Xcode or its command-line tools):
// `xcrun -sdk macosx metal -fsyntax-only`. Its log is clang's: `file:line:col: error: message`,
// columns in UTF-8 bytes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineIndex, positionFromUtf8Column, type Diagnostic, type Severity } from '../diagnostic';
import { runProcess } from '../processRunner';
import { errorMessage } from '../../logger';

export const METAL_SOURCE = 'metal';

let available: Promise<boolean> | undefined;

/** Whether `xcrun -sdk macosx metal` can run here (checked once; never on other platforms). */
export function metalCompilerAvailable(platform: NodeJS.Platform = process.platform): Promise<boolean> {
  if (platform !== 'darwin') return Promise.resolve(false);
  available ??= runProcess('xcrun', ['-sdk', 'macosx', '--find', 'metal'], { timeoutMs: 10_000 }).then(
    (outcome) => outcome.kind === 'exited' && outcome.code === 0,
  );
  return available;
}

const LINE = /^(.*?):(\d+):(\d+): (fatal error|error|warning|note|remark): (.*)$/;

/** clang-style diagnostics for `fileName` in a compiler log; notes attach to the diagnostic before them. */
export function parseClangLog(
  log: string,
  fileName: string,
  text: string,
  source = METAL_SOURCE,
  index = new LineIndex(text),
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const line of log.split(/\r?\n/)) {
    const match = LINE.exec(line);
    if (!match || !(match[1] ?? '').endsWith(fileName)) continue;
    const start = positionFromUtf8Column(index, Number(match[2]), Number(match[3]));
    // clang gives a point; widen it to the word there, so the squiggle is visible.
    const lineText = index.lineText(start.line);
    let end = start.character;
    while (end < lineText.length && /[\w$]/.test(lineText[end] ?? '')) end++;
    if (end === start.character && end < lineText.length) end++;
    const range = { start, end: { line: start.line, character: end } };
    const kind = match[4] ?? 'error';
    const message = match[5] ?? '';
    const previous = diagnostics[diagnostics.length - 1];
    if (kind === 'note' && previous) {
      (previous.related ??= []).push({ message, range });
      continue;
    }
    const severity: Severity =
      kind === 'warning' ? 'warning' : kind === 'note' || kind === 'remark' ? 'information' : 'error';
    diagnostics.push({ range, severity, message, source });
  }
  return diagnostics;
}

export type MetalRun = { kind: 'ran'; diagnostics: Diagnostic[] } | { kind: 'skipped'; reason: string };

export async function runMetalCompiler(
  text: string,
  options: { timeoutMs: number; signal?: AbortSignal | undefined; displayName?: string | undefined },
): Promise<MetalRun> {
  let dir: string | undefined;
  try {
    dir = await mkdtemp(join(tmpdir(), 'ringkernel-metal-'));
    const file = join(dir, 'input.metal');
    await writeFile(file, text, 'utf8');
    const outcome = await runProcess(
      'xcrun',
      ['-sdk', 'macosx', 'metal', '-fsyntax-only', '-fno-color-diagnostics', file],
      { timeoutMs: options.timeoutMs, signal: options.signal },
    );
    if (outcome.kind === 'aborted') return { kind: 'skipped', reason: 'cancelled' };
    if (outcome.kind === 'timeout')
      return {
        kind: 'skipped',
        reason: `the Metal compiler did not finish within ${options.timeoutMs} ms and was killed`,
      };
    if (outcome.kind === 'failed')
      return { kind: 'skipped', reason: `the Metal compiler could not be started: ${outcome.error}` };
    const raw = outcome.stderr + outcome.stdout;
    const diagnostics = parseClangLog(raw, 'input.metal', text);
    // Messages name the user's file, never the temporary copy.
    const displayName = options.displayName ?? 'the Metal file';
    for (const diagnostic of diagnostics) {
      diagnostic.message = diagnostic.message.split(file).join(displayName);
      for (const related of diagnostic.related ?? []) related.message = related.message.split(file).join(displayName);
    }
    if (outcome.code !== 0 && diagnostics.length === 0) {
      return {
        kind: 'skipped',
        reason: `the Metal compiler failed without a message we could read: ${raw.split(file).join(displayName).trim().slice(0, 500)}`,
      };
    }
    return { kind: 'ran', diagnostics };
  } catch (error) {
    return { kind: 'skipped', reason: `the Metal compiler could not run: ${errorMessage(error)}` };
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
