// Hot reload of WGSL kernels through Dawn: lavapipe here and in CI, the GPU on a GPU machine.
import { hotReloadSuite } from '../support/hotReloadSuite';

const HEADER = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
`;

hotReloadSuite({
  backend: 'webgpu',
  extension: 'wgsl',
  entryPoint: 'step',
  counter: (tick) => `${HEADER}
const TICK: u32 = ${tick}u;

@compute @workgroup_size(1)
fn step() {
  state[0] = control.step + 1u;
  state[1] = state[1] + TICK;
}
`,
  invalid: `${HEADER}
@compute @workgroup_size(1)
fn step() {
  state[0] = control.step + ;
}
`,
  // The loop's exit depends on a word the kernel never sets, so no compiler can remove it.
  endless: `${HEADER}
@compute @workgroup_size(1)
fn step() {
  var i = 0u;
  loop {
    if (state[2] == 0xFFFFFFFFu) { break; }
    i = i + 1u;
    state[3] = i;
  }
}
`,
  enabled: true,
  skipReason: '',
});
