// The kernel runtime through the language server, as any LSP editor drives it (stdio): kernels
// start on their own in a trusted workspace, never in an untrusted one until trust is granted,
// and the manifest's mistakes arrive as its diagnostics while the valid kernels run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import {
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import {
  kernelsRequest,
  reloadKernelRequest,
  startKernelsRequest,
  trustChangedNotification,
  type KernelsInfo,
} from '../../server/src/lsp/protocol';
import { pollUntil } from '../support/poll';
import { repoRoot } from '../support/repo';

const KERNEL = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(1)
fn step() { state[0] = control.step + 1u; }
`;

function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-server-kernels-'));
  writeFileSync(join(root, 'tick.wgsl'), KERNEL);
  writeFileSync(
    join(root, 'ringkernel.json'),
    JSON.stringify(
      {
        version: 1,
        kernels: [
          { id: 'tick', source: 'tick.wgsl', entryPoint: 'step', stateBytes: 16, rateHz: 100 },
          { id: 'ghost', source: 'missing.wgsl', entryPoint: 'step', stateBytes: 16 },
        ],
      },
      null,
      2,
    ),
  );
  return root;
}

async function withServer(
  initializationOptions: object | undefined,
  body: (connection: ProtocolConnection, root: string, diagnostics: PublishDiagnosticsParams[]) => Promise<void>,
): Promise<void> {
  const root = workspace();
  const server = spawn(process.execPath, [join(repoRoot, 'bin', 'ringkernel-language-server.js'), '--stdio']);
  const connection = createProtocolConnection(
    new StreamMessageReader(server.stdout),
    new StreamMessageWriter(server.stdin),
  );
  const diagnostics: PublishDiagnosticsParams[] = [];
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => diagnostics.push(params));
  connection.listen();
  try {
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      capabilities: {},
      workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'kernels' }],
      ...(initializationOptions ? { initializationOptions } : {}),
    });
    await connection.sendNotification(InitializedNotification.type, {});
    await body(connection, root, diagnostics);
  } finally {
    await connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
    await connection.sendNotification(ExitNotification.type).catch(() => undefined);
    connection.dispose();
    if (server.exitCode === null) await new Promise((resolve) => server.once('exit', resolve));
  }
}

const kernel = (info: KernelsInfo, id: string): KernelsInfo['kernels'][number] | undefined =>
  info.kernels.find((k) => k.id === id);

test(
  "a trusted workspace starts its kernels on open; the manifest's mistake is its diagnostic and the other kernel runs",
  { timeout: 120_000 },
  async () => {
    await withServer(undefined, async (connection, root) => {
      const running = await pollUntil(
        'tick to run',
        async () => {
          const info = await connection.sendRequest(kernelsRequest);
          const tick = kernel(info, 'tick');
          return tick?.state === 'running' && tick.step > 0 ? info : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      assert.equal(running.trusted, true);
      assert.equal(running.manifest, join(root, 'ringkernel.json'));
      assert.equal(kernel(running, 'ghost'), undefined, 'a kernel with an error in the manifest is left out');
      assert.ok(running.manifestErrors >= 1);
    });
  },
);

test(
  "the manifest's problems are published on it, with the schema's too for editors that do not check the schema",
  { timeout: 120_000 },
  async () => {
    await withServer(undefined, async (_connection, root, diagnostics) => {
      const uri = pathToFileURL(join(root, 'ringkernel.json')).href;
      const published = await pollUntil(
        "the manifest's diagnostics",
        () => diagnostics.find((d) => d.uri === uri && d.diagnostics.length > 0),
        { timeoutMs: 30_000 },
      );
      const missing = published.diagnostics.find((d) => /missing\.wgsl/.test(d.message));
      assert.ok(
        missing,
        `a diagnostic names the missing file: ${JSON.stringify(published.diagnostics.map((d) => d.message))}`,
      );
      assert.equal(missing.range.start.line, 12, 'it sits on the "source" line of the second kernel');
    });
  },
);

test('an untrusted workspace validates but runs no kernel until trust is granted', { timeout: 120_000 }, async () => {
  await withServer({ trusted: false }, async (connection) => {
    const info = await pollUntil(
      'the kernels to be listed',
      async () => {
        const current = await connection.sendRequest(kernelsRequest);
        return current.kernels.length > 0 ? current : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(info.trusted, false);
    assert.equal(kernel(info, 'tick')?.state, 'stopped');
    const start = await pollUntil(
      'the probe to finish',
      async () => {
        const result = await connection.sendRequest(startKernelsRequest, {});
        return /still being probed/.test(result.error ?? '') ? undefined : result;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    assert.deepEqual(start.started, []);
    assert.match(start.error ?? '', /untrusted workspace.*trust the workspace/);
    await assert.rejects(connection.sendRequest(reloadKernelRequest, { id: 'tick' }), /untrusted workspace/);
    assert.equal(kernel(await connection.sendRequest(kernelsRequest), 'tick')?.state, 'stopped', 'still nothing runs');

    await connection.sendNotification(trustChangedNotification, { trusted: true });
    await pollUntil(
      'tick to run once trusted',
      async () =>
        kernel(await connection.sendRequest(kernelsRequest), 'tick')?.state === 'running' ? true : undefined,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  });
});
