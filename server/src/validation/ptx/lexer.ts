// The PTX lexer: one pass over the characters, offsets in UTF-16 code units (the positions the
// editor uses). Words keep their dot modifiers together (`ld.global.nc.v4.f32`, `%tid.x`,
// `cp.async.bulk.shared::cluster`), so the parser sees a mnemonic or a register as one token.

export type TokenKind =
  | 'word' // identifiers, registers (%r1), mnemonics with modifiers, labels
  | 'directive' // .version, .reg, .b32, .shared::cta
  | 'number' // 42, 0x1F, 1.5, 0f3F800000, 0d3FF0000000000000
  | 'string'
  | 'punct' // one of { } ( ) [ ] ; , : + - * / ! ~ | & < > = @ ? ^ %
  | 'preprocessor' // a whole #line
  | 'invalid'; // a character PTX has no use for

export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
  /** 0-based line of the token's start: line-terminated directives (.loc, .version) need it. */
  line: number;
}

const isIdentStart = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 /* _ */ || c === 36 /* $ */ || c === 37; /* % */
const isIdentPart = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

const PUNCT = new Set('{}()[];,:+-*/!~|&<>=@?^'.split('').map((c) => c.charCodeAt(0)));

export interface LexProblem {
  start: number;
  end: number;
  message: string;
}

/**
 * Produces tokens on demand, so a parser that keeps only what it needs never holds a 10 MB
 * file's million tokens at once.
 */
export class PtxLexer {
  private i = 0;
  private line = 0;
  private atLineStart = true;
  readonly problems: LexProblem[] = [];

  constructor(private readonly text: string) {}

  next(): Token | undefined {
    const text = this.text;
    const n = text.length;
    let i = this.i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) {
        if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
        i++;
        this.line++;
        this.atLineStart = true;
        continue;
      }
      if (c === 32 || c === 9 || c === 11 || c === 12) {
        i++;
        continue;
      }
      const lineStart = this.atLineStart;
      this.atLineStart = false;
      const start = i;
      let kind: TokenKind;

      if (c === 47 /* / */ && text.charCodeAt(i + 1) === 47) {
        while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
        continue;
      }
      if (c === 47 && text.charCodeAt(i + 1) === 42 /* * */) {
        const close = text.indexOf('*/', i + 2);
        const end = close < 0 ? n : close + 2;
        if (close < 0)
          this.problems.push({ start, end: Math.min(n, start + 2), message: 'this /* comment is never closed' });
        for (let j = i; j < end; j++) {
          const d = text.charCodeAt(j);
          if (d === 10 || (d === 13 && text.charCodeAt(j + 1) !== 10)) this.line++;
        }
        i = end;
        continue;
      }
      if (c === 35 /* # */ && lineStart) {
        while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
        kind = 'preprocessor';
      } else if (c === 34 /* " */) {
        i++;
        while (i < n) {
          const d = text.charCodeAt(i);
          if (d === 92 /* \ */) i += 2;
          else if (d === 34 || d === 10 || d === 13) break;
          else i++;
        }
        if (text.charCodeAt(i) === 34) i++;
        else this.problems.push({ start, end: Math.min(i, n), message: 'this string is never closed' });
        i = Math.min(i, n);
        kind = 'string';
      } else if (
        c === 46 /* . */ &&
        i + 1 < n &&
        isIdentStart(text.charCodeAt(i + 1)) &&
        text.charCodeAt(i + 1) !== 37
      ) {
        i = scanWordTail(text, i + 1);
        // `.shared::cta` stays one directive; further `.x` parts do not belong to a directive.
        const dot = text.indexOf('.', start + 1);
        if (dot > 0 && dot < i) i = dot;
        kind = 'directive';
      } else if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
        i = scanNumber(text, i);
        kind = 'number';
      } else if (
        isIdentStart(c) &&
        !(c === 37 && !(i + 1 < n && isIdentStart(text.charCodeAt(i + 1)) && text.charCodeAt(i + 1) !== 37))
      ) {
        i = scanWordTail(text, i + 1);
        kind = 'word';
      } else if (PUNCT.has(c) || c === 37) {
        i++;
        kind = 'punct';
      } else {
        // Anything else (a stray byte, a non-ASCII letter): one invalid token per code point.
        i += c >= 0xd800 && c <= 0xdbff && i + 1 < n ? 2 : 1;
        kind = 'invalid';
      }
      this.i = i;
      return { kind, text: text.slice(start, i), start, end: i, line: this.line };
    }
    this.i = i;
    return undefined;
  }
}

/** Past a run of identifier characters, then any `.part` or `::part` suffixes. */
function scanWordTail(text: string, from: number): number {
  const n = text.length;
  let j = from;
  while (j < n && isIdentPart(text.charCodeAt(j))) j++;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c === 46 /* . */ && j + 1 < n && (isIdentPart(text.charCodeAt(j + 1)) || text.charCodeAt(j + 1) === 37)) {
      j += 2;
    } else if (c === 58 /* : */ && text.charCodeAt(j + 1) === 58 && j + 2 < n && isIdentPart(text.charCodeAt(j + 2))) {
      j += 3;
    } else {
      return j;
    }
    while (j < n && isIdentPart(text.charCodeAt(j))) j++;
  }
}

/** All tokens at once (for tests and small inputs). */
export function lexPtx(text: string): { tokens: Token[]; problems: LexProblem[] } {
  const lexer = new PtxLexer(text);
  const tokens: Token[] = [];
  for (let token = lexer.next(); token !== undefined; token = lexer.next()) tokens.push(token);
  return { tokens, problems: lexer.problems };
}

function scanNumber(text: string, from: number): number {
  const n = text.length;
  let i = from;
  const c0 = text.charCodeAt(i);
  const c1 = text.charCodeAt(i + 1);
  // Floats spelled as hexadecimal bit patterns: 0f + 8 digits, 0d + 16 digits.
  if (c0 === 48 && (c1 === 102 || c1 === 70 || c1 === 100 || c1 === 68)) {
    let j = i + 2;
    while (j < n && isHex(text.charCodeAt(j))) j++;
    return j;
  }
  if (c0 === 48 && (c1 === 120 || c1 === 88)) {
    i += 2;
    while (i < n && isHex(text.charCodeAt(i))) i++;
  } else if (c0 === 48 && (c1 === 98 || c1 === 66)) {
    i += 2;
    while (i < n && (text.charCodeAt(i) === 48 || text.charCodeAt(i) === 49)) i++;
  } else {
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 46 && isDigit(text.charCodeAt(i + 1))) {
      i++;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    } else if (text.charCodeAt(i) === 46 && !isIdentStart(text.charCodeAt(i + 1))) {
      i++; // `1.` is a float
    }
    const e = text.charCodeAt(i);
    if (e === 101 || e === 69) {
      let j = i + 1;
      if (text.charCodeAt(j) === 43 || text.charCodeAt(j) === 45) j++;
      if (isDigit(text.charCodeAt(j))) {
        i = j;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
      }
    }
  }
  if (text.charCodeAt(i) === 85 || text.charCodeAt(i) === 117) i++; // U suffix
  // Letters glued to a number make a malformed number; keep them in the token so the parser can say so.
  while (i < n && isIdentPart(text.charCodeAt(i))) i++;
  return i;
}

/** Whether a number token is well formed (the lexer keeps malformed ones whole). */
export function isWellFormedNumber(text: string): boolean {
  return /^(?:0[fF][0-9a-fA-F]{8}|0[dD][0-9a-fA-F]{16}|0[xX][0-9a-fA-F]+U?|0[bB][01]+U?|\d+U?|\d+\.\d*(?:[eE][+-]?\d+)?|\d*\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)$/.test(
    text,
  );
}
