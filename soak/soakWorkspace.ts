// The soak's workspace: a fresh folder with the examples' heat and ring kernels, laid out so that
// every device present runs kernels (each WebGPU device instance and each CUDA device), the ring's
// token crosses devices, and kernel 0 starts a new token every 100 steps (the example's one token
// would end the traffic the first time it is lost). Also the files the soak edits: the kernel sources it
// hot-reloads (each with a valid and an invalid version) and the large files it validates.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SoakDevices {
  /** WebGPU device instances (webgpu:0..n-1); 0 when WebGPU is unavailable. */
  webgpu: number;
  /** CUDA devices (cuda:0..n-1). */
  cuda: number;
}

/** A kernel source the soak edits and saves: each save a new version, valid or not. */
export interface ReloadTarget {
  /** Absolute path. */
  path: string;
  languageId: 'wgsl' | 'ptx';
  /** The kernels that run this file (each reloads on its save). */
  kernels: string[];
  /** The n-th version: valid code with a changed constant, or code the compiler must refuse. */
  version(n: number, valid: boolean): string;
}

/** A large file the soak opens and validates again and again (it is no kernel's source). */
export interface LargeFile {
  path: string;
  languageId: 'wgsl' | 'ptx';
  /** Its n-th text: the same code with a changing comment at the end, so every save validates anew. */
  text(n: number): string;
}

export interface SoakWorkspace {
  root: string;
  /** Every kernel of the manifest, with the device it is pinned to. */
  kernels: { id: string; device: string }[];
  reloadTargets: ReloadTarget[];
  largeFiles: LargeFile[];
}

/**
 * The example's kernel 0 sends one token, at step 0, and it retires after HOPS hops: a token lost
 * (a killed host's mailbox) would end the traffic for good. The soak's kernel 0 starts a new token
 * every TOKEN_EVERY of its steps, so messages keep flowing whatever happened to earlier ones, and
 * about HOPS / TOKEN_EVERY tokens are in flight at a time (bounded: each still retires).
 */
const TOKEN_EVERY = 100;

function replaceOnce(text: string, from: string | RegExp, to: string, what: string): string {
  const found = typeof from === 'string' ? text.includes(from) : new RegExp(from.source).test(text);
  if (!found) throw new Error(`soak: ${what} not found in the example; the soak's edits need updating`);
  return text.replace(from, to);
}

export function createSoakWorkspace(examples: string, devices: SoakDevices): SoakWorkspace {
  if (devices.webgpu < 1 && devices.cuda < 1)
    throw new Error('soak: no WebGPU and no CUDA device was found, so no kernel can run; the probe said why above');
  const root = mkdtempSync(join(tmpdir(), 'ringkernel-soak-'));
  const heatWgsl = readFileSync(join(examples, 'kernels', 'heat.wgsl'), 'utf8');
  const ringWgslExample = readFileSync(join(examples, 'ring', 'ring.wgsl'), 'utf8');
  const ringPtxExample = readFileSync(join(examples, 'ring', 'ring.ptx'), 'utf8');
  copyFileSync(join(examples, 'kernels', 'heat.ptx'), join(root, 'heat.ptx'));

  const heatVersion = (n: number, valid: boolean): string =>
    replaceOnce(
      heatWgsl,
      /const HEAT_PER_STEP: u32 = \d+u;/,
      valid ? `const HEAT_PER_STEP: u32 = ${1 + (n % 9)}u;` : `const HEAT_PER_STEP: u32 = heat_per_step_${n};`,
      'HEAT_PER_STEP in heat.wgsl',
    );
  const ringWgsl = replaceOnce(
    ringWgslExample,
    'if (control.step == 0u && me == 0u) {',
    `if (control.step % ${TOKEN_EVERY}u == 0u && me == 0u) {`,
    'the first token of ring.wgsl',
  );
  const ringWgslVersion = (n: number, valid: boolean): string =>
    replaceOnce(
      ringWgsl,
      /const HOPS: u32 = \d+u;/,
      valid ? `const HOPS: u32 = ${96 - (n % 8)}u;` : `const HOPS: u32 = hops_${n};`,
      'HOPS in ring.wgsl',
    );
  // PTX: `step | me` is tested against 0 in each entry point (the token at step 0); the soak's
  // tests `step % TOKEN_EVERY | me`. The hop limit is an immediate of `setp.lt.u32`. An invalid
  // version names a type PTX does not have, which the CUDA driver's JIT refuses.
  const ringPtx = replaceOnce(
    ringPtxExample,
    /or\.b32(\s+)%r14, %r13, %r1;/g,
    `rem.u32$1%r14, %r13, ${TOKEN_EVERY};\n\tor.b32$1%r14, %r14, %r1;`,
    'the first token of ring.ptx',
  );
  const ringPtxVersion = (n: number, valid: boolean): string => {
    const version = replaceOnce(
      ringPtx,
      /(setp\.lt\.u32\s+%p\d+, %r\d+, )\d+;/g,
      `$1${96 - (n % 8)};`,
      'the hop limit in ring.ptx',
    );
    return valid ? version : replaceOnce(version, 'setp.lt.u32', 'setp.lt.u33', 'setp.lt.u32 in ring.ptx');
  };
  writeFileSync(join(root, 'heat.wgsl'), heatVersion(0, true));
  writeFileSync(join(root, 'ring.wgsl'), ringWgslVersion(0, true));
  writeFileSync(join(root, 'ring.ptx'), ringPtxVersion(0, true));

  const webgpuDevices = Array.from({ length: devices.webgpu }, (_, i) => i);
  const cudaDevices = Array.from({ length: devices.cuda }, (_, i) => i);
  const manifestKernels: object[] = [];
  const kernels: { id: string; device: string }[] = [];
  // The ring first: its kernels pass the token by manifest index (kernel_index 0..n-1).
  // WGSL kernels spread over the WebGPU devices; with CUDA, every other kernel is PTX on
  // a CUDA device (examples/ring/ringkernel-cuda.json), so the token crosses backends too.
  const ringSize = devices.cuda > 0 && devices.webgpu > 0 ? 6 : 4;
  const ringKernels: { id: string; device: string }[] = [];
  const placed = { webgpu: 0, cuda: 0 };
  for (let k = 0; k < ringSize; k++) {
    const onCuda = devices.webgpu === 0 || (devices.cuda > 0 && k % 2 === 1);
    // Round-robin over the backend's devices, so consecutive kernels of one backend differ.
    const device = onCuda
      ? (cudaDevices[placed.cuda++ % devices.cuda] ?? 0)
      : (webgpuDevices[placed.webgpu++ % devices.webgpu] ?? 0);
    const id = `ring${k}`;
    manifestKernels.push({
      id,
      source: onCuda ? 'ring.ptx' : 'ring.wgsl',
      entryPoint: `ring_of_${ringSize}`,
      backend: onCuda ? 'cuda' : 'webgpu',
      device,
      stateBytes: 24,
      grid: [1, 1, 1],
      ...(onCuda ? { block: [32, 1, 1] } : {}),
      inboxCapacity: 4,
      outboxCapacity: 4,
      rateHz: 20,
    });
    ringKernels.push({ id, device: `${onCuda ? 'cuda' : 'webgpu'}:${device}` });
  }
  kernels.push(...ringKernels);
  const heatBase = {
    entryPoint: 'step',
    sources: { webgpu: 'heat.wgsl', cuda: 'heat.ptx' },
    stateBytes: 4 * 1024 * 1024,
    grid: [8192, 1, 1],
    rateHz: 30,
  };
  // A heat kernel on every device.
  for (const device of webgpuDevices) {
    const id = `heat-webgpu${device}`;
    manifestKernels.push({ id, source: 'heat.wgsl', backend: 'webgpu', device, ...heatBase });
    kernels.push({ id, device: `webgpu:${device}` });
  }
  for (const device of cudaDevices) {
    const id = `heat-cuda${device}`;
    manifestKernels.push({ id, source: 'heat.ptx', backend: 'cuda', device, ...heatBase });
    kernels.push({ id, device: `cuda:${device}` });
  }
  writeFileSync(join(root, 'ringkernel.json'), JSON.stringify({ version: 1, kernels: manifestKernels }, null, 2));

  const reloadTargets: ReloadTarget[] = [];
  const runs = (source: string): string[] =>
    manifestKernels.flatMap((k) => ((k as { source: string }).source === source ? [(k as { id: string }).id] : []));
  if (runs('heat.wgsl').length > 0)
    reloadTargets.push({
      path: join(root, 'heat.wgsl'),
      languageId: 'wgsl',
      kernels: runs('heat.wgsl'),
      version: heatVersion,
    });
  if (runs('ring.wgsl').length > 0)
    reloadTargets.push({
      path: join(root, 'ring.wgsl'),
      languageId: 'wgsl',
      kernels: runs('ring.wgsl'),
      version: ringWgslVersion,
    });
  if (runs('ring.ptx').length > 0)
    reloadTargets.push({
      path: join(root, 'ring.ptx'),
      languageId: 'ptx',
      kernels: runs('ring.ptx'),
      version: ringPtxVersion,
    });

  return { root, kernels, reloadTargets, largeFiles: largeFiles(root) };
}

/** A WGSL file of about 4,000 lines and a PTX file of about 4,600, each valid. */
function largeFiles(root: string): LargeFile[] {
  const wgsl: string[] = ['// A large WGSL file the soak validates again and again.'];
  for (let i = 0; i < 500; i++) {
    wgsl.push(
      `fn term_${i}(x: f32, y: f32) -> f32 {`,
      `  var a = x * ${i + 1}.0 + y;`,
      `  for (var k = 0; k < 4; k = k + 1) { a = a * 0.5 + f32(k); }`,
      `  if (a > 100.0) { a = a - 100.0; } else { a = a + 1.0; }`,
      `  let b = vec4<f32>(a, x, y, 1.0);`,
      `  return dot(b, vec4<f32>(1.0, 2.0, 3.0, 4.0));`,
      `}`,
      '',
    );
  }
  wgsl.push(
    '@group(0) @binding(0) var<storage, read_write> out: array<f32>;',
    '@compute @workgroup_size(64)',
    'fn main(@builtin(global_invocation_id) id: vec3<u32>) {',
    '  out[id.x] = term_0(f32(id.x), 1.0) + term_499(2.0, f32(id.x));',
    '}',
  );
  const ptx: string[] = ['.version 8.0', '.target sm_80', '.address_size 64', ''];
  for (let i = 0; i < 200; i++) {
    ptx.push(
      `.visible .entry k${i}(.param .u64 p_out, .param .u32 p_n)`,
      '{',
      '\t.reg .pred %p<2>;',
      '\t.reg .b32 %r<8>;',
      '\t.reg .b64 %rd<6>;',
      '\tld.param.u64 %rd1, [p_out];',
      '\tld.param.u32 %r1, [p_n];',
      '\tmov.u32 %r2, %ctaid.x;',
      '\tmov.u32 %r3, %ntid.x;',
      '\tmov.u32 %r4, %tid.x;',
      '\tmad.lo.s32 %r5, %r2, %r3, %r4;',
      '\tsetp.ge.u32 %p1, %r5, %r1;',
      `\t@%p1 bra DONE${i};`,
      '\tcvta.to.global.u64 %rd2, %rd1;',
      '\tmul.wide.u32 %rd3, %r5, 4;',
      '\tadd.s64 %rd4, %rd2, %rd3;',
      `\tadd.s32 %r6, %r5, ${i};`,
      '\tmul.lo.s32 %r7, %r6, 3;',
      '\tst.global.u32 [%rd4], %r7;',
      `DONE${i}:`,
      '\tret;',
      '}',
      '',
    );
  }
  const file = (name: string, languageId: 'wgsl' | 'ptx', lines: string[]): LargeFile => {
    const path = join(root, 'large', name);
    const body = lines.join('\n');
    const text = (n: number): string => `${body}\n// soak edit ${n}\n`;
    mkdirSync(join(root, 'large'), { recursive: true });
    writeFileSync(path, text(0));
    return { path, languageId, text };
  };
  return [file('large.wgsl', 'wgsl', wgsl), file('large.ptx', 'ptx', ptx)];
}
