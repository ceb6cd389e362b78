// A kernel's checkpoint: its state bytes at a step boundary, the step it was taken after, and the
// code version that produced it. Hot reload keeps one as its rollback point; a restarted device
// host brings its kernels back from theirs.
//
// It is a value: immutable, self-describing, verifiable by digest. The checkpoint file format
// (server/src/checkpoint/, docs/checkpoint-format.md) serialises these fields, so nothing here
// may depend on where the bytes came from.
import { createHash } from 'node:crypto';

export interface CheckpointFields {
  kernelId: string;
  /** The code version that was running when the state was read. */
  version: number;
  /** Steps completed when the state was read (the next step's number). */
  step: number;
  /** The state; the checkpoint takes it over (no copy), so the caller must not change it afterwards. */
  state: Uint8Array;
  /** The state's SHA-256 (hex) when its producer knows it already (a checkpoint file records it); verify() checks against it. */
  sha256?: string;
}

export class KernelCheckpoint {
  readonly kernelId: string;
  readonly version: number;
  readonly step: number;
  readonly takenAt: Date;
  private readonly bytes: Uint8Array;
  private digest: string | undefined;

  private constructor(fields: CheckpointFields, takenAt: Date) {
    this.kernelId = fields.kernelId;
    this.version = fields.version;
    this.step = fields.step;
    this.takenAt = takenAt;
    // Taken over, not copied: a hot reload checkpoints on its critical path, and a copy of a
    // 256 MiB state into fresh memory costs more than reading it from the device.
    this.bytes = fields.state;
    this.digest = fields.sha256;
  }

  static of(fields: CheckpointFields, takenAt: Date = new Date()): KernelCheckpoint {
    if (!Number.isSafeInteger(fields.step) || fields.step < 0)
      throw new RangeError(`checkpoint of kernel "${fields.kernelId}": step ${fields.step} is not a count`);
    return new KernelCheckpoint(fields, takenAt);
  }

  get stateBytes(): number {
    return this.bytes.byteLength;
  }

  /** The state, as a read-only view (copy it before changing it). */
  get state(): Readonly<Uint8Array> {
    return this.bytes;
  }

  /**
   * SHA-256 of the state, hex. Computed when first asked (state reads, the file format), not when
   * the checkpoint is taken: hashing 256 MiB takes a fifth of a second, too long for a reload.
   */
  get sha256(): string {
    this.digest ??= sha256Hex(this.bytes);
    return this.digest;
  }

  /** The digest if it was given or computed already; never hashes. */
  get knownSha256(): string | undefined {
    return this.digest;
  }

  /**
   * Records a digest computed elsewhere over these bytes (the checkpoint file writer hashes the
   * state as it writes it). Throws when it contradicts the one recorded earlier: the bytes changed.
   */
  recordSha256(sha256: string): void {
    if (this.digest !== undefined && this.digest !== sha256) throw this.corrupt(sha256);
    this.digest = sha256;
  }

  /**
   * Hashes the state now and compares it with the recorded digest; throws when they differ.
   * 'matched': a digest was recorded (by the file the checkpoint was read from, by the writer that
   * put it on disk, or when first asked for) and the bytes still match it. 'sealed': none was, so
   * the digest is recorded now and only later changes can be caught. The trade-off: hashing at take
   * time would make every checkpoint verifiable, but a hot reload checkpoints on its critical path
   * and 256 MiB of SHA-256 takes a fifth of a second; periodic checkpoints get their digest off
   * that path when they are written to disk, and a reload's rollback point is sealed when first used.
   */
  verify(): 'matched' | 'sealed' {
    const actual = sha256Hex(this.bytes);
    if (this.digest === undefined) {
      this.digest = actual;
      return 'sealed';
    }
    if (actual !== this.digest) throw this.corrupt(actual);
    return 'matched';
  }

  private corrupt(actual: string): Error {
    return new Error(
      `checkpoint of kernel "${this.kernelId}" at step ${this.step} is corrupt: its SHA-256 is ${actual}, ${this.digest} was recorded`,
    );
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
