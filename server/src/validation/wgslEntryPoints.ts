// Finds the functions a WGSL module declares, and which are entry points (`@compute`, `@vertex`,
// `@fragment`), with a small scan that knows WGSL's comments (line comments, nested block
// comments) so a commented-out `@compute fn main` does not count.

export type ShaderStage = 'compute' | 'vertex' | 'fragment';

export interface WgslFunction {
  name: string;
  /** UTF-16 offsets of the name. */
  start: number;
  end: number;
  stage?: ShaderStage;
}

const STAGES = new Set<string>(['compute', 'vertex', 'fragment']);

interface Word {
  text: string;
  start: number;
  end: number;
}

/** Identifiers and the punctuation the scan needs (`@`, `(`, `)`), comments and strings skipped. */
function* words(text: string): Generator<Word> {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 47) {
      while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 42 /* * */) {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text.charCodeAt(i) === 47 && text.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (text.charCodeAt(i) === 42 && text.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
        } else {
          i++;
        }
      }
      continue;
    }
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127) {
      const start = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || (d >= 48 && d <= 57) || d === 95 || d > 127) i++;
        else break;
      }
      yield { text: text.slice(start, i), start, end: i };
      continue;
    }
    if (
      c === 64 /* @ */ ||
      c === 40 /* ( */ ||
      c === 41 /* ) */ ||
      c === 123 /* { */ ||
      c === 125 /* } */ ||
      c === 59 /* ; */
    ) {
      yield { text: text[i] ?? '', start: i, end: i + 1 };
    }
    i++;
  }
}

/** Every module-scope `fn`, with its stage when its attributes name one. */
export function findWgslFunctions(text: string): WgslFunction[] {
  const functions: WgslFunction[] = [];
  let stage: ShaderStage | undefined;
  let afterAt = false;
  let parenDepth = 0;
  let braceDepth = 0;
  let expectName = false;
  for (const word of words(text)) {
    if (expectName) {
      expectName = false;
      if (/^[A-Za-z_\u0080-\uffff]/.test(word.text)) {
        const fn: WgslFunction = { name: word.text, start: word.start, end: word.end };
        if (stage) fn.stage = stage;
        functions.push(fn);
      }
      stage = undefined;
      continue;
    }
    switch (word.text) {
      case '{':
        braceDepth++;
        stage = undefined;
        continue;
      case '}':
        braceDepth = Math.max(0, braceDepth - 1);
        continue;
      case '(':
        parenDepth++;
        continue;
      case ')':
        parenDepth = Math.max(0, parenDepth - 1);
        continue;
      case ';':
        stage = undefined;
        continue;
      case '@':
        afterAt = true;
        continue;
      default:
        break;
    }
    if (afterAt) {
      afterAt = false;
      if (parenDepth === 0 && braceDepth === 0 && STAGES.has(word.text)) stage = word.text as ShaderStage;
      continue;
    }
    if (word.text === 'fn' && braceDepth === 0 && parenDepth === 0) expectName = true;
  }
  return functions;
}
