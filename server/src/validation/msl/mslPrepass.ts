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

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;

/** How far past a stage word a function declaration is looked for. */
const FUNCTION_WINDOW = 400;

/**
 * Whether a function declaration follows a stage word that ends at `at`: a type, then a name (with
 * template arguments when it is an explicit instantiation), then `(`, as in `void name(`,
 * `VertexOut vs(`, `half4 fs (`, `[[attr]] metal::vec<float, 4> f(`, `void reduce<float>(`, within
 * FUNCTION_WINDOW characters. One pass over the window: this was a regular expression whose nested
 * repetition (`(?:[A-Za-z_][\w:]*...)+?` then a name) tried every way to split a long word into
 * pieces, exponential in its length: `kernel void` before 24 letters took 10 s, before a
 * 400-character word for ever (found by fuzzing: a pasted huge line after `kernel`).
 */
export function functionFollows(source: string, at: number): boolean {
  const end = Math.min(source.length, at + FUNCTION_WINDOW);
  let j = at;
  if (j >= end || !isSpace(source.charCodeAt(j))) return false;
  while (j < end && isSpace(source.charCodeAt(j))) j++;
  // `[[attributes]]` first (no `]` inside).
  while (source.startsWith('[[', j)) {
    const close = source.indexOf(']', j + 2);
    if (close < 0 || close + 1 >= end || source.charCodeAt(close + 1) !== 93) return false;
    j = close + 2;
    while (j < end && isSpace(source.charCodeAt(j))) j++;
  }
  /** Names seen: the type's words and the function's; `ns::f` counts two (a scope and a name). */
  let words = 0;
  /** The last token: a name that a `(` would make the function's, template arguments after a word, or `*`/`&`. */
  let last: 'none' | 'name' | 'scope' | 'arguments' | 'indirection' = 'none';
  let nameBeforeArguments = false;
  while (j < end) {
    const c = source.charCodeAt(j);
    if (isIdentStart(c)) {
      const start = j;
      while (j < end && (isIdentPart(source.charCodeAt(j)) || source.charCodeAt(j) === 58)) j++;
      const word = source.slice(start, j);
      const colon = word.lastIndexOf(':');
      words += colon >= 0 && colon < word.length - 1 ? 2 : 1;
      last = colon === word.length - 1 ? 'scope' : 'name';
      continue;
    }
    if (c === 60 /* < */) {
      if (last !== 'name' && last !== 'scope') return false;
      // Template arguments, nested, with no `;`, braces or parentheses inside.
      let depth = 0;
      for (; j < end; j++) {
        const d = source.charCodeAt(j);
        if (d === 59 || d === 123 || d === 125 || d === 40 || d === 41) return false;
        if (d === 60) depth++;
        else if (d === 62 && --depth === 0) break;
      }
      if (j >= end) return false;
      j++;
      nameBeforeArguments = last === 'name';
      last = 'arguments';
      continue;
    }
    if (c === 42 /* * */ || c === 38 /* & */) {
      if (words === 0) return false;
      last = 'indirection';
      j++;
      continue;
    }
    if (isSpace(c)) {
      j++;
      continue;
    }
    if (c === 40 /* ( */) return words >= 2 && (last === 'name' || (last === 'arguments' && nameBeforeArguments));
    return false;
  }
  return false;
}

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
        } else if (STAGE_QUALIFIERS.has(word) && functionFollows(source, i)) {
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
