// The protocol's wire types against the engine's (server/src/lsp/wireMapping.ts): every pair is
// checked by the type checker (WIRE_MATCHES compiles only while each pair agrees), and here every
// wire type that a message carries is shown to have its pair, so none travels unchecked.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WIRE_MATCHES, type Same } from '../../server/src/lsp/wireMapping';
import { repoRoot } from '../support/repo';

test('every engine type that reaches the wire matches its wire type', () => {
  for (const [name, same] of Object.entries(WIRE_MATCHES)) assert.equal(same, true, name);
});

test('Same tells apart types that differ in a field, its optionality or its type', () => {
  const differ: [
    Same<{ a: number }, { a: number; b?: string }>,
    Same<{ a?: number }, { a: number }>,
    Same<{ a: 'x' | 'y' }, { a: 'x' }>,
  ] = [false, false, false];
  const agree: Same<{ a: number; b: { c: string[] } }, { a: number; b: { c: string[] } }> = true;
  assert.deepEqual(differ, [false, false, false]);
  assert.equal(agree, true);
});

const lspDir = join(repoRoot, 'server', 'src', 'lsp');
const wireFiles = readdirSync(join(lspDir, 'wire'))
  .filter((name) => name.endsWith('.ts'))
  .map((name) => `wire/${name}`);

test('protocol.ts and its wire types import nothing of the engine', () => {
  const files = ['protocol.ts', ...wireFiles];
  assert.ok(wireFiles.length >= 6, `wire/ has ${wireFiles.join(', ')}`);
  for (const file of files) {
    const text = readFileSync(join(repoRoot, 'server', 'src', 'lsp', file), 'utf8');
    const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1] ?? '');
    for (const from of imports)
      assert.ok(from.startsWith('./') || from === 'vscode-languageserver-protocol', `${file} imports ${from}`);
  }
});

test('every data type a protocol message names is a wire type with an engine pair or defined by the protocol', () => {
  const protocol = readFileSync(join(lspDir, 'protocol.ts'), 'utf8');
  // Types the protocol defines itself: in protocol.ts, or in wire/ where the engine has no equivalent.
  const defined = [protocol, ...wireFiles.map((file) => readFileSync(join(lspDir, file), 'utf8'))].join('\n');
  // The type arguments of every RequestType/NotificationType (each part of an intersection).
  const named = new Set(
    [...protocol.matchAll(/new (?:Request|Notification)Type0?<([^>]+)>/g)].flatMap((m) =>
      (m[1] ?? '')
        .split(',')
        .flatMap((t) => t.split('&'))
        .map((t) => t.trim()),
    ),
  );
  const pairs = new Set(Object.keys(WIRE_MATCHES));
  assert.ok(named.has('RouterStats') && named.has('StateFrame'), 'the type arguments were found');
  for (const type of named) {
    if (/^(void|string|number|boolean|null|WorkDoneProgressParams)$/.test(type) || type.startsWith('{')) continue;
    const definedInProtocol = new RegExp(`export (interface|type) ${type}\\b`).test(defined);
    assert.ok(
      definedInProtocol || pairs.has(type),
      `${type} is carried by a message but is neither defined in protocol.ts or wire/ nor paired in wireMapping.ts`,
    );
  }
});
