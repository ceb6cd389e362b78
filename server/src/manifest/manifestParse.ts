// The manifest's JSON: its syntax tree and its syntax errors as problems, one per place, in words a
// user can act on. Reading the tree is the reader's (manifestReader.ts); this never throws.
// The ESM build: the package's UMD `main` hides its internal requires from esbuild, and the
// bundle then fails at run time with "Cannot find module './impl/format'".
import {
  createScanner,
  parseTree,
  printParseErrorCode,
  type Node,
  type ParseError,
} from 'jsonc-parser/lib/esm/main.js';
import { LIMITS, MANIFEST_NAME } from './manifestRules';
import type { ManifestProblem } from './manifestTypes';

export interface ParsedManifestJson {
  /** Undefined for an empty text, or one nested too deep to parse. */
  root: Node | undefined;
  problems: ManifestProblem[];
  /** Offsets of syntax errors after which the parser's reading may not be what was meant. */
  structuralErrors: number[];
}

const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'this is not JSON (strings need double quotes; true, false and null are lower case)',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":" after the property name',
  CommaExpected: 'expected "," between the items',
  CloseBraceExpected: 'expected "}" to close the object',
  CloseBracketExpected: 'expected "]" to close the array',
  EndOfFileExpected: "unexpected text after the end of the manifest's object",
  InvalidCommentToken: 'comments are not allowed: ringkernel.json is plain JSON; remove the comment',
  UnexpectedEndOfComment: 'this comment is never closed (and comments are not allowed in JSON)',
  UnexpectedEndOfString: 'this string is never closed: a closing " is missing',
  UnexpectedEndOfNumber: 'incomplete number',
  InvalidUnicode: 'invalid \\u escape: it needs four hexadecimal digits',
  InvalidEscapeCharacter: 'invalid escape sequence in a string',
  InvalidCharacter: 'invalid character in a string: control characters (such as a line break) must be escaped',
};

interface SyntaxProblem {
  problem: ManifestProblem;
  /** False for a comment or a trailing comma: the values around it read exactly as meant. */
  structural: boolean;
}

function previousNonSpace(text: string, offset: number): number {
  let i = offset - 1;
  while (i >= 0 && /\s/.test(text[i] ?? '')) i--;
  return i;
}

/** jsonc-parser's errors as problems: one per place, trailing commas named as such. */
function syntaxProblems(text: string, errors: readonly ParseError[]): SyntaxProblem[] {
  const seen = new Set<number>();
  const found: SyntaxProblem[] = [];
  for (const error of errors) {
    const code = printParseErrorCode(error.error);
    const closer = text[error.offset];
    // A comma right before `}` or `]` is reported by the parser as a missing name or value there.
    if ((code === 'PropertyNameExpected' || code === 'ValueExpected') && (closer === '}' || closer === ']')) {
      const comma = previousNonSpace(text, error.offset);
      if (text[comma] === ',') {
        if (seen.has(comma)) continue;
        seen.add(comma);
        seen.add(error.offset);
        found.push({
          problem: {
            severity: 'error',
            kind: 'schema',
            offset: comma,
            length: 1,
            message: `JSON syntax error: trailing comma before "${closer}"; JSON allows no comma after the last item, remove it`,
          },
          structural: false,
        });
        continue;
      }
    }
    // Several errors at one place (a truncated file closes every open bracket at its end): the first says it.
    if (seen.has(error.offset)) continue;
    seen.add(error.offset);
    const what = SYNTAX_MESSAGES[code] ?? code;
    const atEnd = error.offset >= text.length && code !== 'InvalidCommentToken';
    const message = atEnd
      ? `JSON syntax error: the file ends before the JSON is complete: ${what}`
      : `JSON syntax error: ${what}`;
    found.push({
      problem: { severity: 'error', kind: 'schema', offset: error.offset, length: error.length, message },
      structural: code !== 'InvalidCommentToken',
    });
  }
  return found;
}

// jsonc-parser's SyntaxKind is a const enum, which isolated modules cannot read; these are its values.
const OPEN_BRACE = 1;
const CLOSE_BRACE = 2;
const OPEN_BRACKET = 3;
const CLOSE_BRACKET = 4;
const EOF = 17;

/**
 * Where the nesting of objects and arrays first goes past `limit`, or undefined. The parser
 * recurses once per level, so 100,000 levels would exhaust its stack; this scan is a loop over the
 * same tokens. A closer that does not match the innermost opener closes nothing (the parser skips
 * it too), so the depth counted here is never less than the parser's.
 */
export function nestingPastLimit(text: string, limit: number): number | undefined {
  const scanner = createScanner(text, true);
  const open: number[] = [];
  for (let token: number = scanner.scan(); token !== EOF; token = scanner.scan()) {
    if (token === OPEN_BRACE || token === OPEN_BRACKET) {
      open.push(token);
      if (open.length > limit) return scanner.getTokenOffset();
    } else if (
      (token === CLOSE_BRACE && open.at(-1) === OPEN_BRACE) ||
      (token === CLOSE_BRACKET && open.at(-1) === OPEN_BRACKET)
    ) {
      open.pop();
    }
  }
  return undefined;
}

/** The syntax tree of manifest text (a byte order mark read as a space, so offsets stay the editor's) and its syntax problems. */
export function parseManifestJson(rawText: string): ParsedManifestJson {
  const text = rawText.startsWith('\uFEFF') ? ` ${rawText.slice(1)}` : rawText;
  const tooDeep = nestingPastLimit(text, LIMITS.nesting);
  if (tooDeep !== undefined) {
    const message =
      `${MANIFEST_NAME} nests objects and arrays more than ${LIMITS.nesting} deep here, so it was not read and none of its kernels run; ` +
      'a manifest needs 4 levels (the object, "kernels", a kernel, "grid"): remove the extra nesting';
    return {
      root: undefined,
      problems: [{ severity: 'error', kind: 'semantic', offset: tooDeep, length: 1, message }],
      structuralErrors: [],
    };
  }
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
  const problems: ManifestProblem[] = [];
  const structuralErrors: number[] = [];
  for (const { problem, structural } of syntaxProblems(text, errors)) {
    problems.push(problem);
    if (structural) structuralErrors.push(problem.offset);
  }
  return { root, problems, structuralErrors };
}
