// Syntax errors from a tree-sitter parse: the innermost ERROR and MISSING nodes only. An ERROR
// node that wraps other errors points at the enclosing declaration, lines away from the slip.
import type { LineIndex, Diagnostic, Range } from '../diagnostic';
import type { TreeSitter } from './cppParser';

export const MSL_PARSER_SOURCE = 'ringkernel-msl';

function firstLeaf(node: TreeSitter.Node): TreeSitter.Node {
  let current = node;
  for (let child = current.firstChild; child !== null; child = current.firstChild) current = child;
  return current;
}

function quote(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return `'${oneLine.length > 30 ? `${oneLine.slice(0, 30)}…` : oneLine}'`;
}

/**
 * An error that starts a line right after a line ending in a value (`float y = 1.0f`) is almost
 * always a `;` missing there: report it where a compiler would, on the end of that line.
 */
function semicolonMissingBefore(
  root: TreeSitter.Node,
  error: TreeSitter.Node,
  index: LineIndex,
): Diagnostic | undefined {
  const start = index.positionAt(error.startIndex);
  if (index.lineText(start.line).slice(0, start.character).trim() !== '') return undefined;
  const text = index.text;
  let at = error.startIndex - 1;
  for (;;) {
    while (at >= 0 && /\s/.test(text[at] ?? '')) at--;
    if (at < 0) return undefined;
    const leaf = root.descendantForIndex(at);
    if (leaf?.type === 'comment' && leaf.startIndex < at) {
      at = leaf.startIndex - 1;
      continue;
    }
    break;
  }
  const previous = index.positionAt(at);
  if (previous.line >= start.line || !/[\w)\]]/.test(text[at] ?? '')) return undefined;
  if (/^\s*#/.test(index.lineText(previous.line))) return undefined;
  let wordStart = at;
  while (wordStart > 0 && /[\w.]/.test(text[wordStart - 1] ?? '')) wordStart--;
  return {
    range: index.rangeOf(wordStart, at + 1 - wordStart),
    severity: 'error',
    message: `syntax error: expected ';' after ${quote(text.slice(wordStart, at + 1))} at the end of line ${previous.line + 1}`,
    source: MSL_PARSER_SOURCE,
    code: 'missing-semicolon',
  };
}

function lastLeaf(node: TreeSitter.Node): TreeSitter.Node {
  let current = node;
  for (let child = current.lastChild; child !== null; child = current.lastChild) current = child;
  return current;
}

/**
 * A function body whose last statement lacks its `;` reads to the C++ grammar as a declaration
 * with a braced initialiser (`void f(...) { x = 1 }`), which then misses a `;` after the `}`. The
 * slip is the statement's: report it at the end of that statement, as a compiler does.
 */
function semicolonMissingInBody(missing: TreeSitter.Node, index: LineIndex): Diagnostic | undefined {
  const declarator = missing.previousSibling;
  if (declarator?.type !== 'init_declarator') return undefined;
  const value = declarator.childForFieldName('value');
  if (value?.type !== 'initializer_list' || declarator.childForFieldName('declarator')?.type !== 'function_declarator')
    return undefined;
  const statement = value.namedChildren.filter((child) => child !== null).at(-1);
  if (!statement) return undefined;
  const leaf = lastLeaf(statement);
  const text = index.text.slice(leaf.startIndex, leaf.endIndex);
  return {
    range: index.rangeOf(leaf.startIndex, leaf.endIndex - leaf.startIndex),
    severity: 'error',
    message: `syntax error: expected ';' after ${quote(text)} at the end of line ${index.positionAt(leaf.endIndex).line + 1}`,
    source: MSL_PARSER_SOURCE,
    code: 'missing-semicolon',
  };
}

/** Nodes whose children are separate statements or declarations: errors inside them are independent. */
const CONTAINERS = new Set([
  'translation_unit',
  'compound_statement',
  'declaration_list',
  'field_declaration_list',
  'preproc_if',
  'preproc_ifdef',
  'preproc_else',
  'preproc_elif',
]);

/**
 * The construct an error belongs to: its nearest ancestor that is not an error. Two errors in the
 * same construct (one parameter list, one attribute, one statement) are one slip and the parser's
 * attempts to recover from it: `[[buffer(1)]` is reported at the `]`, and the next parameter,
 * which the parser then cannot place, is not a second error.
 */
function constructOf(node: TreeSitter.Node): TreeSitter.Node | null {
  let current = node.parent;
  while (current !== null && (current.isError || current.type === 'ERROR')) current = current.parent;
  return current;
}

/** Whether a node has an error inside, or is a missing token. */
const hasErrorInside = (node: TreeSitter.Node | null): node is TreeSitter.Node =>
  node !== null && (node.hasError || node.isMissing);

/**
 * Innermost error nodes, in document order, without walking error-free subtrees; the first of each
 * cascade only. `outOfTime` is asked before each node: a pathological file (a million '(' make
 * one node with a million children, each a few µs to read from the parser) would otherwise hold
 * the server's thread for seconds after the parse itself stopped at its budget. Once it says
 * true, the walk ends with what it found so far.
 */
export function syntaxDiagnostics(
  root: TreeSitter.Node,
  index: LineIndex,
  max = Infinity,
  outOfTime: () => boolean = () => false,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  let stopped = false;
  const stop = (): boolean => (stopped ||= outOfTime());
  let lastConstruct: TreeSitter.Node | null = null;
  /** Whether `node` continues the cascade of the error reported last (then it is not reported). */
  const continuesCascade = (node: TreeSitter.Node): boolean => {
    const construct = constructOf(node);
    const same =
      construct !== null &&
      lastConstruct !== null &&
      construct.id === lastConstruct.id &&
      !CONTAINERS.has(construct.type);
    lastConstruct = construct;
    return same;
  };
  // Messages quote the user's text, not the pre-passed one (which blanks and bridges words).
  const original = (node: TreeSitter.Node): string => index.text.slice(node.startIndex, node.endIndex);
  /** Whether to look inside `node` (true) or not: an error reported, or no error inside. */
  const visit = (node: TreeSitter.Node): boolean => {
    if (node.isMissing) {
      if (continuesCascade(node)) return false;
      const inBody = node.type === ';' ? semicolonMissingInBody(node, index) : undefined;
      if (inBody) {
        diagnostics.push(inBody);
        return false;
      }
      // tree-sitter places a missing token before the next real one, often on the next line;
      // a compiler reports it right after the last token before it, as here.
      let end = node.startIndex;
      while (end > 0 && /\s/.test(index.text[end - 1] ?? '')) end--;
      const at = index.positionAt(end);
      diagnostics.push({
        range: { start: at, end: at },
        severity: 'error',
        message: `syntax error: missing ${quote(node.type)}`,
        source: MSL_PARSER_SOURCE,
        code: 'syntax',
      });
      return false;
    }
    if (!node.hasError) return false;
    // Children one at a time (node.children reads them all at once, however many there are).
    const count = node.childCount;
    let innermost = node.isError;
    for (let i = 0; innermost && i < count; i++) {
      if (stop()) return false;
      if (hasErrorInside(node.child(i))) innermost = false;
    }
    if (innermost) {
      if (continuesCascade(node)) return false;
      // An error spanning lines is shown on its first token; a one-line one whole.
      let r: Range = index.rangeOf(node.startIndex, node.endIndex - node.startIndex);
      let shown = original(node);
      if (r.start.line !== r.end.line) {
        const leaf = firstLeaf(node);
        r = index.rangeOf(leaf.startIndex, leaf.endIndex - leaf.startIndex);
        shown = original(leaf);
      }
      const missingSemicolon = semicolonMissingBefore(root, node, index);
      diagnostics.push(
        missingSemicolon ?? {
          range: r,
          severity: 'error',
          message: shown.trim() === '' ? 'syntax error' : `syntax error: unexpected ${quote(shown)}`,
          source: MSL_PARSER_SOURCE,
          code: 'syntax',
        },
      );
      return false;
    }
    return true;
  };
  // A stack of its own, not recursion: 20,000 `else if`s, or `-`s before a missing operand, nest the
  // tree that deep without a bracket and overflowed the JavaScript stack (found while fixing the
  // Metal fuzz target's hang). Children are looked at in order, one at a time, so errors come in document order.
  // Each frame is a node whose children are being looked into, and the next child to look at.
  const frames: { node: TreeSitter.Node; next: number; count: number }[] = [];
  if (visit(root)) frames.push({ node: root, next: 0, count: root.childCount });
  for (let frame = frames.at(-1); frame !== undefined; frame = frames.at(-1)) {
    if (diagnostics.length >= max || stop()) break;
    if (frame.next >= frame.count) {
      frames.pop();
      continue;
    }
    const child = frame.node.child(frame.next++);
    if (hasErrorInside(child) && visit(child)) frames.push({ node: child, next: 0, count: child.childCount });
  }
  return diagnostics;
}
