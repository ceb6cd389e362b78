// WebGPU: the engine (device host) beside raw Dawn in this process doing the same work.
import { dawnInstance } from '../server/src/backends/webgpu/dawn';
import { OUTBOX_HEADER_BYTES, encodeControl } from '../server/src/abi/kernelAbi';
import { engineSamples } from './engineBench';
import { sideBySide, type BackendBenchResult, type RawSamples } from './report';
import { timeMany } from './stats';

const STATE_WORDS = 4096;
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

async function rawDawn(steps: number, copyBytes: number, copies: number): Promise<RawSamples> {
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
  const header = device.createBuffer({ size: OUTBOX_HEADER_BYTES, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const module = device.createShaderModule({ code: KERNEL });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [control, state, inbox, outbox].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  let n = 0;
  // The same work as an engine step, done the cheapest way: control in, dispatch, outbox
  // counter back, one wait.
  const stepOnce = async (): Promise<void> => {
    const block = encodeControl({ step: n++, kernelIndex: 0, inboxCount: 0, outboxCapacity: 1 });
    device.queue.writeBuffer(control, 0, block.buffer, 0, block.byteLength);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(STATE_WORDS / 64);
    pass.end();
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
  const withWarmUp = async (run: () => Promise<void>): Promise<number[]> => { await run(); return timeMany(copies, run); };
  const hostToDevice = await withWarmUp(async () => {
    device.queue.writeBuffer(big, 0, payload.buffer, 0, copyBytes);
    await device.queue.onSubmittedWorkDone();
  });
  const deviceToHost = await withWarmUp(async () => {
    const staging = device.createBuffer({ size: copyBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(big, 0, staging, 0, copyBytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    void new Uint8Array(staging.getMappedRange().slice(0));
    staging.destroy();
  });
  const deviceToDevice = await withWarmUp(async () => {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(big, 0, other, 0, copyBytes);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  });
  for (const buffer of [control, state, inbox, outbox, header, big, other]) buffer.destroy();
  return { device: adapter.info.description || adapter.info.device, step, copies: { hostToDevice, deviceToHost, deviceToDevice } };
}

export async function benchWebGpu(requested: { steps: number; copyBytes: number; copies: number }): Promise<BackendBenchResult> {
  // No larger than the device allows for one binding (128 MiB on lavapipe).
  const adapter = await dawnInstance('vulkan').requestAdapter({ powerPreference: 'high-performance' });
  const limit = adapter ? Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize) : requested.copyBytes;
  const options = { ...requested, copyBytes: Math.min(requested.copyBytes, Math.floor(limit / 4) * 4) };
  // A raw run first, discarded, so neither side gets a GPU its predecessor warmed up.
  await rawDawn(Math.min(options.steps, 50), options.copyBytes, 1);
  const engine = await engineSamples('webgpu', { language: 'wgsl', label: 'bench', code: KERNEL, entryPoint: 'main' },
    { index: 0, device: 0, stateBytes: STATE_WORDS * 4, grid: [STATE_WORDS / 64, 1, 1], inboxCapacity: 1, outboxCapacity: 1 }, options);
  return sideBySide(engine, await rawDawn(options.steps, options.copyBytes, options.copies), options.copyBytes);
}
