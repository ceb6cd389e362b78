// A read asked for with readSoon reaches the device host ahead of every request asked for after it
// (server/src/hosts/deviceHost.ts), even while it waits for a shared-memory region: a reload's
// checkpoint is such a read, and the new version's startLoop follows it at once. Found by fault
// injection (docs/reliability.md, seed 380098093): the startLoop went out first, the checkpoint
// held the state after the new version's first step under the step before it, and a recovery
// from that checkpoint ran the step twice.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DeviceHost, type LoopEvent } from '../../server/src/hosts/deviceHost';
import { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import { MAX_REGIONS, transferRegions } from '../../server/src/hosts/transferRegions';
import { COUNTER_WGSL, counterState } from '../support/faultHarness';
import { webgpuSkipReason } from '../support/faultRuntime';
import { pollUntil } from '../support/poll';
import { distFile } from '../support/repo';

const STATE_BYTES = 1 << 20; // past the bulk threshold: the read needs a region
const hosts: DeviceHost[] = [];

after(() => {
  for (const host of hosts) host.dispose();
});

test(
  'a readSoon waiting for its region still reaches the host before a startLoop asked for after it',
  { timeout: 120_000 },
  async (t) => {
    const skip = await webgpuSkipReason();
    if (skip) return t.skip(skip);
    const host = new DeviceHost({ backend: 'webgpu', script: distFile('deviceHost.js'), stepTimeoutMs: 20_000 });
    hosts.push(host);
    const kernel = await DeviceKernel.create(
      host,
      { language: 'wgsl', label: 'counter', code: COUNTER_WGSL, entryPoint: 'step' },
      {
        index: 0,
        device: 0,
        stateBytes: STATE_BYTES,
        grid: [STATE_BYTES / 256, 1, 1],
        inboxCapacity: 1,
        outboxCapacity: 1,
      },
    );
    await kernel.run(5);
    // Every region lent: the read waits for one, as it does while other transfers hold the pool.
    const held = await Promise.all(Array.from({ length: MAX_REGIONS }, () => transferRegions().take(STATE_BYTES)));
    const read = kernel.readStateSoon();
    const events: LoopEvent[] = [];
    const started = kernel.startLoop(0, (event) => events.push(event));
    // Had the startLoop gone ahead, the loop would step now; a first step takes milliseconds here.
    const steppedFirst = await pollUntil('a step of the loop', () => (events.length > 0 ? true : undefined), {
      timeoutMs: 1_000,
      intervalMs: 10,
    }).catch(() => false);
    for (const lease of held) lease.release();
    const state = await read;
    await started;
    assert.equal(steppedFirst, false, 'no step ran while the read asked for before the loop waited for its region');
    const counted = counterState(state, 5);
    assert.ok(counted.consistent, `the read holds the state after 5 steps, before the loop's first: ${counted.detail}`);
    await pollUntil('the loop to step', () => (kernel.stepCount > 5 ? true : undefined), { timeoutMs: 30_000 });
    await kernel.stopLoop();
  },
);
