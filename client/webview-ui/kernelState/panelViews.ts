// What a state panel shows: the manifest's views, or without them the state as a table of words
// and a line plot of a range the user picks, typed as the user picks; and the byte ranges those
// need, the only ones the server reads. No DOM: unit-tested in Node.
import type {
  StateViewKernel,
  WireStateRange,
  WireStateView,
  WireStateViewType,
} from '../../../server/src/lsp/protocol';

/** Words in the table of words, per page. */
export const WORDS_PER_PAGE = 256;
/** Elements of a chosen range: 256 KiB, the size the frame-rate budget is measured with. */
export const MAX_CHOSEN_ELEMENTS = 65_536;

export interface PanelView extends WireStateView {
  /** The table of words (offset, hex, u32, i32, f32) instead of a table of one type. */
  words?: boolean;
}

/** The range a user picks when the manifest has no views. */
export interface ChosenRange {
  type: WireStateViewType;
  /** Bytes. */
  offset: number;
  count: number;
}

export const DEFAULT_CHOSEN: ChosenRange = { type: 'f32', offset: 0, count: 1024 };

/** `chosen` moved inside the state: a word-aligned offset, 1 to MAX_CHOSEN_ELEMENTS elements, not past the end. */
export function clampChosen(chosen: ChosenRange, stateBytes: number): ChosenRange {
  const words = Math.max(1, Math.floor(stateBytes / 4));
  const first = Math.min(words - 1, Math.max(0, Math.floor((Number.isFinite(chosen.offset) ? chosen.offset : 0) / 4)));
  const count = Math.min(
    MAX_CHOSEN_ELEMENTS,
    words - first,
    Math.max(1, Math.floor(Number.isFinite(chosen.count) ? chosen.count : 1)),
  );
  const type = chosen.type === 'u32' || chosen.type === 'i32' ? chosen.type : 'f32';
  return { type, offset: first * 4, count };
}

/** The first word of a page of the words table, inside the state. */
export function clampWordsStart(start: number, stateBytes: number): number {
  const words = Math.max(1, Math.floor(stateBytes / 4));
  return Math.min(words - 1, Math.max(0, Math.floor(Number.isFinite(start) ? start : 0)));
}

export function panelViews(
  kernel: Pick<StateViewKernel, 'views' | 'stateBytes'>,
  chosen: ChosenRange,
  wordsStart: number,
): PanelView[] {
  if (kernel.views.length > 0) return kernel.views;
  const words = Math.max(1, Math.floor(kernel.stateBytes / 4));
  const start = clampWordsStart(wordsStart, kernel.stateBytes);
  const range = clampChosen(chosen, kernel.stateBytes);
  return [
    { name: 'range', type: range.type, offset: range.offset, count: range.count, plot: 'line' },
    {
      name: 'words',
      type: 'u32',
      offset: start * 4,
      count: Math.min(WORDS_PER_PAGE, words - start),
      plot: 'table',
      words: true,
    },
  ];
}

/** The byte ranges the views need, sorted, overlapping and touching ones joined. */
export function regionsOf(views: readonly PanelView[]): WireStateRange[] {
  const sorted = views.map((v) => ({ offset: v.offset, length: v.count * 4 })).sort((a, b) => a.offset - b.offset);
  const merged: WireStateRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && range.offset <= last.offset + last.length)
      last.length = Math.max(last.length, range.offset + range.length - last.offset);
    else merged.push({ ...range });
  }
  return merged;
}
