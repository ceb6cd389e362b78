// Kernel sources shared by the tests and the bench (one copy of each): the ABI's declarations in
// WGSL, a PTX module with the ABI's entry signature, and the endless kernel the watchdogs catch.
// docs/kernel-abi.md is the ABI itself.

/** The kernel ABI's four bindings in WGSL, for test kernels to start from. */
export const WGSL_ABI = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
struct Slot { destination: u32, kind: u32, length: u32, reserved: u32, payload: array<u32, 12> }
struct Outbox { count: atomic<u32>, pad0: u32, pad1: u32, pad2: u32, slots: array<Slot> }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<storage, read> inbox: array<Slot>;
@group(0) @binding(3) var<storage, read_write> outbox: Outbox;
`;

/** Only the control block and the state: enough for kernels that send and receive nothing. */
export const WGSL_CONTROL_AND_STATE = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
`;

/**
 * A WGSL entry point that never returns: its loop ends only when `state[exitWord]` is
 * 0xFFFFFFFF, a value the kernel keeps out of reach, so no compiler removes the loop; it counts
 * its turns in `state[exitWord + 1]`.
 */
export function endlessWgsl(entryPoint: string, exitWord = 0): string {
  return `
@compute @workgroup_size(1)
fn ${entryPoint}() {
  var i = 0u;
  loop {
    if (state[${exitWord}] == 0xFFFFFFFFu) { break; }
    i = i + 1u;
    state[${exitWord + 1}] = i;
  }
}`;
}

/**
 * A PTX module (sm_52, 64-bit) with one entry taking the ABI's four pointers. The body starts
 * with the control block's address in %rd1 and the state's in %rd2 (both global); `registers`
 * declares what it uses beyond those.
 */
export function ptxAbiModule(body: string, registers: string, entryPoint = 'step'): string {
  return `.version 7.0
.target sm_52
.address_size 64

.visible .entry ${entryPoint}(
  .param .u64 control,
  .param .u64 state,
  .param .u64 inbox,
  .param .u64 outbox
)
{
${registers}
  ld.param.u64 %rd1, [control];
  ld.param.u64 %rd2, [state];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
${body}
  ret;
}
`;
}
