// The ring's token passing (ring.wgsl) in CUDA C, so PTX kernels can join a ring of WGSL ones.
// Compile: nvcc -ptx -arch=sm_80 ring.cu -o ring.ptx (the ABI: docs/kernel-abi.md).
#include <stdint.h>

struct Control { uint32_t step, kernel_index, inbox_count, outbox_capacity; };
struct Slot { uint32_t address, type, length, reserved, payload[12]; };
struct Outbox { uint32_t count, pad[3]; Slot slots[1]; };

#define TOKEN 1u
#define HOPS 96u

__device__ void send_token(const Control* control, Outbox* outbox, uint32_t to, uint32_t hops, uint32_t trail) {
  uint32_t slot = atomicAdd(&outbox->count, 1u);
  if (slot >= control->outbox_capacity) return;
  Slot* out = &outbox->slots[slot];
  out->address = to; // destination
  out->type = TOKEN;
  out->length = 8u;
  out->payload[0] = hops;
  out->payload[1] = trail;
}

// state: [0] tokens received, [1] last hop count, [2] trail, [3] arrival step, [4] sender, [5] retired.
__device__ void pass_token(const Control* control, uint32_t* state, const Slot* inbox, Outbox* outbox, uint32_t ring_size) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  uint32_t me = control->kernel_index;
  if (control->step == 0u && me == 0u) send_token(control, outbox, 1u % ring_size, 0u, 0u);
  for (uint32_t i = 0; i < control->inbox_count; i++) {
    const Slot* message = &inbox[i];
    if (message->type != TOKEN) continue;
    uint32_t hops = message->payload[0] + 1u;
    uint32_t trail = message->payload[1] * 31u + me + 1u;
    state[0] = state[0] + 1u;
    state[1] = hops;
    state[2] = trail;
    state[3] = control->step;
    state[4] = message->address; // an inbox slot's word 0 is the source
    if (hops < HOPS) send_token(control, outbox, (me + 1u) % ring_size, hops, trail);
    else state[5] = 1u;
  }
}

extern "C" __global__ void ring_of_4(const Control* control, uint32_t* state, const Slot* inbox, Outbox* outbox) {
  pass_token(control, state, inbox, outbox, 4u);
}

extern "C" __global__ void ring_of_6(const Control* control, uint32_t* state, const Slot* inbox, Outbox* outbox) {
  pass_token(control, state, inbox, outbox, 6u);
}
