// Migration's state transfer inside a device host: a kernel's state buffer to a shared-memory file
// and back, hashed where the bytes are (SHA-256 in the host, never in the server). The file goes
// from one device host to another without the server reading it.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { BufferHandle, GpuBackend } from '../../backends/backend';
import { GpuError } from '../../backends/gpuError';
import type { StateTransferResult } from '../hostProtocol';
import type { ScratchBuffer } from '../bulkTransfer';

/** File I/O goes in pieces of this size, so a large state does not need a second copy in memory. */
const CHUNK_BYTES = 8 * 1024 * 1024;

function hashOf(view: Uint8Array): string {
  const hash = createHash('sha256');
  for (let at = 0; at < view.byteLength; at += CHUNK_BYTES) hash.update(view.subarray(at, at + CHUNK_BYTES));
  return hash.digest('hex');
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

/** Device to file: the bytes are written and hashed from the device's mapped view (WebGPU) or reused memory. */
export async function exportState(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  file: string,
  scratch: ScratchBuffer,
): Promise<StateTransferResult> {
  checkSize(buffer, bytes, 'export');
  const started = performance.now();
  const sha256 = await readDevice(backend, buffer, bytes, scratch, async (view) => {
    const handle = await open(file, 'wx');
    try {
      const hash = createHash('sha256');
      for (let at = 0; at < bytes; at += CHUNK_BYTES) {
        const piece = view.subarray(at, Math.min(bytes, at + CHUNK_BYTES));
        hash.update(piece);
        let done = 0;
        while (done < piece.byteLength)
          done += (await handle.write(piece, done, piece.byteLength - done, at + done)).bytesWritten;
      }
      return hash.digest('hex');
    } finally {
      await handle.close();
    }
  });
  return { bytes, sha256, copyMs: performance.now() - started };
}

/** File to device, straight into a mapped staging buffer where the backend has one; then, with `verify`, the device's bytes hashed. */
export async function importState(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  file: string,
  verify: boolean,
  scratch: ScratchBuffer,
): Promise<StateTransferResult> {
  checkSize(buffer, bytes, 'import');
  const started = performance.now();
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size !== bytes)
      throw new GpuError(
        'INVALID_ARGUMENT',
        `state file ${file} holds ${size} bytes, the kernel's state is ${bytes}; it was not written completely`,
      );
    const fill = async (view: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < bytes) {
        const read = (await handle.read(view, done, Math.min(CHUNK_BYTES, bytes - done), done)).bytesRead;
        if (read === 0)
          throw new GpuError('INVALID_ARGUMENT', `state file ${file} ended after ${done} of ${bytes} bytes`);
        done += read;
      }
    };
    if (backend.writeWith) await backend.writeWith(buffer, 0, bytes, fill);
    else {
      const memory = scratch.take(bytes);
      await fill(memory);
      await backend.write(buffer, 0, memory);
    }
  } finally {
    await handle.close();
  }
  const copyMs = performance.now() - started;
  if (!verify) return { bytes, copyMs };
  const verifyStarted = performance.now();
  const sha256 = await readDevice(backend, buffer, bytes, scratch, (view) => Promise.resolve(hashOf(view)));
  return { bytes, sha256, copyMs, verifyMs: performance.now() - verifyStarted };
}

function checkSize(buffer: BufferHandle, bytes: number, what: string): void {
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > buffer.bytes) {
    throw new GpuError(
      'INVALID_ARGUMENT',
      `state ${what}: ${bytes} bytes does not fit buffer ${buffer.id} of ${buffer.bytes} bytes`,
    );
  }
}
