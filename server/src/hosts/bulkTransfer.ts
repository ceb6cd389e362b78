// Large buffers between the server and a device host, and between two device hosts, travel through
// shared-memory regions (files in /dev/shm), not through the IPC channel: Node's IPC moves about
// 0.1 GB/s. A region is created by the server (transferRegions.ts) and reused transfer after
// transfer; the IPC message carries only a reference (RegionRef). Where the native addon loads
// (sharedMapping.ts) both sides map the same pages (MAP_SHARED) and the bytes are written and read
// in place, with no copy in between; elsewhere the region is a preallocated file read and written
// with pread/pwrite in chunks, still without a file created or removed per transfer.
//
// Ownership: a region belongs to the server, which lends it for one request at a time; the host
// writes or reads it only while that request is open, and the answer is the host saying it is done.
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { sharedMapper } from './sharedMapping';

/** Payloads from this size up go through a region; smaller ones inline in the IPC message. */
export const BULK_THRESHOLD_BYTES = 256 * 1024;

/** Region I/O without a mapping, and pipelined transfers, go in pieces of this size. */
export const TRANSFER_CHUNK_BYTES = 8 * 1024 * 1024;

/** `bytes` at the start of the server's region `region` (a file of `capacity` bytes in the bulk folder). */
export interface RegionRef {
  region: string;
  capacity: number;
  bytes: number;
}

export type Payload = Uint8Array | RegionRef;

export const BULK_FOLDER = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
export const BULK_PREFIX = 'ringkernel-bulk-';
const NAME = /^ringkernel-bulk-\d+-[A-Za-z0-9_-]{1,80}$/;

export function isRegionRef(payload: unknown): payload is RegionRef {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    !(payload instanceof Uint8Array) &&
    typeof (payload as Partial<RegionRef>).region === 'string'
  );
}

/**
 * Checks a reference that came in a message: only a region of ours is ever opened, never another
 * path (found by fuzzing the device-host protocol: any file named was once read, then removed),
 * and the counts must be whole and fit.
 */
export function checkRegionRef(ref: unknown): RegionRef {
  const candidate = (typeof ref === 'object' && ref !== null ? ref : {}) as Partial<RegionRef>;
  const { region, capacity, bytes } = candidate;
  const name = typeof region === 'string' ? basename(region) : '';
  if (
    typeof region !== 'string' ||
    region !== join(BULK_FOLDER, name) ||
    !NAME.test(name) ||
    !Number.isSafeInteger(capacity) ||
    !Number.isSafeInteger(bytes) ||
    (bytes as number) < 0 ||
    (capacity as number) <= 0 ||
    (bytes as number) > (capacity as number)
  ) {
    throw new Error(
      `refused bulk transfer ${JSON.stringify(region)?.slice(0, 200) ?? 'without a region'} of ${String(bytes)} bytes ` +
        `(capacity ${String(capacity)}): only a region ${BULK_PREFIX}* directly in ${BULK_FOLDER}, with whole byte counts that fit it, is accepted`,
    );
  }
  return { region, capacity: capacity as number, bytes: bytes as number };
}

/**
 * One shared-memory region as this process sees it: mapped (`view` is the shared pages) or, when
 * the addon cannot map here, an open file descriptor read and written in chunks.
 */
export class SharedRegion {
  private constructor(
    readonly path: string,
    readonly capacity: number,
    /** The shared pages themselves, when mapped. */
    readonly view: Uint8Array | undefined,
    private fd: number | undefined,
  ) {}

  /** The server's side: a new region file of `capacity` bytes (pages are taken when first touched). */
  static create(path: string, capacity: number): SharedRegion {
    const fd = openSync(path, 'wx+', 0o600);
    try {
      ftruncateSync(fd, capacity);
    } catch (error) {
      closeSync(fd);
      unlinkSync(path);
      throw error;
    }
    return SharedRegion.over(path, capacity, fd);
  }

  /** A device host's side: the region a checked reference names, which must have its announced size. */
  static open(ref: RegionRef): SharedRegion {
    const fd = openSync(ref.region, 'r+');
    try {
      const { size } = fstatSync(fd);
      if (size !== ref.capacity)
        throw new Error(`bulk region ${ref.region} has ${size} bytes, not the ${ref.capacity} announced`);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return SharedRegion.over(ref.region, ref.capacity, fd);
  }

  private static over(path: string, capacity: number, fd: number): SharedRegion {
    const mapping = sharedMapper();
    if (!mapping.ok) return new SharedRegion(path, capacity, undefined, fd);
    try {
      const buffer = mapping.mapper.map(path, capacity);
      closeSync(fd);
      return new SharedRegion(path, capacity, new Uint8Array(buffer), undefined);
    } catch {
      // A runtime that refuses external buffers (a V8 memory cage): the file way still works.
      return new SharedRegion(path, capacity, undefined, fd);
    }
  }

  get mapped(): boolean {
    return this.view !== undefined;
  }

  /** Copies `data` into the region at `at`. */
  write(data: Uint8Array, at = 0): void {
    this.checkRange(at, data.byteLength);
    if (this.view) {
      this.view.set(data, at);
      return;
    }
    for (let done = 0; done < data.byteLength;) {
      const piece = data.subarray(done, Math.min(data.byteLength, done + TRANSFER_CHUNK_BYTES));
      done += writeSync(this.descriptor(), piece, 0, piece.byteLength, at + done);
    }
  }

  /** Copies `target.byteLength` bytes of the region from `at` into `target`. */
  read(target: Uint8Array, at = 0): void {
    this.checkRange(at, target.byteLength);
    if (this.view) {
      target.set(this.view.subarray(at, at + target.byteLength));
      return;
    }
    for (let done = 0; done < target.byteLength;) {
      const read = readSync(
        this.descriptor(),
        target,
        done,
        Math.min(TRANSFER_CHUNK_BYTES, target.byteLength - done),
        at + done,
      );
      if (read === 0) throw new Error(`bulk region ${this.path} ended after ${at + done} of ${this.capacity} bytes`);
      done += read;
    }
  }

  /** Unmaps or closes (the file itself stays: it is its owner's to remove). */
  close(): void {
    if (this.view) {
      const mapping = sharedMapper();
      if (mapping.ok && this.view.buffer.byteLength > 0) mapping.mapper.unmap(this.view.buffer as ArrayBuffer);
    }
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private descriptor(): number {
    if (this.fd === undefined) throw new Error(`bulk region ${this.path} was closed`);
    return this.fd;
  }

  private checkRange(at: number, bytes: number): void {
    if (at < 0 || at + bytes > this.capacity)
      throw new Error(`bulk region ${this.path}: ${bytes} bytes at ${at} do not fit its ${this.capacity} bytes`);
  }
}

/**
 * A device host's regions, opened (mapped) once and kept: the server reuses a region for transfer
 * after transfer. A region whose file the server removed is closed at the next open, so its pages
 * go back; at most MAX_ATTACHED stay open.
 */
export class AttachedRegions {
  private static readonly MAX_ATTACHED = 8;
  private readonly open = new Map<string, SharedRegion>();

  /** `onOpen` sees each region once when first opened (the CUDA host page-locks its mapping there). */
  constructor(private readonly onOpen?: (region: SharedRegion) => void) {}

  /** The region a reference from a message names, checked, opened if needed. */
  get(ref: unknown): { region: SharedRegion; bytes: number } {
    const checked = checkRegionRef(ref);
    let region = this.open.get(checked.region);
    if (region && region.capacity !== checked.capacity) {
      this.drop(checked.region);
      region = undefined;
    }
    if (!region) {
      for (const path of [...this.open.keys()]) if (!existsSync(path)) this.drop(path);
      region = SharedRegion.open(checked);
      try {
        this.onOpen?.(region);
      } catch {
        // Page-locking is an optimisation: an unlocked mapping still works (the driver stages it).
      }
      this.open.set(checked.region, region);
      while (this.open.size > AttachedRegions.MAX_ATTACHED) {
        const oldest = this.open.keys().next().value as string;
        this.drop(oldest);
      }
    } else {
      // Most recently used last.
      this.open.delete(checked.region);
      this.open.set(checked.region, region);
    }
    return { region, bytes: checked.bytes };
  }

  private drop(path: string): void {
    this.open.get(path)?.close();
    this.open.delete(path);
  }
}

/**
 * Reusable memory for bytes that are consumed at once (a write the host passes straight to the
 * GPU). Reading into fresh memory costs a page fault per page, which on some machines is slower
 * than the copy itself (seen: 0.24 GB/s fresh against several GB/s reused).
 */
export class ScratchBuffer {
  private memory = Buffer.alloc(0);

  take(bytes: number): Uint8Array {
    if (this.memory.byteLength < bytes) this.memory = Buffer.alloc(bytes);
    return this.memory.subarray(0, bytes);
  }
}
