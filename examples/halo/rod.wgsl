// Heat diffusion along a rod of 64 cells, whole (`whole_rod`, one kernel) or split in two halves
// (`left_half`, `right_half`) that exchange their edge cells as K2K messages every step. In
// lockstep (`ringkernel run`) the two halves end bit for bit where the whole rod does: every cell
// is updated by the same function from the same three values, and the neighbour's edge cell a
// half needs for step s is the one the other half computed in step s - 1, which the router
// delivers in step s. Before the first message (step 0) the neighbour's cell is 0, as the whole
// rod's cells start. Free-running, a half that gets no message in a step treats its edge as
// insulated (uses its own edge cell) until the next one arrives.
//
// The state is the cells and nothing else (f32), so a half's state is exactly its part of the
// rod's: the digests compare directly. Each rod fits one workgroup (32 threads): the cells are
// read into workgroup memory, then written back, so no cell reads a neighbour already updated.

struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
struct Message { address: u32, kind: u32, length: u32, timestamp: u32, payload: array<u32, 12> }
struct Outbox { count: atomic<u32>, pad0: u32, pad1: u32, pad2: u32, slots: array<Message> }

@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> cells: array<f32>;
@group(0) @binding(2) var<storage, read> inbox: array<Message>;
@group(0) @binding(3) var<storage, read_write> outbox: Outbox;

const ROD: u32 = 64u;
const HALF: u32 = 32u;
const DIFFUSIVITY: f32 = 0.45;
const HEAT_PER_STEP: f32 = 1.0;
const EDGE: u32 = 7u;

var<workgroup> before: array<f32, 64>;

// Cell `i` of the whole rod after one step, from its value and its neighbours' before the step.
fn updated(i: u32, left: f32, here: f32, right: f32) -> f32 {
  if (i == 0u) {
    // The left end is heated, and passes heat on to its neighbour.
    return here + HEAT_PER_STEP + DIFFUSIVITY * (right - here);
  }
  if (i == ROD - 1u) {
    // The right end is held cold.
    return 0.0;
  }
  return here + DIFFUSIVITY * (left - 2.0 * here + right);
}

@compute @workgroup_size(32)
fn whole_rod(@builtin(local_invocation_index) t: u32) {
  before[t] = cells[t];
  before[t + HALF] = cells[t + HALF];
  workgroupBarrier();
  for (var k = 0u; k < 2u; k = k + 1u) {
    let i = t + k * HALF;
    let left = select(0.0, before[max(i, 1u) - 1u], i > 0u);
    let right = select(0.0, before[min(i + 1u, ROD - 1u)], i + 1u < ROD);
    cells[i] = updated(i, left, before[i], right);
  }
}

// The neighbour's edge cell: the latest message's, or (none this step) `fallback`.
fn neighbour_edge(fallback: f32) -> f32 {
  if (control.inbox_count == 0u) {
    return select(fallback, 0.0, control.step == 0u);
  }
  return bitcast<f32>(inbox[control.inbox_count - 1u].payload[0]);
}

fn send_edge(value: f32) {
  let slot = atomicAdd(&outbox.count, 1u);
  if (slot >= control.outbox_capacity) { return; }
  // The two halves are kernels 0 and 1 of their manifest: each sends to the other.
  outbox.slots[slot].address = 1u - control.kernel_index;
  outbox.slots[slot].kind = EDGE;
  outbox.slots[slot].length = 4u;
  outbox.slots[slot].payload[0] = bitcast<u32>(value);
}

@compute @workgroup_size(32)
fn left_half(@builtin(local_invocation_index) t: u32) {
  before[t] = cells[t];
  workgroupBarrier();
  let left = select(0.0, before[max(t, 1u) - 1u], t > 0u);
  var right: f32;
  if (t + 1u < HALF) {
    right = before[t + 1u];
  } else {
    right = neighbour_edge(before[t]);
  }
  let next = updated(t, left, before[t], right);
  cells[t] = next;
  if (t == HALF - 1u) { send_edge(next); }
}

@compute @workgroup_size(32)
fn right_half(@builtin(local_invocation_index) t: u32) {
  before[t] = cells[t];
  workgroupBarrier();
  var left: f32;
  if (t > 0u) {
    left = before[t - 1u];
  } else {
    left = neighbour_edge(before[t]);
  }
  let right = select(0.0, before[min(t + 1u, HALF - 1u)], t + 1u < HALF);
  let next = updated(t + HALF, left, before[t], right);
  cells[t] = next;
  if (t == 0u) { send_edge(next); }
}
