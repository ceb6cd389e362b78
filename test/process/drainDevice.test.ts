// ringkernel/drainDevice through the language server (stdio, as any LSP editor drives it), with two
// WebGPU device instances (ringkernel.webgpu.instancesPerAdapter: 2; lavapipe here and in CI): the
// coordinator's plan is executed, so the kernel really moves to the other instance and keeps
// stepping there, with work-done progress; a drain with nowhere to go leaves it running where it is.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import {
  ConfigurationRequest,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgress,
  createProtocolConnection,
  type ProtocolConnection,
  type WorkDoneProgressReport,
} from 'vscode-languageserver-protocol/node';
import {
  drainDeviceRequest,
  kernelsRequest,
  topologyRequest,
  undrainDeviceRequest,
  type KernelsInfo,
} from '../../server/src/lsp/protocol';
import { probeMachine } from '../../server/src/probe/machineProbe';
import { pollUntil } from '../support/poll';
import { repoRoot } from '../support/repo';

// Word 0 counts the steps, the rest of the state changes every step: a state that did not move shows.
const KERNEL = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x == 0u) { state[0] = control.step + 1u; } else if (id.x < arrayLength(&state)) { state[id.x] = state[id.x] * 3u + id.x; }
}
`;

async function withServer(body: (connection: ProtocolConnection) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-drain-'));
  writeFileSync(join(root, 'heat.wgsl'), KERNEL);
  writeFileSync(
    join(root, 'ringkernel.json'),
    JSON.stringify({
      version: 1,
      kernels: [
        {
          id: 'heat',
          source: 'heat.wgsl',
          entryPoint: 'step',
          backend: 'webgpu',
          device: 0,
          stateBytes: 1 << 16,
          grid: [256, 1, 1],
          rateHz: 200,
        },
      ],
    }),
  );
  const server = spawn(process.execPath, [join(repoRoot, 'bin', 'ringkernel-language-server.js'), '--stdio']);
  const connection = createProtocolConnection(
    new StreamMessageReader(server.stdout),
    new StreamMessageWriter(server.stdin),
  );
  // The client's settings: two instances of the WebGPU adapter; everything else at its default.
  connection.onRequest(ConfigurationRequest.type, (params) =>
    params.items.map((item) => (item.section === 'ringkernel' ? { webgpu: { instancesPerAdapter: 2 } } : null)),
  );
  connection.listen();
  try {
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      capabilities: { workspace: { configuration: true }, window: { workDoneProgress: true } },
      workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'drain' }],
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

const heatOf = (info: KernelsInfo): KernelsInfo['kernels'][number] | undefined =>
  info.kernels.find((k) => k.id === 'heat');

/** Waits until heat runs on `device` and has stepped past `after`; its step then. */
async function stepsOn(connection: ProtocolConnection, device: string, after: number): Promise<number> {
  return pollUntil(
    `heat stepping on ${device} past step ${after}`,
    async () => {
      const heat = heatOf(await connection.sendRequest(kernelsRequest));
      return heat?.state === 'running' && heat.device === device && heat.step > after ? heat.step : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

test(
  'drain webgpu:0 moves heat to webgpu:1, where it keeps stepping; a drain with nowhere to go leaves it running; undrain',
  { timeout: 180_000 },
  async (t) => {
    const webgpu = (await probeMachine({})).reports.find((r) => r.backend === 'webgpu');
    if (!webgpu?.available) return t.skip(`WebGPU is unavailable here: ${webgpu?.reason ?? 'not probed'}`);
    await withServer(async (connection) => {
      const before = await stepsOn(connection, 'webgpu:0', 0);
      const reports: WorkDoneProgressReport[] = [];
      const token = 'drain-1';
      const progress = connection.onProgress(WorkDoneProgress.type, token, (value) => {
        if (value.kind === 'report') reports.push(value);
      });
      const moved = await connection.sendRequest(drainDeviceRequest, { device: 'webgpu:0', workDoneToken: token });
      progress.dispose();
      assert.deepEqual(moved.stayed, []);
      assert.deepEqual(
        moved.migrations.map((m) => [m.kernelId, m.from, m.to, m.status, m.verified]),
        [['heat', 'webgpu:0', 'webgpu:1', 'migrated', true]],
      );
      assert.match(moved.message, /heat -> webgpu:1/);
      assert.ok(
        reports.some((r) => r.message?.startsWith('heat -> webgpu:1: transferring')),
        `progress per phase: ${reports.map((r) => r.message).join(' | ')}`,
      );
      await stepsOn(connection, 'webgpu:1', before);
      const topology = await connection.sendRequest(topologyRequest);
      assert.deepEqual(topology.drained, ['webgpu:0']);
      assert.equal(
        topology.devices.find((d) => d.key === 'webgpu:1')?.kernelCount,
        1,
        'the coordinator counts heat where it runs',
      );

      // webgpu:0 is out of service: draining webgpu:1 has nowhere to put heat, which keeps running there.
      const nowhere = await connection.sendRequest(drainDeviceRequest, { device: 'webgpu:1' });
      assert.deepEqual(nowhere.migrations, []);
      assert.deepEqual(
        nowhere.stayed.map((s) => s.kernelId),
        ['heat'],
      );
      assert.match(nowhere.message, /keep running on webgpu:1/);
      const stayedAt = heatOf(await connection.sendRequest(kernelsRequest))?.step ?? 0;
      await stepsOn(connection, 'webgpu:1', stayedAt);

      const back = await connection.sendRequest(undrainDeviceRequest, { device: 'webgpu:0' });
      assert.match(back.message, /webgpu:0 is back in service/);
      assert.ok((await connection.sendRequest(topologyRequest)).devices.some((d) => d.key === 'webgpu:0'));
    });
  },
);
