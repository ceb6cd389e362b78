// Draining the outbox in WGSL, on this machine's Vulkan device (lavapipe without a GPU).
import { WGSL_ABI } from '../support/kernelSources';
import { outboxDrainSuite } from '../support/outboxDrainSuite';

outboxDrainSuite({
  backend: 'webgpu',
  flood: {
    language: 'wgsl',
    label: 'outbox_flood',
    entryPoint: 'main',
    code: `${WGSL_ABI}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) t: u32) {
  let count = state[0];
  for (var i = t; i < count; i = i + 64u) {
    let slot = atomicAdd(&outbox.count, 1u);
    if (slot < control.outbox_capacity) {
      outbox.slots[slot].destination = state[1];
      outbox.slots[slot].kind = 7u;
      outbox.slots[slot].length = 8u;
      outbox.slots[slot].reserved = 0u;
      outbox.slots[slot].payload[0] = slot;
      outbox.slots[slot].payload[1] = control.step;
    }
  }
}`,
  },
});
