import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { HybridLogicalClock, hlcLowWord, packHlc, unpackHlc } from '../../../server/src/router/hybridLogicalClock';

interface HammerJob {
  buffer: SharedArrayBuffer;
  gate: SharedArrayBuffer;
  threads: number;
  events: number;
}

// Inside a worker this file only hammers the shared clock and sends back what it got.
if (!isMainThread) {
  const job = workerData as HammerJob;
  const clock = new HybridLogicalClock({ buffer: job.buffer, physicalTime: () => 1_000 });
  // Start together, so the threads' updates really interleave.
  const gate = new Int32Array(job.gate);
  Atomics.add(gate, 0, 1);
  while (Atomics.load(gate, 0) < job.threads) Atomics.wait(gate, 0, Atomics.load(gate, 0), 5);
  const got = new BigUint64Array(job.events);
  for (let i = 0; i < job.events; i++)
    got[i] = i % 3 === 0 ? clock.receive(packHlc({ physical: 1_000, logical: i % 50 })) : clock.now();
  parentPort?.postMessage(got);
} else {
  describe('hybrid logical clock', () => {
    test('counts logically while physical time stands still, and restarts the counter when it moves on', () => {
      let physical = 5_000;
      const clock = new HybridLogicalClock({ physicalTime: () => physical });
      assert.deepEqual(unpackHlc(clock.now()), { physical: 5_000, logical: 0 });
      assert.deepEqual(unpackHlc(clock.now()), { physical: 5_000, logical: 1 });
      assert.deepEqual(unpackHlc(clock.now()), { physical: 5_000, logical: 2 });
      physical = 5_001;
      assert.deepEqual(unpackHlc(clock.now()), { physical: 5_001, logical: 0 });
    });

    test('never goes back when physical time does', () => {
      let physical = 9_000;
      const clock = new HybridLogicalClock({ physicalTime: () => physical });
      const before = clock.now();
      physical = 8_000;
      const after = clock.now();
      assert.ok(after > before);
      assert.deepEqual(unpackHlc(after), { physical: 9_000, logical: 1 });
    });

    test('a receive is later than both the local clock and the remote timestamp', () => {
      const clock = new HybridLogicalClock({ physicalTime: () => 100 });
      clock.now();
      const remoteAhead = packHlc({ physical: 200, logical: 7 });
      assert.deepEqual(unpackHlc(clock.receive(remoteAhead)), { physical: 200, logical: 8 });
      const remoteBehind = packHlc({ physical: 50, logical: 3 });
      assert.deepEqual(unpackHlc(clock.receive(remoteBehind)), { physical: 200, logical: 9 });
      const later = new HybridLogicalClock({ physicalTime: () => 300 });
      assert.deepEqual(unpackHlc(later.receive(remoteAhead)), { physical: 300, logical: 0 });
    });

    test('a logical counter past 0xFFFF carries into physical time instead of wrapping', () => {
      const clock = new HybridLogicalClock({ physicalTime: () => 10 });
      clock.advanceTo(packHlc({ physical: 10, logical: 0xffff }));
      const next = clock.now();
      assert.deepEqual(unpackHlc(next), { physical: 11, logical: 0 });
      assert.ok(next > packHlc({ physical: 10, logical: 0xffff }));
    });

    test('reserving n timestamps gives what n calls of now() would', () => {
      const one = new HybridLogicalClock({ physicalTime: () => 42 });
      const many = new HybridLogicalClock({ physicalTime: () => 42 });
      one.now();
      many.now();
      const singles = [one.now(), one.now(), one.now(), one.now()];
      const first = many.reserveAt(4, 42);
      assert.deepEqual([first, first + 1n, first + 2n, first + 3n], singles);
      assert.equal(many.current(), one.current());
    });

    test("the inbox word is the low 32 bits: physical time's low 16 bits, then the logical counter", () => {
      const timestamp = packHlc({ physical: 0x1234_5678, logical: 0x9abc });
      assert.equal(hlcLowWord(timestamp), 0x5678_9abc);
    });

    test('advanceTo never moves the clock back', () => {
      const clock = new HybridLogicalClock({ physicalTime: () => 1 });
      clock.advanceTo(packHlc({ physical: 50, logical: 0 }));
      clock.advanceTo(packHlc({ physical: 40, logical: 0 }));
      assert.deepEqual(unpackHlc(clock.current()), { physical: 50, logical: 0 });
    });

    test('rejects physical times that do not fit, and empty reservations, with what to pass instead', () => {
      const clock = new HybridLogicalClock({ physicalTime: () => -1 });
      assert.throws(() => clock.now(), /physical time -1 is not an integer in \[0, 2\^48\)/);
      assert.throws(() => new HybridLogicalClock().reserveAt(0, 1), /cannot reserve 0 timestamps/);
      assert.throws(() => packHlc({ physical: 1.5, logical: 0 }), /not an integer/);
    });

    test('threads sharing one clock never get the same timestamp, and each sees its own increase', async () => {
      // Every event of both threads lands in the same millisecond, so only the counter tells them apart:
      // a clock that read and stored separately would hand out the same value twice under this load.
      const buffer = new SharedArrayBuffer(8);
      const gate = new SharedArrayBuffer(4);
      const events = 200_000;
      const run = (): Promise<BigUint64Array> =>
        new Promise((resolve, reject) => {
          const worker = new Worker(__filename, {
            workerData: { buffer, gate, threads: 2, events } satisfies HammerJob,
          });
          worker.once('message', (got: BigUint64Array) => resolve(got));
          worker.once('error', reject);
        });
      const results = await Promise.all([run(), run()]);
      const all = new Set<bigint>();
      for (const got of results) {
        for (let i = 1; i < got.length; i++)
          assert.ok((got[i] ?? 0n) > (got[i - 1] ?? 0n), `thread timestamps increase at event ${i}`);
        for (const value of got) all.add(value);
      }
      assert.equal(all.size, 2 * events, 'no timestamp was handed out twice');
      assert.equal(
        new HybridLogicalClock({ buffer }).current(),
        [...all].reduce((a, b) => (a > b ? a : b)),
      );
    });
  });
}
