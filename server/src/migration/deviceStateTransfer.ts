// Checkpoint and transfer device to device, for migrations between two CUDA devices that are one
// GPU (CUDA device instances) or peers (migrationRoute.ts). Between two device hosts the source's
// host exports its quiesced state buffer as a CUDA IPC handle and the target's host opens it, copies
// it on its own stream (DtoD on one GPU, a peer copy from another GPU), closes it and hashes what
// arrived, while the source's host hashes its own copy for the verify; within one host (a host of
// every GPU) the host copies between its two buffers. No byte passes through host memory but the
// digests' reads; the source's buffer stays untouched until the kernel is switched, so any failure
// before the switch leaves the kernel on its source with its state as it was.
import type { DeviceKernel } from '../hosts/deviceKernel';
import type { StateTransferResult } from '../hosts/hostProtocol';

export interface DeviceMove {
  /** The source's side: its export (copyMs) and its digest (sha256, verifyMs) when verifying. */
  exported: StateTransferResult;
  /** The target's side: the device copy (copyMs) and, when verifying, the digest of what arrived. */
  imported: StateTransferResult;
  /** When the target's answer came (performance.now()): its copy and, when verifying, its digest (imported.verifyMs) done. */
  importedAt: number;
  /** The copy came from another GPU over the peer link. */
  peer: boolean;
}

/** Whether the target's host can take a state device to device (a CUDA host). */
export function canMoveOnDevice(target: DeviceKernel): boolean {
  const host = target.deviceHost;
  return host.backend === 'cuda' && host.copyState !== undefined && host.importDeviceState !== undefined;
}

/**
 * Before the pause: the target's host reads and hashes its (still empty) state once, so the verify
 * during the pause finds its read-back memory paged in (a fresh host's first 64 MiB read cost about
 * 50 ms of page faults on an H100 VM) and its hashing warm.
 */
export async function prepareOnDevice(target: DeviceKernel, verify: boolean): Promise<void> {
  if (verify) await target.stateSha256();
}

export async function moveStateOnDevice(
  source: DeviceKernel,
  target: DeviceKernel,
  verify: boolean,
  transferring: () => void,
): Promise<DeviceMove> {
  if (source.deviceHost === target.deviceHost) return copyWithinHost(source, target, verify, transferring);
  const started = performance.now();
  const handle = await source.exportDeviceState();
  const exportMs = performance.now() - started;
  transferring();
  // The source's digest runs beside the target's copy and digest: the two hosts are two processes.
  const sourceDigest = verify ? source.stateSha256() : undefined;
  sourceDigest?.catch(() => undefined);
  const imported = await target.importDeviceState(handle, verify);
  const importedAt = performance.now();
  const digest = await sourceDigest;
  return {
    exported: {
      bytes: imported.bytes,
      copyMs: exportMs,
      ...(digest ? { sha256: digest.sha256, verifyMs: digest.ms } : {}),
    },
    imported,
    importedAt,
    peer: imported.peer,
  };
}

async function copyWithinHost(
  source: DeviceKernel,
  target: DeviceKernel,
  verify: boolean,
  transferring: () => void,
): Promise<DeviceMove> {
  // One host runs its requests in turn: the source's digest first, then the copy and the target's.
  const digest = verify ? await source.stateSha256() : undefined;
  transferring();
  const imported = await target.copyStateFrom(source, verify);
  return {
    exported: {
      bytes: imported.bytes,
      copyMs: 0,
      ...(digest ? { sha256: digest.sha256, verifyMs: digest.ms } : {}),
    },
    imported,
    importedAt: performance.now(),
    peer: source.placement.device !== target.placement.device,
  };
}
