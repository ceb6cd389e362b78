// The inbox ABI in WGSL, on this machine's Vulkan device (lavapipe without a GPU).
import { inboxAbiSuite } from '../support/inboxAbiSuite';
import { WGSL_ABI } from '../support/kernelSources';

inboxAbiSuite({
  backend: 'webgpu',
  echo: {
    language: 'wgsl',
    label: 'inbox_echo',
    entryPoint: 'main',
    code: `${WGSL_ABI}
@compute @workgroup_size(16)
fn main(@builtin(local_invocation_index) t: u32) {
  if (t == 0u) { state[0] = control.inbox_count; }
  for (var i = 0u; i < control.inbox_count; i = i + 1u) {
    let slot = inbox[i];
    var words = array<u32, 4>(slot.destination, slot.kind, slot.length, slot.reserved);
    if (t < 4u) { state[1u + i * 16u + t] = words[t]; } else { state[1u + i * 16u + t] = slot.payload[t - 4u]; }
  }
}`,
  },
});
