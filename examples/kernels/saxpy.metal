// y = a * x + y over a buffer, one thread per element.
#include <metal_stdlib>
using namespace metal;

struct Params {
  float a;
  uint count;
};

kernel void saxpy(constant Params& params [[buffer(0)]],
                  device const float* x [[buffer(1)]],
                  device float* y [[buffer(2)]],
                  uint id [[thread_position_in_grid]]) {
  if (id >= params.count) {
    return;
  }
  y[id] = fma(params.a, x[id], y[id]);
}
