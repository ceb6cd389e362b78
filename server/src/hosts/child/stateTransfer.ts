// Migration's state transfer inside a device host: a kernel's state buffer into a shared-memory
// region the server lent, and from it into another host's buffer, hashed where the bytes are
// (SHA-256 in the hosts, never in the server). The bytes go from one device host to the other
// without the server touching them. A pipelined transfer (`transfer` set) moves in chunks: the
// exporter says after each chunk how far it got (HostStateChunk, relayed by the server), and the
// importer writes each chunk to its device as soon as it is there, so both hosts' copies overlap.
//
// Hashing is off the copies' path: the state is hashed in blocks (stateDigests.ts) on the host's
// hashing threads (hashPool.ts). The exporter has each block of the region hashed as soon as the
// chunk holding it is written; the importer reads back what its device holds, part by part while
// later chunks arrive, and has that hashed (importVerifier.ts). What is left after the last byte
// is the last part's read back and hash, not a hash of the whole state.
//
// Where the importer's device has a digest kernel that loaded (WebGPU: webgpuDigests.ts; CUDA:
// cudaDigests.ts), nothing is read back: after the last write one launch digests the state on the
// device in blocks of GPU_DIGEST_BLOCK_BYTES, and only the digests come back. The read back shared
// the device's queue with the import's writes and fell behind them (6.6 ms left after the last byte
// at 64 MiB, 111 ms at 1 GiB on an H100). The exporter then hashes in those blocks too, its threads
// still taking DIGEST_BLOCK_BYTES a job, so both digests compare. The prepare decides which
// (ImportVerifyPlan), before the pause.
import { createHash } from 'node:crypto';
import type { BufferHandle, GpuBackend } from '../../backends/backend';
import { GpuError } from '../../backends/gpuError';
import type { ImportVerifyPlan, StateTransferResult } from '../hostProtocol';
import { TRANSFER_CHUNK_BYTES, type ScratchBuffer, type SharedRegion } from '../bulkTransfer';
import {
  DIGEST_BLOCK_BYTES,
  GPU_DIGEST_BLOCK_BYTES,
  SHA256_BYTES,
  blockCount,
  blockRange,
  blocksBefore,
  hexDigests,
  stateDigest,
} from '../stateDigests';
import { errorMessage } from '../../logger';
import type { HashPool } from './hashPool';
import { ImportVerifier, VERIFY_READ_BYTES, type VerifySlots } from './importVerifier';
import type { StateChunks } from './stateChunks';

/** What a host hashes with: its threads, and the shared memory read-back parts land in. */
export interface StateHashing {
  pool: HashPool;
  slots: VerifySlots;
}

/**
 * A test's way to corrupt an import (test/process/migrationVerify.test.ts): with this variable set
 * to a byte offset in the device host's environment, every import flips that byte of its device's
 * state right after the chunk holding it was written, before the verifier reads it back.
 */
export const CORRUPT_IMPORT_ENV = 'RINGKERNEL_TEST_CORRUPT_IMPORT';

/**
 * A test's way to keep the CPU verify where the device could digest (test/process/
 * migrationVerifyCpu.test.ts): with this variable set to 1 in the device host's environment, its
 * imports' prepare answers that they verify on the CPU.
 */
export const CPU_VERIFY_ENV = 'RINGKERNEL_TEST_CPU_VERIFY';

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
 * reused memory, into the region, each chunk announced as soon as it is there and its blocks
 * handed to the hashing threads, which read them from the region while the next chunks are copied
 * (and the importer copies them on). Where the backend reads into host memory directly (CUDA) and
 * the region is mapped, the device writes each chunk into the region itself (page-locked: DMA).
 * `copyMs` is the copy; `verifyMs` here is the wait for the last blocks' digests after it.
 * `blockBytes` is the digest's block size: each thread's job is still a DIGEST_BLOCK_BYTES block,
 * answered with the digests of its sub-blocks when the size is smaller (a device-digesting importer's).
 */
export async function exportState(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  target: ExportTarget,
  scratch: ScratchBuffer,
  hashing: StateHashing,
  blockBytes = DIGEST_BLOCK_BYTES,
): Promise<StateTransferResult> {
  checkSize(buffer, bytes, 'export');
  checkRegion(target.region, bytes);
  if (!Number.isSafeInteger(blockBytes) || blockBytes <= 0 || DIGEST_BLOCK_BYTES % blockBytes !== 0)
    throw new GpuError(
      'INVALID_ARGUMENT',
      `state export: digest blocks of ${blockBytes} bytes do not divide the hashing threads' ${DIGEST_BLOCK_BYTES}-byte jobs`,
    );
  const started = performance.now();
  const { region, progress } = target;
  const digests: Array<Promise<string[]>> = [];
  // The blocks of the region's first `end` bytes go to the hashing threads, which read the region file.
  const written = (end: number): void => {
    for (const block of blocksBefore(end, bytes, digests.length)) {
      const { offset, length } = blockRange(block, bytes);
      const job = { file: region.path, offset, length };
      const digest =
        blockBytes === DIGEST_BLOCK_BYTES
          ? hashing.pool.hash(job).then((one) => [one])
          : hashing.pool.hashBlocks(job, blockBytes);
      // Awaited below; a copy that fails first must not leave it unhandled.
      digest.catch(() => undefined);
      digests.push(digest);
    }
  };
  let copied = started;
  if (backend.readPieces) {
    // The device copies the next piece while this one goes into the region (WebGPU).
    await backend.readPieces(buffer, 0, bytes, async (view, at) => {
      const end = at + view.byteLength;
      region.write(view, at);
      progress?.(end);
      written(end);
      if (progress) await yieldToLoop();
    });
    copied = performance.now();
  } else if (!backend.readWith && region.view) {
    const view = region.view;
    for (let at = 0; at < bytes; at += TRANSFER_CHUNK_BYTES) {
      const end = Math.min(bytes, at + TRANSFER_CHUNK_BYTES);
      await backend.read(buffer, at, end - at, view.subarray(at, end));
      progress?.(end);
      written(end);
    }
    copied = performance.now();
  } else {
    await readDevice(backend, buffer, bytes, scratch, async (view) => {
      for (let at = 0; at < bytes; at += TRANSFER_CHUNK_BYTES) {
        const end = Math.min(bytes, at + TRANSFER_CHUNK_BYTES);
        region.write(view.subarray(at, end), at);
        progress?.(end);
        written(end);
        // The announcement leaves now, not after the whole copy: a loop that never yields held
        // every chunk's message back until it was done, and nothing overlapped.
        if (progress) await yieldToLoop();
      }
      copied = performance.now();
    });
  }
  const blockDigests = (await Promise.all(digests)).flat();
  const done = performance.now();
  return {
    bytes,
    sha256: stateDigest(bytes, blockDigests, blockBytes),
    digests: blockDigests,
    ...(blockBytes !== DIGEST_BLOCK_BYTES ? { blockBytes } : {}),
    copyMs: copied - started,
    verifyMs: done - copied,
  };
}

/** Where the importer's bytes come from, and how it learns they are there. */
export interface ImportSource {
  region: SharedRegion;
  /** A pipelined transfer: its id, and the chunks' announcements. */
  pipelined?: { transfer: number; chunks: StateChunks };
}

/**
 * Region to device, straight into a mapped staging buffer where the backend has one (WebGPU),
 * else from the region's pages themselves (CUDA: page-locked, so DMA). With `verify`, what the
 * device holds is read back and hashed part by part while the import goes on (ImportVerifier);
 * `verifyMs` is what is left of it after the last write. With `verify` and `deviceBlockBytes`
 * (the prepare's plan was `onDevice`), nothing is read back during the import: after the last
 * write the device digests the state in blocks of that size (`verifyMs` is that launch).
 */
export async function importState(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  source: ImportSource,
  verify: boolean,
  scratch: ScratchBuffer,
  hashing: StateHashing,
  deviceBlockBytes?: number,
): Promise<StateTransferResult> {
  checkSize(buffer, bytes, 'import');
  const { region, pipelined } = source;
  checkRegion(region, bytes);
  const started = performance.now();
  // Pipelined: how long the import waited for the exporter's chunks, and when the first one came.
  let waitMs = 0;
  let firstChunkMs: number | undefined;
  const ready = async (end: number): Promise<void> => {
    if (!pipelined) return;
    const asked = performance.now();
    await pipelined.chunks.waitFor(pipelined.transfer, end);
    const now = performance.now();
    waitMs += now - asked;
    firstChunkMs ??= now - started;
  };
  const onDevice = verify && deviceBlockBytes !== undefined;
  if (onDevice && (!Number.isSafeInteger(deviceBlockBytes) || deviceBlockBytes <= 0))
    throw new GpuError(
      'INVALID_ARGUMENT',
      `state import: digest blocks of ${deviceBlockBytes} bytes are not a positive size`,
    );
  const verifier =
    verify && !onDevice ? new ImportVerifier(backend, buffer, bytes, hashing.pool, hashing.slots) : undefined;
  let corruptAt = testCorruption(bytes);
  // The device holds the first `end` bytes (written, or queued before anything queued later).
  const written = async (end: number): Promise<void> => {
    if (corruptAt !== undefined && end > corruptAt) {
      const at = corruptAt;
      corruptAt = undefined;
      await flipByte(backend, buffer, at);
    }
    verifier?.advance(end);
  };
  try {
    if (backend.writeWith) {
      // Each piece is filled after the previous pieces' copies were queued.
      await backend.writeWith(buffer, 0, bytes, async (view, at) => {
        await written(at);
        await ready(at + view.byteLength);
        region.read(view, at);
      });
      await written(bytes);
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
        await written(end);
      }
    }
  } catch (error) {
    verifier?.stop(error instanceof Error ? error : new Error(String(error)));
    throw error;
  } finally {
    if (pipelined) pipelined.chunks.forget(pipelined.transfer);
  }
  const copied = performance.now();
  const waited: Pick<StateTransferResult, 'waitMs' | 'firstChunkMs'> = pipelined
    ? { waitMs, ...(firstChunkMs !== undefined ? { firstChunkMs } : {}) }
    : {};
  if (onDevice) {
    const blockBytes = deviceBlockBytes;
    const digested = await digestOnDevice(backend, buffer, bytes, blockBytes, scratch);
    return {
      bytes,
      sha256: stateDigest(bytes, digested.raw, blockBytes),
      digests: hexDigests(digested.raw),
      blockBytes,
      onDevice: digested.onDevice,
      copyMs: copied - started,
      ...waited,
      verifyMs: performance.now() - copied,
    };
  }
  if (!verifier) return { bytes, copyMs: copied - started, ...waited };
  const blockDigests = await verifier.blockDigests();
  return {
    bytes,
    sha256: stateDigest(bytes, blockDigests),
    digests: blockDigests,
    copyMs: copied - started,
    ...waited,
    verifyMs: performance.now() - copied,
  };
}

/**
 * The block digests of a buffer's first `bytes` in blocks of `blockBytes`, on its device (one
 * launch behind the import's writes); where the digest kernel has gone since the prepare (it never
 * should), read back and hashed here in the same blocks, so the verify still compares.
 */
async function digestOnDevice(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  blockBytes: number,
  scratch: ScratchBuffer,
): Promise<{ raw: Uint8Array; onDevice: boolean }> {
  if (backend.blockDigests) {
    try {
      return { raw: await backend.blockDigests(buffer, bytes, blockBytes), onDevice: true };
    } catch (error) {
      if (!(error instanceof GpuError) || error.code !== 'BACKEND_UNAVAILABLE') throw error;
    }
  }
  const raw = await readDevice(backend, buffer, bytes, scratch, (view) => {
    const out = new Uint8Array(blockCount(bytes, blockBytes) * SHA256_BYTES);
    for (let block = 0; block * blockBytes < bytes; block++) {
      const { offset, length } = blockRange(block, bytes, blockBytes);
      out.set(
        createHash('sha256')
          .update(view.subarray(offset, offset + length))
          .digest(),
        block * SHA256_BYTES,
      );
    }
    return Promise.resolve(out);
  });
  return { raw, onDevice: false };
}

/** Why a device's digests are not used for imports, said once per reason (the host's log). */
const toldWhy = new Set<string>();

/**
 * Before a migration pauses its kernel: the target buffer is written once with zeros (a fresh
 * buffer's first write pays for its pages and, in Dawn, its lazy clear: 1.2-1.4 s for 64 MiB on
 * lavapipe against 20-90 ms for the same write again). With `verify`, the device's digest kernel is
 * readied (compiled and self-tested once per device) and run once over the buffer: the import will
 * verify on the device, in GPU_DIGEST_BLOCK_BYTES blocks. Where it cannot (no kernel, its
 * self-test failed: said once in the log), the buffer is read once (the read back's staging memory
 * is made and paged in), the hashing threads start and the verifier's memory is touched, so the
 * import and the CPU verify during the pause find everything warm.
 */
export async function prepareImport(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  scratch: ScratchBuffer,
  hashing: StateHashing,
  verify = true,
  warn: (message: string) => void = () => undefined,
): Promise<ImportVerifyPlan> {
  checkSize(buffer, bytes, 'import');
  if (backend.writeWith) await backend.writeWith(buffer, 0, bytes, (view) => Promise.resolve(void view.fill(0)));
  else await backend.write(buffer, 0, scratch.take(bytes).fill(0));
  const reason = verify ? await readyDeviceDigests(backend, buffer, bytes) : 'the import is not verified';
  if (reason === undefined) return { onDevice: true, blockBytes: GPU_DIGEST_BLOCK_BYTES };
  if (verify && !toldWhy.has(reason)) {
    toldWhy.add(reason);
    warn(`migration imports verify on the CPU (the state is read back and hashed beside the import): ${reason}`);
  }
  await hashing.pool.warm();
  hashing.slots.take();
  await warmRead(backend, buffer, bytes, scratch);
  // The verifier's reads go through the backend's kept staging memory (CUDA: pinned, made on first use).
  await backend.readRanges(buffer, [{ offset: 0, length: Math.min(bytes, VERIFY_READ_BYTES) }], () =>
    Promise.resolve(),
  );
  return { onDevice: false, blockBytes: DIGEST_BLOCK_BYTES, reason };
}

/** Readies the digest kernel on the buffer's device and runs it once over the buffer; undefined when it runs, else why not. */
async function readyDeviceDigests(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
): Promise<string | undefined> {
  if (process.env[CPU_VERIFY_ENV] === '1') return `${CPU_VERIFY_ENV} is set (a test)`;
  const prepare = backend.prepareDeviceDigests?.bind(backend);
  if (!prepare || !backend.blockDigests) return `the ${backend.name} backend has no digest kernel`;
  try {
    const why = await prepare(buffer.device);
    if (why !== undefined) return why;
    await backend.blockDigests(buffer, bytes, GPU_DIGEST_BLOCK_BYTES);
    return undefined;
  } catch (error) {
    return `the digest kernel failed on ${backend.name} device ${buffer.device}: ${errorMessage(error)}`;
  }
}

/** Before a migration pauses its kernel, on its source: the hashing threads start, and are running when this resolves. */
export function prepareExport(hashing: StateHashing): Promise<void> {
  return hashing.pool.warm();
}

function testCorruption(bytes: number): number | undefined {
  const value = process.env[CORRUPT_IMPORT_ENV];
  if (value === undefined || value === '') return undefined;
  const at = Number(value);
  return Number.isSafeInteger(at) && at >= 0 && at < bytes ? at : undefined;
}

/** The test hook's corruption: one byte of the device's state inverted, in place. */
async function flipByte(backend: GpuBackend, buffer: BufferHandle, at: number): Promise<void> {
  const word = at - (at % 4);
  const { data } = await backend.read(buffer, word, 4);
  const flipped = data.slice(0, 4);
  flipped[at - word] = (flipped[at - word] ?? 0) ^ 0xff;
  await backend.write(buffer, word, flipped);
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

/** Reads a buffer's first `bytes` once and drops them: the read back's staging memory is made and paged in (the caller checked the size). */
export function warmRead(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  scratch: ScratchBuffer,
): Promise<void> {
  return readDevice(backend, buffer, bytes, scratch, () => Promise.resolve());
}

/** The SHA-256 of a buffer's first `bytes`, read from the device here (device-to-device moves: deviceStateCopy.ts). */
export function stateSha256(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  scratch: ScratchBuffer,
): Promise<string> {
  checkSize(buffer, bytes, 'hash');
  return readDevice(backend, buffer, bytes, scratch, (view) =>
    Promise.resolve(createHash('sha256').update(view).digest('hex')),
  );
}
