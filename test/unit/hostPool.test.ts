import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostPool } from '../../server/src/runtime/hostPool';

test('a host per kernel up to the limit per device, then shared round-robin; a host is handed back when its last kernel leaves', () => {
  let made = 0;
  const pool = new HostPool<string>(() => 2);
  const create = (): string => `host${++made}`;
  assert.equal(pool.acquire('webgpu:0', 'a', create), 'host1');
  assert.equal(pool.acquire('webgpu:0', 'b', create), 'host2');
  assert.equal(pool.acquire('webgpu:0', 'c', create), 'host1');
  assert.equal(pool.acquire('webgpu:0', 'd', create), 'host2');
  assert.equal(pool.acquire('webgpu:1', 'e', create), 'host3', 'the limit is per device');
  assert.equal(pool.acquire('webgpu:0', 'a', create), 'host1', 'a kernel keeps its host');
  assert.equal(made, 3);
  assert.equal(pool.release('a'), undefined, 'c still runs in host1');
  assert.equal(pool.release('c'), 'host1');
  assert.equal(pool.acquire('webgpu:0', 'f', create), 'host4', 'below the limit again: a new host');
  assert.deepEqual(pool.hosts().sort(), ['host2', 'host3', 'host4']);
  assert.equal(pool.release('unknown'), undefined);
});

test('a migration: choose picks the target without recording it, assign moves the kernel, holds says whether a host may go', () => {
  let made = 0;
  const pool = new HostPool<string>(() => 1);
  const create = (): string => `host${++made}`;
  assert.equal(pool.acquire('webgpu:0', 'a', create), 'host1');
  assert.equal(pool.acquire('webgpu:0', 'b', create), 'host1', 'shared: the limit is 1');
  const target = pool.choose('webgpu:1', create);
  assert.equal(target, 'host2');
  assert.equal(pool.holds(target), false, 'a failed move disposes an unrecorded target');
  pool.assign('webgpu:1', 'a', target);
  assert.equal(pool.holds('host2'), true);
  assert.equal(pool.holds('host1'), true, 'b still runs in the source host: it stays');
  assert.equal(pool.choose('webgpu:1', create), 'host2', 'the target device is at its limit now: shared');
  pool.assign('webgpu:1', 'b', 'host2');
  assert.equal(pool.holds('host1'), false, 'no kernel left in the source host: the caller disposes it');
  assert.deepEqual(pool.hosts(), ['host2']);
  assert.equal(made, 2);
});
