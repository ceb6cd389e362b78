// A compile started beside validation belongs to the host process that made it. The soak found a
// reload whose early compile was made before a migration's switch being swapped in on the target
// ("compiled for device 1, the kernel lives on device 0"); and releasing it through the kernel's
// new host would free whatever that host numbers the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompiledKernelHandle } from '../../server/src/backends/backend';
import type { KernelHost } from '../../server/src/hosts/kernelHost';
import { discardEarly, earlyFits } from '../../server/src/runtime/reloadPhases';
import type { EarlyCompile } from '../../server/src/runtime/reloadQueue';
import { pollUntil } from '../support/poll';

/** The two members the early compile uses; a host's other calls are never made here. */
function host(generation: number): { host: KernelHost; released: CompiledKernelHandle[]; restart(): void } {
  const released: CompiledKernelHandle[] = [];
  const fake = {
    generation,
    releaseKernel: (handle: CompiledKernelHandle) => {
      released.push(handle);
      return Promise.resolve(null);
    },
  };
  return { host: fake as unknown as KernelHost, released, restart: () => void fake.generation++ };
}

const handle = { id: 7, device: 1 } as unknown as CompiledKernelHandle;

function early(on: KernelHost): EarlyCompile {
  return { host: on, generation: on.generation, result: Promise.resolve({ ok: true, handle, ms: 3 }) };
}

test('an early compile fits only the host process the kernel still lives in', () => {
  const source = host(1);
  const target = host(1);
  const made = early(source.host);
  assert.equal(earlyFits({ host: source.host, generation: 1 }, made), true);
  // Migrated: the same generation number in another host is another process.
  assert.equal(earlyFits({ host: target.host, generation: 1 }, made), false);
  // The host restarted: its modules are gone.
  assert.equal(earlyFits({ host: source.host, generation: 2 }, made), false);
  assert.equal(earlyFits({ host: source.host, generation: 1 }, undefined), false);
});

test('an unused early compile is released in the host that made it, and not once that process is gone', async () => {
  const source = host(1);
  const target = host(1);
  discardEarly(early(source.host));
  await pollUntil('the module to be released', () => (source.released.length === 1 ? true : undefined));
  assert.deepEqual(source.released, [handle]);
  assert.deepEqual(target.released, []);

  const restarted = host(4);
  const old = early(restarted.host);
  restarted.restart();
  discardEarly(old);
  // Nothing to wait for but the promise chain: settle it, then check nothing was released.
  await old.result;
  await Promise.resolve();
  assert.deepEqual(restarted.released, []);
});
