import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KernelCheckpoint, sha256Hex } from '../../../server/src/checkpoint/kernelCheckpoint';

function checkpoint(sha256?: string): KernelCheckpoint {
  const state = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  return KernelCheckpoint.of(
    sha256 === undefined
      ? { kernelId: 'heat', version: 2, step: 40, state }
      : { kernelId: 'heat', version: 2, step: 40, state, sha256 },
  );
}

describe('KernelCheckpoint.verify', () => {
  test('a checkpoint never hashed is sealed by its first verify, and a change after that is caught', () => {
    const taken = checkpoint();
    assert.equal(taken.knownSha256, undefined, 'taking a checkpoint does not hash it');
    assert.equal(taken.verify(), 'sealed');
    assert.equal(taken.verify(), 'matched');
    (taken.state as Uint8Array)[3] = 99;
    assert.throws(
      () => taken.verify(),
      /checkpoint of kernel "heat" at step 40 is corrupt: its SHA-256 is [0-9a-f]{64}, [0-9a-f]{64} was recorded/,
    );
  });

  test('a digest given with the bytes (from a file) is checked by the first verify', () => {
    const state = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(checkpoint(sha256Hex(state)).verify(), 'matched');
    assert.throws(
      () => checkpoint('00'.repeat(32)).verify(),
      /is corrupt: its SHA-256 is [0-9a-f]{64}, 0{64} was recorded/,
    );
  });

  test('a digest computed when first asked for is what later verifies compare against', () => {
    const taken = checkpoint();
    const digest = taken.sha256;
    (taken.state as Uint8Array)[0] = 0;
    assert.throws(() => taken.verify(), new RegExp(`${digest} was recorded`));
  });

  test('recording a digest that contradicts the recorded one throws; an agreeing one is kept', () => {
    const taken = checkpoint();
    taken.recordSha256(sha256Hex(taken.state));
    assert.equal(taken.verify(), 'matched');
    assert.throws(() => taken.recordSha256('11'.repeat(32)), /is corrupt/);
  });
});
