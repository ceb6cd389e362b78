// The language server writes checkpoint files to the folder its client names
// (initializationOptions.checkpointFolder: VS Code's workspace storage), and a server started
// after it resumes each kernel from its newest file, at its step.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import {
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { kernelsRequest, stopKernelsRequest, type KernelsInfo } from '../../server/src/lsp/protocol';
import { pollUntil } from '../support/poll';
import { repoRoot } from '../support/repo';

const KERNEL = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(1)
fn step() { state[0] = control.step + 1u; }
`;

async function withServer(
  root: string,
  checkpointFolder: string,
  body: (connection: ProtocolConnection) => Promise<void>,
): Promise<void> {
  const server = spawn(process.execPath, [join(repoRoot, 'bin', 'ringkernel-language-server.js'), '--stdio']);
  const connection = createProtocolConnection(
    new StreamMessageReader(server.stdout),
    new StreamMessageWriter(server.stdin),
  );
  connection.listen();
  try {
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      capabilities: {},
      workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'kernels' }],
      initializationOptions: { checkpointFolder },
    });
    await connection.sendNotification(InitializedNotification.type, {});
    await body(connection);
  } finally {
    await connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
    await connection.sendNotification(ExitNotification.type).catch(() => undefined);
    connection.dispose();
    if (server.exitCode === null) await new Promise((resolve) => server.once('exit', resolve));
  }
}

const tick = (info: KernelsInfo): KernelsInfo['kernels'][number] | undefined =>
  info.kernels.find((k) => k.id === 'tick');

test(
  "a restarted language server resumes its kernels from the checkpoint files in the client's folder",
  { timeout: 180_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ringkernel-server-ckpt-'));
    writeFileSync(join(root, 'tick.wgsl'), KERNEL);
    writeFileSync(
      join(root, 'ringkernel.json'),
      JSON.stringify({
        version: 1,
        kernels: [{ id: 'tick', source: 'tick.wgsl', entryPoint: 'step', stateBytes: 16, rateHz: 10 }],
      }),
    );
    const folder = join(mkdtempSync(join(tmpdir(), 'ringkernel-storage-')), 'checkpoints');
    let stoppedAt = 0;
    await withServer(root, folder, async (connection) => {
      const running = await pollUntil(
        'tick to run',
        async () => {
          const info = await connection.sendRequest(kernelsRequest);
          return tick(info)?.state === 'running' && (tick(info)?.step ?? 0) > 15 ? info : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      assert.ok(running);
      await connection.sendRequest(stopKernelsRequest);
      stoppedAt = tick(await connection.sendRequest(kernelsRequest))?.step ?? 0;
      assert.ok(stoppedAt > 15);
    });
    assert.equal(readdirSync(folder).filter((name) => name.endsWith('.rkcp')).length, 1, 'the stop left its file');
    await withServer(root, folder, async (connection) => {
      const resumed = await pollUntil(
        'tick to run again',
        async () => {
          const view = tick(await connection.sendRequest(kernelsRequest));
          return view?.state === 'running' && view.step > 0 ? view : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      // At 10 steps a second a fresh start is seen within its first few steps; a resumed one past where it stopped.
      assert.ok(resumed.step > stoppedAt, `it went on from step ${stoppedAt} (now ${resumed.step}), not from 0`);
    });
  },
);

test(
  'shutting the server down (a restart) stops each kernel with its state on disk: the next server resumes where it was',
  { timeout: 180_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'ringkernel-server-shutdown-'));
    writeFileSync(join(root, 'tick.wgsl'), KERNEL);
    // tick reaches step 15 in about 1.5 s at 10 Hz, well before the first periodic checkpoint (10 s):
    // the file the next server resumes from is the one the shutdown wrote.
    writeFileSync(
      join(root, 'ringkernel.json'),
      JSON.stringify({
        version: 1,
        kernels: [{ id: 'tick', source: 'tick.wgsl', entryPoint: 'step', stateBytes: 16, rateHz: 10 }],
      }),
    );
    const folder = join(mkdtempSync(join(tmpdir(), 'ringkernel-storage-')), 'checkpoints');
    let seen = 0;
    await withServer(root, folder, async (connection) => {
      const running = await pollUntil(
        'tick to run',
        async () => {
          const view = tick(await connection.sendRequest(kernelsRequest));
          return view?.state === 'running' && view.step > 15 ? view : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      seen = running.step;
    });
    assert.ok(
      readdirSync(folder).some((name) => name.endsWith('.rkcp')),
      'the shutdown left a checkpoint file',
    );
    await withServer(root, folder, async (connection) => {
      const resumed = await pollUntil(
        'tick to run again',
        async () => {
          const view = tick(await connection.sendRequest(kernelsRequest));
          return view?.state === 'running' && view.step > 0 ? view : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      assert.ok(resumed.step > seen, `it went on from past step ${seen} (now ${resumed.step}), not from 0`);
    });
  },
);
