// Real WGSL kernels dispatched through device hosts on this machine's Vulkan device (Mesa's
// lavapipe on machines without a GPU; the GPU itself on a GPU machine).
import { AFFINE_WORDS, kernelEngineSuite } from '../support/kernelSuite';
import { WGSL_ABI, endlessWgsl } from '../support/kernelSources';

const wgsl = (label: string, body: string): { language: 'wgsl'; label: string; code: string; entryPoint: string } => ({
  language: 'wgsl',
  label,
  code: `${WGSL_ABI}\n${body}`,
  entryPoint: 'main',
});

kernelEngineSuite({
  backend: 'webgpu',
  affine: {
    source: wgsl(
      'affine',
      `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= arrayLength(&state)) { return; }
  state[i] = state[i] * 2u + control.step + i;
}`,
    ),
    grid: [AFFINE_WORDS / 64, 1, 1],
  },
  sender: {
    source: wgsl(
      'sender',
      `
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= 5u) { return; }
  let slot = atomicAdd(&outbox.count, 1u);
  if (slot >= control.outbox_capacity) { return; }
  outbox.slots[slot].destination = 7u;
  outbox.slots[slot].kind = 100u + control.step;
  outbox.slots[slot].length = 4u;
  outbox.slots[slot].payload[0] = id.x;
}`,
    ),
    grid: [1, 1, 1],
  },
  // The loop bound is a value the kernel itself keeps out of reach, so no compiler removes it.
  endless: {
    source: wgsl('endless', endlessWgsl('main')),
    grid: [1, 1, 1],
  },
  broken: wgsl('broken', 'fn main( {'),
  // On a software adapter (lavapipe) each host process has its own CPU threads; a real GPU runs
  // one process's endless dispatch until that process is killed. The adapter says which it is.
  hungKernelBlocksDevice: (device) => !/software/i.test(device.detail),
});
