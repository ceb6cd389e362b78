// Reads the log that ptxas writes, and that the CUDA driver's JIT returns in the same form:
//   ptxas kernel.ptx, line 32; error   : Not a name of any known instruction: 'madd'
//   ptxas application ptx input, line 32; warning : ...
//   ptxas fatal   : Ptx assembly aborted due to errors        (no location)
import { LineIndex, range, type Diagnostic, type Range, type Severity } from './diagnostic';

export interface PtxasLogEntry {
  /** 1-based line, absent when the message has no location. */
  line?: number;
  kind: 'error' | 'warning' | 'info' | 'fatal';
  message: string;
}

const LOCATED = /^ptxas\b.*?, line (\d+); (error|warning|info|fatal)\s*:\s?(.*)$/;
const UNLOCATED = /^ptxas\b\s*(error|warning|info|fatal)\s*:\s?(.*)$/;

export function parsePtxasLog(log: string): PtxasLogEntry[] {
  const entries: PtxasLogEntry[] = [];
  for (const raw of log.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line.length === 0) continue;
    const located = LOCATED.exec(line);
    if (located) {
      entries.push({ line: Number(located[1]), kind: located[2] as PtxasLogEntry['kind'], message: located[3] ?? '' });
      continue;
    }
    const unlocated = UNLOCATED.exec(line);
    if (unlocated) {
      entries.push({ kind: unlocated[1] as PtxasLogEntry['kind'], message: unlocated[2] ?? '' });
    } else if (entries.length > 0 && /^\s/.test(raw)) {
      // A continuation line of the previous message: keep the message whole.
      const last = entries[entries.length - 1];
      if (last) last.message += `\n${line.trim()}`;
    }
  }
  return entries;
}

function severityOf(kind: PtxasLogEntry['kind']): Severity {
  if (kind === 'warning') return 'warning';
  if (kind === 'info') return 'information';
  return 'error';
}

/** The aborted-due-to-errors line only repeats that errors came before; it says nothing itself. */
const isAbortNotice = (message: string): boolean => /^Ptx assembly aborted due to errors/i.test(message);

/**
 * Where a message without a location is shown: the first place the name it quotes appears
 * ("Unresolved extern function 'f'" → f's declaration), else the directive it is about, else the top.
 */
function anchorFor(message: string, index: LineIndex): Range {
  const quoted = /'([^']+)'/.exec(message)?.[1];
  if (quoted !== undefined) {
    for (let line = 0; line < index.lineCount; line++) {
      const found = index.findTokenOnLine(line, quoted);
      if (found) return found;
    }
  }
  const directive = /\.target|SM version|sm_\d/i.test(message)
    ? '.target'
    : /\.version|PTX ISA/i.test(message)
      ? '.version'
      : undefined;
  if (directive !== undefined) {
    for (let line = 0; line < Math.min(index.lineCount, 200); line++) {
      const found = index.findTokenOnLine(line, directive);
      if (found) return index.lineExtent(line);
    }
  }
  return range(0, 0, 0, 0);
}

/**
 * Turns a ptxas/JIT log into diagnostics on `text`. Located lines become diagnostics on that line:
 * on the quoted token when the message quotes one that appears there ('madd', '%r5'), else on the
 * line's non-whitespace extent (ptxas gives no column).
 *
 * Lines without a location are never pinned to line 1. When located diagnostics exist, the abort
 * notice is dropped and any other unlocated line is attached as related information to the first
 * located error (it is context for it). Only when nothing is located does an unlocated line
 * become a diagnostic of its own, marked `fileLevel` and anchored at the directive it names
 * (`.target` for SM-version messages) or at the start of the file.
 */
export function ptxasLogToDiagnostics(
  log: string,
  text: string,
  source: string,
  index = new LineIndex(text),
): Diagnostic[] {
  const entries = parsePtxasLog(log);
  const diagnostics: Diagnostic[] = [];
  const unlocated: PtxasLogEntry[] = [];
  for (const entry of entries) {
    if (entry.line === undefined) {
      unlocated.push(entry);
      continue;
    }
    const line = Math.max(0, Math.min(entry.line - 1, index.lineCount - 1));
    const quoted = /'([^']+)'/.exec(entry.message)?.[1];
    const tokenRange = quoted !== undefined ? index.findTokenOnLine(line, quoted) : undefined;
    diagnostics.push({
      range: tokenRange ?? index.lineExtent(line),
      severity: severityOf(entry.kind),
      message: entry.message,
      source,
    });
  }
  // Unlocated info lines are statistics (`ptxas info : Used 8 registers`), never problems.
  const meaningful = unlocated.filter((entry) => !isAbortNotice(entry.message) && entry.kind !== 'info');
  if (diagnostics.length > 0) {
    const firstError = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
    if (firstError && meaningful.length > 0) {
      firstError.related = meaningful.map((entry) => ({
        message: `ptxas ${entry.kind}: ${entry.message}`,
        range: firstError.range,
      }));
    }
    return diagnostics;
  }
  for (const entry of meaningful.length > 0 ? meaningful : unlocated.filter((entry) => entry.kind !== 'info')) {
    diagnostics.push({
      range: anchorFor(entry.message, index),
      severity: severityOf(entry.kind),
      message: entry.message,
      source,
      fileLevel: true,
    });
  }
  return diagnostics;
}
