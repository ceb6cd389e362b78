// Migration's verify on the GPU (CUDA): the digest kernel (native/kernels/blockSha256.cu, shipped
// as PTX text in blockSha256Ptx.ts) JIT-compiled once per GPU, and launched on a device's stream
// over any device memory: a buffer of this process, or another process's buffer mapped through
// CUDA IPC. Each buffer's digests (32 bytes a block, the block size gpuDigestBlockBytes picks for
// the state's size, or the caller's) land in device memory kept
// per GPU and are copied to pinned host memory behind the launch on the same stream, so a move's
// verify is one more wait and a few hundred KiB read back per GiB, not the whole state.
import { SHA256_BYTES, gpuDigestBlockBytes } from '../deviceDigests';
import { SELF_TEST_BLOCKS, SELF_TEST_BYTES, checkSelfTest, selfTestState } from '../digestSelfTest';
import { BLOCK_SHA256_PTX } from './blockSha256Ptx';
import type { CudaAddon, CudaAllocation, CudaFunction, CudaModule, CudaStream, DeviceMemory } from './cudaAddon';
import { errorMessage } from '../../logger';

const ENTRY_POINT = 'blockSha256';
/** Two buffers of one size in one launch (a copy's source and the copy): one launch's time, not two. */
const PAIR_ENTRY_POINT = 'blockSha256Pair';
/** Threads per CUDA block: small, so a state's blocks spread over many multiprocessors. */
const THREADS_PER_BLOCK = 64;

/** Device memory the digests land in, and the pinned memory they are read back into, for one GPU. */
interface DigestMemory {
  device: CudaAllocation;
  host: ArrayBuffer;
  bytes: number;
  busy: boolean;
}

/** Digest lists queued on a stream: readable once the stream has passed them, until `release`. */
export interface QueuedDigests {
  lists: Uint8Array[];
  blockBytes: number;
  release(): void;
}

/** The bytes of one buffer's digest list (32 bytes a block). */
export function digestListBytes(bytes: number, blockBytes: number): number {
  return Math.ceil(bytes / blockBytes) * SHA256_BYTES;
}

export class CudaDigestKernel {
  private readonly loads = new Map<number, Promise<void>>();
  private readonly loaded = new Map<number, { module: CudaModule; fn: CudaFunction; pair: CudaFunction }>();
  private readonly memory = new Map<number, DigestMemory>();

  constructor(
    private readonly addon: CudaAddon,
    /** The backend's JIT queue (one compile at a time). */
    private readonly jit: (ordinal: number, code: string) => ReturnType<CudaAddon['moduleLoad']>,
  ) {}

  /** Loads the kernel on GPU `ordinal` (once); undefined when it runs there, else why it cannot. */
  async prepare(ordinal: number): Promise<string | undefined> {
    if (this.loaded.has(ordinal)) return undefined;
    let load = this.loads.get(ordinal);
    if (!load) {
      load = this.load(ordinal);
      this.loads.set(ordinal, load);
    }
    try {
      await load;
      return undefined;
    } catch (error) {
      // A later prepare tries again (a JIT that failed for want of memory may succeed then).
      this.loads.delete(ordinal);
      const log = (error as { errorLog?: string }).errorLog?.trim();
      return `the digest kernel does not load on CUDA ordinal ${ordinal}: ${errorMessage(error)}${log ? ` (${log.split('\n')[0]})` : ''}`;
    }
  }

  private async load(ordinal: number): Promise<void> {
    const { module } = await this.jit(ordinal, BLOCK_SHA256_PTX);
    try {
      this.loaded.set(ordinal, {
        module,
        fn: this.addon.getFunction(module, ENTRY_POINT),
        pair: this.addon.getFunction(module, PAIR_ENTRY_POINT),
      });
      await this.selfTest(ordinal);
    } catch (error) {
      this.loaded.delete(ordinal);
      this.addon.moduleUnload(module);
      throw error;
    }
  }

  /**
   * Digests a known state on the GPU and compares every block with node:crypto's SHA-256 before the
   * kernel is trusted with a migration's verify: a kernel, JIT or driver that hashes wrongly would
   * otherwise fail every move (the kernel kept on its source) instead of verifying on the CPU.
   */
  private async selfTest(ordinal: number): Promise<void> {
    const state = selfTestState();
    const stream = this.addon.streamCreate(ordinal, { nonBlocking: true });
    const buffer = this.addon.memAlloc(ordinal, SELF_TEST_BYTES);
    try {
      this.addon.memcpyHtoDAsync(stream, buffer, state);
      for (const blockBytes of SELF_TEST_BLOCKS) {
        const queued = this.queue(ordinal, stream, [buffer], SELF_TEST_BYTES, blockBytes);
        try {
          await this.addon.streamSynchronizeAsync(stream);
          checkSelfTest(state, queued.lists[0] ?? new Uint8Array(0), blockBytes);
        } finally {
          queued.release();
        }
      }
    } finally {
      this.addon.memFree(buffer);
      this.addon.streamDestroy(stream);
    }
  }

  /** Whether the kernel is loaded on `ordinal`: a migration's pause never waits for a JIT. */
  loadedOn(ordinal: number): boolean {
    return this.loaded.has(ordinal);
  }

  /**
   * Queues on `stream` (of GPU `ordinal`) the digests of the first `bytes` of one buffer, or of two
   * in one launch, and the lists' copy to pinned memory behind it. The lists (in the order of
   * `sources`) are valid once the stream has reached them and until `release`.
   */
  queue(
    ordinal: number,
    stream: CudaStream,
    sources: readonly [DeviceMemory] | readonly [DeviceMemory, DeviceMemory],
    bytes: number,
    blockBytes = gpuDigestBlockBytes(bytes),
  ): QueuedDigests {
    const kernel = this.loaded.get(ordinal);
    if (!kernel) throw new Error(`the digest kernel is not loaded on CUDA ordinal ${ordinal}`);
    if (blockBytes % 64 !== 0 || blockBytes <= 0 || blockBytes > 0xffffffff)
      throw new Error(
        `the digest kernel hashes blocks of a positive multiple of 64 bytes below 4 GiB, not ${blockBytes}`,
      );
    const listBytes = digestListBytes(bytes, blockBytes);
    const memory = this.take(ordinal, listBytes * sources.length);
    try {
      const x = Math.ceil(listBytes / SHA256_BYTES / THREADS_PER_BLOCK);
      const outs = sources.map((_, index) => ({ allocation: memory.device, offset: index * listBytes }));
      const size = { type: 'u64', value: bytes } as const;
      const block = { type: 'u64', value: blockBytes } as const;
      if (sources.length === 2)
        this.addon.launchKernel(kernel.pair, { grid: [x, 2], block: THREADS_PER_BLOCK, stream }, [
          sources[0],
          sources[1],
          size,
          block,
          ...outs,
        ]);
      else
        this.addon.launchKernel(kernel.fn, { grid: x, block: THREADS_PER_BLOCK, stream }, [
          sources[0],
          size,
          block,
          ...outs,
        ]);
      const landing = new Uint8Array(memory.host, 0, listBytes * sources.length);
      this.addon.memcpyDtoHAsync(stream, landing, { allocation: memory.device, offset: 0 });
      const lists = sources.map((_, index) => landing.subarray(index * listBytes, (index + 1) * listBytes));
      return { lists, blockBytes, release: () => this.give(ordinal, memory) };
    } catch (error) {
      this.give(ordinal, memory);
      throw error;
    }
  }

  /** The GPU's kept digest memory when free and large enough, else memory of its own for this use. */
  private take(ordinal: number, bytes: number): DigestMemory {
    const kept = this.memory.get(ordinal);
    if (kept && !kept.busy && kept.bytes >= bytes) {
      kept.busy = true;
      return kept;
    }
    const fresh: DigestMemory = {
      device: this.addon.memAlloc(ordinal, bytes),
      host: this.addon.memAllocHost(ordinal, bytes),
      bytes,
      busy: true,
    };
    if (!kept?.busy) {
      if (kept) this.free(kept);
      this.memory.set(ordinal, fresh);
    }
    return fresh;
  }

  private give(ordinal: number, memory: DigestMemory): void {
    if (this.memory.get(ordinal) === memory) memory.busy = false;
    else this.free(memory);
  }

  private free(memory: DigestMemory): void {
    // memFree waits for queued work that uses it; the pinned memory is only freed once that is read.
    this.addon.memFree(memory.device);
    this.addon.memFreeHost(memory.host);
  }

  dispose(): void {
    for (const memory of this.memory.values()) if (!memory.busy) this.free(memory);
    this.memory.clear();
    for (const { module } of this.loaded.values()) this.addon.moduleUnload(module);
    this.loaded.clear();
    this.loads.clear();
  }
}
