// Source of heat.ptx: `nvcc -ptx -arch=sm_90 heat.cu -o heat.ptx`.
// The CUDA twin of heat.wgsl: the same ABI (docs/kernel-abi.md) and the same state layout, so the
// heat kernel can migrate between a WebGPU device and a CUDA device with its state (the manifest's
// "sources"). The state is a 16-byte header (steps, heat_added, two reserved words) and then the
// rod twice: a step reads one half and writes the other.
//
// Each operation is written as heat.wgsl writes it, rounded one at a time (__fadd_rn, __fmul_rn),
// so nvcc does not fuse them into FMAs; a Vulkan driver may still fuse the WGSL ones, so the two
// backends are not promised to stay bit for bit equal over many steps. What a migration promises
// is that the state's bytes arrive unchanged and the step count carries on.
#include <cstdint>

struct Control {
  uint32_t step;
  uint32_t kernel_index;
  uint32_t inbox_count;
  uint32_t outbox_capacity;
};

struct Rod {
  uint32_t steps;
  uint32_t heat_added;
  uint32_t reserved0;
  uint32_t reserved1;
  float cells[1];
};

// CUDA has no arrayLength: the rod's length follows from stateBytes in ringkernel.json (4194304):
// (4194304 - 16) / 4 / 2 cells per half. Change both together.
constexpr uint32_t CELLS = (4194304u - 16u) / 4u / 2u;
constexpr float DIFFUSIVITY = 0.25f;
constexpr uint32_t HEAT_PER_STEP = 1u;

extern "C" __global__ void step(const Control* control, Rod* rod, const void* inbox, void* outbox) {
  const uint32_t n = CELLS;
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) {
    return;
  }
  const uint32_t from_half = (control->step % 2u) * n;
  const uint32_t to_half = n - from_half;
  const float here = rod->cells[from_half + i];
  if (i == 0u) {
    // The left end is heated, and passes heat on to its neighbour.
    rod->steps = control->step + 1u;
    rod->heat_added = rod->heat_added + HEAT_PER_STEP;
    const float right = rod->cells[from_half + 1u];
    rod->cells[to_half] = __fadd_rn(__fadd_rn(here, (float)HEAT_PER_STEP), __fmul_rn(DIFFUSIVITY, __fsub_rn(right, here)));
    return;
  }
  if (i == n - 1u) {
    // The right end is held cold.
    rod->cells[to_half + i] = 0.0f;
    return;
  }
  const float left = rod->cells[from_half + i - 1u];
  const float right = rod->cells[from_half + i + 1u];
  const float laplacian = __fadd_rn(__fsub_rn(left, __fmul_rn(2.0f, here)), right);
  rod->cells[to_half + i] = __fadd_rn(here, __fmul_rn(DIFFUSIVITY, laplacian));
}
