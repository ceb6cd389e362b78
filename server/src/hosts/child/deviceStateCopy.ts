// Migration device to device inside a CUDA device host: the source's host exports its quiesced
// state buffer as a CUDA IPC handle, the target's host opens it, copies the state on its own stream
// (DtoD on one GPU, a peer copy from another) and closes it. Within one host (one process serving
// every GPU) the copy is the backend's own.
//
// The verify runs on the GPU where it can (the digest kernel, backends/cuda/cudaDigests.ts): the
// target's host digests the source through its mapping and its own copy, block by block, on its
// stream behind the copy, and reads back only the two digest lists; it answers both digests, so
// the source's host hashes nothing. Where the kernel cannot load (said in the log once) or the copy
// came from another GPU, the target reads its copy back and hashes it on the CPU, and the server
// has the source's host hash its state the same way (hashState): one SHA-256 of the whole state.
import type { BufferHandle, GpuBackend } from '../../backends/backend';
import type { CopyDigests } from '../../backends/deviceDigests';
import { GpuError } from '../../backends/gpuError';
import type { DeviceStateExport, DeviceStateImport, StateTransferResult } from '../hostProtocol';
import type { ScratchBuffer } from '../bulkTransfer';
import { hexDigests, stateDigest } from '../stateDigests';
import { stateSha256, warmRead } from './stateTransfer';

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
  const copied = await backend.copyFromIpc(buffer, bytes, from, verify);
  const moved = { bytes, copyMs: copied.hostMs, peer: copied.peer };
  if (!verify) return moved;
  if (copied.digests) return { ...moved, ...compared(bytes, copied.digests) };
  return { ...moved, ...(await timedHash(backend, buffer, bytes, scratch)) };
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
  const copied = await backend.copy(source, destination, bytes, verify);
  const moved = { bytes, copyMs: copied.hostMs };
  if (!verify) return moved;
  if (copied.digests) return { ...moved, ...compared(bytes, copied.digests) };
  return { ...moved, ...(await timedHash(backend, destination, bytes, scratch)) };
}

/**
 * Both sides' state digests from their block digests (computed on the GPU). Equal lists make one
 * digest, computed once; lists that differ also go back as hex, so the server can say which bytes.
 */
export function compared(
  bytes: number,
  digests: CopyDigests,
): Pick<StateTransferResult, 'sha256' | 'digests' | 'blockBytes' | 'source' | 'verifyMs'> {
  const { blockBytes } = digests;
  const sha256 = stateDigest(bytes, digests.copy, blockBytes);
  const same = Buffer.compare(digests.source, digests.copy) === 0;
  if (same) return { sha256, blockBytes, source: { sha256 }, verifyMs: digests.ms };
  return {
    sha256,
    digests: hexDigests(digests.copy),
    blockBytes,
    source: { sha256: stateDigest(bytes, digests.source, blockBytes), digests: hexDigests(digests.source) },
    verifyMs: digests.ms,
  };
}

/** Why GPU digests are unavailable, said once per reason (the host's log). */
const toldWhy = new Set<string>();

/**
 * Before a device-to-device move pauses its kernel, in the target's host: the digest kernel is
 * loaded on the buffer's GPU and run once over the buffer (its first launch and digest memory are
 * paid now). Where it cannot load, the CPU path is warmed instead: a fresh host's first read back
 * of 64 MiB cost about 50 ms of page faults on an H100 VM.
 */
export async function prepareDeviceVerify(
  backend: GpuBackend,
  buffer: BufferHandle,
  bytes: number,
  scratch: ScratchBuffer,
  warn: (message: string) => void,
): Promise<{ onGpu: boolean; reason?: string }> {
  checkBytes(buffer, bytes, 'verify');
  const prepare = backend.prepareDeviceDigests?.bind(backend);
  const why =
    prepare && backend.blockDigests ? await prepare(buffer.device) : `the ${backend.name} backend has no digest kernel`;
  // A host of every GPU copies within itself from any of them, each side digested on its own GPU:
  // the kernel is loaded on all. One that does not load there leaves those copies to the CPU
  // (CudaBackend.copy digests only where both GPUs have it), not this GPU's own.
  if (why === undefined && prepare) {
    for (const device of await backend.devices()) if (device.index !== buffer.device) await prepare(device.index);
  }
  if (why === undefined && backend.blockDigests) {
    await backend.blockDigests(buffer, bytes);
    return { onGpu: true };
  }
  const reason = why ?? 'no digest kernel';
  if (!toldWhy.has(reason)) {
    toldWhy.add(reason);
    warn(`migration verify on the CPU (the state is read back and hashed there, about 1 s per GiB): ${reason}`);
  }
  // The read's first use pays its page faults here; hashing now would only delay the move.
  await warmRead(backend, buffer, bytes, scratch);
  return { onGpu: false, reason };
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
