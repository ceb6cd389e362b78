// A client that breaks the LSP base protocol's framing: the server logs what was wrong and exits
// non-zero, instead of staying alive and silent. Pure tests of the checker, then the real server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { FrameChecker } from '../../server/src/lsp/frameGuard';
import { pollUntil } from '../support/poll';
import { distFile } from '../support/repo';

const frame = (body: string, headers = `Content-Length: ${Buffer.byteLength(body)}`): string =>
  `${headers}\r\n\r\n${body}`;
const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { processId: null, rootUri: null, capabilities: {} },
});
const NOTIFY = JSON.stringify({ jsonrpc: '2.0', method: '$/ping', params: { text: 'ünïcödé: bytes, not characters' } });

/** What the checker says about `bytes`, fed whole and fed one byte at a time (both must agree). */
function check(bytes: string): string | undefined {
  const whole = new FrameChecker().push(Buffer.from(bytes, 'utf8'));
  const byByte = new FrameChecker();
  let problem: string | undefined;
  for (const byte of Buffer.from(bytes, 'utf8')) {
    problem = byByte.push(Buffer.from([byte]));
    if (problem !== undefined) break;
  }
  assert.equal(
    problem === undefined,
    whole === undefined,
    `whole: ${whole ?? 'fine'}; byte by byte: ${problem ?? 'fine'}`,
  );
  return whole;
}

const BAD_FRAMES: [string, string, RegExp][] = [
  [
    'a missing Content-Length',
    frame(INITIALIZE, 'Content-Type: application/vscode-jsonrpc; charset=utf-8'),
    /without a Content-Length header/,
  ],
  [
    'a non-numeric Content-Length',
    frame(INITIALIZE, 'Content-Length: twelve'),
    /Content-Length is not a number of bytes: "twelve"/,
  ],
  ['a Content-Length with trailing junk', frame(INITIALIZE, 'Content-Length: 12abc'), /not a number of bytes: "12abc"/],
  ['a negative Content-Length', frame(INITIALIZE, 'Content-Length: -5'), /Content-Length is negative \(-5\)/],
  [
    'a short Content-Length',
    frame(INITIALIZE, 'Content-Length: 10'),
    /expected a header such as "Content-Length: 123" but got .*declared Content-Length 10, probably less than its body/,
  ],
  [
    'a short Content-Length after a good frame',
    frame(NOTIFY) + frame(INITIALIZE, `Content-Length: ${Buffer.byteLength(INITIALIZE) - 1}`),
    /declared Content-Length \d+, probably less/,
  ],
  ['a zero Content-Length', frame('', 'Content-Length: 0'), /Content-Length is 0/],
  [
    'a header line without a colon',
    frame(INITIALIZE, `Content-Length: ${Buffer.byteLength(INITIALIZE)}\r\nnonsense`),
    /but got "nonsense"/,
  ],
  [
    'two Content-Length headers',
    frame(INITIALIZE, `Content-Length: ${Buffer.byteLength(INITIALIZE)}\r\nContent-Length: 3`),
    /two Content-Length headers/,
  ],
  ['a body with no header at all', `${INITIALIZE}\r\n\r\n`, /expected a header/],
];

test('the frame checker accepts well-formed frames however they are split, any header case, extra headers and UTF-8 bodies', () => {
  const good = [
    frame(INITIALIZE),
    frame(NOTIFY),
    frame(
      NOTIFY,
      `content-length: ${Buffer.byteLength(NOTIFY)}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8`,
    ),
    frame(
      NOTIFY,
      `Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length:   ${Buffer.byteLength(NOTIFY)}  `,
    ),
    'Content-Len', // the rest of a header still to come
  ].join('');
  assert.equal(check(good), undefined);
});

test('the frame checker names what is wrong with a bad frame', () => {
  for (const [what, bytes, says] of BAD_FRAMES) assert.match(check(bytes) ?? 'no problem found', says, what);
});

test('the frame checker gives up on a header block that never ends', () => {
  assert.match(check(`Content-Length: 5\r\nX-Padding: ${'a'.repeat(9000)}`) ?? '', /no end of headers/);
});

for (const [what, bytes] of BAD_FRAMES.slice(0, 6)) {
  test(`the language server over stdio logs ${what} on stderr and exits non-zero`, { timeout: 30_000 }, async () => {
    const server = spawn(process.execPath, [distFile('server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    server.stdout.resume();
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    try {
      // stdin stays open: the exit must come from the frame, not from the end of the input.
      server.stdin.write(bytes);
      const code = await Promise.race([
        exited,
        pollUntil('the server to exit', () => (server.exitCode !== null ? server.exitCode : undefined), {
          timeoutMs: 15_000,
        }),
      ]);
      assert.notEqual(code, 0);
      assert.notEqual(code, null, 'it exits by itself, not by a signal');
      assert.match(
        stderr,
        /ringkernel-language-server: the client sent a malformed LSP frame on stdin: .*Content-Length/,
      );
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  });
}

test(
  'the language server over stdio still answers well-formed frames that arrive a byte at a time',
  { timeout: 30_000 },
  async () => {
    const server = spawn(process.execPath, [distFile('server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    try {
      for (const byte of Buffer.from(frame(NOTIFY) + frame(INITIALIZE), 'utf8'))
        server.stdin.write(Buffer.from([byte]));
      await pollUntil('the initialize result', () => (stdout.includes('"serverInfo"') ? true : undefined), {
        timeoutMs: 20_000,
      });
      assert.equal(server.exitCode, null);
    } finally {
      server.kill('SIGKILL');
    }
  },
);

// Found by fuzzing (test/fuzz/lspTransport): a well-framed body that is not JSON vanished into
// vscode-jsonrpc's unheard error event; a request in it waited for ever with nothing logged.
test('the frame checker names each well-framed body that is not JSON, and the framing goes on', () => {
  const bad: string[] = [];
  const checker = new FrameChecker((problem) => bad.push(problem));
  const bytes = Buffer.from(frame('{not json') + frame(NOTIFY) + frame('[1,') + frame(INITIALIZE), 'utf8');
  for (let at = 0; at < bytes.length; at += 7) assert.equal(checker.push(bytes.subarray(at, at + 7)), undefined);
  assert.equal(bad.length, 2, bad.join('\n'));
  assert.match(bad[0] ?? '', /a message body of 9 bytes that is not JSON \(.*\): "\{not json"/);
  assert.match(bad[1] ?? '', /"\[1,"/);
});

test(
  'the language server over stdio says a body is not JSON, on stderr and in the log, and answers the next request',
  { timeout: 30_000 },
  async () => {
    const server = spawn(process.execPath, [distFile('server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    server.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    try {
      server.stdin.write(frame('{"jsonrpc":"2.0","id":7,"method":"initialize",') + frame(INITIALIZE));
      await pollUntil('the initialize result', () => (stdout.includes('"serverInfo"') ? true : undefined), {
        timeoutMs: 20_000,
      });
      assert.match(stderr, /the client sent a message body of \d+ bytes that is not JSON .*; it was ignored/);
      assert.match(stdout, /window\/logMessage.*that is not JSON/);
      assert.equal(server.exitCode, null);
    } finally {
      server.kill('SIGKILL');
    }
  },
);
