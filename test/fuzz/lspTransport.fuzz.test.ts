// Fuzzing the language server's transport over stdio (dist/server.js --stdio), the real process:
// well-framed messages with any body (JSON of every shape, requests for every method with wrong
// params, bodies that are not JSON), and now and then a frame that breaks the framing. Properties:
// every request with an id gets an answer (a result or an error); a body that is not JSON is said
// to be ignored; a broken frame makes the server exit non-zero with a message naming it (by
// design: nothing after it can be read); never silence, no handler exception (a TypeError in the
// log is not a clear error), and a probe request after each input is answered. A server that exited is replaced for the next input.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { fuzz } from './fuzzRun';
import { frame, LspSession } from './lspSession';

const METHODS = [
  'initialize',
  'initialized',
  'textDocument/didOpen',
  'textDocument/didChange',
  'textDocument/didClose',
  'textDocument/didSave',
  'textDocument/hover',
  'workspace/didChangeConfiguration',
  'workspace/didChangeWatchedFiles',
  'workspace/didChangeWorkspaceFolders',
  '$/cancelRequest',
  '$/setTrace',
  '$/progress',
  'ringkernel/serverInfo',
  'ringkernel/kernels',
  'ringkernel/kernelState',
  'ringkernel/reload',
  'ringkernel/rollback',
  'ringkernel/stopKernels',
  'ringkernel/startKernels',
  'ringkernel/selectDevice',
  'ringkernel/previewPlacement',
  'ringkernel/trustChanged',
  'ringkernel/migrationTargets',
  'ringkernel/migrate',
  'ringkernel/drainDevice',
  'ringkernel/undrainDevice',
  'no/such/method',
  '',
];

const uri = fc.constantFrom(
  'file:///tmp/ringkernel-fuzz/k.wgsl',
  'file:///tmp/ringkernel-fuzz/k.ptx',
  'file:///tmp/ringkernel-fuzz/k.metal',
  'untitled:1',
  'file:///',
  '',
  'not a uri',
  '%%%',
);
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constant('@compute @workgroup_size(1) fn main() {}'),
);
/** Params shaped like the real ones, with any part wrong, or anything at all. */
const params = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      textDocument: fc.oneof(
        fc.record(
          {
            uri,
            languageId: fc.constantFrom('wgsl', 'ptx', 'msl', 'json', 5 as unknown as string),
            version: fc.oneof(fc.integer(), fc.jsonValue()),
            text,
          },
          { requiredKeys: [] },
        ),
        fc.jsonValue(),
      ),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      textDocument: fc.record({ uri, version: fc.integer() }),
      contentChanges: fc.oneof(
        fc.array(fc.record({ text, range: fc.jsonValue() }, { requiredKeys: [] }), { maxLength: 3 }),
        fc.jsonValue(),
      ),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      kernel: fc.oneof(fc.string(), fc.jsonValue()),
      device: fc.oneof(fc.string(), fc.jsonValue()),
      trusted: fc.jsonValue(),
      settings: fc.jsonValue(),
      changes: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
);

/** One piece of an input, with what the server owes for it. */
type Piece =
  | { kind: 'message'; bytes: Buffer; id?: number }
  | { kind: 'not-json'; bytes: Buffer }
  | { kind: 'bad-frame'; bytes: Buffer };

let nextId = 1;
const message: fc.Arbitrary<Piece> = fc
  .tuple(
    fc.constantFrom(...METHODS),
    params,
    fc.oneof(fc.constant('number'), fc.constant('none'), fc.jsonValue()),
    fc.boolean(),
  )
  .map(([method, p, idKind, withParams]) => {
    const body: Record<string, unknown> = { jsonrpc: '2.0', method };
    if (withParams) body.params = p;
    let id: number | undefined;
    if (idKind === 'number') {
      id = 1_000_000 + nextId++;
      body.id = id;
    } else if (idKind !== 'none') {
      body.id = idKind;
    }
    // `exit` ends the server by design; it is not among the methods.
    return id === undefined
      ? { kind: 'message', bytes: frame(JSON.stringify(body)) }
      : { kind: 'message', bytes: frame(JSON.stringify(body)), id };
  });
const notJson: fc.Arbitrary<Piece> = fc
  .oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
    fc.string({ minLength: 1, maxLength: 100 }).map((s) => Buffer.from(`{"jsonrpc":"2.0","id":1,${s}`)),
  )
  .filter((b) => {
    try {
      JSON.parse(b.toString('utf8'));
      return false;
    } catch {
      return true;
    }
  })
  .map((bytes) => ({ kind: 'not-json', bytes: frame(bytes) }));
const badFrame: fc.Arbitrary<Piece> = fc
  .oneof(
    fc.constantFrom(
      'Content-Length: -1\r\n\r\n{}',
      'Content-Length: abc\r\n\r\n{}',
      'Content-Type: x\r\n\r\n{}',
      'Content-Length: 0\r\n\r\n',
      'garbage\r\n\r\n',
      'Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map((s) => `${s}\r\n\r\n`),
  )
  .map((s) => ({ kind: 'bad-frame', bytes: Buffer.from(s, 'utf8') }));

const input = fc.array(
  fc.oneof({ weight: 12, arbitrary: message }, { weight: 2, arbitrary: notJson }, { weight: 1, arbitrary: badFrame }),
  { minLength: 1, maxLength: 4 },
);

describe('fuzz: LSP transport (stdio)', () => {
  let session: LspSession | undefined;
  after(() => session?.kill());

  test(
    'every request is answered, bad bodies are reported, bad frames end the server with a message, and it answers afterwards',
    { timeout: 600_000 },
    async (t) => {
      const counts = { messages: 0, requests: 0, notJson: 0, badFrames: 0, restarts: 0 };
      let probe = 0;
      /** Handler exceptions the server logged (it survives them, but they are not clear errors). */
      const crashes = new Map<string, number>();
      await fuzz(
        t,
        'LSP transport',
        input,
        async (pieces) => {
          if (!session?.alive) {
            if (session) counts.restarts++;
            session = new LspSession();
            await session.initialize();
          }
          const current = session;
          const stderrBefore = current.stderr.length;
          const logBefore = current.messages.length;
          // A bad frame makes everything after it unreadable: the pieces after it are not sent.
          const cut = pieces.findIndex((p) => p.kind === 'bad-frame');
          const sent = cut === -1 ? pieces : pieces.slice(0, cut + 1);
          for (const piece of sent) current.write(piece.bytes);
          const last = sent.at(-1);
          if (last?.kind === 'bad-frame') {
            counts.badFrames++;
            const { code, signal } = await current.exit(15_000);
            assert.equal(signal, null, 'the server must exit by itself');
            assert.equal(code, 1);
            assert.match(current.stderr.slice(stderrBefore), /the client sent a malformed LSP frame on stdin: \S/);
            return;
          }
          for (const piece of sent) {
            if (piece.kind === 'not-json') counts.notJson++;
            else counts.messages++;
            if (piece.kind !== 'message' || piece.id === undefined) continue;
            counts.requests++;
            const answer = await current.answer(
              piece.id,
              30_000,
              `the answer to ${piece.bytes.toString('utf8').slice(0, 300)}`,
            );
            assert.notEqual(
              answer,
              'exited',
              `the server exited on ${piece.bytes.toString('utf8').slice(0, 300)}: ${current.stderr.slice(stderrBefore)}`,
            );
            if (answer !== 'exited')
              assert.ok(
                answer.error !== undefined || 'result' in answer,
                `neither result nor error: ${JSON.stringify(answer)}`,
              );
          }
          // Still answering.
          const id = `probe-${++probe}`;
          current.send({ jsonrpc: '2.0', id, method: 'ringkernel/serverInfo' });
          const answer = await current.answer(id, 30_000, 'the probe request after the input');
          assert.ok(
            answer !== 'exited' && answer.result !== undefined,
            `after the input: ${JSON.stringify(answer)} ${current.stderr.slice(stderrBefore)}`,
          );
          for (const m of current.messages.slice(logBefore)) {
            const logged = (m.params as { message?: unknown } | undefined)?.message;
            const text = m.method === 'window/logMessage' && typeof logged === 'string' ? logged : '';
            const site = /^(\w*Error: [^\n]*)\n\s+at ([^\s(]+)/.exec(text) ?? /^([^:]+ wiring: .*)$/.exec(text);
            if (site)
              crashes.set(`${site[1]} at ${site[2] ?? ''}`, (crashes.get(`${site[1]} at ${site[2] ?? ''}`) ?? 0) + 1);
          }
          const notJson = sent.filter((p) => p.kind === 'not-json').length;
          const said = current.messages
            .slice(logBefore)
            .filter(
              (m) => m.method === 'window/logMessage' && /that is not JSON/.test(JSON.stringify(m.params)),
            ).length;
          assert.ok(
            said >= notJson || current.messages.length < logBefore,
            `${notJson} bodies were not JSON, ${said} reported`,
          );
        },
        { perInputMs: 60_000 },
      );
      t.diagnostic(JSON.stringify(counts));
      for (const [site, count] of crashes) t.diagnostic(`handler exception ${count}x: ${site}`);
      assert.deepEqual([...crashes.keys()], [], 'a handler threw on malformed params instead of saying what was wrong');
    },
  );
});
