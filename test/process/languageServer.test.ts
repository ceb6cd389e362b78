// The language server as any LSP editor runs it: `ringkernel-language-server --stdio`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  DidOpenTextDocumentNotification,
  InitializeRequest,
  InitializedNotification,
  ShutdownRequest,
  ExitNotification,
  createProtocolConnection,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver-protocol/node';
import { serverInfoRequest } from '../../server/src/lsp/protocol';
import { hugeSource, randomText } from '../support/badInput';
import { pollUntil } from '../support/poll';
import { repoRoot } from '../support/repo';

let server: ChildProcessWithoutNullStreams;
let connection: ProtocolConnection;
const stderr: string[] = [];

before(async () => {
  server = spawn(process.execPath, [join(repoRoot, 'bin', 'ringkernel-language-server.js'), '--stdio']);
  server.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  connection.listen();
  const result = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
    workspaceFolders: null,
  });
  assert.equal(result.serverInfo?.name, 'ringkernel-language-server');
  await connection.sendNotification(InitializedNotification.type, {});
});

after(async () => {
  await connection.sendRequest(ShutdownRequest.type);
  await connection.sendNotification(ExitNotification.type);
  connection.dispose();
  if (server.exitCode === null) await new Promise((resolve) => server.once('exit', resolve));
});

test('answers ringkernel/serverInfo over stdio with its own pid', async () => {
  const info = await connection.sendRequest(serverInfoRequest);
  assert.equal(info.pid, server.pid);
  assert.match(info.version, /^\d+\.\d+\.\d+/);
});

test('reports both backends after probing, each found or with a reason', async () => {
  const info = await pollUntil(
    'the backend probe',
    async () => {
      const current = await connection.sendRequest(serverInfoRequest);
      return current.probing ? undefined : current;
    },
    { timeoutMs: 45_000 },
  );
  assert.deepEqual(info.backends.map((b) => b.backend).sort(), ['cuda', 'webgpu']);
  for (const report of info.backends) {
    assert.ok(report.available ? report.devices.length > 0 : (report.reason ?? '').length > 10, JSON.stringify(report));
  }
});

test('keeps driver output off stdout, which is the LSP transport', async () => {
  // The probe child's Dawn warnings would corrupt the stream; the connection still parses.
  await pollUntil(
    'the backend probe',
    async () => ((await connection.sendRequest(serverInfoRequest)).probing ? undefined : true),
    { timeoutMs: 45_000 },
  );
  assert.equal((await connection.sendRequest(serverInfoRequest)).pid, server.pid);
});

test('stays up and answers after random bytes, an empty file and 10 MB files in every language', async () => {
  let version = 0;
  for (const languageId of ['wgsl', 'ptx', 'msl'] as const) {
    for (const [name, text] of [
      ['random', randomText(256 * 1024)],
      ['empty', ''],
      ['huge', hugeSource(languageId, 10)],
    ] as const) {
      await connection.sendNotification(DidOpenTextDocumentNotification.type, {
        textDocument: { uri: `file:///bad-input/${name}.${languageId}`, languageId, version: ++version, text },
      });
    }
  }
  const info = await connection.sendRequest(serverInfoRequest);
  assert.equal(info.pid, server.pid);
  assert.equal(server.exitCode, null, `the server exited; its stderr: ${stderr.join('')}`);
});
