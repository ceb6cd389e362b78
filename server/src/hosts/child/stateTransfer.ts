// Migration's state transfer inside a device host: a kernel's state buffer into a shared-memory
// region the server lent, and from it into another host's buffer, hashed where the bytes are
// (SHA-256 in the hosts, never in the server). The bytes go from one device host to the other
// without the server touching them. A pipelined transfer (`transfer` set) moves in chunks: the
// exporter says after each chunk how far it got (HostStateChunk, relayed by the server), and the
// importer writes each chunk to its device as soon as it is there, so both hosts' copies overlap.
import { createHash } from 'node:crypto';
import type { BufferHandle, GpuBackend } from '../../backends/backend';
import { GpuError } from '../../backends/gpuError';
import type { StateTransferResult } from '../hostProtocol';
import { TRANSFER_CHUNK_BYTES, type ScratchBuffer, type SharedRegion } from '../bulkTransfer';
import type { StateChunks } from './stateChunks';

function hashOf(view: Uint8Array): string {
  const hash = createHash('sha256');
  for (let at = 0; at < view.byteLength; at += TRANSFER_CHUNK_BYTES)
    hash.update(view.subarray(at, at + TRANSFER_CHUNK_BYTES));
  return hash.digest('hex');
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function readDevice<T>(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  scratch: ScratchBuffer,
  consume: (view: Uint8Array) => Promise<T>,
): Promise<T> {
  if (backend.readWith) return backend.readWith(buffer, 0, bytes, consume);
  const { data } = await backend.read(buffer, 0, bytes, scratch.take(bytes));
  return consume(data);
}

/** Where the exporter's chunks go, and whom it tells. */
export interface ExportTarget {
  region: SharedRegion;
  /** Told the bytes written so far after each chunk (a pipelined transfer). */
  progress?: (ready: number) => void;
}

/**
 * Device to region: the bytes are copied chunk by chunk, from the device's mapped view (WebGPU) or
 * reused memory, into the region, each chunk announced as soon as it is there; then hashed, while
 * the importer copies them on (hashing runs at about 0.5-2 GB/s, slower than the copies, so it
 * must not hold them back). Where the backend reads into host memory directly (CUDA) and the
 * region is mapped, the device writes each chunk into the region itself (page-locked: DMA).
 * `copyMs` is the copy; `verifyMs` here is the hashing after it.
 */
export async function exportState(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  target: ExportTarget,
  scratch: ScratchBuffer,
): Promise<StateTransferResult> {
  checkSize(buffer, bytes, 'export');
  checkRegion(target.region, bytes);
  const started = performance.now();
  const { region, progress } = target;
  let copied = started;
  let sha256: string;
  if (!backend.readWith && region.view) {
    const view = region.view;
    for (let at = 0; at < bytes; at += TRANSFER_CHUNK_BYTES) {
      const end = Math.min(bytes, at + TRANSFER_CHUNK_BYTES);
      await backend.read(buffer, at, end - at, view.subarray(at, end));
      progress?.(end);
    }
    copied = performance.now();
    sha256 = hashOf(view.subarray(0, bytes));
  } else {
    sha256 = await readDevice(backend, buffer, bytes, scratch, async (view) => {
      for (let at = 0; at < bytes; at += TRANSFER_CHUNK_BYTES) {
        const end = Math.min(bytes, at + TRANSFER_CHUNK_BYTES);
        region.write(view.subarray(at, end), at);
        progress?.(end);
        // The announcement leaves now, not after the whole copy and the hash: a loop that never
        // yields held every chunk's message back until it was done, and nothing overlapped.
        if (progress) await yieldToLoop();
      }
      copied = performance.now();
      return hashOf(view.subarray(0, bytes));
    });
  }
  const done = performance.now();
  return { bytes, sha256, copyMs: copied - started, verifyMs: done - copied };
}

/** Where the importer's bytes come from, and how it learns they are there. */
export interface ImportSource {
  region: SharedRegion;
  /** A pipelined transfer: its id, and the chunks' announcements. */
  pipelined?: { transfer: number; chunks: StateChunks };
}

/**
 * Region to device, straight into a mapped staging buffer where the backend has one (WebGPU),
 * else from the region's pages themselves (CUDA: page-locked, so DMA); then, with `verify`, the
 * device's bytes hashed.
 */
export async function importState(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  source: ImportSource,
  verify: boolean,
  scratch: ScratchBuffer,
): Promise<StateTransferResult> {
  checkSize(buffer, bytes, 'import');
  const { region, pipelined } = source;
  checkRegion(region, bytes);
  const started = performance.now();
  const ready = (end: number): Promise<void> =>
    pipelined ? pipelined.chunks.waitFor(pipelined.transfer, end) : Promise.resolve();
  try {
    if (backend.writeWith) {
      await backend.writeWith(buffer, 0, bytes, async (view, at) => {
        await ready(at + view.byteLength);
        region.read(view, at);
      });
    } else {
      for (let at = 0; at < bytes; at += TRANSFER_CHUNK_BYTES) {
        const end = Math.min(bytes, at + TRANSFER_CHUNK_BYTES);
        await ready(end);
        let chunk: Uint8Array;
        if (region.view) chunk = region.view.subarray(at, end);
        else {
          chunk = scratch.take(end - at);
          region.read(chunk, at);
        }
        await backend.write(buffer, at, chunk);
      }
    }
  } finally {
    if (pipelined) pipelined.chunks.forget(pipelined.transfer);
  }
  const copyMs = performance.now() - started;
  if (!verify) return { bytes, copyMs };
  const verifyStarted = performance.now();
  const sha256 = await readDevice(backend, buffer, bytes, scratch, (view) => Promise.resolve(hashOf(view)));
  return { bytes, sha256, copyMs, verifyMs: performance.now() - verifyStarted };
}

/**
 * Before a migration pauses its kernel: the target buffer is written once with zeros (a fresh
 * buffer's first write pays for its pages and, in Dawn, its lazy clear: 1.2-1.4 s for 64 MiB on
 * lavapipe against 20-90 ms for the same write again) and read once (the read back's staging
 * memory is made and paged in), so the import and verify during the pause find everything warm.
 */
export async function prepareImport(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  scratch: ScratchBuffer,
): Promise<void> {
  checkSize(buffer, bytes, 'import');
  if (backend.writeWith) await backend.writeWith(buffer, 0, bytes, (view) => Promise.resolve(void view.fill(0)));
  else await backend.write(buffer, 0, scratch.take(bytes).fill(0));
  await readDevice(backend, buffer, bytes, scratch, () => Promise.resolve());
}

function checkSize(buffer: BufferHandle, bytes: number, what: string): void {
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > buffer.bytes) {
    throw new GpuError(
      'INVALID_ARGUMENT',
      `state ${what}: ${bytes} bytes does not fit buffer ${buffer.id} of ${buffer.bytes} bytes`,
    );
  }
}

function checkRegion(region: SharedRegion, bytes: number): void {
  if (bytes > region.capacity)
    throw new GpuError(
      'INVALID_ARGUMENT',
      `state transfer: ${bytes} bytes do not fit the shared-memory region ${region.path} of ${region.capacity} bytes`,
    );
}

/** The SHA-256 of a buffer's first `bytes`, read from the device here (device-to-device moves: deviceStateCopy.ts). */
export function stateSha256(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  scratch: ScratchBuffer,
): Promise<string> {
  checkSize(buffer, bytes, 'hash');
  return readDevice(backend, buffer, bytes, scratch, (view) => Promise.resolve(hashOf(view)));
}
