// A thread that watches the fuzz target's thread: an input that blocks it (a synchronous endless
// loop, an exponential regular expression) leaves no timer able to fire there, so this worker,
// which shares a few numbers with it, writes what hung (target, seed, path to the input) to stderr
// and ends the whole process. The test runner then reports the file as failed with that message.
// Blocked, not slow: the target's thread beats every 200 ms, and only an input in flight while the
// beat has stopped for hangMs counts (a slow asynchronous input is the per-input deadline's).
import { Worker } from 'node:worker_threads';

/** The watchdog's own code: small and self-contained, so it runs from a string. */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { state, times, pathChars, target, seed, hangMs } = workerData;
const flags = new Int32Array(state);
const started = new Float64Array(times);
setInterval(() => {
  if (Atomics.load(flags, 0) !== 1) return;
  const ms = Date.now() - Math.max(started[0], started[1]);
  if (ms < hangMs) return;
  const length = Atomics.load(flags, 1);
  const path = String.fromCharCode(...new Int32Array(pathChars).slice(0, Math.max(0, length)));
  const replay = length >= 0
    ? 'replay it: RINGKERNEL_FUZZ_SEED=' + seed + ' RINGKERNEL_FUZZ_PATH=' + path + ' npm run test:fuzz'
    : 'it came while shrinking a failure; replay the run: RINGKERNEL_FUZZ_SEED=' + seed;
  writeSync(2, '\\nfuzz ' + target + ': an input has blocked the thread for ' + Math.round(ms / 1000) +
    ' s (a synchronous hang: no deadline can fire there); seed ' + seed + '; ' + replay + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, 250);
`;

export class HangWatchdog {
  private readonly flags = new Int32Array(new SharedArrayBuffer(8));
  /** Where the path to the input in flight is kept (fast-check paths may have several parts). */
  private readonly path = new Int32Array(new SharedArrayBuffer(4 * 64));
  /** [when the input began, the thread's last beat], in Date.now() ms. */
  private readonly started = new Float64Array(new SharedArrayBuffer(16));
  private readonly worker: Worker;
  private readonly beat: NodeJS.Timeout;

  constructor(target: string, seed: number, hangMs: number) {
    this.worker = new Worker(WATCHDOG, {
      eval: true,
      workerData: {
        state: this.flags.buffer,
        times: this.started.buffer,
        pathChars: this.path.buffer,
        target,
        seed,
        hangMs,
      },
    });
    this.worker.unref();
    this.beat = setInterval(() => (this.started[1] = Date.now()), 200);
    this.beat.unref();
  }

  /** An input starts; `path` is fast-check's path to it where known (before shrinking). */
  begin(path: string | undefined): void {
    this.started[0] = Date.now();
    const known = path !== undefined && path.length <= this.path.length;
    if (known) for (let i = 0; i < path.length; i++) this.path[i] = path.charCodeAt(i);
    Atomics.store(this.flags, 1, known ? path.length : -1);
    Atomics.store(this.flags, 0, 1);
  }

  end(): void {
    Atomics.store(this.flags, 0, 0);
  }

  async dispose(): Promise<void> {
    clearInterval(this.beat);
    await this.worker.terminate();
  }
}
