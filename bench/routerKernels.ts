// The router bench's kernels and how they are started, shared by the suite (bench/suites/router.ts) and the two tools that
// measure the same flow outside it (compareHostBuilds.ts, profileRouterFlow.ts).
import type { DeviceHost } from '../server/src/hosts/deviceHost';
import { DeviceKernel } from '../server/src/hosts/deviceKernel';
import type { MessageDelivery } from '../server/src/runtime/messageDelivery';
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

/** u32 words as the bytes a kernel's state starts with. */
export function words(...values: number[]): Uint8Array {
  return new Uint8Array(Uint32Array.from(values).buffer);
}

/**
 * A router kernel (FLOOD, COUNT, ...) started in `host` as kernel `index` of `delivery`: 16 bytes
 * of state (`state` at their start, when given), one thread, the given inbox and outbox slots.
 */
export async function placeRouterKernel(
  delivery: MessageDelivery,
  host: DeviceHost,
  index: number,
  code: string,
  capacities: { inbox: number; outbox: number },
  state?: Uint8Array,
): Promise<DeviceKernel> {
  delivery.kernelStarting({
    index,
    id: `k${index}`,
    device: `webgpu:${host.instance}`,
    host,
    inboxCapacity: capacities.inbox,
    outboxCapacity: capacities.outbox,
  });
  const kernel = await DeviceKernel.create(
    host,
    { language: 'wgsl', label: `k${index}`, code, entryPoint: 'main' },
    {
      index,
      device: host.instance,
      stateBytes: 16,
      grid: [1, 1, 1],
      inboxCapacity: capacities.inbox,
      outboxCapacity: capacities.outbox,
    },
  );
  if (state) {
    const bytes = new Uint8Array(16);
    bytes.set(state);
    await kernel.writeState(bytes);
  }
  return kernel;
}
