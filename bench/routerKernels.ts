// The router bench's kernels, shared by the suite (bench/suites/router.ts) and the two tools that
// measure the same flow outside it (compareHostBuilds.ts, profileRouterFlow.ts).
import { WGSL_ABI } from '../test/support/kernelSources';

/** Sender: while state[0] is not 0, fills its outbox with state[1] messages (48-byte payloads) to kernel state[2]. */
export const FLOOD = `${WGSL_ABI}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (state[0] == 0u) { return; }
  let n = min(state[1], control.outbox_capacity);
  for (var i = lid; i < n; i = i + 64u) {
    let slot = atomicAdd(&outbox.count, 1u);
    outbox.slots[slot].destination = state[2];
    outbox.slots[slot].kind = 9u;
    outbox.slots[slot].length = 48u;
    for (var w = 0u; w < 12u; w = w + 1u) { outbox.slots[slot].payload[w] = control.step + w; }
  }
}`;

/** Receiver: counts what it was delivered. */
export const COUNT = `${WGSL_ABI}
@compute @workgroup_size(1)
fn main() { state[0] = state[0] + control.inbox_count; }`;
