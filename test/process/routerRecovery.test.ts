// K2K messages survive a device host killed while they flow (free-running, real device hosts on
// the machine's WebGPU adapter: lavapipe here). A source sends 0, 1, 2, ... one per step to a
// relay, which forwards each to a sink; both check every value is the next one and fold it into
// a checksum. The relay's host is killed (SIGKILL), then the host the source and the sink share:
// each kernel comes back from its last checkpoint, the router delivers again what it had consumed
// since (and what sat in its mailbox), and drops what the re-run sends again (per-pair sequence
// numbers). In the end both have every value once, in order, and nothing was lost.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MultiGpuCoordinator } from '../../server/src/coordinator/multiGpuCoordinator';
import type { Logger } from '../../server/src/logger';
import { parseManifest } from '../../server/src/manifest/manifest';
import { probeBackends } from '../../server/src/probe/machineProbe';
import { coordinatorPlacer } from '../../server/src/runtime/coordinatorPlacer';
import { KernelRuntime } from '../../server/src/runtime/kernelRuntime';
import { WGSL_ABI } from '../support/kernelSources';
import { pollUntil } from '../support/poll';
import { distFile } from '../support/repo';

/** What the runtime logged (warnings and up, and the router's restores), for a failure's message. */
const logged: string[] = [];
const keep = (line: string): void => void logged.push(line);
const log: Logger = {
  error: keep,
  warn: keep,
  info: (line) => (line.startsWith('router:') ? keep(line) : undefined),
  debug: () => undefined,
};
/** Values the source sends (one per step, at 100 steps/s). */
const VALUES = 400;

const SOURCE = `${WGSL_ABI}
@compute @workgroup_size(1)
fn main() {
  state[0] = control.step + 1u;
  if (control.step >= ${VALUES}u) { return; }
  let slot = atomicAdd(&outbox.count, 1u);
  if (slot >= control.outbox_capacity) { return; }
  outbox.slots[slot].destination = 1u; // the relay
  outbox.slots[slot].kind = 7u;
  outbox.slots[slot].length = 4u;
  outbox.slots[slot].payload[0] = control.step;
}`;

// state: [0] values received, [1] values that were not the next one (a loss, duplicate or
// reorder), [2] the checksum. The relay forwards each value to the sink.
function checker(forward: boolean): string {
  return `${WGSL_ABI}
@compute @workgroup_size(1)
fn main() {
  for (var i = 0u; i < control.inbox_count; i = i + 1u) {
    let value = inbox[i].payload[0];
    if (value != state[0]) { state[1] = state[1] + 1u; }
    state[0] = state[0] + 1u;
    state[2] = state[2] * 31u + value + 1u;
    ${
      forward
        ? `let slot = atomicAdd(&outbox.count, 1u);
    if (slot < control.outbox_capacity) {
      outbox.slots[slot].destination = 0u; // the sink
      outbox.slots[slot].kind = 7u;
      outbox.slots[slot].length = 4u;
      outbox.slots[slot].payload[0] = value;
    }`
        : ''
    }
  }
}`;
}

function expectedChecksum(): number {
  let sum = 0;
  for (let value = 0; value < VALUES; value++) sum = (Math.imul(sum, 31) + value + 1) >>> 0;
  return sum;
}

function words(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4));
}

test(
  'free-running: device hosts killed (SIGKILL) while messages flow; every value reaches relay and sink once, in order; nothing lost',
  { timeout: 240_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ringkernel-k2k-recovery-'));
    writeFileSync(join(dir, 'source.wgsl'), SOURCE);
    writeFileSync(join(dir, 'relay.wgsl'), checker(true));
    writeFileSync(join(dir, 'sink.wgsl'), checker(false));
    const kernel = (id: string, rateHz: number, inboxCapacity: number): object => ({
      id,
      source: `${id}.wgsl`,
      entryPoint: 'main',
      backend: 'webgpu',
      grid: [1, 1, 1],
      stateBytes: 16,
      inboxCapacity,
      outboxCapacity: 4,
      rateHz,
    });
    const text = JSON.stringify({
      version: 1,
      // Receivers first: kernels start one after another, and a message to one not started yet fails.
      kernels: [kernel('sink', 200, 4), kernel('relay', 200, 4), kernel('source', 100, 0)],
    });
    const manifestPath = join(dir, 'ringkernel.json');
    writeFileSync(manifestPath, text);
    const manifest = parseManifest(text, manifestPath);
    const coordinator = new MultiGpuCoordinator();
    coordinator.syncDevices(await probeBackends({}));
    const runtime = new KernelRuntime({
      log,
      placer: coordinatorPlacer(coordinator),
      hostScript: distFile('deviceHost.js'),
      stepTimeoutMs: 20_000,
      // Two hosts: the source and the sink share one, the relay has its own.
      maxHostsPerDevice: 2,
      // Checkpoints while messages flow: the router forgets what they cover, keeps what they do not.
      checkpointIntervalMs: 700,
      validate: () => Promise.resolve([]),
    });
    const view = (id: string) => runtime.views().find((v) => v.id === id);
    const routed = (id: string) => runtime.routerStats().kernels.find((k) => k.id === id);
    /**
     * Kills the host of `id` once it was delivered `delivered` messages (checkpoints were taken
     * meanwhile) and holds some that no checkpoint covers yet; waits until `ids` run again in a new process.
     */
    const killHostOf = async (id: string, delivered: number, ids: string[]): Promise<void> => {
      await pollUntil(
        `${id} delivered ${delivered} messages, some since its last checkpoint`,
        () => ((routed(id)?.delivered ?? 0) >= delivered && (routed(id)?.retained ?? 0) >= 5 ? true : undefined),
        { timeoutMs: 60_000 },
      );
      const pid = view(id)?.hostPid;
      assert.ok(pid !== undefined, `${id} has a host process`);
      process.kill(pid, 'SIGKILL');
      await pollUntil(
        `${ids.join(', ')} running again in a new host after the kill`,
        () => (ids.every((k) => view(k)?.state === 'running' && view(k)?.hostPid !== pid) ? true : undefined),
        { timeoutMs: 60_000 },
      );
    };
    try {
      await runtime.setManifest(manifest);
      assert.deepEqual((await runtime.start()).failed, []);
      assert.equal(view('source')?.hostPid, view('sink')?.hostPid, 'the source and the sink share a host');
      assert.notEqual(view('source')?.hostPid, view('relay')?.hostPid, 'the relay has a host of its own');

      await killHostOf('relay', 100, ['relay']);
      await killHostOf('sink', 250, ['source', 'sink']);

      const sinkCount = async (): Promise<number> =>
        words((await runtime.readStateRanges('sink', [{ offset: 0, length: 4 }])).bytes[0] ?? new Uint8Array(4))[0] ??
        0;
      await pollUntil(
        `the sink to receive all ${VALUES} values`,
        async () => ((await sinkCount()) >= VALUES ? true : undefined),
        { timeoutMs: 40_000, intervalMs: 250 },
      ).catch(async (error: unknown) => {
        throw new Error(
          `${String(error)}; the sink has ${await sinkCount()}; router: ${JSON.stringify(runtime.routerStats().totals)} ${JSON.stringify(runtime.routerStats().kernels.map((k) => [k.id, k.failures, k.unknownDestinations]))}; log: ${logged.join(' | ')}`,
        );
      });
      await runtime.stop();

      const stats = runtime.routerStats();
      t.diagnostic(logged.filter((line) => line.startsWith('router:')).join('; '));
      for (const id of ['relay', 'sink']) {
        const [received, wrong, checksum] = words((await runtime.readState(id)).state);
        assert.equal(received, VALUES, `${id}: every value once`);
        assert.equal(wrong, 0, `${id}: no value lost, repeated or out of order`);
        assert.equal(checksum, expectedChecksum(), `${id}: the checksum of 0..${VALUES - 1} in order`);
      }
      assert.equal(stats.delivery.lostWithHost, 0, 'nothing went with the killed hosts');
      assert.ok(
        stats.totals.redelivered > 0,
        `messages were delivered again after the kills (${stats.totals.redelivered})`,
      );
      assert.ok(
        stats.totals.duplicates > 0,
        `re-sent messages were dropped as duplicates (${stats.totals.duplicates})`,
      );
      assert.equal(stats.totals.failed, 0);
      assert.equal(stats.totals.refused, 0);
      assert.equal(stats.totals.outboxFull, 0);
    } finally {
      await runtime.dispose();
    }
  },
);
