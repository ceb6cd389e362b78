// A token passed around a ring of kernels (the K2K router; the ABI: docs/kernel-abi.md).
//
// Kernel 0 sends the token at step 0. A kernel that receives it counts it, folds its own index
// into the token's trail, and passes it on to the next kernel of the ring, until the token has
// made HOPS hops; then kernel 0 keeps it. In lockstep (`ringkernel run`) a message sent in step s
// arrives in step s + 1, so the token is at kernel s % ring size in step s, wherever the kernels
// run. The same entry points exist in ring.cu (PTX), so CUDA kernels can join the ring.

struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
struct Message { source: u32, kind: u32, length: u32, timestamp: u32, payload: array<u32, 12> }
struct Outbox { count: atomic<u32>, pad0: u32, pad1: u32, pad2: u32, slots: array<Message> }

// state: [0] tokens received, [1] the last token's hop count, [2] its trail, [3] the step it
// arrived, [4] its sender, [5] 1 once the token retired here.
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<storage, read> inbox: array<Message>;
@group(0) @binding(3) var<storage, read_write> outbox: Outbox;

const TOKEN: u32 = 1u;
// A multiple of every ring size used here (4 and 6), so the token retires at kernel 0.
const HOPS: u32 = 96u;

fn send_token(to: u32, hops: u32, trail: u32) {
  let slot = atomicAdd(&outbox.count, 1u);
  if (slot >= control.outbox_capacity) { return; }
  outbox.slots[slot].source = to; // an outbox slot's word 0 is the destination
  outbox.slots[slot].kind = TOKEN;
  outbox.slots[slot].length = 8u;
  outbox.slots[slot].payload[0] = hops;
  outbox.slots[slot].payload[1] = trail;
}

fn pass_token(ring_size: u32) {
  let me = control.kernel_index;
  if (control.step == 0u && me == 0u) {
    send_token(1u % ring_size, 0u, 0u);
  }
  for (var i = 0u; i < control.inbox_count; i = i + 1u) {
    let message = inbox[i];
    if (message.kind != TOKEN) { continue; }
    let hops = message.payload[0] + 1u;
    let trail = message.payload[1] * 31u + me + 1u;
    state[0] = state[0] + 1u;
    state[1] = hops;
    state[2] = trail;
    state[3] = control.step;
    state[4] = message.source;
    if (hops < HOPS) {
      send_token((me + 1u) % ring_size, hops, trail);
    } else {
      state[5] = 1u;
    }
  }
}

@compute @workgroup_size(1)
fn ring_of_4() { pass_token(4u); }

@compute @workgroup_size(1)
fn ring_of_6() { pass_token(6u); }
