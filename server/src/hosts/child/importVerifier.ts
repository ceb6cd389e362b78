// The target's check of an imported state, overlapped with the import: as the import says how far
// the device holds the state (written, or queued in order before anything queued later), the
// verifier reads that part back from the device, copies it into shared memory and has the hashing
// threads hash it block by block, while later chunks are still on their way. Every byte on the
// target device is read back and hashed; at the end only the last part is left to check.
import type { BufferHandle, GpuBackend } from '../../backends/backend';
import { DIGEST_BLOCK_BYTES, blockCount, blockRange } from '../stateDigests';
import type { HashPool } from './hashPool';

/** Bytes read back at once: small, so the part left after the last write is short (two blocks). */
export const VERIFY_READ_BYTES = 2 * DIGEST_BLOCK_BYTES;
/** Read-back parts in flight (being hashed) at once; their memory is reused. */
const SLOTS = 4;

/** Shared memory the read-back parts land in, reused import after import. */
export class VerifySlots {
  private memory: SharedArrayBuffer | undefined;

  /** The memory, made (and its pages touched) on first use: call it in prepare, not in the pause. */
  take(): SharedArrayBuffer {
    if (!this.memory) {
      this.memory = new SharedArrayBuffer(SLOTS * VERIFY_READ_BYTES);
      new Uint8Array(this.memory).fill(0);
    }
    return this.memory;
  }
}

export class ImportVerifier {
  private written = 0;
  private wake: (() => void) | undefined;
  private stopped: Error | undefined;
  private readonly digests: Array<Promise<string>> = [];
  private readonly running: Promise<void>;

  constructor(
    private readonly backend: GpuBackend,
    private readonly buffer: BufferHandle,
    private readonly bytes: number,
    private readonly pool: HashPool,
    private readonly slots: VerifySlots,
  ) {
    this.running = this.run();
    // Awaited in digests(); a verifier abandoned with its import must not report an unhandled failure.
    this.running.catch(() => undefined);
  }

  /** The device holds the first `end` bytes of the state (later operations on its queue see them). */
  advance(end: number): void {
    this.written = Math.max(this.written, end);
    this.wake?.();
  }

  /** The import failed: nothing more is read back. */
  stop(reason: Error): void {
    this.stopped = reason;
    this.wake?.();
  }

  /** Every block's digest, in order, once the whole state was read back and hashed. */
  async blockDigests(): Promise<string[]> {
    await this.running;
    return Promise.all(this.digests);
  }

  private async until(end: number): Promise<void> {
    while (this.written < end && !this.stopped) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    if (this.stopped) throw this.stopped;
  }

  private async run(): Promise<void> {
    const memory = this.slots.take();
    const inFlight: Array<Promise<unknown>> = [];
    for (let at = 0, turn = 0; at < this.bytes; at += VERIFY_READ_BYTES, turn++) {
      const end = Math.min(this.bytes, at + VERIFY_READ_BYTES);
      await this.until(end);
      const slot = turn % SLOTS;
      // The slot's previous part must be hashed before it is overwritten.
      await inFlight[slot]?.catch(() => undefined);
      const base = slot * VERIFY_READ_BYTES;
      const landing = new Uint8Array(memory, base, end - at);
      // Through the backend's kept staging memory (WebGPU: mapped; CUDA: pinned), then into shared memory.
      await this.backend.readRanges(this.buffer, [{ offset: at, length: end - at }], (view) =>
        Promise.resolve(landing.set(view)),
      );
      const hashed: Array<Promise<string>> = [];
      for (let block = at / DIGEST_BLOCK_BYTES; block < blockCount(this.bytes); block++) {
        const { offset, length } = blockRange(block, this.bytes);
        if (offset >= end) break;
        hashed.push(this.pool.hash({ shared: memory, offset: base + offset - at, length }));
      }
      this.digests.push(...hashed);
      inFlight[slot] = Promise.all(hashed);
    }
  }
}
