// How a device host drains a kernel's outbox (docs/kernel-abi.md, "outbox"), checked on a real
// device for each language. A step copies the outbox header and a bounded prefix of its slots back
// in its own submission and resets the counter there (stepRunner.ts, outboxSlotsToCopy); a kernel
// that fills more than the prefix gets the rest by one read. Whatever the path, every message a
// step sent that fits the capacity comes back in slot order with its own bytes, the excess is
// counted as dropped, and the next step's counter starts at 0.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { KernelSource } from '../../server/src/backends/backend';
import type { BackendName } from '../../server/src/backends/backendReport';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { DeviceKernel, type StepResult } from '../../server/src/hosts/deviceKernel';
import { ALWAYS_COPIED_SLOTS } from '../../server/src/hosts/child/stepRunner';
import { distFile } from './repo';

export interface OutboxDrainCase {
  backend: BackendName;
  /**
   * Entry point: sends state[0] messages (one atomic increment each) to kernel state[1]; the one
   * that gets slot n, if n < outbox_capacity, writes type 7, length 8, payload words [n, step].
   */
  flood: KernelSource;
  block?: [number, number, number];
  skip?: string | false;
}

const DESTINATION = 3;

/** Checks a step's messages: `count` of them, in slot order, each with its own slot's bytes from `step`. */
function assertDrained(result: StepResult, step: number, count: number, dropped: number, what: string): void {
  assert.equal(result.step, step, `${what}: step number`);
  assert.equal(result.messages.length, count, `${what}: messages`);
  assert.equal(result.dropped, dropped, `${what}: dropped`);
  result.messages.forEach((message, slot) => {
    assert.equal(message.destination, DESTINATION, `${what}: slot ${slot} destination`);
    assert.equal(message.type, 7, `${what}: slot ${slot} type`);
    const words = new Uint32Array(message.payload.slice().buffer);
    assert.deepEqual([...words], [slot, step], `${what}: slot ${slot} payload`);
  });
}

export function outboxDrainSuite(c: OutboxDrainCase): void {
  const hosts: DeviceHost[] = [];
  after(() => {
    for (const host of hosts) host.dispose();
  });

  const start = async (outboxCapacity: number): Promise<DeviceKernel> => {
    const host = new DeviceHost({ backend: c.backend, script: distFile('deviceHost.js'), stepTimeoutMs: 20_000 });
    hosts.push(host);
    return DeviceKernel.create(host, c.flood, {
      index: 0,
      device: 0,
      stateBytes: 16,
      grid: [1, 1, 1],
      inboxCapacity: 1,
      outboxCapacity,
      ...(c.block ? { block: c.block } : {}),
    });
  };
  const send = (kernel: DeviceKernel, count: number): Promise<void> =>
    kernel.writeState(new Uint8Array(Uint32Array.from([count, DESTINATION, 0, 0]).buffer));

  test(
    `${c.backend}: a large outbox: more than the always-copied prefix, past the capacity, then a few, all in order; the counter restarts at 0`,
    { skip: c.skip ?? false, timeout: 120_000 },
    async () => {
      const capacity = 4 * ALWAYS_COPIED_SLOTS;
      const kernel = await start(capacity);
      // Each step on request starts from the prefix: past it, the rest comes by a second read.
      await send(kernel, ALWAYS_COPIED_SLOTS + 100);
      assertDrained(await kernel.step(), 0, ALWAYS_COPIED_SLOTS + 100, 0, 'past the prefix');
      await send(kernel, capacity + 6);
      assertDrained(await kernel.step(), 1, capacity, 6, 'past the capacity');
      // Were the counter not reset, these would land at slots capacity + 6 and on: none would fit.
      await send(kernel, 3);
      assertDrained(await kernel.step(), 2, 3, 0, 'after an overflow');
      await send(kernel, 0);
      assertDrained(await kernel.step(), 3, 0, 0, 'nothing sent');
      // A batch: from its second step the copy grows to what the previous step sent.
      await send(kernel, capacity - 1);
      const batch = await kernel.run(3);
      batch.forEach((result, i) => assertDrained(result, 4 + i, capacity - 1, 0, `batch step ${i}`));
      await send(kernel, capacity + 1);
      const over = await kernel.run(2);
      over.forEach((result, i) => assertDrained(result, 7 + i, capacity, 1, `overflowing batch step ${i}`));
      await send(kernel, 2);
      assertDrained(await kernel.step(), 9, 2, 0, 'a few after a batch that overflowed');
      await kernel.release();
    },
  );

  test(
    `${c.backend}: a small outbox comes back whole with the step; overflow is counted and the next step starts at 0`,
    { skip: c.skip ?? false, timeout: 120_000 },
    async () => {
      const kernel = await start(16);
      await send(kernel, 16);
      assertDrained(await kernel.step(), 0, 16, 0, 'a full outbox');
      await send(kernel, 40);
      assertDrained(await kernel.step(), 1, 16, 24, 'past the capacity');
      await send(kernel, 1);
      assertDrained(await kernel.step(), 2, 1, 0, 'one after an overflow');
      await kernel.release();
    },
  );
}
