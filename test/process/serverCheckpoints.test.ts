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
import { kernelsRequest, stopKernelsRequest, type KernelView, type KernelsInfo } from '../../server/src/lsp/protocol';
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

/** A workspace with the one `tick` kernel (10 steps a second), and an empty checkpoint folder for it. */
function tickWorkspace(prefix: string): { root: string; folder: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(root, 'tick.wgsl'), KERNEL);
  writeFileSync(
    join(root, 'ringkernel.json'),
    JSON.stringify({
      version: 1,
      kernels: [{ id: 'tick', source: 'tick.wgsl', entryPoint: 'step', stateBytes: 16, rateHz: 10 }],
    }),
  );
  return { root, folder: join(mkdtempSync(join(tmpdir(), 'ringkernel-storage-')), 'checkpoints') };
}

/** tick's view once it runs past `step`. */
function tickRunningPast(connection: ProtocolConnection, step: number, what: string): Promise<KernelView> {
  return pollUntil(
    what,
    async () => {
      const view = tick(await connection.sendRequest(kernelsRequest));
      return view?.state === 'running' && view.step > step ? view : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  );
}

const checkpointFiles = (folder: string): string[] => readdirSync(folder).filter((name) => name.endsWith('.rkcp'));

test(
  "a restarted language server resumes its kernels from the checkpoint files in the client's folder",
  { timeout: 180_000 },
  async () => {
    const { root, folder } = tickWorkspace('ringkernel-server-ckpt-');
    let stoppedAt = 0;
    await withServer(root, folder, async (connection) => {
      await tickRunningPast(connection, 15, 'tick to run');
      await connection.sendRequest(stopKernelsRequest);
      stoppedAt = tick(await connection.sendRequest(kernelsRequest))?.step ?? 0;
      assert.ok(stoppedAt > 15);
    });
    assert.equal(checkpointFiles(folder).length, 1, 'the stop left its file');
    await withServer(root, folder, async (connection) => {
      const resumed = await tickRunningPast(connection, 0, 'tick to run again');
      // At 10 steps a second a fresh start is seen within its first few steps; a resumed one past where it stopped.
      assert.ok(resumed.step > stoppedAt, `it went on from step ${stoppedAt} (now ${resumed.step}), not from 0`);
    });
  },
);

test(
  'shutting the server down (a restart) stops each kernel with its state on disk: the next server resumes where it was',
  { timeout: 180_000 },
  async () => {
    // tick reaches step 15 in about 1.5 s at 10 Hz, well before the first periodic checkpoint (10 s):
    // the file the next server resumes from is the one the shutdown wrote.
    const { root, folder } = tickWorkspace('ringkernel-server-shutdown-');
    let seen = 0;
    await withServer(root, folder, async (connection) => {
      seen = (await tickRunningPast(connection, 15, 'tick to run')).step;
    });
    assert.ok(checkpointFiles(folder).length > 0, 'the shutdown left a checkpoint file');
    await withServer(root, folder, async (connection) => {
      const resumed = await tickRunningPast(connection, 0, 'tick to run again');
      assert.ok(resumed.step > seen, `it went on from past step ${seen} (now ${resumed.step}), not from 0`);
    });
  },
);
