// Checkpoint and transfer device to device, for migrations between two CUDA devices that are one
// GPU (CUDA device instances) or peers (migrationRoute.ts). Between two device hosts the source's
// host exports its quiesced state buffer as a CUDA IPC handle and the target's host opens it and
// copies it on its own stream (DtoD on one GPU, a peer copy from another GPU); within one host (a
// host of every GPU) the host copies between its two buffers. No byte of the state passes through
// host memory. The source's buffer stays untouched until the kernel is switched, so any failure
// before the switch leaves the kernel on its source with its state as it was.
//
// The verify runs on the GPU (hosts/child/deviceStateCopy.ts): the target's host digests the
// source (through its mapping, or its own buffer within one host) and the copy with the digest
// kernel and answers both, so the source's host is asked nothing. Where the kernel cannot run
// (it did not load, said in the host's log; or the copy comes from another GPU through IPC) both
// hosts read their state back and hash it on the CPU, the source's beside the target's.
import type { DeviceKernel } from '../hosts/deviceKernel';
import type { StateTransferResult } from '../hosts/hostProtocol';
import type { MigrationRoute } from './migrationTypes';

export interface DeviceMove {
  /** The source's side: its export (copyMs) and its digest (sha256, with verifyMs when its host hashed it). */
  exported: StateTransferResult;
  /** The target's side: the device copy (copyMs) and, when verifying, the digest of what arrived. */
  imported: StateTransferResult;
  /** When the target's answer came (performance.now()): its copy and, when verifying, its digest (imported.verifyMs) done. */
  importedAt: number;
  /** The copy came from another GPU over the peer link. */
  peer: boolean;
  /** Where the digests were computed, when verifying. */
  verifiedOn?: 'gpu' | 'cpu';
}

/** How a device-to-device move verifies: on the GPU (digest kernel), on the CPU, or not at all. */
export type DeviceVerify = 'gpu' | 'cpu' | 'off';

/** Whether the target's host can take a state device to device (a CUDA host). */
export function canMoveOnDevice(target: DeviceKernel): boolean {
  const host = target.deviceHost;
  return host.backend === 'cuda' && host.copyState !== undefined && host.importDeviceState !== undefined;
}

/**
 * Before the pause: the target's host loads the digest kernel (a JIT, once per GPU) and runs it
 * once over its (still empty) state, or, where it cannot, reads and hashes that state once so the
 * CPU verify during the pause finds its read-back memory paged in (a fresh host's first 64 MiB read
 * cost about 50 ms of page faults on an H100 VM). Between two hosts on different GPUs the digests
 * stay on the CPU: the addon launches nothing over another GPU's memory.
 */
export async function prepareOnDevice(target: DeviceKernel, verify: boolean): Promise<DeviceVerify> {
  if (!verify) return 'off';
  return (await target.prepareDeviceVerify()).onGpu ? 'gpu' : 'cpu';
}

export async function moveStateOnDevice(
  source: DeviceKernel,
  target: DeviceKernel,
  route: MigrationRoute,
  prepared: DeviceVerify,
  transferring: () => void,
): Promise<DeviceMove> {
  if (source.deviceHost === target.deviceHost) return copyWithinHost(source, target, prepared, transferring);
  const verify = prepared === 'gpu' && route !== 'samePhysicalGpu' ? 'cpu' : prepared;
  const started = performance.now();
  const handle = await source.exportDeviceState();
  const exportMs = performance.now() - started;
  transferring();
  // On the CPU the source's digest runs beside the target's copy and digest: two processes.
  const sourceDigest = verify === 'cpu' ? source.stateSha256() : undefined;
  sourceDigest?.catch(() => undefined);
  const imported = await target.importDeviceState(handle, verify !== 'off');
  const importedAt = performance.now();
  const side = await sourceSide(source, imported, verify, sourceDigest);
  return {
    exported: { bytes: imported.bytes, copyMs: exportMs, ...side },
    imported,
    importedAt,
    peer: imported.peer,
    ...verifiedOn(imported, verify),
  };
}

async function copyWithinHost(
  source: DeviceKernel,
  target: DeviceKernel,
  verify: DeviceVerify,
  transferring: () => void,
): Promise<DeviceMove> {
  // One host runs its requests in turn: on the CPU the source's digest comes first, then the copy
  // and the target's; on the GPU the copy request digests both.
  const sourceDigest = verify === 'cpu' ? await source.stateSha256() : undefined;
  transferring();
  const imported = await target.copyStateFrom(source, verify !== 'off');
  const importedAt = performance.now();
  const side = await sourceSide(source, imported, verify, sourceDigest && Promise.resolve(sourceDigest));
  return {
    exported: { bytes: imported.bytes, copyMs: 0, ...side },
    imported,
    importedAt,
    peer: source.placement.device !== target.placement.device,
    ...verifiedOn(imported, verify),
  };
}

/**
 * The source's digest: the target's, when it digested both sides on the GPU (the same scheme as
 * its own); else the source host's SHA-256, computed beside the copy or, where the GPU was expected
 * but the target hashed on the CPU after all, now (its state is still quiesced and untouched).
 */
async function sourceSide(
  source: DeviceKernel,
  imported: StateTransferResult,
  verify: DeviceVerify,
  pending: Promise<{ sha256: string; ms: number }> | undefined,
): Promise<Pick<StateTransferResult, 'sha256' | 'digests' | 'blockBytes' | 'verifyMs'>> {
  if (verify === 'off') return {};
  if (imported.source) {
    await pending?.catch(() => undefined);
    return {
      sha256: imported.source.sha256,
      ...(imported.source.digests ? { digests: imported.source.digests } : {}),
      ...(imported.blockBytes !== undefined ? { blockBytes: imported.blockBytes } : {}),
    };
  }
  const digest = await (pending ?? source.stateSha256());
  return { sha256: digest.sha256, verifyMs: digest.ms };
}

function verifiedOn(imported: StateTransferResult, verify: DeviceVerify): Pick<DeviceMove, 'verifiedOn'> {
  if (verify === 'off') return {};
  return { verifiedOn: imported.source ? 'gpu' : 'cpu' };
}
