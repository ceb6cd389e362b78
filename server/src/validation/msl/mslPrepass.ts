// Makes Metal Shading Language parse as C++: the words MSL adds (address spaces, stage
// qualifiers, a few qualifiers and macros) are replaced by spaces of the same length, so every
// remaining token keeps its exact line and column. Comments, strings and `[[attributes]]` are left
// alone (`[[threadgroup(0)]]` is an attribute, not an address space). Then the few valid forms the
// C++ grammar rejects are bridged (grammarGaps.ts).
import { bridgeGrammarGaps } from './grammarGaps';

export const ADDRESS_SPACES: ReadonlySet<string> = new Set([
  'device',
  'constant',
  'thread',
  'threadgroup',
  'threadgroup_imageblock',
  'ray_data',
  'object_data',
]);
export const STAGE_QUALIFIERS: ReadonlySet<string> = new Set([
  'kernel',
  'vertex',
  'fragment',
  'mesh',
  'object',
  'intersection',
]);
const OTHER_QUALIFIERS: ReadonlySet<string> = new Set(['__restrict', '__restrict__', 'coherent']);

export interface BlankedWord {
  word: string;
  start: number;
  end: number;
}

export interface PrepassResult {
  /** The text to give the C++ parser: same length, same line breaks. */
  text: string;
  /** Stage qualifiers that were blanked, where they were: the kernel signature checks need them. */
  stages: BlankedWord[];
  addressSpaces: BlankedWord[];
}

const isIdentStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdentPart = (c: number): boolean => isIdentStart(c) || (c >= 48 && c <= 57);

/**
 * After a stage word, a function declaration: `void name(`, `VertexOut vs(`, `half4 fs (`,
 * `metal::vec<float, 4> f(`, `void reduce<float>(` — a type, then a name (with template
 * arguments when it is an explicit instantiation), then `(`. Checked on a bounded window.
 */
const FUNCTION_FOLLOWS =
  /^\s+(?:\[\[[^\]]*\]\]\s*)*(?:[A-Za-z_][\w:]*\s*(?:<[^;{}()]*>)?[\s*&]*)+?[A-Za-z_]\w*\s*(?:<[^;{}()]*>\s*)?\(/;

export function mslPrepass(source: string): PrepassResult {
  /** Ranges to blank, in order. */
  const blanks: [number, number][] = [];
  const stages: BlankedWord[] = [];
  const addressSpaces: BlankedWord[] = [];
  const n = source.length;
  let i = 0;
  let attributeDepth = 0;
  /** The last significant character before the current word, for `.`, `->` and `::`. */
  let previous = '';
  let previous2 = '';

  const blank = (start: number, end: number): void => {
    blanks.push([start, end]);
  };

  while (i < n) {
    const c = source.charCodeAt(i);
    // Comments and literals are copied as they are.
    if (c === 47 /* / */ && source.charCodeAt(i + 1) === 47) {
      while (i < n && source.charCodeAt(i) !== 10) i++;
      continue;
    }
    if (c === 47 && source.charCodeAt(i + 1) === 42) {
      const close = source.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    if (c === 34 /* " */ || c === 39 /* ' */) {
      i++;
      while (i < n && source.charCodeAt(i) !== c && source.charCodeAt(i) !== 10)
        i += source.charCodeAt(i) === 92 ? 2 : 1;
      i++;
      previous2 = previous;
      previous = '"';
      continue;
    }
    if (c === 91 /* [ */ && source.charCodeAt(i + 1) === 91) {
      // Attributes do not nest: a second `[[` while one is open means the first lost its `]]`.
      attributeDepth = 1;
      i += 2;
      previous2 = previous;
      previous = '[';
      continue;
    }
    if (c === 93 /* ] */ && source.charCodeAt(i + 1) === 93 && attributeDepth > 0) {
      attributeDepth--;
      i += 2;
      previous2 = previous;
      previous = ']';
      continue;
    }
    if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdentPart(source.charCodeAt(i))) i++;
      const word = source.slice(start, i);
      const afterMember =
        previous === '.' || (previous === '>' && previous2 === '-') || (previous === ':' && previous2 === ':');
      if (attributeDepth === 0 && !afterMember) {
        if (ADDRESS_SPACES.has(word)) {
          blank(start, i);
          addressSpaces.push({ word, start, end: i });
        } else if (STAGE_QUALIFIERS.has(word) && FUNCTION_FOLLOWS.test(source.slice(i, i + 400))) {
          blank(start, i);
          stages.push({ word, start, end: i });
        } else if (OTHER_QUALIFIERS.has(word)) {
          blank(start, i);
        } else if (word.startsWith('METAL_')) {
          blank(start, i);
          // A function-like macro: its arguments go too.
          let j = i;
          while (j < n && (source.charCodeAt(j) === 32 || source.charCodeAt(j) === 9)) j++;
          if (source.charCodeAt(j) === 40 /* ( */) {
            let depth = 0;
            for (; j < n; j++) {
              const d = source.charCodeAt(j);
              if (d === 40) depth++;
              else if (d === 41 && --depth === 0) break;
            }
            blank(i, Math.min(j + 1, n));
            i = Math.min(j + 1, n);
          }
        }
      }
      previous2 = previous;
      previous = 'a';
      continue;
    }
    // Nor do they span statements: an attribute left open by a slip ends here, so the rest of
    // the file is still pre-passed (and the slip is reported once, by the parser).
    if (c === 59 /* ; */ || c === 123 /* { */ || c === 125 /* } */) attributeDepth = 0;
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) {
      previous2 = previous;
      previous = source[i] ?? '';
    }
    i++;
  }
  return { text: bridgeGrammarGaps(applyBlanks(source, blanks)), stages, addressSpaces };
}

/** Replaces each range by spaces, keeping line breaks (a macro's arguments may span lines). */
function applyBlanks(source: string, blanks: readonly [number, number][]): string {
  if (blanks.length === 0) return source;
  const parts: string[] = [];
  let at = 0;
  for (const [start, end] of blanks) {
    parts.push(source.slice(at, start));
    parts.push(source.slice(start, end).replace(/[^\r\n]/g, ' '));
    at = end;
  }
  parts.push(source.slice(at));
  return parts.join('');
}
