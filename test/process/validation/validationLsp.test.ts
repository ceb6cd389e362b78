// Validation through the real language server (stdio), as any editor sees it: a WGSL kernel that
// enables f16 on a device that has it is clean, a multi-line compiler message arrives as one line
// with related information, a file too large to validate says so, and an explicit ptxas setting
// that does not work is a diagnostic and a log message, not a quiet switch to another ptxas.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import {
  DidChangeConfigurationNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
  type Diagnostic,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { serverInfoRequest } from '../../../server/src/lsp/protocol';
import { hugeSource } from '../../support/badInput';
import { pollUntil } from '../../support/poll';
import { fixture, repoRoot } from '../../support/repo';

const root = mkdtempSync(join(tmpdir(), 'ringkernel-validation-lsp-'));
let server: ChildProcessWithoutNullStreams;
let connection: ProtocolConnection;
/** The newest diagnostics published per URI, and the log lines. */
const published = new Map<string, Diagnostic[]>();
const logLines: string[] = [];
/** Publications and log lines in the order they came. */
const events: string[] = [];
let version = 0;

before(async () => {
  writeFileSync(join(root, 'softmax.wgsl'), readFileSync(fixture('validation', 'wgsl', 'f16_softmax.wgsl'), 'utf8'));
  writeFileSync(
    join(root, 'ringkernel.json'),
    JSON.stringify({
      version: 1,
      kernels: [{ id: 'attention', source: 'softmax.wgsl', entryPoint: 'softmax', device: 0, stateBytes: 16 }],
    }),
  );
  server = spawn(process.execPath, [join(repoRoot, 'bin', 'ringkernel-language-server.js'), '--stdio']);
  connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
    published.set(params.uri, params.diagnostics);
    events.push(`publish ${params.uri} ${params.diagnostics.length}`);
  });
  connection.onNotification(LogMessageNotification.type, (params) => {
    logLines.push(params.message);
    events.push(`log ${params.message}`);
  });
  connection.listen();
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(root).href,
    capabilities: {},
    workspaceFolders: null,
  });
  await connection.sendNotification(InitializedNotification.type, {});
});

after(async () => {
  await connection.sendRequest(ShutdownRequest.type);
  await connection.sendNotification(ExitNotification.type);
  connection.dispose();
  if (server.exitCode === null) await new Promise((resolve) => server.once('exit', resolve));
  rmSync(root, { recursive: true, force: true });
});

async function open(name: string, languageId: string, text: string): Promise<string> {
  const uri = pathToFileURL(join(root, name)).href;
  published.delete(uri);
  await connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId, version: ++version, text },
  });
  return uri;
}

const diagnosticsOf = (
  uri: string,
  what: string,
  ready: (diagnostics: Diagnostic[]) => boolean = () => true,
): Promise<Diagnostic[]> =>
  pollUntil(
    what,
    () => {
      const diagnostics = published.get(uri);
      return diagnostics !== undefined && ready(diagnostics) ? diagnostics : undefined;
    },
    { timeoutMs: 45_000 },
  );

test('a manifest kernel that enables f16 on a WebGPU device that has it gets no diagnostic, before and after the probe', async () => {
  const uri = await open('softmax.wgsl', 'wgsl', readFileSync(join(root, 'softmax.wgsl'), 'utf8'));
  assert.deepEqual(await diagnosticsOf(uri, "the kernel's diagnostics"), []);
  const info = await pollUntil(
    'the backend probe',
    async () => {
      const current = await connection.sendRequest(serverInfoRequest);
      return current.probing ? undefined : current;
    },
    { timeoutMs: 45_000 },
  );
  const webgpu = info.backends.find((b) => b.backend === 'webgpu');
  assert.ok(webgpu?.available, webgpu?.reason);
  // The probe's device report carries the features the check reads.
  assert.ok(webgpu.devices[0]?.features?.includes('shader-f16'), JSON.stringify(webgpu.devices[0]?.features));
  // Revalidated once the devices are known (the server logs them first): still clean.
  await pollUntil(
    'a validation after the probe',
    () => {
      const probed = events.findIndex((e) => e.startsWith('log webgpu: '));
      return probed >= 0 && events.slice(probed).includes(`publish ${uri} 0`) ? true : undefined;
    },
    { timeoutMs: 20_000 },
  );
  assert.deepEqual(published.get(uri), []);
});

test('a multi-line compiler message is one line, its candidates related information', async () => {
  const uri = await open('picks.wgsl', 'wgsl', readFileSync(fixture('validation', 'wgsl', 'multiline.wgsl'), 'utf8'));
  const [error] = await diagnosticsOf(uri, 'the overload error', (d) => d.length > 0);
  assert.equal(error?.message, "no matching call to 'max(f32, vec2<f32>)'");
  assert.equal(error?.relatedInformation?.[0]?.message, '2 candidate functions:');
  assert.ok((error?.relatedInformation ?? []).every((r) => r.location.uri === uri && !r.message.includes('\n')));
});

test('a file too large to validate gets an information diagnostic at its top saying so', async () => {
  const uri = await open('huge.wgsl', 'wgsl', hugeSource('wgsl', 2));
  const diagnostics = await diagnosticsOf(uri, 'the not-validated note', (d) => d.length > 0);
  assert.deepEqual(
    diagnostics.map((d) => [d.severity, d.code, d.range.start.line, d.range.start.character]),
    [[3, 'not-validated', 0, 0]],
  );
  assert.match(diagnostics[0]?.message ?? '', /^This file was not validated: the file has 2\.0 M characters/);
});

test('a ringkernel.ptxas.path that does not exist is a warning on PTX files and a log line; no other ptxas stands in', async () => {
  await connection.sendNotification(DidChangeConfigurationNotification.type, {
    settings: { ringkernel: { ptxas: { path: '/nonexistent/ptxas' } } },
  });
  const uri = await open('counter.ptx', 'ptx', readFileSync(fixture('validation', 'ptx', 'abi_counter.ptx'), 'utf8'));
  const diagnostics = await diagnosticsOf(uri, 'the PTX diagnostics', (d) => d.some((x) => x.code === 'ptxas-path'));
  const warning = diagnostics.find((d) => d.code === 'ptxas-path');
  assert.equal(warning?.severity, 2);
  assert.match(warning?.message ?? '', /^ringkernel\.ptxas\.path is \/nonexistent\/ptxas, which does not exist/);
  assert.ok(
    diagnostics.every((d) => !/^ptxas/.test(String(d.source))),
    'no ptxas from PATH ran',
  );
  await pollUntil('the log line', () =>
    logLines.some((l) => l.includes('ringkernel.ptxas.path is /nonexistent/ptxas, which does not exist'))
      ? true
      : undefined,
  );
});
