// The reload requests of each kernel. Request numbers are taken before validation, so a slow
// validation of an older save can never overtake a newer one; a validated request waits behind
// the kernel's running operation, and of several waiting only the newest runs (the seed's
// in-progress guard never fired: a fresh request replaced the running one).
import type { CompiledKernelHandle, KernelSource } from '../backends/backend';
import type { KernelHost } from '../hosts/kernelHost';
import type { ReloadOutcome } from './kernelReports';

/**
 * A compile started beside validation: its module lives in one host process (the host and its
 * generation then), and is of use only while the kernel still lives there (a migration moves it).
 */
export interface EarlyCompile {
  host: KernelHost;
  generation: number;
  result: Promise<{ ok: true; handle: CompiledKernelHandle; ms: number } | { ok: false; error: unknown }>;
}

export interface ReloadRequest {
  seq: number;
  source: KernelSource;
  startedAt: number;
  validateMs: number;
  early: EarlyCompile | undefined;
  resolve(outcome: ReloadOutcome): void;
}

interface KernelRequests {
  /** The newest request number handed out for this kernel. */
  lastSeq: number;
  /** The newest valid request that has been queued: older ones are superseded. */
  lastQueuedSeq: number;
  /** The valid request waiting for the one in progress; a newer one replaces it. */
  pending: ReloadRequest | undefined;
  inProgress: boolean;
}

export class ReloadQueue {
  private readonly kernels = new Map<string, KernelRequests>();

  /** A reload is running or waiting for the kernel. */
  busy(kernelId: string): boolean {
    const entry = this.kernels.get(kernelId);
    return entry !== undefined && (entry.inProgress || entry.pending !== undefined);
  }

  /** The next request number for the kernel. */
  take(kernelId: string): number {
    return ++this.entryFor(kernelId).lastSeq;
  }

  /** A newer request of the kernel has been queued already: request `seq` is superseded. */
  outdated(kernelId: string, seq: number): boolean {
    return seq < this.entryFor(kernelId).lastQueuedSeq;
  }

  /** Makes `request` the one waiting; returns the one it replaced, which the caller supersedes. */
  enqueue(kernelId: string, request: ReloadRequest): ReloadRequest | undefined {
    const entry = this.entryFor(kernelId);
    entry.lastQueuedSeq = request.seq;
    const replaced = entry.pending;
    entry.pending = request;
    return replaced;
  }

  /** The kernel's turn came: true when `request` is still the one waiting, which now runs. */
  begin(kernelId: string, request: ReloadRequest): boolean {
    const entry = this.entryFor(kernelId);
    if (entry.pending !== request) return false;
    entry.pending = undefined;
    entry.inProgress = true;
    return true;
  }

  end(kernelId: string): void {
    this.entryFor(kernelId).inProgress = false;
  }

  forget(kernelId: string): void {
    this.kernels.delete(kernelId);
  }

  private entryFor(kernelId: string): KernelRequests {
    let entry = this.kernels.get(kernelId);
    if (!entry) {
      entry = { lastSeq: 0, lastQueuedSeq: 0, pending: undefined, inProgress: false };
      this.kernels.set(kernelId, entry);
    }
    return entry;
  }
}
