// The kernels the bench runs, the same rule in WGSL and PTX: every thread owns one state word and
// steps it as `state[i] = state[i] * 1664525 + 1013904223 + step + TICK` (one load, one store,
// a little arithmetic). Threads per workgroup (block) are 256; the grid is two-dimensional so a
// large state fits WebGPU's 65,535 workgroups per dimension.
import type { KernelSource } from '../server/src/backends/backend';
import type { BackendName } from '../server/src/backends/backendReport';
import type { KernelPlacement } from '../server/src/hosts/deviceKernel';
import { WGSL_CONTROL_AND_STATE, ptxAbiModule } from '../test/support/kernelSources';

export const THREADS_PER_GROUP = 256;
const MAX_GROUPS_X = 32_768;

/** One kernel as both sides launch it: its source, its grid, and the words it steps. */
export interface BenchKernel {
  backend: BackendName;
  source: KernelSource;
  /** State words; one thread each. */
  words: number;
  grid: [number, number, number];
  block: [number, number, number];
}

function wgsl(tick: number): string {
  return `${WGSL_CONTROL_AND_STATE}const TICK: u32 = ${tick}u;

@compute @workgroup_size(${THREADS_PER_GROUP})
fn step(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let i = (group.y * groups.x + group.x) * ${THREADS_PER_GROUP}u + lane;
  state[i] = state[i] * 1664525u + 1013904223u + control.step + TICK;
}
`;
}

function ptx(tick: number): string {
  return ptxAbiModule(
    `  ld.global.u32 %r1, [%rd1];
  mov.u32 %r2, %ctaid.y;
  mov.u32 %r3, %nctaid.x;
  mov.u32 %r4, %ctaid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  mov.u32 %r6, %ntid.x;
  mov.u32 %r7, %tid.x;
  mad.lo.s32 %r8, %r5, %r6, %r7;
  mul.wide.u32 %rd3, %r8, 4;
  add.s64 %rd4, %rd2, %rd3;
  ld.global.u32 %r9, [%rd4];
  mad.lo.s32 %r10, %r9, 1664525, 1013904223;
  add.s32 %r10, %r10, %r1;
  add.s32 %r11, %r10, ${tick};
  st.global.u32 [%rd4], %r11;`,
    '  .reg .b32 %r<12>;\n  .reg .b64 %rd<6>;',
  );
}

/** The kernel's code for a backend; `tick` makes each version different (hot reload, caches). */
export function kernelCode(backend: BackendName, tick = 0): string {
  return backend === 'webgpu' ? wgsl(tick) : ptx(tick);
}

/** A kernel stepping `words` state words (a multiple of 256). */
export function benchKernel(backend: BackendName, words: number, label = 'bench', tick = 0): BenchKernel {
  if (words % THREADS_PER_GROUP !== 0)
    throw new Error(`a bench kernel's state is a multiple of ${THREADS_PER_GROUP} words, not ${words}`);
  const groups = words / THREADS_PER_GROUP;
  const x = Math.min(groups, MAX_GROUPS_X);
  if (groups % x !== 0) throw new Error(`${words} words do not make a ${x}-wide grid`);
  return {
    backend,
    source: {
      language: backend === 'webgpu' ? 'wgsl' : 'ptx',
      label,
      code: kernelCode(backend, tick),
      entryPoint: 'step',
    },
    words,
    grid: [x, groups / x, 1],
    block: [THREADS_PER_GROUP, 1, 1],
  };
}

/** Where the engine puts it: device 0, no mailboxes worth the name. */
export function placementOf(kernel: BenchKernel): KernelPlacement {
  return {
    index: 0,
    device: 0,
    stateBytes: kernel.words * 4,
    grid: kernel.grid,
    inboxCapacity: 1,
    outboxCapacity: 1,
    ...(kernel.backend === 'cuda' ? { block: kernel.block } : {}),
  };
}

/** The step loop's two kernels: small (4,096 words) and large (16M words; 1M with --quick). */
export function loopKernels(backend: BackendName, quick: boolean): { label: string; kernel: BenchKernel }[] {
  const large = quick ? 1 << 20 : 1 << 24;
  return [
    { label: 'small kernel (4,096 words)', kernel: benchKernel(backend, 4096) },
    { label: `large kernel (${large >= 1 << 24 ? '16M' : '1M'} words)`, kernel: benchKernel(backend, large) },
  ];
}
