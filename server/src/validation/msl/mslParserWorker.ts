// The Metal parser's worker thread, seen from the server: one file at a time goes to
// dist/mslParser.js (child/mslParserMain.ts). Deep inputs have faulted tree-sitter's WebAssembly
// instance ("memory access out of bounds") and a dead instance later threw asynchronously ("null
// function"); in the server's thread either was a crash or a parser broken for every later file.
// Here a fault, an exit or a hang (no answer within the parse budget plus a grace period) ends
// the worker, a new one is started, and the file gets a clear "not validated" reason instead.
import { Worker } from 'node:worker_threads';
import type { ValidationResult } from '../diagnostic';
import { bundlePath } from '../../paths';
import { errorMessage } from '../../logger';
import type { MslParseReply, MslParserRequest, MslParserWorkerData } from './mslParserProtocol';
import { MSL_PARSER_SOURCE } from './mslSyntax';
import type { MslValidateOptions } from './mslValidator';

export interface MslParserWorkerOptions {
  /** The worker's script; default dist/mslParser.js of this installation. */
  script?: string;
  /**
   * How long past the file's parse budget an answer may take before the worker counts as hung
   * (default 3 s: the budget already covers the parse and the walk; loading the parser in a new
   * worker takes about 100 ms here).
   */
  graceMs?: number;
}

const DEFAULT_BUDGET_MS = 2000;

export class MslParserWorker {
  private worker: Worker | undefined;
  /** Files wait their turn: the worker parses one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private readonly cancel = new SharedArrayBuffer(4);
  private readonly cancelWord = new Int32Array(this.cancel);
  private disposed = false;
  /** The worker a file is in now: its end is that file's failure, not a loss between files. */
  private busy: Worker | undefined;
  private readonly restartListeners = new Set<(reason: string) => void>();
  /** Workers replaced after a fault, an exit or a hang. */
  restarts = 0;

  constructor(private readonly options: MslParserWorkerOptions = {}) {}

  /** `listener` is told when a worker is replaced, and why (the server logs it). Returns a function that stops it. */
  onRestart(listener: (reason: string) => void): () => void {
    this.restartListeners.add(listener);
    return () => this.restartListeners.delete(listener);
  }

  /** Starts the worker and loads the parser ahead of the first file. */
  warmUp(): void {
    this.running().postMessage({ kind: 'warmUp' } satisfies MslParserRequest);
  }

  validate(text: string, options: MslValidateOptions = {}): Promise<ValidationResult> {
    const turn = this.queue.then(() => this.parse(text, options));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Ends the worker; a later file starts a new one. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    this.disposed = false;
    const worker = new Worker(this.options.script ?? bundlePath('mslParser.js'), {
      workerData: { cancel: this.cancel } satisfies MslParserWorkerData,
    });
    // Idle, it must not keep a process (the CLI, a test) alive; a file being parsed holds its timer.
    worker.unref();
    // A fault between files (a dead instance's late error) ends it too: the next file gets a new one.
    worker.on('error', (error) => this.lost(worker, `it failed between files: ${errorMessage(error)}`));
    worker.on('exit', (code) => this.lost(worker, `it exited (code ${code}) between files`));
    this.worker = worker;
    return worker;
  }

  /** A worker that ended when no file was in it: forgotten, so the next file starts a new one. */
  private lost(worker: Worker, reason: string): void {
    if (this.worker !== worker || this.busy === worker || this.disposed) return;
    this.worker = undefined;
    this.restarted(reason);
  }

  private restarted(reason: string): void {
    this.restarts++;
    for (const listener of this.restartListeners) listener(`the Metal parser's worker was replaced: ${reason}`);
  }

  private parse(text: string, options: MslValidateOptions): Promise<ValidationResult> {
    if (options.signal?.aborted === true) return Promise.resolve(cancelled());
    const worker = this.running();
    const id = this.nextId++;
    const budget = options.parseBudgetMs ?? DEFAULT_BUDGET_MS;
    const limitMs = budget + (this.options.graceMs ?? 3000);
    return new Promise<ValidationResult>((resolve) => {
      const onAbort = (): void => void Atomics.store(this.cancelWord, 0, id);
      const finish = (result: ValidationResult): void => {
        clearTimeout(timer);
        this.busy = undefined;
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      /** The worker cannot be trusted any more: it goes, a new one starts at once (its load overlaps the user's next edit). */
      const replace = (why: string): void => {
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
        this.restarted(why);
        if (!this.disposed) this.warmUp();
        finish(failed(why));
      };
      const onMessage = (reply: MslParseReply): void => {
        if (reply.id !== id) return;
        if (reply.ok) finish(reply.result);
        else replace(reply.error);
      };
      const onError = (error: Error): void => replace(`${error.name}: ${error.message}`);
      const onExit = (code: number): void => replace(`its thread exited with code ${code}`);
      const timer = setTimeout(
        () => replace(`it did not answer within ${limitMs} ms (its budget is ${budget} ms)`),
        limitMs,
      );
      this.busy = worker;
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      worker.postMessage({
        kind: 'validate',
        id,
        text,
        parseBudgetMs: options.parseBudgetMs,
        unlimited: options.unlimited,
      } satisfies MslParserRequest);
    });
  }
}

function cancelled(): ValidationResult {
  return { diagnostics: [], validator: MSL_PARSER_SOURCE, skipped: 'cancelled', unchecked: true };
}

/** What a file whose parse ended the worker gets: shown as "This file was not validated: …". */
function failed(why: string): ValidationResult {
  return {
    diagnostics: [],
    validator: MSL_PARSER_SOURCE,
    skipped: `the Metal parser failed on this file (${why}); the server restarted it`,
    unchecked: true,
  };
}

let shared: MslParserWorker | undefined;

/** This thread's Metal parser worker (one per server). */
export function sharedMslParser(): MslParserWorker {
  shared ??= new MslParserWorker();
  return shared;
}

/** Ends this thread's worker (ValidatorSet.dispose); a later file starts a new one, told to the same listeners. */
export async function disposeSharedMslParser(): Promise<void> {
  await shared?.dispose();
}
