// Hot reload of WGSL kernels through Dawn: lavapipe here and in CI, the GPU on a GPU machine.
import { hotReloadSuite } from '../support/hotReloadSuite';
import { WGSL_CONTROL_AND_STATE, endlessWgsl } from '../support/kernelSources';

const HEADER = WGSL_CONTROL_AND_STATE;

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
  endless: `${HEADER}${endlessWgsl('step', 2)}
`,
  enabled: true,
  skipReason: '',
});
