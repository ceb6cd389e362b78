// Checks on MSL entry-point signatures (kernel, vertex, fragment, ...), on the C++ tree of the
// pre-passed text: kernels return void; no two parameters share a [[buffer(N)]], [[texture(N)]],
// [[sampler(N)]] or [[threadgroup(N)]] index; pointer and reference parameters name an address space.
import type { Diagnostic, LineIndex } from '../diagnostic';
import type { TreeSitter } from './cppParser';
import { MSL_PARSER_SOURCE } from './mslSyntax';
import { STAGE_QUALIFIERS, type PrepassResult } from './mslPrepass';

type Node = TreeSitter.Node;

export interface EntryFunction {
  node: Node;
  stage: string;
  name: string;
}

const INDEXED_ATTRIBUTES = new Set(['buffer', 'texture', 'sampler', 'threadgroup']);

function ancestor(node: Node | null, type: string): Node | null {
  for (let current = node; current !== null; current = current.parent) if (current.type === type) return current;
  return null;
}

function functionName(fn: Node): string {
  let declarator = fn.childForFieldName('declarator');
  while (declarator && declarator.type !== 'function_declarator')
    declarator = declarator.childForFieldName('declarator');
  return declarator?.childForFieldName('declarator')?.text ?? '(anonymous)';
}

/** Entry functions: a blanked stage qualifier right before them, or a `[[kernel]]`-style attribute. */
export function findEntryFunctions(
  root: Node,
  prepass: PrepassResult,
  outOfTime: () => boolean = () => false,
): EntryFunction[] {
  const found = new Map<number, EntryFunction>();
  const text = prepass.text;
  for (const stage of prepass.stages) {
    if (outOfTime()) break;
    let at = stage.end;
    while (at < text.length && /\s/.test(text[at] ?? '')) at++;
    const fn = ancestor(root.descendantForIndex(at), 'function_definition');
    if (fn && fn.startIndex <= at && !found.has(fn.id))
      found.set(fn.id, { node: fn, stage: stage.word, name: functionName(fn) });
  }
  for (const fn of root.descendantsOfType('function_definition')) {
    if (found.has(fn.id)) continue;
    if (outOfTime()) break;
    for (const child of fn.children) {
      if (child.type !== 'attribute_declaration') continue;
      const stage = child
        .descendantsOfType('attribute')
        .map((a) => a.childForFieldName('name')?.text ?? '')
        .find((name) => STAGE_QUALIFIERS.has(name));
      if (stage !== undefined) found.set(fn.id, { node: fn, stage, name: functionName(fn) });
    }
  }
  return [...found.values()].sort((a, b) => a.node.startIndex - b.node.startIndex);
}

function parameterName(param: Node): string {
  const declarator = param.childForFieldName('declarator');
  if (!declarator) return '(unnamed)';
  const names = declarator
    .descendantsOfType(['identifier', 'field_identifier'])
    .filter((id) => ancestor(id, 'attribute_declaration') === null);
  return names[0]?.text ?? '(unnamed)';
}

/** 'pointer' or 'reference' when the parameter is one, following its declarator chain. */
function indirection(param: Node): 'pointer' | 'reference' | undefined {
  let current = param.childForFieldName('declarator');
  while (current) {
    if (current.type === 'pointer_declarator' || current.type === 'abstract_pointer_declarator') return 'pointer';
    if (current.type === 'reference_declarator' || current.type === 'abstract_reference_declarator') return 'reference';
    current =
      current.type === 'attributed_declarator' ? current.namedChild(0) : current.childForFieldName('declarator');
  }
  return undefined;
}

/** `outOfTime` is asked between functions and parameters: once it says true, the checks end with what they found. */
export function checkEntrySignatures(
  root: Node,
  prepass: PrepassResult,
  index: LineIndex,
  outOfTime: () => boolean = () => false,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const error = (node: Node, message: string, code: string): void => {
    diagnostics.push({
      range: index.rangeOf(node.startIndex, node.endIndex - node.startIndex),
      severity: 'error',
      message,
      source: MSL_PARSER_SOURCE,
      code,
    });
  };
  for (const entry of findEntryFunctions(root, prepass, outOfTime)) {
    if (outOfTime()) break;
    const returnType = entry.node.childForFieldName('type');
    if (entry.stage === 'kernel' && returnType && returnType.text !== 'void') {
      error(
        returnType,
        `kernel function '${entry.name}' must return void, not '${returnType.text}'`,
        'kernel-return-type',
      );
    }
    let declarator = entry.node.childForFieldName('declarator');
    while (declarator && declarator.type !== 'function_declarator')
      declarator = declarator.childForFieldName('declarator');
    const parameters = declarator?.childForFieldName('parameters');
    if (!parameters) continue;
    const used = new Map<string, { param: string; line: number }>();
    let delimiterEnd = parameters.startIndex + 1;
    for (const child of parameters.children) {
      if (outOfTime()) break;
      if (child.type !== 'parameter_declaration') {
        delimiterEnd = child.endIndex;
        continue;
      }
      const name = parameterName(child);
      for (const attribute of child.descendantsOfType('attribute')) {
        const kind = attribute.childForFieldName('name')?.text ?? '';
        if (!INDEXED_ATTRIBUTES.has(kind)) continue;
        const argument = attribute.descendantsOfType('number_literal')[0];
        if (!argument) continue;
        const key = `${kind}(${Number.parseInt(argument.text, 10)})`;
        const previous = used.get(key);
        if (previous) {
          error(
            attribute,
            `[[${key}]] is already used by parameter '${previous.param}' on line ${previous.line + 1}: each ${kind} index may appear once in '${entry.name}'`,
            'duplicate-index',
          );
        } else {
          used.set(key, { param: name, line: index.positionAt(attribute.startIndex).line });
        }
      }
      const kindOfIndirection = indirection(child);
      if (kindOfIndirection !== undefined) {
        const hasAddressSpace = prepass.addressSpaces.some(
          (space) => space.start >= delimiterEnd && space.start < child.endIndex,
        );
        if (!hasAddressSpace) {
          error(
            child.childForFieldName('type') ?? child,
            `parameter '${name}' of ${entry.stage} function '${entry.name}' is a ${kindOfIndirection} without an address space: ` +
              'write device, constant, threadgroup or thread before its type',
            'missing-address-space',
          );
        }
      }
      delimiterEnd = child.endIndex;
    }
  }
  return diagnostics;
}
