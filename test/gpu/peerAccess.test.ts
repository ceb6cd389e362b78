// ringkernel.enableP2P reaches the CUDA backend (RINGKERNEL_TEST_GPU=1, two or more CUDA devices
// that can reach each other): off, no pair has peer access, so the driver stages copies through
// the host; on, every pair the driver allows has it; and a running backend switches both ways.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CudaBackend } from '../../server/src/backends/cuda/cudaBackend';
import type { CudaAddon } from '../../server/src/backends/cuda/cudaAddon';
import { loadCudaAddon } from '../../server/src/backends/cuda/cudaAddonLoader';

const gpu = process.env.RINGKERNEL_TEST_GPU === '1';
const loaded = gpu ? loadCudaAddon() : undefined;
const addon: CudaAddon | undefined = loaded?.ok ? loaded.addon : undefined;
const pairs: [number, number][] = [];
if (addon?.driverStatus().available) {
  const count = addon.deviceCount();
  for (let a = 0; a < count; a++)
    for (let b = 0; b < count; b++) if (a !== b && addon.canAccessPeer(a, b)) pairs.push([a, b]);
}
const skip = !gpu
  ? 'needs NVIDIA GPUs: set RINGKERNEL_TEST_GPU=1 on a machine with them'
  : pairs.length === 0
    ? 'needs two CUDA devices with peer access'
    : false;

/** Whether a has peer access to b now: disabling answers false when it was off (and is undone at once). */
function peerAccessOn(cuda: CudaAddon, a: number, b: number): boolean {
  const wasOn = cuda.disablePeerAccess(a, b);
  if (wasOn) cuda.enablePeerAccess(a, b);
  return wasOn;
}

test(
  'enableP2P off: no pair has peer access; turned on, every allowed pair has it; off again, none',
  { skip },
  async () => {
    assert.ok(addon);
    const backend = new CudaBackend({ peerAccess: false });
    try {
      await backend.devices();
      for (const [a, b] of pairs)
        assert.equal(peerAccessOn(addon, a, b), false, `cuda:${a} → cuda:${b} has peer access with enableP2P off`);
      backend.setPeerAccess(true);
      for (const [a, b] of pairs)
        assert.equal(peerAccessOn(addon, a, b), true, `cuda:${a} → cuda:${b} has no peer access with enableP2P on`);
      backend.setPeerAccess(false);
      for (const [a, b] of pairs) assert.equal(peerAccessOn(addon, a, b), false);
    } finally {
      backend.dispose();
    }
  },
);
