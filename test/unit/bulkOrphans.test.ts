// A server killed while a device host's transfer was in flight leaves that shared-memory file; the
// next process that starts a device host removes the files of owners that no longer exist, and
// keeps those of living ones (found by test/process/faults/serverRestartFaults.test.ts).
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { removeOrphanedFiles } from '../../server/src/hosts/transferRegions';

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

test('the bulk files of a server that no longer exists are removed; a living owner keeps its own', (t) => {
  if (!existsSync('/dev/shm')) return t.skip('no /dev/shm here');
  let dead = 4_000_000;
  while (processExists(dead)) dead++;
  const orphan = `/dev/shm/ringkernel-bulk-${dead}-orphan-test`;
  const own = `/dev/shm/ringkernel-bulk-${process.pid}-own-test`;
  const parent = `/dev/shm/ringkernel-bulk-${process.ppid}-parent-test`;
  for (const file of [orphan, own, parent]) writeFileSync(file, 'x');
  try {
    removeOrphanedFiles();
    assert.equal(existsSync(orphan), false, "the dead owner's file is gone");
    assert.equal(existsSync(own), true, 'this process keeps its own');
    assert.equal(existsSync(parent), true, 'a living owner keeps its own');
  } finally {
    for (const file of [orphan, own, parent]) rmSync(file, { force: true });
  }
});
