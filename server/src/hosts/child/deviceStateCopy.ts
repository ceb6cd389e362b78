// Migration device to device inside a CUDA device host: the source's host exports its quiesced
// state buffer as a CUDA IPC handle, the target's host opens it, copies the state on its own stream
// (DtoD on one GPU, a peer copy from another), closes it and hashes what its device then holds. Within
// one host (one process serving every GPU) the copy is the backend's own. The bytes never leave the
// GPUs; only the SHA-256 digests (for the verify) are read back to host memory.
import type { BufferHandle, GpuBackend } from '../../backends/backend';
import { GpuError } from '../../backends/gpuError';
import type { DeviceStateExport, DeviceStateImport, StateTransferResult } from '../hostProtocol';
import type { ScratchBuffer } from '../bulkTransfer';
import { stateSha256 } from './stateTransfer';

/** The handle another host opens to reach `buffer` (its owner must keep it alive until that host is done). */
export function exportDeviceState(backend: GpuBackend, buffer: BufferHandle, bytes: number): DeviceStateExport {
  checkBytes(buffer, bytes, 'export');
  if (!backend.exportIpcHandle) throw noIpc(backend, 'export a state for another device host');
  return backend.exportIpcHandle(buffer);
}

/** Another host's exported state into `buffer`, device to device; with `verify`, the SHA-256 of what arrived. */
export async function importDeviceState(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  from: DeviceStateExport,
  verify: boolean,
  scratch: ScratchBuffer,
): Promise<DeviceStateImport> {
  checkBytes(buffer, bytes, 'import');
  if (!backend.copyFromIpc) throw noIpc(backend, 'import a state from another device host');
  if (!(from?.handle instanceof Uint8Array) || !Number.isSafeInteger(from.ordinal))
    throw new GpuError(
      'INVALID_ARGUMENT',
      `a device-to-device import needs the exporting host's IPC handle (64 bytes) and its CUDA ordinal, not ${JSON.stringify(from)?.slice(0, 120) ?? 'nothing'}`,
    );
  const copied = await backend.copyFromIpc(buffer, bytes, from);
  return {
    bytes,
    copyMs: copied.hostMs,
    peer: copied.peer,
    ...(verify ? await timedHash(backend, buffer, bytes, scratch) : {}),
  };
}

/** `source` into `destination` within this host (DtoD, or a peer copy between its GPUs); with `verify`, the destination's SHA-256. */
export async function copyState(
  backend: GpuBackend,
  source: BufferHandle,
  destination: BufferHandle,
  bytes: number,
  verify: boolean,
  scratch: ScratchBuffer,
): Promise<StateTransferResult> {
  checkBytes(source, bytes, 'copy');
  checkBytes(destination, bytes, 'copy');
  const copied = await backend.copy(source, destination, bytes);
  return { bytes, copyMs: copied.hostMs, ...(verify ? await timedHash(backend, destination, bytes, scratch) : {}) };
}

/** The SHA-256 of a buffer's first `bytes`, and how long reading and hashing took. */
export async function hashState(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  scratch: ScratchBuffer,
): Promise<{ sha256: string; ms: number }> {
  const started = performance.now();
  const sha256 = await stateSha256(backend, buffer, bytes, scratch);
  return { sha256, ms: performance.now() - started };
}

async function timedHash(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  scratch: ScratchBuffer,
): Promise<{ sha256: string; verifyMs: number }> {
  const { sha256, ms } = await hashState(backend, buffer, bytes, scratch);
  return { sha256, verifyMs: ms };
}

function noIpc(backend: GpuBackend, what: string): GpuError {
  return new GpuError(
    'INVALID_ARGUMENT',
    `the ${backend.name} backend cannot ${what}: device-to-device moves between hosts need CUDA IPC`,
  );
}

function checkBytes(buffer: BufferHandle, bytes: number, what: string): void {
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > buffer.bytes)
    throw new GpuError(
      'INVALID_ARGUMENT',
      `device-to-device state ${what}: ${bytes} bytes does not fit buffer ${buffer.id} of ${buffer.bytes} bytes`,
    );
}
