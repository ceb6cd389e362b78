// The protocol's wire types against the engine's (server/src/lsp/wireMapping.ts): every pair is
// checked by the type checker (WIRE_MATCHES compiles only while each pair agrees), and here every
// wire type that a message carries is shown to have its pair, so none travels unchecked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WIRE_MATCHES, type Same } from '../../server/src/lsp/wireMapping';
import { repoRoot } from '../support/repo';

test('every engine type that reaches the wire matches its wire type', () => {
  for (const [name, same] of Object.entries(WIRE_MATCHES)) assert.equal(same, true, name);
});

test('Same tells apart types that differ in a field, its optionality or its type', () => {
  const differ: [Same<{ a: number }, { a: number; b?: string }>, Same<{ a?: number }, { a: number }>, Same<{ a: 'x' | 'y' }, { a: 'x' }>] = [false, false, false];
  const agree: Same<{ a: number; b: { c: string[] } }, { a: number; b: { c: string[] } }> = true;
  assert.deepEqual(differ, [false, false, false]);
  assert.equal(agree, true);
});

test('protocol.ts and its wire types import nothing of the engine', () => {
  const files = ['protocol.ts', 'wire/backendsWire.ts', 'wire/coordinatorWire.ts', 'wire/topologyWire.ts', 'wire/kernelsWire.ts'];
  for (const file of files) {
    const text = readFileSync(join(repoRoot, 'server', 'src', 'lsp', file), 'utf8');
    const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1] ?? '');
    for (const from of imports) assert.ok(from.startsWith('./') || from === 'vscode-languageserver-protocol', `${file} imports ${from}`);
  }
});

test('every data type a protocol message names is a wire type with an engine pair or defined by the protocol', () => {
  const protocol = readFileSync(join(repoRoot, 'server', 'src', 'lsp', 'protocol.ts'), 'utf8');
  // The type arguments of every RequestType/NotificationType.
  const named = new Set([...protocol.matchAll(/new (?:Request|Notification)Type0?<([^>]+)>/g)].flatMap((m) => (m[1] ?? '').split(',').map((t) => t.trim())));
  const pairs = new Set(Object.keys(WIRE_MATCHES));
  for (const type of named) {
    if (/^(void|string|number|boolean|null|WorkDoneProgressParams)$/.test(type) || type.startsWith('{')) continue;
    const definedInProtocol = new RegExp(`export (interface|type) ${type}\\b`).test(protocol);
    assert.ok(definedInProtocol || pairs.has(type), `${type} is carried by a message but is neither defined in protocol.ts nor paired in wireMapping.ts`);
  }
});
