// The fuzz inputs are reproducible: one seed, one sequence of bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzSeed, seededBytes, seededWords } from '../support/badInput';

test('the same seed gives the same bytes, another seed other bytes', () => {
  assert.deepEqual(seededBytes(4099, seededWords(42)), seededBytes(4099, seededWords(42)));
  assert.notDeepEqual(seededBytes(64, seededWords(42)), seededBytes(64, seededWords(43)));
});

test('the bytes cover the whole byte range', () => {
  assert.equal(new Set(seededBytes(1 << 16, seededWords(7))).size, 256);
});

test('the process seed is a 32-bit whole number (RINGKERNEL_FUZZ_SEED sets it)', () => {
  assert.ok(Number.isInteger(fuzzSeed) && fuzzSeed >= 0 && fuzzSeed < 2 ** 32);
  if (process.env.RINGKERNEL_FUZZ_SEED) assert.equal(fuzzSeed, Number(process.env.RINGKERNEL_FUZZ_SEED));
});
