// Migration's verify on a WebGPU device: the digest kernel (blockSha256Wgsl.ts) compiled once per
// device and dispatched over a storage buffer, one invocation per block. A state larger than one
// binding allows (maxStorageBufferBindingSize) is digested in several bound ranges, one dispatch
// each, all in one submission; the digests land in a storage buffer kept per device and come back
// through a kept mappable buffer: 32 bytes a block, a few hundred KiB per GiB, not the state.
import { SHA256_BYTES, gpuDigestBlockBytes } from '../deviceDigests';
import { SELF_TEST_BLOCKS, SELF_TEST_BYTES, checkSelfTest, selfTestState } from '../digestSelfTest';
import { GpuError } from '../gpuError';
import { errorMessage } from '../../logger';
import { BLOCK_SHA256_WGSL, DIGEST_PARAMS_BYTES, DIGEST_WORKGROUP_SIZE } from './blockSha256Wgsl';

const ENTRY_POINT = 'blockSha256';
/** Uniform buffer offsets must be multiples of this (minUniformBufferOffsetAlignment's largest allowed value). */
const PARAMS_STRIDE = 256;
/** A range's size is kept below 2 GiB, so the shader's u32 byte arithmetic never wraps. */
const MAX_RANGE_BYTES = 2 ** 31;

/** The kernel on one device, and the memory its digests land in (reused, grown to the largest list). */
interface DeviceDigests {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  memory?: DigestMemory;
}

interface DigestMemory {
  digests: GPUBuffer;
  readback: GPUBuffer;
  params: GPUBuffer;
  bytes: number;
  ranges: number;
  busy: boolean;
}

/** One bound range of a state: its byte offset and size in the buffer, its first block. */
export interface DigestRange {
  offset: number;
  bytes: number;
  firstBlock: number;
}

/** What the kernel needs of a device beyond the GPUDevice: its binding limits. */
export interface DigestDevice {
  device: GPUDevice;
  /** Largest storage binding (maxStorageBufferBindingSize), or less (tests force several ranges). */
  maxBindingBytes: number;
  /** minStorageBufferOffsetAlignment. */
  offsetAlignment: number;
  maxWorkgroupsPerDimension: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The bound ranges the first `bytes` of a state are digested in: each a whole number of blocks,
 * starting at an offset the device can bind, no larger than a binding or a dispatch allows.
 */
export function digestRanges(bytes: number, blockBytes: number, device: Omit<DigestDevice, 'device'>): DigestRange[] {
  const unit = (blockBytes * device.offsetAlignment) / gcd(blockBytes, device.offsetAlignment);
  const byBinding = Math.floor(Math.min(device.maxBindingBytes, MAX_RANGE_BYTES) / unit) * unit;
  const byDispatch = Math.floor((device.maxWorkgroupsPerDimension * DIGEST_WORKGROUP_SIZE * blockBytes) / unit) * unit;
  const rangeBytes = Math.min(byBinding, byDispatch);
  if (rangeBytes <= 0)
    throw new GpuError(
      'INVALID_ARGUMENT',
      `the digest kernel cannot bind a range of ${blockBytes}-byte blocks aligned to ${device.offsetAlignment} bytes within ${device.maxBindingBytes} bytes`,
    );
  const ranges: DigestRange[] = [];
  for (let offset = 0; offset < bytes; offset += rangeBytes)
    ranges.push({ offset, bytes: Math.min(rangeBytes, bytes - offset), firstBlock: offset / blockBytes });
  return ranges;
}

export class WebGpuDigestKernel {
  private readonly loads = new Map<number, Promise<DeviceDigests>>();
  private readonly loaded = new Map<number, DeviceDigests>();

  /** Whether the kernel compiled and passed its self-test on device `index`. */
  loadedOn(index: number): boolean {
    return this.loaded.has(index);
  }

  /** Compiles the kernel on device `index` (once) and runs its self-test; undefined when it runs there, else why not. */
  async prepare(index: number, on: DigestDevice): Promise<string | undefined> {
    if (this.loaded.has(index)) return undefined;
    let load = this.loads.get(index);
    if (!load) {
      load = this.load(index, on);
      this.loads.set(index, load);
    }
    try {
      await load;
      return undefined;
    } catch (error) {
      // A later prepare tries again (a device short of memory now may not be later).
      this.loads.delete(index);
      return `the digest kernel does not run on WebGPU device ${index}: ${errorMessage(error)}`;
    }
  }

  private async load(index: number, on: DigestDevice): Promise<DeviceDigests> {
    const { device } = on;
    // Pushed and popped with no await between: a scope catches whatever happens on the device meanwhile.
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: 'ringkernel.blockSha256', code: BLOCK_SHA256_WGSL });
    const [info, scoped] = await Promise.all([module.getCompilationInfo(), device.popErrorScope()]);
    const error = info.messages.find((m) => m.type === 'error');
    if (error || scoped)
      throw new Error(
        `its WGSL does not compile: ${error ? `${error.lineNum}:${error.linePos}: ${error.message}` : scoped?.message}`,
      );
    const pipeline = await device.createComputePipelineAsync({
      label: 'ringkernel.blockSha256',
      layout: 'auto',
      compute: { module, entryPoint: ENTRY_POINT },
    });
    const kernel: DeviceDigests = { pipeline, layout: pipeline.getBindGroupLayout(0) };
    await this.selfTest(kernel, on);
    this.loaded.set(index, kernel);
    return kernel;
  }

  /**
   * Digests a known state and compares every block with node:crypto's SHA-256 before the kernel is
   * trusted with a migration's verify: a kernel, compiler or driver that hashed wrongly would
   * otherwise fail every move instead of verifying on the CPU. The state's last word is partly
   * beyond it, and those bytes are set, so the tail's masking is checked too.
   */
  private async selfTest(kernel: DeviceDigests, on: DigestDevice): Promise<void> {
    const { device } = on;
    const padded = Math.ceil(SELF_TEST_BYTES / 4) * 4;
    const state = selfTestState(padded);
    const buffer = device.createBuffer({
      label: 'ringkernel.blockSha256.selfTest',
      size: padded,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    try {
      device.queue.writeBuffer(buffer, 0, state);
      for (const blockBytes of SELF_TEST_BLOCKS) {
        const list = await this.run(kernel, on, buffer, SELF_TEST_BYTES, blockBytes);
        checkSelfTest(state, list, blockBytes);
      }
    } finally {
      buffer.destroy();
    }
  }

  /**
   * The block digests of the first `bytes` of `buffer` (its size a multiple of 4, at least `bytes`
   * rounded up to one), in blocks of `blockBytes`: 32 bytes a block, back to back. Runs behind
   * everything queued on the device before it.
   */
  digest(
    index: number,
    on: DigestDevice,
    buffer: GPUBuffer,
    bytes: number,
    blockBytes = gpuDigestBlockBytes(bytes),
  ): Promise<Uint8Array> {
    const kernel = this.loaded.get(index);
    if (!kernel) throw new GpuError('BACKEND_UNAVAILABLE', `the digest kernel is not loaded on WebGPU device ${index}`);
    return this.run(kernel, on, buffer, bytes, blockBytes);
  }

  private async run(
    kernel: DeviceDigests,
    on: DigestDevice,
    buffer: GPUBuffer,
    bytes: number,
    blockBytes: number,
  ): Promise<Uint8Array> {
    if (!Number.isSafeInteger(blockBytes) || blockBytes <= 0 || blockBytes % 64 !== 0 || blockBytes >= MAX_RANGE_BYTES)
      throw new GpuError(
        'INVALID_ARGUMENT',
        `the digest kernel hashes blocks of a positive multiple of 64 bytes below 2 GiB, not ${blockBytes}`,
      );
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || Math.ceil(bytes / 4) * 4 > buffer.size)
      throw new GpuError(
        'INVALID_ARGUMENT',
        `the digest kernel cannot hash ${bytes} bytes of a ${buffer.size}-byte buffer`,
      );
    const { device } = on;
    const ranges = digestRanges(bytes, blockBytes, on);
    const listBytes = Math.ceil(bytes / blockBytes) * SHA256_BYTES;
    const memory = this.take(kernel, device, listBytes, ranges.length);
    try {
      const params = new Uint32Array((ranges.length * PARAMS_STRIDE) / 4);
      ranges.forEach((range, r) =>
        params.set(
          [range.bytes, blockBytes, Math.ceil(range.bytes / blockBytes), range.firstBlock],
          (r * PARAMS_STRIDE) / 4,
        ),
      );
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      device.queue.writeBuffer(memory.params, 0, params);
      const encoder = device.createCommandEncoder({ label: 'ringkernel.blockSha256' });
      const pass = encoder.beginComputePass();
      pass.setPipeline(kernel.pipeline);
      ranges.forEach((range, r) => {
        const group = device.createBindGroup({
          layout: kernel.layout,
          entries: [
            { binding: 0, resource: { buffer, offset: range.offset, size: Math.ceil(range.bytes / 4) * 4 } },
            { binding: 1, resource: { buffer: memory.digests, offset: 0, size: listBytes } },
            { binding: 2, resource: { buffer: memory.params, offset: r * PARAMS_STRIDE, size: DIGEST_PARAMS_BYTES } },
          ],
        });
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(Math.ceil(Math.ceil(range.bytes / blockBytes) / DIGEST_WORKGROUP_SIZE));
      });
      pass.end();
      encoder.copyBufferToBuffer(memory.digests, 0, memory.readback, 0, listBytes);
      device.queue.submit([encoder.finish()]);
      // Both popped before any await (scopes are the device's, not this call's).
      const [validation, outOfMemory] = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
      if (validation)
        throw new GpuError('DRIVER_ERROR', `the digest kernel's dispatch was refused: ${validation.message}`);
      if (outOfMemory) throw new GpuError('OUT_OF_MEMORY', `the digest kernel's dispatch: ${outOfMemory.message}`);
      await memory.readback.mapAsync(GPUMapMode.READ, 0, listBytes);
      try {
        return new Uint8Array(memory.readback.getMappedRange(0, listBytes)).slice();
      } finally {
        memory.readback.unmap();
      }
    } finally {
      this.give(kernel, memory);
    }
  }

  /** The device's kept digest memory when free and large enough, else memory for this use (kept if none is busy). */
  private take(kernel: DeviceDigests, device: GPUDevice, listBytes: number, ranges: number): DigestMemory {
    const kept = kernel.memory;
    if (kept && !kept.busy && kept.bytes >= listBytes && kept.ranges >= ranges) {
      kept.busy = true;
      return kept;
    }
    const bytes = Math.max(listBytes, kept?.bytes ?? 0);
    const fresh: DigestMemory = {
      digests: device.createBuffer({
        label: 'ringkernel.blockSha256.digests',
        size: bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
      }),
      readback: device.createBuffer({
        label: 'ringkernel.blockSha256.readback',
        size: bytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      }),
      params: device.createBuffer({
        label: 'ringkernel.blockSha256.params',
        size: Math.max(ranges, kept?.ranges ?? 0) * PARAMS_STRIDE,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      }),
      bytes,
      ranges: Math.max(ranges, kept?.ranges ?? 0),
      busy: true,
    };
    if (!kept?.busy) {
      if (kept) destroy(kept);
      kernel.memory = fresh;
    }
    return fresh;
  }

  private give(kernel: DeviceDigests, memory: DigestMemory): void {
    if (kernel.memory === memory) memory.busy = false;
    else destroy(memory);
  }

  dispose(): void {
    for (const kernel of this.loaded.values()) if (kernel.memory && !kernel.memory.busy) destroy(kernel.memory);
    this.loaded.clear();
    this.loads.clear();
  }
}

function destroy(memory: DigestMemory): void {
  memory.digests.destroy();
  memory.readback.destroy();
  memory.params.destroy();
}
