// The router bench's kernels and how they are started, shared by the suite (bench/suites/router.ts) and the two tools that
// measure the same flow outside it (compareHostBuilds.ts, profileRouterFlow.ts).
import type { DeviceHost } from '../server/src/hosts/deviceHost';
import { DeviceKernel } from '../server/src/hosts/deviceKernel';
import type { MessageDelivery } from '../server/src/runtime/messageDelivery';
import { WGSL_ABI, ptxAbiModule } from '../test/support/kernelSources';

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

/** Threads per block of FLOOD_PTX, as FLOOD's workgroup. */
const FLOOD_THREADS = 64;

/**
 * FLOOD for CUDA (block of FLOOD_THREADS): the same messages; each thread writes every
 * FLOOD_THREADS-th slot and thread 0 the count, so no atomics are needed.
 */
export const FLOOD_PTX = ptxAbiModule(
  `  ld.global.u32 %r1, [%rd2];
  setp.eq.u32 %p1, %r1, 0;
  @%p1 bra DONE;
  ld.global.u32 %r2, [%rd2+4];
  ld.global.u32 %r3, [%rd1+12];
  min.u32 %r4, %r2, %r3;
  ld.global.u32 %r5, [%rd2+8];
  ld.global.u32 %r6, [%rd1];
  ld.param.u64 %rd3, [outbox];
  cvta.to.global.u64 %rd3, %rd3;
  mov.u32 %r7, %tid.x;
  mov.u32 %r8, %ntid.x;
  mov.u32 %r9, 9;
  mov.u32 %r10, 48;
  setp.ne.u32 %p2, %r7, 0;
  @%p2 bra SLOT;
  st.global.u32 [%rd3], %r4;
SLOT:
  setp.ge.u32 %p3, %r7, %r4;
  @%p3 bra DONE;
  mul.wide.u32 %rd4, %r7, 64;
  add.s64 %rd5, %rd3, %rd4;
  st.global.u32 [%rd5+16], %r5;
  st.global.u32 [%rd5+20], %r9;
  st.global.u32 [%rd5+24], %r10;
  mov.u32 %r11, 0;
  mov.u64 %rd6, %rd5;
WORD:
  add.u32 %r12, %r6, %r11;
  st.global.u32 [%rd6+32], %r12;
  add.s64 %rd6, %rd6, 4;
  add.u32 %r11, %r11, 1;
  setp.lt.u32 %p4, %r11, 12;
  @%p4 bra WORD;
  add.u32 %r7, %r7, %r8;
  bra SLOT;
DONE:`,
  '  .reg .pred %p<5>;\n  .reg .b32 %r<13>;\n  .reg .b64 %rd<7>;',
  'main',
);

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
 * of state (`state` at their start, when given), one workgroup, the given inbox and outbox slots.
 * `code` is in the host's language: WGSL, or PTX (FLOOD_PTX) in a CUDA host, launched as one
 * block of FLOOD_THREADS.
 */
export async function placeRouterKernel(
  delivery: MessageDelivery,
  host: DeviceHost,
  index: number,
  code: string,
  capacities: { inbox: number; outbox: number },
  state?: Uint8Array,
): Promise<DeviceKernel> {
  const cuda = host.backend === 'cuda';
  delivery.kernelStarting({
    index,
    id: `k${index}`,
    device: `${host.backend}:${host.instance}`,
    host,
    inboxCapacity: capacities.inbox,
    outboxCapacity: capacities.outbox,
  });
  const kernel = await DeviceKernel.create(
    host,
    { language: cuda ? 'ptx' : 'wgsl', label: `k${index}`, code, entryPoint: 'main' },
    {
      index,
      device: host.instance,
      stateBytes: 16,
      grid: [1, 1, 1],
      ...(cuda ? { block: [FLOOD_THREADS, 1, 1] as [number, number, number] } : {}),
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
