// WebGPU: a kernel step and copies through the engine (device host over IPC) beside raw Dawn in
// this process doing the same work.
import { OUTBOX_HEADER_BYTES, encodeControl } from '../server/src/kernel/abi';
import { DeviceHost } from '../server/src/hosts/deviceHost';
import { HostedKernel } from '../server/src/kernel/hostedKernel';
import { dawnInstance } from '../server/src/backends/webgpu/dawn';
import { gbPerSecond, ratio, summarize, timeMany, type LatencySummary } from './stats';

const KERNEL = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<storage, read> inbox: array<u32>;
@group(0) @binding(3) var<storage, read_write> outbox: array<atomic<u32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < arrayLength(&state)) { state[id.x] = state[id.x] + control.step; }
}`;
const STATE_WORDS = 4096;

export interface WebGpuBenchResult {
  device: string;
  step: { engine: LatencySummary; raw: LatencySummary; ratioP50: number; requestedOneByOne: LatencySummary };
  copies: Record<'hostToDevice' | 'deviceToHost' | 'deviceToDevice', { bytes: number; engineGBps: number; rawGBps: number; ratio: number }>;
}

async function rawDawn(steps: number, copyBytes: number, copies: number): Promise<{ device: string; step: number[]; h2d: number[]; d2h: number[]; d2d: number[] }> {
  const gpu = dawnInstance('vulkan');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter: the bench needs a Vulkan driver');
  const device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
  device.addEventListener('uncapturederror', (event) => event.preventDefault());
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const control = device.createBuffer({ size: 16, usage });
  const state = device.createBuffer({ size: STATE_WORDS * 4, usage });
  const inbox = device.createBuffer({ size: 64, usage });
  const outbox = device.createBuffer({ size: 80, usage });
  const module = device.createShaderModule({ code: KERNEL });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [control, state, inbox, outbox].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const header = device.createBuffer({ size: OUTBOX_HEADER_BYTES, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  let n = 0;
  const stepOnce = async (): Promise<void> => {
    const block = encodeControl({ step: n++, kernelIndex: 0, inboxCount: 0, outboxCapacity: 1 });
    device.queue.writeBuffer(control, 0, block.buffer, 0, block.byteLength);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(STATE_WORDS / 64);
    pass.end();
    // The same outbox check the engine makes after every step, done the cheapest way.
    encoder.copyBufferToBuffer(outbox, 0, header, 0, OUTBOX_HEADER_BYTES);
    device.queue.submit([encoder.finish()]);
    await header.mapAsync(GPUMapMode.READ);
    void new Uint32Array(header.getMappedRange())[0];
    header.unmap();
  };
  await timeMany(10, stepOnce);
  const step = await timeMany(steps, stepOnce);
  const big = device.createBuffer({ size: copyBytes, usage });
  const other = device.createBuffer({ size: copyBytes, usage });
  const payload = new Uint8Array(copyBytes).fill(7);
  const h2d = await timeMany(copies, async () => {
    device.queue.writeBuffer(big, 0, payload.buffer, 0, copyBytes);
    await device.queue.onSubmittedWorkDone();
  });
  const d2h = await timeMany(copies, async () => {
    const staging = device.createBuffer({ size: copyBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(big, 0, staging, 0, copyBytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    new Uint8Array(staging.getMappedRange().slice(0));
    staging.destroy();
  });
  const d2d = await timeMany(copies, async () => {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(big, 0, other, 0, copyBytes);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  });
  for (const buffer of [control, state, inbox, outbox, header, big, other]) buffer.destroy();
  return { device: adapter.info.description || adapter.info.device, step, h2d, d2h, d2d };
}

export async function benchWebGpu(options: { steps: number; copyBytes: number; copies: number }): Promise<WebGpuBenchResult> {
  const { steps, copyBytes, copies } = options;
  const host = new DeviceHost({ backend: 'webgpu', stepTimeoutMs: 60_000 });
  try {
    const kernel = await HostedKernel.create(host, { language: 'wgsl', label: 'bench', code: KERNEL, entryPoint: 'main' },
      { index: 0, device: 0, stateBytes: STATE_WORDS * 4, grid: [STATE_WORDS / 64, 1, 1], inboxCapacity: 1, outboxCapacity: 1 });
    await kernel.run(10);
    // The engine's step as its step loop runs it: in the device host, back to back.
    const engineStep = (await kernel.run(steps)).map((result) => result.timing.hostMs);
    // A step the server requests one at a time pays an IPC round trip on top: reported apart.
    const requested = await timeMany(Math.min(steps, 50), () => kernel.step());
    const big = await host.allocate(0, copyBytes, 'bench.big');
    const other = await host.allocate(0, copyBytes, 'bench.other');
    const payload = new Uint8Array(copyBytes).fill(7);
    const h2d = await timeMany(copies, () => host.write(big, 0, payload));
    const d2h = await timeMany(copies, () => host.read(big, 0, copyBytes));
    const d2d = await timeMany(copies, () => host.copy(big, other, copyBytes));
    const rawMeasured = await rawDawn(steps, copyBytes, copies);
    const engineSummary = summarize(engineStep);
    const rawSummary = summarize(rawMeasured.step);
    const bandwidth = (engine: number[], rawSamples: number[]): { bytes: number; engineGBps: number; rawGBps: number; ratio: number } => {
      const e = gbPerSecond(copyBytes, summarize(engine).p50Ms);
      const r = gbPerSecond(copyBytes, summarize(rawSamples).p50Ms);
      return { bytes: copyBytes, engineGBps: e, rawGBps: r, ratio: ratio(r, e) };
    };
    return {
      device: rawMeasured.device,
      step: { engine: engineSummary, raw: rawSummary, ratioP50: ratio(engineSummary.p50Ms, rawSummary.p50Ms), requestedOneByOne: summarize(requested) },
      copies: { hostToDevice: bandwidth(h2d, rawMeasured.h2d), deviceToHost: bandwidth(d2h, rawMeasured.d2h), deviceToDevice: bandwidth(d2d, rawMeasured.d2d) },
    };
  } finally {
    host.dispose();
  }
}
