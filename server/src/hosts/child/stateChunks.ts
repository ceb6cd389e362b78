// The importing side of pipelined state transfers in a device host: how far each transfer's
// exporter has written its region, as the server relays it (StateChunkReady, outside the request
// queue), and the importer's waits for the next chunk.
import { GpuError } from '../../backends/gpuError';

interface Progress {
  ready: number;
  failed?: string;
  waiters: Array<{ until: number; resolve(): void; reject(error: Error): void }>;
}

export class StateChunks {
  private readonly transfers = new Map<number, Progress>();

  private of(transfer: number): Progress {
    let progress = this.transfers.get(transfer);
    if (!progress) {
      progress = { ready: 0, waiters: [] };
      this.transfers.set(transfer, progress);
    }
    return progress;
  }

  /** The server relayed the exporter's progress (or its failure). Malformed messages are ignored. */
  announce(transfer: unknown, ready: unknown, failed?: unknown): void {
    if (!Number.isSafeInteger(transfer) || !Number.isSafeInteger(ready)) return;
    const progress = this.of(transfer as number);
    progress.ready = Math.max(progress.ready, ready as number);
    if (typeof failed === 'string') progress.failed = failed;
    progress.waiters = progress.waiters.filter((waiter) => {
      if (progress.failed !== undefined) {
        waiter.reject(
          new GpuError(
            'INVALID_ARGUMENT',
            `the state transfer's source failed, so nothing more arrives: ${progress.failed}`,
          ),
        );
        return false;
      }
      if (progress.ready < waiter.until) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once the region's first `until` bytes are written; rejects if the exporter failed. */
  waitFor(transfer: number, until: number): Promise<void> {
    const progress = this.of(transfer);
    if (progress.failed !== undefined)
      return Promise.reject(
        new GpuError(
          'INVALID_ARGUMENT',
          `the state transfer's source failed, so nothing more arrives: ${progress.failed}`,
        ),
      );
    if (progress.ready >= until) return Promise.resolve();
    return new Promise((resolve, reject) => progress.waiters.push({ until, resolve, reject }));
  }

  /** The import is over (done or failed): its record goes. */
  forget(transfer: number): void {
    this.transfers.delete(transfer);
  }
}
