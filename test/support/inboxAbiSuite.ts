// What a kernel sees of its inbox (docs/kernel-abi.md), checked on a real device for each
// language: an echo kernel copies inbox_count and every filled slot's 16 words into its state,
// and the test compares them with what the router delivered: source, type, length, the low 32
// bits of the HLC time, the payload with zeros past its length, oldest first; past the capacity
// the rest stay pending for the next step.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { KernelSource } from '../../server/src/backends/backend';
import type { BackendName } from '../../server/src/backends/backendReport';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import { K2KRouter, encodeInbox, hlcLowWord } from '../../server/src/router';
import { distFile } from './repo';

export interface InboxAbiCase {
  backend: BackendName;
  /** Entry point: state[0] = inbox_count; state[1 + 16 i + w] = word w of inbox slot i. */
  echo: KernelSource;
  block?: [number, number, number];
  skip?: string | false;
}

const CAPACITY = 3;

export function inboxAbiSuite(c: InboxAbiCase): void {
  const hosts: DeviceHost[] = [];
  after(() => {
    for (const host of hosts) host.dispose();
  });

  test(
    `${c.backend}: a kernel sees inbox_count and each delivered slot exactly as the ABI says; past its capacity the rest wait`,
    { skip: c.skip ?? false, timeout: 120_000 },
    async () => {
      const host = new DeviceHost({ backend: c.backend, script: distFile('deviceHost.js'), stepTimeoutMs: 20_000 });
      hosts.push(host);
      const kernel = await DeviceKernel.create(host, c.echo, {
        index: 0,
        device: 0,
        stateBytes: 4 * (1 + 16 * CAPACITY),
        grid: [1, 1, 1],
        inboxCapacity: CAPACITY,
        outboxCapacity: 1,
        ...(c.block ? { block: c.block } : {}),
      });
      const router = new K2KRouter({ mode: 'lockstep' });
      router.addKernel({ index: 0, id: 'echo', device: `${c.backend}:0` });
      router.addKernel({ index: 5, id: 'sender', device: `${c.backend}:0` });
      router.addKernel({ index: 2, id: 'other', device: `${c.backend}:0` });
      const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
      // Step 0: five messages to kernel 0 from two senders, one with a full 48-byte payload.
      router.submit({
        source: 5,
        step: 0,
        messages: [
          { destination: 0, type: 11, payload: bytes(1, 2, 3, 4, 5) },
          { destination: 0, type: 12, payload: new Uint8Array(48).map((_, i) => 200 - i) },
          { destination: 0, type: 13, payload: bytes() },
        ],
      });
      router.submit({
        source: 2,
        step: 0,
        messages: [
          { destination: 0, type: 21, payload: bytes(9) },
          { destination: 0, type: 22, payload: bytes(8, 7) },
        ],
      });
      router.endStep(0);
      const seen: { source: number; type: number }[] = [];
      for (const step of [1, 2]) {
        const envelopes = router.takeInbox(0, CAPACITY, step);
        for (const source of [0, 2, 5]) router.submit({ source, step, messages: [] });
        const inbox = encodeInbox(envelopes, CAPACITY);
        await kernel.step(undefined, { slots: inbox.bytes.subarray(0, inbox.usedBytes), count: inbox.count });
        router.endStep(step);
        const words = new Uint32Array((await kernel.readState()).buffer);
        assert.equal(words[0], envelopes.length, `step ${step}: inbox_count`);
        envelopes.forEach((envelope, i) => {
          const slot = Array.from(words.subarray(1 + 16 * i, 17 + 16 * i));
          const payload = new Uint8Array(48);
          payload.set(envelope.payload);
          assert.deepEqual(
            slot,
            [
              envelope.source,
              envelope.type,
              envelope.payload.byteLength,
              hlcLowWord(envelope.timestamp),
              ...new Uint32Array(payload.buffer),
            ],
            `step ${step}, slot ${i}`,
          );
          seen.push({ source: envelope.source, type: envelope.type });
        });
        await kernel.step(); // an empty step between: inbox_count 0
        assert.equal(
          new Uint32Array((await kernel.readState()).buffer)[0],
          0,
          'a step with no delivery sees inbox_count 0',
        );
      }
      // Oldest first: lockstep accepted step 0's batches by source index (2 before 5), each in send order.
      assert.deepEqual(seen, [
        { source: 2, type: 21 },
        { source: 2, type: 22 },
        { source: 5, type: 11 },
        { source: 5, type: 12 },
        { source: 5, type: 13 },
      ]);
      assert.equal(router.pendingFor(0), 0);
      await kernel.release();
    },
  );
}
