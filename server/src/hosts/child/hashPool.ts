// A device host's hashing threads (worker_threads running dist/hashWorker.js): migration's blocks
// are hashed on them while the transfer goes on, several at once (SHA-256 runs at 1.5-2 GB/s per
// core, slower than the transfer). Started before a migration pauses its kernel (prepare), they
// stop after IDLE_MS without work, so a host that migrates nothing holds no threads.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { GpuError } from '../../backends/gpuError';
import { bundlePath } from '../../paths';

/**
 * One block to hash: bytes of a region file (a checked region path), or of shared memory of this
 * host. With `blockBytes`, the job's bytes are hashed in sub-blocks of that size (the last may be
 * shorter), one digest each: a job stays large (messages cost more than 64 KiB of hashing) while
 * its digests match a device's smaller blocks.
 */
export type HashJob = (
  { file: string; offset: number; length: number } | { shared: SharedArrayBuffer; offset: number; length: number }
) & { blockBytes?: number };

export type HashReply =
  { id: number; digest: string } | { id: number; digests: string[] } | { id: number; error: string };

type Hashed = Exclude<HashReply, { error: string }>;

interface Thread {
  worker: Worker;
  /** Resolves once the worker runs (or could not start). */
  online: Promise<void>;
  running?: boolean;
  /** Jobs sent and not answered. */
  load: number;
}

const IDLE_MS = 30_000;

/**
 * Threads for a host: half the cores (a migration has two hosts hashing at once), less the host's
 * own thread, at most 6: six threads hash about 9-12 GB/s, above what a staged transfer moves, so
 * the last blocks' digests come right after the last bytes.
 */
export function defaultHashThreads(): number {
  return Math.max(1, Math.min(6, Math.floor(availableParallelism() / 2) - 1));
}

export class HashPool {
  private threads: Thread[] = [];
  private readonly pending = new Map<
    number,
    { thread: Thread; resolve(reply: Hashed): void; reject(error: Error): void }
  >();
  private nextJob = 1;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly size = defaultHashThreads(),
    private readonly script = bundlePath('hashWorker.js'),
  ) {}

  /**
   * Starts the threads now (a migration's prepare) and resolves once every one is running, so the
   * pause does not wait for them: a worker takes tens of milliseconds to start (28-34 ms of an H100
   * move's pause were a fresh source host's threads starting after the pause began). A thread that
   * fails to start resolves too; its jobs fail with the reason.
   */
  warm(): Promise<void> {
    while (this.threads.length < this.size) this.threads.push(this.start());
    this.armIdle();
    return Promise.all(this.threads.map((thread) => thread.online)).then(() => undefined);
  }

  /** Threads started and running (their worker is online), not still starting. */
  get running(): number {
    return this.threads.filter((thread) => thread.running === true).length;
  }

  /** SHA-256 (hex) of one block, on the least busy thread. */
  async hash(job: HashJob): Promise<string> {
    const { blockBytes: _, ...whole } = job;
    const reply = await this.submit(whole);
    if ('digest' in reply) return reply.digest;
    throw new GpuError('DRIVER_ERROR', 'a hashing thread answered a whole block with sub-block digests');
  }

  /** SHA-256s (hex, in order) of the sub-blocks of `blockBytes` of one job's bytes, on the least busy thread. */
  async hashBlocks(job: HashJob, blockBytes: number): Promise<string[]> {
    if (!Number.isSafeInteger(blockBytes) || blockBytes <= 0)
      throw new GpuError('INVALID_ARGUMENT', `sub-blocks of ${blockBytes} bytes cannot be hashed`);
    const reply = await this.submit({ ...job, blockBytes });
    const expected = Math.ceil(job.length / blockBytes);
    if ('digests' in reply && reply.digests.length === expected) return reply.digests;
    throw new GpuError('DRIVER_ERROR', `a hashing thread answered ${expected} sub-blocks with something else`);
  }

  private submit(job: HashJob): Promise<Hashed> {
    void this.warm();
    const thread = this.threads.reduce((best, candidate) => (candidate.load < best.load ? candidate : best));
    const id = this.nextJob++;
    thread.load++;
    return new Promise<Hashed>((resolve, reject) => {
      this.pending.set(id, { thread, resolve, reject });
      thread.worker.postMessage({ ...job, id });
    });
  }

  /** Stops every thread; jobs not answered fail. */
  dispose(): void {
    clearTimeout(this.idle);
    this.idle = undefined;
    for (const thread of this.threads) void thread.worker.terminate();
    this.fail(this.threads, 'the hashing threads were stopped');
    this.threads = [];
  }

  private start(): Thread {
    const worker = new Worker(this.script);
    worker.unref();
    const thread: Thread = {
      worker,
      load: 0,
      online: new Promise<void>((resolve) => {
        worker.once('online', () => {
          thread.running = true;
          resolve();
        });
        worker.once('error', () => resolve());
        worker.once('exit', () => resolve());
      }),
    };
    worker.on('message', (reply: HashReply) => {
      const job = this.pending.get(reply.id);
      if (!job) return;
      this.pending.delete(reply.id);
      thread.load--;
      if ('error' in reply)
        job.reject(new GpuError('DRIVER_ERROR', `hashing a block of the state failed: ${reply.error}`));
      else job.resolve(reply);
      this.armIdle();
    });
    const gone = (why: string): void => {
      this.threads = this.threads.filter((t) => t !== thread);
      this.fail([thread], why);
    };
    worker.on('error', (error) => gone(`a hashing thread failed: ${error.message}`));
    worker.on('exit', (code) => gone(`a hashing thread exited (code ${code})`));
    return thread;
  }

  private fail(threads: Thread[], why: string): void {
    for (const [id, job] of this.pending) {
      if (!threads.includes(job.thread)) continue;
      this.pending.delete(id);
      job.reject(new GpuError('DRIVER_ERROR', `${why}; the block's digest is lost, so the state cannot be checked`));
    }
  }

  /** Threads with nothing to do for IDLE_MS stop (and close the region files they read). */
  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.idle = undefined;
      if (this.pending.size > 0) return this.armIdle();
      for (const thread of this.threads) void thread.worker.terminate();
      this.threads = [];
    }, IDLE_MS);
    this.idle.unref();
  }
}
