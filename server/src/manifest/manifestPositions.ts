// Where a manifest problem is: offsets in the text, the line numbers messages quote, and the
// line/character ranges editors and the command line show.
import { LineIndex } from '../validation/diagnostic';
import type { ManifestProblem } from './manifestTypes';

/** A stretch of the manifest text. */
export interface Span {
  offset: number;
  length: number;
}

export const spanOf = (node: Span): Span => ({ offset: node.offset, length: node.length });

/** 1-based line numbers of offsets in one text, for messages such as "the kernel on line 5". */
export class LineNumbers {
  private index: LineIndex | undefined;

  constructor(private readonly text: string) {}

  lineOf(offset: number): number {
    this.index ??= new LineIndex(this.text);
    return this.index.positionAt(offset).line + 1;
  }
}

/** Keeps every problem's range inside the text: the parser may measure an unclosed comment past the end. */
export function clampToText(problems: ManifestProblem[], textLength: number): void {
  for (const problem of problems) {
    problem.offset = Math.max(0, Math.min(problem.offset, textLength));
    problem.length = Math.max(0, Math.min(problem.length, textLength - problem.offset));
  }
}

/** A problem's offset and length as 0-based line/character (UTF-16) positions in `text`. */
export function problemRange(
  text: string,
  problem: ManifestProblem,
): { start: { line: number; character: number }; end: { line: number; character: number } } {
  return new LineIndex(text).rangeOf(problem.offset, problem.length);
}
