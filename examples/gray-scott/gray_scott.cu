// Gray-Scott reaction-diffusion on a 512 x 512 torus for CUDA: the twin of gray_scott.wgsl, with
// the same state layout, seeds and rules (read that file's comment). Compile with
//   nvcc -ptx -arch=sm_80 gray_scott.cu -o gray_scott.ptx
// Try it: change FEED and KILL, rebuild the PTX and save it; the running kernel reloads.
#include <cstdint>

struct Control { uint32_t step, kernel_index, inbox_count, outbox_capacity; };

#define FEED 0.055f
#define KILL 0.062f
#define DIFFUSE_U 1.0f
#define DIFFUSE_V 0.5f

constexpr uint32_t SIZE = 512;
constexpr uint32_t CELLS = SIZE * SIZE;

// Field f (0: u, 1: v) of half h (0: "a", 1: "b"), cell (x, y), wrapping around.
__device__ uint32_t at(uint32_t h, uint32_t f, int x, int y) {
  uint32_t wx = (uint32_t)((x + (int)SIZE) % (int)SIZE);
  uint32_t wy = (uint32_t)((y + (int)SIZE) % (int)SIZE);
  return (h * 2u + f) * CELLS + wy * SIZE + wx;
}

__device__ uint32_t mix(uint32_t n) {
  uint32_t h = n * 747796405u + 2891336453u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  return (h >> 22u) ^ h;
}

__device__ bool seeded(uint32_t x, uint32_t y) {
  uint32_t block = (y / 32u) * (SIZE / 32u) + x / 32u;
  uint32_t h = mix(block);
  if (h % 3u != 0u) return false;
  uint32_t cx = 6u + (h >> 8u) % 16u;
  uint32_t cy = 6u + (h >> 16u) % 16u;
  uint32_t dx = x % 32u, dy = y % 32u;
  return dx >= cx && dx < cx + 10u && dy >= cy && dy < cy + 10u;
}

__device__ float laplacian(const float* field, uint32_t h, uint32_t f, int x, int y) {
  float sides = field[at(h, f, x - 1, y)] + field[at(h, f, x + 1, y)] + field[at(h, f, x, y - 1)] + field[at(h, f, x, y + 1)];
  float corners = field[at(h, f, x - 1, y - 1)] + field[at(h, f, x + 1, y - 1)] + field[at(h, f, x - 1, y + 1)] + field[at(h, f, x + 1, y + 1)];
  return 0.2f * sides + 0.05f * corners - field[at(h, f, x, y)];
}

// Launch 32 x 32 blocks of 16 x 16 threads: one thread per cell.
extern "C" __global__ void step(const Control* control, float* field, const void* inbox, void* outbox) {
  uint32_t ux = blockIdx.x * blockDim.x + threadIdx.x;
  uint32_t uy = blockIdx.y * blockDim.y + threadIdx.y;
  if (ux >= SIZE || uy >= SIZE) return;
  int x = (int)ux, y = (int)uy;
  uint32_t to = (control->step + 1u) % 2u;
  if (control->step == 0u) {
    float v = seeded(ux, uy) ? 0.25f : 0.0f;
    field[at(to, 0, x, y)] = 1.0f - 2.0f * v;
    field[at(to, 1, x, y)] = v;
    return;
  }
  uint32_t src = 1u - to;
  float u = field[at(src, 0, x, y)];
  float v = field[at(src, 1, x, y)];
  float uvv = u * v * v;
  float nu = u + DIFFUSE_U * laplacian(field, src, 0, x, y) - uvv + FEED * (1.0f - u);
  float nv = v + DIFFUSE_V * laplacian(field, src, 1, x, y) + uvv - (KILL + FEED) * v;
  field[at(to, 0, x, y)] = fminf(fmaxf(nu, 0.0f), 1.0f);
  field[at(to, 1, x, y)] = fminf(fmaxf(nv, 0.0f), 1.0f);
}
