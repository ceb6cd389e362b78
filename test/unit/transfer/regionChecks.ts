// Shared by the two transfer-region test files: one runs with the addon's mapping, the other with
// the file fallback (RINGKERNEL_SHARED_MAPPING=0, read once per process).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { AttachedRegions, BULK_THRESHOLD_BYTES } from '../../../server/src/hosts/bulkTransfer';
import { TransferRegions } from '../../../server/src/hosts/transferRegions';

export function regionTests(expectMapped: boolean | undefined): void {
  const pattern = (bytes: number, seed: number): Uint8Array => {
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) data[i] = (i * 31 + seed) & 0xff;
    return data;
  };

  test('a lent region carries bytes to a second opening of it and back, and is reused once released', async () => {
    const pool = new TransferRegions();
    try {
      const bytes = 3 * 1024 * 1024 + 12;
      const lease = await pool.take(bytes);
      if (expectMapped !== undefined) assert.equal(lease.region.mapped, expectMapped);
      const written = pattern(bytes, 1);
      lease.region.write(written);
      // The host's side: the reference a message carries, opened by name.
      const host = new AttachedRegions();
      const { region, bytes: announced } = host.get(lease.ref(bytes));
      assert.equal(announced, bytes);
      const seen = new Uint8Array(bytes);
      region.read(seen);
      assert.deepEqual(seen, written);
      // And back: what the host writes, the server reads.
      const answer = pattern(bytes, 7);
      region.write(answer);
      const back = new Uint8Array(bytes);
      lease.region.read(back);
      assert.deepEqual(back, answer);
      const path = lease.region.path;
      lease.release();
      const again = await pool.take(BULK_THRESHOLD_BYTES);
      assert.equal(again.region.path, path, 'a released region that fits is reused, not a new file');
      again.release();
    } finally {
      pool.dispose();
    }
  });

  test('transfers that overlap get regions of their own; past the pool size they wait for a release', async () => {
    const pool = new TransferRegions();
    try {
      const leases = await Promise.all([1, 2, 3, 4].map(() => pool.take(BULK_THRESHOLD_BYTES)));
      assert.equal(new Set(leases.map((l) => l.region.path)).size, 4);
      let fifth: string | undefined;
      const waiting = pool.take(BULK_THRESHOLD_BYTES).then((lease) => {
        fifth = lease.region.path;
        return lease;
      });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(fifth, undefined, 'no fifth region while four are lent');
      leases[2]?.release();
      const lease = await waiting;
      assert.equal(lease.region.path, leases[2]?.region.path);
      for (const l of [...leases, lease]) l.release();
    } finally {
      pool.dispose();
    }
  });

  test('a larger transfer replaces a free region that is too small; disposed regions leave no file', async () => {
    const pool = new TransferRegions();
    const small = await pool.take(1024 * 1024);
    const paths = [small.region.path];
    small.release();
    const large = await pool.take(5 * 1024 * 1024);
    paths.push(large.region.path);
    assert.ok(large.region.capacity >= 5 * 1024 * 1024);
    large.release();
    pool.dispose();
    for (const path of paths) assert.equal(existsSync(path), false, `${path} was left behind`);
  });

  test('an opened region whose file its owner removed is closed at the next open', async () => {
    const pool = new TransferRegions();
    const host = new AttachedRegions();
    try {
      const first = await pool.take(1024 * 1024);
      const { region } = host.get(first.ref(16));
      first.release();
      pool.dispose();
      const other = new TransferRegions();
      const second = await other.take(1024 * 1024);
      host.get(second.ref(16));
      // The first region was closed: reading it fails instead of reading pages nobody owns.
      assert.throws(() => region.read(new Uint8Array(16)));
      second.release();
      other.dispose();
    } finally {
      pool.dispose();
    }
  });
}
