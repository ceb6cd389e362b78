// A kernel for the partial-read tests, in WGSL and PTX: every step rewrites its whole state, word
// i = (steps run) × TICK + i (mod 2^32). A read that mixed two steps, or named the wrong step or
// version, shows in any word of any range it read.
import type { KernelSource } from '../../server/src/backends/backend';
import { WGSL_ABI } from './kernelSources';

export const RAMP_WORDS = 65_536;
export const RAMP_STATE_BYTES = RAMP_WORDS * 4;

/** Far apart, of several sizes (below the 256 KiB bulk threshold in all). */
export const SPARSE_RANGES = [
  { offset: 0, length: 64 },
  { offset: 131_072, length: 4096 },
  { offset: RAMP_STATE_BYTES - 64, length: 64 },
];
/** Most of the state in two ranges (past the bulk threshold: they travel through shared memory). */
export const MOST_RANGES = [
  { offset: 0, length: 4096 },
  { offset: 8192, length: RAMP_STATE_BYTES - 8192 },
];

/** 64 threads a workgroup, RAMP_WORDS / 64 workgroups. */
export function rampWgsl(tick: number): KernelSource {
  return {
    language: 'wgsl',
    label: 'ramp',
    entryPoint: 'main',
    code: `${WGSL_ABI}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i < arrayLength(&state)) { state[i] = (control.step + 1u) * ${tick}u + i; }
}`,
  };
}

/** Entry `ramp`; launch exactly RAMP_WORDS threads (e.g. 256 blocks of 256). */
export function rampPtx(tick: number): KernelSource {
  return {
    language: 'ptx',
    label: 'ramp',
    entryPoint: 'ramp',
    code: `.version 7.0
.target sm_70
.address_size 64

.visible .entry ramp(.param .u64 control, .param .u64 state, .param .u64 inbox, .param .u64 outbox)
{
  .reg .b32 %r<8>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [control];
  ld.param.u64 %rd2, [state];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mov.u32 %r1, %ctaid.x;
  mov.u32 %r2, %ntid.x;
  mov.u32 %r3, %tid.x;
  mad.lo.u32 %r4, %r1, %r2, %r3;
  ld.global.u32 %r5, [%rd1];
  add.u32 %r5, %r5, 1;
  mad.lo.u32 %r6, %r5, ${tick}, %r4;
  mul.wide.u32 %rd3, %r4, 4;
  add.u64 %rd4, %rd2, %rd3;
  st.global.u32 [%rd4], %r6;
  ret;
}
`,
  };
}

/** The first word of a read that is not `step` steps of `tick`, in words; undefined when all are right. */
export function wrongWord(
  read: { step: number; bytes: Uint8Array[] },
  ranges: readonly { offset: number; length: number }[],
  tick: number,
): string | undefined {
  for (const [r, range] of ranges.entries()) {
    const bytes = read.bytes[r];
    if (bytes?.byteLength !== range.length)
      return `range ${r} has ${bytes?.byteLength ?? 0} bytes, not ${range.length}`;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let w = 0; w < range.length / 4; w++) {
      const index = range.offset / 4 + w;
      const expected = (Math.imul(read.step, tick) + index) >>> 0;
      const got = view.getUint32(w * 4, true);
      if (got !== expected) return `word ${index} is ${got}, not ${expected} (step ${read.step})`;
    }
  }
  return undefined;
}
