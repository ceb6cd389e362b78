// Gray-Scott reaction-diffusion on a 512 x 512 torus, as a RingKernel kernel (the ABI:
// docs/kernel-abi.md). Two chemicals, u and v: u is fed in at FEED, v is removed at FEED + KILL,
// and u + 2v -> 3v where they meet. From a few seeded squares, spots, stripes and mazes grow.
//
// Try it: open "RingKernel: Show Kernel State" on grayscott and watch the "v" heatmap; then set
// FEED and KILL below to another pair and save. The new version takes over at the next step from
// the pattern as it is, and the pattern changes under your eyes. Pairs to try (FEED, KILL):
//   0.055, 0.062  coral that fills the grid (the default)
//   0.0367, 0.0649  spots that divide (mitosis)
//   0.029, 0.057  mazes
//   0.039, 0.058  stripes and waves
//   0.026, 0.051  chaos
//
// The state (4 MiB) is the two fields twice, each row after row, 32-bit floats:
//   bytes      0 .. 1 MiB  u  "a": written by odd steps (1, 3, ...), read by even ones
//   bytes  1 MiB .. 2 MiB  v  "a"
//   bytes  2 MiB .. 3 MiB  u  "b": written by even steps (step 0 seeds it), read by odd ones
//   bytes  3 MiB .. 4 MiB  v  "b"
// so no cell reads a neighbour that was already updated. After an even number of steps the
// newest fields are in "a", which the manifest's views show (after an odd number, "a" is one step
// behind: nothing the eye can tell). gray_scott.cu (PTX, for
// CUDA) has exactly this layout and these rules.

struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }

@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> field: array<f32>;

const FEED: f32 = 0.055;
const KILL: f32 = 0.062;
// Karl Sims' rates with a 3 x 3 Laplacian (sides 0.2, corners 0.05, centre -1), time step 1.
const DIFFUSE_U: f32 = 1.0;
const DIFFUSE_V: f32 = 0.5;

const SIZE: u32 = 512u;
const CELLS: u32 = SIZE * SIZE;

// Where field f (0: u, 1: v) of half h (0: "a", 1: "b") holds cell (x, y), wrapping around.
fn at(h: u32, f: u32, x: i32, y: i32) -> u32 {
  let wx = u32((x + i32(SIZE)) % i32(SIZE));
  let wy = u32((y + i32(SIZE)) % i32(SIZE));
  return (h * 2u + f) * CELLS + wy * SIZE + wx;
}

// A small integer hash, so the seeds are the same on every device and in gray_scott.cu.
fn mix(n: u32) -> u32 {
  var h = n * 747796405u + 2891336453u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  return (h >> 22u) ^ h;
}

// Seeds: the grid is cut into 32 x 32 blocks; about one block in three gets a 10 x 10 square of v.
fn seeded(x: u32, y: u32) -> bool {
  let block = (y / 32u) * (SIZE / 32u) + x / 32u;
  let h = mix(block);
  if (h % 3u != 0u) {
    return false;
  }
  let cx = 6u + (h >> 8u) % 16u;
  let cy = 6u + (h >> 16u) % 16u;
  let dx = x % 32u;
  let dy = y % 32u;
  return dx >= cx && dx < cx + 10u && dy >= cy && dy < cy + 10u;
}

fn laplacian(h: u32, f: u32, x: i32, y: i32) -> f32 {
  let sides = field[at(h, f, x - 1, y)] + field[at(h, f, x + 1, y)] + field[at(h, f, x, y - 1)] + field[at(h, f, x, y + 1)];
  let corners = field[at(h, f, x - 1, y - 1)] + field[at(h, f, x + 1, y - 1)] + field[at(h, f, x - 1, y + 1)] + field[at(h, f, x + 1, y + 1)];
  return 0.2 * sides + 0.05 * corners - field[at(h, f, x, y)];
}

@compute @workgroup_size(16, 16)
fn step(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= SIZE || id.y >= SIZE) {
    return;
  }
  let x = i32(id.x);
  let y = i32(id.y);
  let to = (control.step + 1u) % 2u;
  if (control.step == 0u) {
    let v = select(0.0, 0.25, seeded(id.x, id.y));
    field[at(to, 0u, x, y)] = 1.0 - 2.0 * v;
    field[at(to, 1u, x, y)] = v;
    return;
  }
  let src = 1u - to;
  let u = field[at(src, 0u, x, y)];
  let v = field[at(src, 1u, x, y)];
  let uvv = u * v * v;
  let nu = u + DIFFUSE_U * laplacian(src, 0u, x, y) - uvv + FEED * (1.0 - u);
  let nv = v + DIFFUSE_V * laplacian(src, 1u, x, y) + uvv - (KILL + FEED) * v;
  field[at(to, 0u, x, y)] = clamp(nu, 0.0, 1.0);
  field[at(to, 1u, x, y)] = clamp(nv, 0.0, 1.0);
}
