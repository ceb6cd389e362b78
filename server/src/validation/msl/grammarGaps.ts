// Valid MSL that tree-sitter's C++ grammar rejects, rewritten so it parses. Each rewrite keeps
// the text's length and line breaks (every position stays exact) and keeps the code's shape, so a
// real mistake nearby is still found. Seen in real files, mostly from shader cross-compilers:
//   - a statement macro whose body ends in `;`, used without one:
//       #define ASSUME(x) __builtin_assume(x);   ...   ASSUME(a < b)
//     the use is blanked (the preprocessor would supply the `;`);
//   - a functional cast to `short`, `long`, `signed` or `unsigned` in a braced list inside a call,
//     `A<short, 2>({ short(1), short(2) })`: the keyword becomes an identifier (`_hort(1)`);
//   - a comma after an assignment in a parenthesised expression, `!h ? (h = true, f()) : (void)0`:
//     the grammar has no rule for it, so the comma becomes `|` (still one expression).

interface Token {
  kind: 'word' | 'number' | 'punct' | 'literal';
  text: string;
  start: number;
  end: number;
}

interface Macro {
  functionLike: boolean;
}

const isIdentStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdentPart = (c: number): boolean => isIdentStart(c) || (c >= 48 && c <= 57);

const DEFINE = /^#\s*define\s+([A-Za-z_]\w*)(\()?/;

/**
 * The text without its closed `/* ... *\/` comments, in one pass. A lazy regular expression did
 * this, rescanning to the end for each `/*` that never closes: quadratic, 4 s for a 120,000-character
 * `#define` line of `/*a` (found while fixing the pre-pass's hang).
 */
function withoutBlockComments(text: string): string {
  const parts: string[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf('/*', at);
    const close = open < 0 ? -1 : text.indexOf('*/', open + 2);
    if (close < 0) break;
    parts.push(text.slice(at, open));
    at = close + 2;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

/** Tokens outside comments, literals and preprocessor lines; `#define`s whose body ends in `;` are collected. */
function scan(text: string, macros?: Map<string, Macro>): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  let lineStart = true;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      lineStart = true;
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 11 || c === 12) {
      i++;
      continue;
    }
    const atLineStart = lineStart;
    lineStart = false;
    if (c === 35 /* # */ && atLineStart) {
      // A directive runs to the end of the line, continued by a backslash before the break.
      const start = i;
      for (; i < n; i++) {
        if (text.charCodeAt(i) !== 10) continue;
        const lastOnLine = text.charCodeAt(i - 1) === 13 ? i - 2 : i - 1;
        if (text.charCodeAt(lastOnLine) !== 92) break;
      }
      if (macros) {
        const directive = text.slice(start, i);
        const define = DEFINE.exec(directive);
        const body = withoutBlockComments(directive.replace(/\/\/.*$/gm, ''))
          .replace(/\\\r?\n/g, ' ')
          .trimEnd();
        if (define?.[1] !== undefined && body.endsWith(';')) macros.set(define[1], { functionLike: define[2] === '(' });
      }
      continue;
    }
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 47) {
      while (i < n && text.charCodeAt(i) !== 10) i++;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    const start = i;
    if (c === 34 /* " */ || c === 39 /* ' */) {
      i++;
      while (i < n && text.charCodeAt(i) !== c && text.charCodeAt(i) !== 10) i += text.charCodeAt(i) === 92 ? 2 : 1;
      i = Math.min(n, i + 1);
      tokens.push({ kind: 'literal', text: text.slice(start, i), start, end: i });
      continue;
    }
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), start, end: i });
      continue;
    }
    if (c >= 48 && c <= 57) {
      while (i < n && (isIdentPart(text.charCodeAt(i)) || text.charCodeAt(i) === 46)) i++;
      tokens.push({ kind: 'number', text: text.slice(start, i), start, end: i });
      continue;
    }
    i++;
    tokens.push({ kind: 'punct', text: text[start] ?? '', start, end: i });
  }
  return tokens;
}

type Rewrite = [start: number, end: number, replacement: string];

function apply(text: string, rewrites: Rewrite[]): string {
  if (rewrites.length === 0) return text;
  rewrites.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let at = 0;
  for (const [start, end, replacement] of rewrites) {
    if (start < at) continue;
    parts.push(text.slice(at, start), replacement);
    at = end;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

const blankOf = (text: string): string => text.replace(/[^\r\n]/g, ' ');

/** Index of the `)` that closes the `(` at tokens[open], or -1. */
function closingParen(tokens: Token[], open: number): number {
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    const t = tokens[j];
    if (t?.kind !== 'punct') continue;
    if (t.text === '(') depth++;
    else if (t.text === ')' && --depth === 0) return j;
  }
  return -1;
}

/** Uses of a statement macro with no `;` after them are blanked. */
function statementMacros(text: string): string {
  // Most files define no such macro: spare them the scan.
  if (!/^[ \t]*#[ \t]*define\b.*;[ \t]*(?:\/\/.*)?$/m.test(text) && !/^[ \t]*#[ \t]*define\b.*\\\r?$/m.test(text))
    return text;
  const macros = new Map<string, Macro>();
  const tokens = scan(text, macros);
  if (macros.size === 0) return text;
  const rewrites: Rewrite[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k];
    const macro = token?.kind === 'word' ? macros.get(token.text) : undefined;
    if (!token || !macro) continue;
    let last = k;
    if (macro.functionLike) {
      if (tokens[k + 1]?.text !== '(') continue;
      last = closingParen(tokens, k + 1);
      if (last < 0) continue;
    }
    const end = tokens[last]?.end ?? token.end;
    if (tokens[last + 1]?.text !== ';') rewrites.push([token.start, end, blankOf(text.slice(token.start, end))]);
    k = last;
  }
  return apply(text, rewrites);
}

const SIZED_TYPES = new Set(['short', 'long', 'signed', 'unsigned']);
/** Before a `(` that opens a parenthesised expression (not a call, a cast's type or a control head). */
const EXPRESSION_BEFORE = new Set([
  '?',
  ':',
  '=',
  '(',
  ',',
  '!',
  '~',
  '+',
  '-',
  '*',
  '/',
  '%',
  '&',
  '|',
  '^',
  '{',
  '}',
  ';',
  '[',
]);
const CONTROL = new Set(['if', 'while', 'for', 'switch']);

interface Frame {
  open: string;
  /** A parenthesised expression (where the comma rewrite applies). */
  expression: boolean;
  assigned: boolean;
}

/** Whether the `=` at `at` is an assignment (`=`, `+=`, `<<=`), not a comparison (`==`, `<=`, `!=`). */
function isAssignment(text: string, at: number): boolean {
  const before = text[at - 1] ?? '';
  const after = text[at + 1] ?? '';
  if (after === '=' || before === '=' || before === '!') return false;
  if (before === '<' || before === '>') return text[at - 2] === before;
  return true;
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;

/** The next character that is not whitespace, from `from` on (-1 at the end). */
function nextSignificant(text: string, from: number): number {
  let j = from;
  while (j < text.length && isSpace(text.charCodeAt(j))) j++;
  return j < text.length ? text.charCodeAt(j) : -1;
}

/**
 * Functional casts to sized integer types, and commas after assignments in parenthesised
 * expressions. One pass over the characters with no token objects: a 10 MB file takes a few
 * hundred milliseconds, well inside the parse budget.
 */
function expressionGaps(text: string): string {
  const rewrites: Rewrite[] = [];
  const stack: Frame[] = [];
  const n = text.length;
  /** The last significant token: its kind, its text when a word that matters here, its end. */
  let previousKind: 'none' | 'word' | 'number' | 'punct' | 'literal' = 'none';
  let previousPunct = '';
  let previousWord = '';
  let previousEnd = 0;
  let controlHeadClosed = false;
  let lineStart = true;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      lineStart = true;
      i++;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    const atLineStart = lineStart;
    lineStart = false;
    if (c === 35 /* # */ && atLineStart) {
      for (; i < n; i++) {
        if (text.charCodeAt(i) !== 10) continue;
        const lastOnLine = text.charCodeAt(i - 1) === 13 ? i - 2 : i - 1;
        if (text.charCodeAt(lastOnLine) !== 92) break;
      }
      continue;
    }
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 47) {
      while (i < n && text.charCodeAt(i) !== 10) i++;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    const start = i;
    const afterControl = controlHeadClosed;
    controlHeadClosed = false;
    if (c === 34 /* " */ || c === 39 /* ' */) {
      i++;
      while (i < n && text.charCodeAt(i) !== c && text.charCodeAt(i) !== 10) i += text.charCodeAt(i) === 92 ? 2 : 1;
      i = Math.min(n, i + 1);
      previousKind = 'literal';
      previousEnd = i;
      continue;
    }
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      // Only short words can matter (`return`, `if`, the sized types): slicing longer ones is wasted work.
      const word = i - start <= 8 ? text.slice(start, i) : '';
      if (
        SIZED_TYPES.has(word) &&
        (previousKind === 'none' || previousKind === 'punct' || previousWord === 'return') &&
        nextSignificant(text, i) === 40 /* ( */
      ) {
        let j = i;
        while (j < n && text.charCodeAt(j) !== 40) j++;
        const inside = nextSignificant(text, j + 1);
        if (inside !== 42 /* * */ && inside !== 38 /* & */ && inside !== 94 /* ^ */)
          rewrites.push([start, start + 1, '_']);
      }
      previousKind = 'word';
      previousWord = word;
      previousEnd = i;
      continue;
    }
    if (c >= 48 && c <= 57) {
      while (i < n && (isIdentPart(text.charCodeAt(i)) || text.charCodeAt(i) === 46)) i++;
      previousKind = 'number';
      previousEnd = i;
      continue;
    }
    i++;
    const punct = text[start] ?? '';
    const top = stack[stack.length - 1];
    switch (punct) {
      case '(': {
        const expression =
          afterControl ||
          previousKind === 'none' ||
          (previousKind === 'punct'
            ? EXPRESSION_BEFORE.has(previousPunct)
            : previousKind === 'word' && previousWord === 'return');
        stack.push({
          open: previousKind === 'word' && CONTROL.has(previousWord) ? 'control' : '(',
          expression,
          assigned: false,
        });
        break;
      }
      case '[':
      case '{':
        stack.push({ open: punct, expression: false, assigned: false });
        break;
      case '<':
        // `A<short, 2>`: a template's arguments follow a name directly; a comparison has spaces.
        if (previousKind === 'word' && previousEnd === start)
          stack.push({ open: '<', expression: false, assigned: false });
        break;
      case '>':
        if (top?.open === '<') stack.pop();
        break;
      case ')':
      case ']':
      case '}': {
        const opener = punct === ')' ? '(' : punct === ']' ? '[' : '{';
        while (stack.length > 0) {
          const open = stack[stack.length - 1]?.open;
          if (open === opener || (opener === '(' && open === 'control')) break;
          stack.pop();
        }
        controlHeadClosed = stack.pop()?.open === 'control';
        break;
      }
      case '=':
        if (top?.expression === true && isAssignment(text, start)) top.assigned = true;
        break;
      case ',':
        if (top?.expression === true && top.assigned) rewrites.push([start, start + 1, '|']);
        break;
      case ';':
        // A statement ends: nothing opened inside it survives (recovers from unbalanced text).
        while (stack.length > 0 && stack[stack.length - 1]?.open !== '{' && stack[stack.length - 1]?.open !== 'control')
          stack.pop();
        break;
      default:
        break;
    }
    previousKind = 'punct';
    previousPunct = punct;
    previousWord = '';
    previousEnd = i;
  }
  return apply(text, rewrites);
}

export function bridgeGrammarGaps(text: string): string {
  return expressionGaps(statementMacros(text));
}
