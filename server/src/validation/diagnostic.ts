// The validators' own diagnostic type (no LSP import: the engine is a library) and the text
// geometry they share. Positions are 0-based; characters count UTF-16 code units, as in LSP.

export type Severity = 'error' | 'warning' | 'information';

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/** A second message attached to a diagnostic, pointing into the same document. */
export interface RelatedInformation {
  message: string;
  range: Range;
}

export interface Diagnostic {
  range: Range;
  severity: Severity;
  message: string;
  /** Which validator said it: `tint`, `ptxas 13.0`, `cuda-jit`, `metal`, `ringkernel-ptx`, `ringkernel-msl`. */
  source: string;
  code?: string;
  related?: RelatedInformation[];
  /**
   * Set when the compiler gave no location (a whole-file problem); the range is then only an
   * anchor chosen for display, never a claim that the problem is there.
   */
  fileLevel?: true;
}

/** What one validation produced. `skipped` says why a validator could not run; it is never thrown. */
export interface ValidationResult {
  diagnostics: Diagnostic[];
  /** The validator that produced the diagnostics (the same string as their `source`). */
  validator: string;
  skipped?: string;
  /**
   * Set when nothing checked the text at all (too large, the parser ran out of time, the compiler
   * host failed), as opposed to a weaker validator standing in for the compiler; `skipped` says why.
   */
  unchecked?: true;
  /** Things worth a log line: the fallbacks taken, what was tried. */
  notes?: string[];
}

export const range = (line: number, character: number, endLine: number, endCharacter: number): Range => ({
  start: { line, character },
  end: { line: endLine, character: endCharacter },
});

/** Line starts over a text, for offset↔position in UTF-16 code units. Line breaks: \n, \r\n, \r. */
export class LineIndex {
  private readonly starts: number[];

  constructor(readonly text: string) {
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      }
    }
    this.starts = starts;
  }

  get lineCount(): number {
    return this.starts.length;
  }

  lineStart(line: number): number {
    return this.starts[Math.max(0, Math.min(line, this.starts.length - 1))] ?? 0;
  }

  /** The end of a line's content, before its line break. */
  lineEnd(line: number): number {
    if (line + 1 >= this.starts.length) return this.text.length;
    let end = this.lineStart(line + 1);
    if (end > 0 && this.text.charCodeAt(end - 1) === 10) end--;
    if (end > 0 && this.text.charCodeAt(end - 1) === 13) end--;
    return Math.max(end, this.lineStart(line));
  }

  lineText(line: number): string {
    return this.text.slice(this.lineStart(line), this.lineEnd(line));
  }

  positionAt(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= clamped) low = mid;
      else high = mid - 1;
    }
    // An offset inside a \r\n pair belongs to the end of the line.
    return { line: low, character: Math.min(clamped, this.lineEnd(low)) - this.lineStart(low) };
  }

  offsetAt(position: Position): number {
    if (position.line >= this.starts.length) return this.text.length;
    return Math.min(this.lineStart(position.line) + Math.max(0, position.character), this.lineEnd(position.line));
  }

  rangeOf(offset: number, length: number): Range {
    return { start: this.positionAt(offset), end: this.positionAt(offset + Math.max(0, length)) };
  }

  /** The non-whitespace extent of a line (the whole line when it is blank); used when a tool gives only a line. */
  lineExtent(line: number): Range {
    const clampedLine = Math.max(0, Math.min(line, this.starts.length - 1));
    const text = this.lineText(clampedLine);
    const first = text.search(/\S/);
    if (first < 0) return range(clampedLine, 0, clampedLine, text.length);
    const last = text.length - (text.length - text.trimEnd().length);
    return range(clampedLine, first, clampedLine, last);
  }

  /**
   * Where a quoted token from a compiler message (`'madd'`, `'%r5'`) appears on a line, as a whole
   * word; undefined when it does not (then the caller falls back to the line's extent).
   */
  findTokenOnLine(line: number, token: string): Range | undefined {
    if (token.length === 0 || line < 0 || line >= this.starts.length) return undefined;
    const text = this.lineText(line);
    const commentAt = text.indexOf('//');
    const limit = commentAt >= 0 ? commentAt : text.length;
    const wordChar = /[\w$%]/;
    const needsStartBoundary = wordChar.test(token[0] ?? '');
    const needsEndBoundary = wordChar.test(token[token.length - 1] ?? '');
    for (let at = text.indexOf(token); at >= 0 && at + token.length <= limit; at = text.indexOf(token, at + 1)) {
      if (needsStartBoundary && wordChar.test(text[at - 1] ?? '')) continue;
      if (needsEndBoundary && wordChar.test(text[at + token.length] ?? '')) continue;
      return range(line, at, line, at + token.length);
    }
    return undefined;
  }
}

/** A 1-based (line, column-in-UTF-8-bytes) pair, as clang reports it, to a 0-based UTF-16 position. */
export function positionFromUtf8Column(index: LineIndex, line1: number, byteColumn1: number): Position {
  const line = Math.max(0, Math.min(line1 - 1, index.lineCount - 1));
  const text = index.lineText(line);
  let bytes = 0;
  let character = 0;
  const target = Math.max(0, byteColumn1 - 1);
  while (character < text.length && bytes < target) {
    const code = text.codePointAt(character) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    character += code >= 0x10000 ? 2 : 1;
  }
  return { line, character };
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character;
}

export const DEFAULT_MAX_DIAGNOSTICS = 1000;

/**
 * Keeps the first `max` diagnostics (in document order) and adds one saying how many more were
 * suppressed, at the first suppressed one's place: 10,000 errors must not flood an editor.
 */
export function capDiagnostics(
  diagnostics: Diagnostic[],
  max = DEFAULT_MAX_DIAGNOSTICS,
  source = 'ringkernel',
): Diagnostic[] {
  if (diagnostics.length <= max) return diagnostics;
  const sorted = [...diagnostics].sort(compareDiagnostics);
  const kept = sorted.slice(0, max);
  const firstHidden = sorted[max];
  const hidden = sorted.length - max;
  const errors = sorted.slice(max).filter((d) => d.severity === 'error').length;
  kept.push({
    range: firstHidden ? firstHidden.range : range(0, 0, 0, 0),
    severity: 'information',
    message:
      `${hidden} more diagnostic${hidden === 1 ? '' : 's'} (${errors} error${errors === 1 ? '' : 's'}) not shown: ` +
      `only the first ${max} are published. Fix the ones above and save again.`,
    source,
    code: 'too-many-diagnostics',
  });
  return kept;
}
