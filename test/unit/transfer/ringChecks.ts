// The shared-memory rings that carry message bytes between the server and a device host: records
// round-trip in order through laps of the ring, a full ring refuses (the caller sends inline), and
// a span that is not a written record is refused with an error naming what is wrong. Run over the
// addon's mapping where it loads (messageRing.test.ts), and over the file fallback
// (messageRingFallback.test.ts).
import assert from 'node:assert/strict';
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { BULK_FOLDER, BULK_PREFIX } from '../../../server/src/hosts/bulkTransfer';
import {
  MESSAGE_RINGS_ARGUMENT,
  MessageRing,
  RING_HEADER_BYTES,
  createHostRings,
  openHostRings,
} from '../../../server/src/hosts/messageRing';
import { sharedMapper } from '../../../server/src/hosts/sharedMapping';

let made: MessageRing[] = [];
let next = 0;

function ringPath(): string {
  return join(BULK_FOLDER, `${BULK_PREFIX}${process.pid}-ringtest-${next++}`);
}

/** A writer and a reader over one new ring file with `dataBytes` of data area. */
function pair(dataBytes: number): { writer: MessageRing; reader: MessageRing } {
  const capacity = RING_HEADER_BYTES + dataBytes;
  const writer = MessageRing.create(ringPath(), capacity);
  const reader = MessageRing.open(writer.path, capacity);
  made.push(writer, reader);
  return { writer, reader };
}

function record(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 31 + i) & 0xff);
}

export function ringTests(mapped: boolean): void {
  afterEach(() => {
    for (const ring of made) {
      ring.close();
      if (existsSync(ring.path)) unlinkSync(ring.path);
    }
    made = [];
  });

  describe(`message ring (${mapped ? 'mapped' : 'file fallback'})`, () => {
    it(mapped ? 'maps the region in both processes' : 'reads and writes the file in chunks', () => {
      const { writer, reader } = pair(1000);
      assert.equal(writer.region.mapped, mapped);
      assert.equal(reader.region.mapped, mapped);
    });

    it('carries records in order through many laps, each read back exactly', () => {
      const { writer, reader } = pair(1000);
      for (let i = 0; i < 200; i++) {
        const data = record(64 + ((i * 37) % 300), i);
        const span = writer.write(data);
        assert.ok(span, `record ${i} fits an empty ring`);
        assert.deepEqual(reader.copy(span), data);
        reader.release(span);
      }
    });

    it('refuses a record while the reader has not released enough, and takes it once it has', () => {
      const { writer, reader } = pair(1000);
      const first = writer.write(record(400, 1));
      const second = writer.write(record(400, 2));
      assert.ok(first && second);
      // 200 bytes are left at the end of the lap, but a record never wraps: 300 bytes do not fit.
      assert.equal(writer.write(record(300, 3)), undefined);
      reader.release(first);
      const third = writer.write(record(300, 3));
      assert.ok(third, 'fits at the start of the next lap once the first record is released');
      assert.equal(third.at % 1000, 0, 'starts the next lap instead of crossing the end');
      assert.deepEqual(reader.copy(second), record(400, 2));
      reader.release(second);
      assert.deepEqual(reader.copy(third), record(300, 3));
    });

    it('refuses a record larger than the data area (the caller sends it inline)', () => {
      const { writer } = pair(1000);
      assert.equal(writer.write(record(1001, 0)), undefined);
      assert.equal(writer.write(new Uint8Array(0)), undefined);
    });

    it('refuses malformed spans with an error that says what is wrong', () => {
      const { writer, reader } = pair(1000);
      const span = writer.write(record(100, 1));
      assert.ok(span);
      assert.throws(() => reader.read({ at: 'x', bytes: 10 }), /is not a record/);
      assert.throws(() => reader.read(null), /is not a record/);
      assert.throws(() => reader.read({ at: 0, bytes: 0 }), /is not a record/);
      assert.throws(() => reader.read({ at: 950, bytes: 100 }), /does not fit the ring's 1000-byte data area/);
      assert.throws(() => reader.read({ at: 0, bytes: 200 }), /ends past the writer's cursor 100 \(never written\)/);
      reader.release(span);
      assert.throws(() => reader.read(span), /starts before the reader's cursor 100/);
    });

    it('a host finds its two rings in its arguments; a malformed argument or a file elsewhere is refused', () => {
      assert.equal(openHostRings(['webgpu', '0']), undefined);
      assert.throws(() => openHostRings([`${MESSAGE_RINGS_ARGUMENT}onlyone`]), /does not name two rings/);
      assert.throws(
        () => openHostRings([`${MESSAGE_RINGS_ARGUMENT}/etc/passwd,/etc/hosts,1000,1000`]),
        /only a file ringkernel-bulk-\* directly in/,
      );
      const rings = createHostRings();
      if (!sharedMapper().ok) {
        assert.equal(rings, undefined, 'without a mapping the server makes no rings: messages travel inline');
        return;
      }
      assert.ok(rings, 'the server makes rings where it can map');
      try {
        const opened = openHostRings(['webgpu', '0', rings.argument]);
        assert.ok(opened);
        const span = opened.toServer.write(record(64, 9));
        assert.ok(span);
        assert.deepEqual(rings.toServer.copy(span), record(64, 9));
        opened.toServer.close();
        opened.toHost.close();
      } finally {
        rings.dispose();
      }
      const unused = createHostRings();
      assert.ok(unused);
      assert.equal(existsSync(unused.toHost.path), true);
      unused.dispose();
      assert.equal(existsSync(unused.toHost.path), false, 'dispose removes the files of a host that never opened them');
    });
  });
}
