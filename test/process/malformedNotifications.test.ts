// Found by fuzzing (test/fuzz/lspTransport): text document notifications with malformed params made
// every document listener throw a TypeError into the log. Now each is refused with what was wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LspSession } from '../fuzz/lspSession';

const MALFORMED: [string, unknown][] = [
  ['textDocument/didOpen', { textDocument: 5 }],
  ['textDocument/didOpen', { textDocument: { uri: 'file:///tmp/x.wgsl', version: 1, text: 'fn f() {}' } }],
  [
    'textDocument/didOpen',
    { textDocument: { uri: 'file:///tmp/ringkernel.json', languageId: 'json', version: 1, text: null } },
  ],
  [
    'textDocument/didChange',
    { textDocument: { uri: 'file:///tmp/x.wgsl', version: 2 }, contentChanges: [{ text: 1 }] },
  ],
  [
    'textDocument/didChange',
    { textDocument: { uri: 'file:///tmp/x.wgsl', version: 2 }, contentChanges: [{ text: 'x', range: { start: 0 } }] },
  ],
  ['textDocument/didSave', {}],
  ['textDocument/didClose', { textDocument: { uri: null } }],
];

test(
  'malformed text document notifications are refused with what was wrong, no listener throws, and the server goes on',
  { timeout: 60_000 },
  async () => {
    const session = new LspSession();
    try {
      await session.initialize();
      const before = session.messages.length;
      for (const [method, params] of MALFORMED) session.send({ jsonrpc: '2.0', method, params });
      session.send({ jsonrpc: '2.0', id: 'after', method: 'ringkernel/serverInfo' });
      const answer = await session.answer('after', 30_000, 'serverInfo after the malformed notifications');
      assert.ok(answer !== 'exited' && answer.result !== undefined);
      const logged = session.messages
        .slice(before)
        .filter((m) => m.method === 'window/logMessage')
        .map((m) => String((m.params as { message: string }).message));
      assert.deepEqual(
        logged.filter((l) => /TypeError|wiring:/.test(l)),
        [],
      );
      const refused = logged.filter((l) => /with malformed params \(.+\): .*; it was ignored/.test(l));
      assert.equal(refused.length, MALFORMED.length, logged.join('\n'));
      assert.match(
        refused[1] ?? '',
        /textDocument\/didOpen with malformed params \(textDocument\.languageId is not a string\)/,
      );
    } finally {
      session.kill();
    }
  },
);
