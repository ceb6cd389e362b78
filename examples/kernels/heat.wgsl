// Heat diffusion along a rod, as a RingKernel kernel (the ABI: docs/kernel-abi.md).
//
// Try it: with the kernels running (status bar: "heat v1"), change HEAT_PER_STEP below and save.
// The new version takes over at the next step; the rod's temperatures and both counters carry on
// from where they were. Save a syntax error and the old version keeps running.
//
// The state (stateBytes in ringkernel.json) is a 16-byte header and then the rod twice: a step
// reads one half and writes the other, so no cell reads a neighbour that was already updated.

struct Control {
  step: u32,
  kernel_index: u32,
  inbox_count: u32,
  outbox_capacity: u32,
}

struct Rod {
  // Steps run, all versions together (the step counter survives reloads).
  steps: u32,
  // Units of heat put into the rod's left end so far: HEAT_PER_STEP per step.
  heat_added: u32,
  reserved0: u32,
  reserved1: u32,
  // Temperatures: cells [0, n) are read on even steps, [n, 2n) on odd ones.
  cells: array<f32>,
}

@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> rod: Rod;

const DIFFUSIVITY: f32 = 0.25;
const HEAT_PER_STEP: u32 = 1u;

@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) id: vec3<u32>) {
  let n = arrayLength(&rod.cells) / 2u;
  let i = id.x;
  if (i >= n) {
    return;
  }
  let from_half = (control.step % 2u) * n;
  let to_half = n - from_half;
  let here = rod.cells[from_half + i];
  if (i == 0u) {
    // The left end is heated, and passes heat on to its neighbour.
    rod.steps = control.step + 1u;
    rod.heat_added = rod.heat_added + HEAT_PER_STEP;
    let right = rod.cells[from_half + 1u];
    rod.cells[to_half] = here + f32(HEAT_PER_STEP) + DIFFUSIVITY * (right - here);
    return;
  }
  if (i == n - 1u) {
    // The right end is held cold.
    rod.cells[to_half + i] = 0.0;
    return;
  }
  let left = rod.cells[from_half + i - 1u];
  let right = rod.cells[from_half + i + 1u];
  rod.cells[to_half + i] = here + DIFFUSIVITY * (left - 2.0 * here + right);
}
