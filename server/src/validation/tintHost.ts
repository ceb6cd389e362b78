// The server's side of the Tint host child: starts it on first use, sends one validation at a
// time, kills it when a validation runs past its deadline (the only way to stop Tint), and starts
// a fresh one for the next request. The child's stdout and stderr (Dawn's own logging) go to the log.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Logger } from '../logger';
import { errorMessage } from '../logger';
import { bundlePath } from '../paths';
import type { TintMessage, TintReply, TintRequest } from './tintProtocol';

export type TintOutcome =
  | { kind: 'ok'; messages: TintMessage[]; scopeError?: string; ms: number; deviceRecreated: boolean }
  | { kind: 'skipped'; reason: string };

export interface TintHostOptions {
  /** The child's script; defaults to dist/tintHost.js of this installation. */
  hostScript?: string | undefined;
  logger?: Logger | undefined;
  /** Limit for the child to start and open its device (default 30 s). */
  startTimeoutMs?: number | undefined;
}

interface Pending {
  request: Extract<TintRequest, { kind: 'validate' }>;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  resolve: (outcome: TintOutcome) => void;
}

/** Several crashes in a row mean something is broken for good: stop restarting, and say why. */
const MAX_CONSECUTIVE_FAILURES = 3;
/** Measured: Tint takes about 1 µs per character of typical WGSL (up to 5 on function-dense code). */
const TINT_MS_PER_CHARACTER = 0.0015;
/** Starting a new host and opening its device: about 200 ms. */
const RESTART_COST_MS = 300;
/** A cancelled run that has taken this long already is not worth waiting for. */
const LONG_RUN_MS = 1000;

export class TintHost {
  private child: ChildProcess | undefined;
  private ready: Promise<string> | undefined;
  /** The child that said it is ready (its device opened). */
  private readyChild: ChildProcess | undefined;
  private readonly queue: Pending[] = [];
  private inFlight: (Pending & { timer: NodeJS.Timeout; onAbort: () => void }) | undefined;
  private nextId = 1;
  private failures = 0;
  private brokenReason: string | undefined;
  private disposed = false;

  constructor(private readonly options: TintHostOptions = {}) {}

  /** Starts the child ahead of the first validation (it takes a few hundred ms). */
  warmUp(): void {
    void this.start().catch(() => undefined);
  }

  validate(code: string, timeoutMs: number, signal?: AbortSignal): Promise<TintOutcome> {
    if (this.disposed) return Promise.resolve({ kind: 'skipped', reason: 'the WGSL validator was shut down' });
    if (this.brokenReason !== undefined) return Promise.resolve({ kind: 'skipped', reason: this.brokenReason });
    if (signal?.aborted) return Promise.resolve({ kind: 'skipped', reason: 'cancelled' });
    return new Promise((resolve) => {
      this.queue.push({ request: { kind: 'validate', id: this.nextId++, code }, timeoutMs, signal, resolve });
      this.pump();
    });
  }

  /** Destroys the host's Dawn device, as a driver reset would (for tests of the recovery). */
  async loseDevice(): Promise<void> {
    await this.start();
    this.child?.send({ kind: 'lose-device' } satisfies TintRequest);
  }

  dispose(): void {
    this.disposed = true;
    for (const pending of this.queue.splice(0))
      pending.resolve({ kind: 'skipped', reason: 'the WGSL validator was shut down' });
    this.finishInFlight({ kind: 'skipped', reason: 'the WGSL validator was shut down' });
    this.kill();
  }

  private log(level: 'info' | 'warn' | 'debug', message: string): void {
    this.options.logger?.[level](message);
  }

  private start(): Promise<string> {
    if (this.ready) return this.ready;
    const script = this.options.hostScript ?? bundlePath('tintHost.js');
    if (!existsSync(script)) {
      return Promise.reject(
        new Error(
          `the WGSL validator's host script ${script} is missing: the installation is incomplete (rebuild with npm run build, or reinstall the extension)`,
        ),
      );
    }
    const child = fork(script, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line.trim() !== '') this.log('debug', `[tint host] ${line}`);
      });
    }
    this.ready = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the WGSL validator did not start within ${this.options.startTimeoutMs ?? 30_000} ms`));
        this.kill();
      }, this.options.startTimeoutMs ?? 30_000);
      child.on('message', (reply: TintReply) => {
        if (this.child !== child) return;
        switch (reply.kind) {
          case 'ready':
            clearTimeout(timer);
            this.readyChild = child;
            this.log('info', `WGSL validation: Tint host started (pid ${child.pid ?? '?'}, ${reply.adapter})`);
            resolve(reply.adapter);
            break;
          case 'fatal':
            clearTimeout(timer);
            this.brokenReason = `Dawn could not open a device for WGSL validation: ${reply.error}`;
            reject(new Error(this.brokenReason));
            break;
          case 'log':
            this.log('info', reply.message);
            break;
          case 'result':
            if (this.inFlight?.request.id === reply.id) {
              this.failures = 0;
              const outcome: TintOutcome = {
                kind: 'ok',
                messages: reply.messages,
                ms: reply.ms,
                deviceRecreated: reply.deviceRecreated,
              };
              if (reply.scopeError !== undefined) outcome.scopeError = reply.scopeError;
              this.finishInFlight(outcome);
            }
            break;
          case 'failed':
            if (this.inFlight?.request.id === reply.id)
              this.finishInFlight({ kind: 'skipped', reason: `Tint failed: ${reply.error}` });
            break;
        }
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
        this.onExit(child, `could not be started: ${error.message}`);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the WGSL validator exited during start (${signal ?? `code ${code}`})`));
        this.onExit(child, `exited (${signal ?? `code ${code}`})`);
      });
    });
    return this.ready;
  }

  private onExit(child: ChildProcess, how: string): void {
    // A child already replaced (killed after a timeout) has nothing more to say.
    if (this.child !== child) return;
    this.child = undefined;
    this.ready = undefined;
    if (this.inFlight) {
      this.failures++;
      this.finishInFlight({
        kind: 'skipped',
        reason: `the WGSL validator ${how} while validating; it restarts for the next validation`,
      });
      if (this.failures >= MAX_CONSECUTIVE_FAILURES) {
        this.brokenReason ??= `the WGSL validator failed ${this.failures} times in a row (last: ${how}); restart the language server to try again`;
      }
    }
    if (!this.disposed) this.log('warn', `WGSL validation: Tint host ${how}`);
    this.pump();
  }

  /** Kills the child and forgets it at once, so the next request starts a new one. */
  private kill(): void {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  private finishInFlight(outcome: TintOutcome): void {
    const current = this.inFlight;
    if (!current) return;
    this.inFlight = undefined;
    clearTimeout(current.timer);
    current.signal?.removeEventListener('abort', current.onAbort);
    current.resolve(outcome);
    this.pump();
  }

  /** Sends the next request when none is in flight. Cancelled requests still queued are dropped. */
  private pump(): void {
    if (this.inFlight || this.disposed) return;
    let pending = this.queue.shift();
    while (pending?.signal?.aborted) {
      pending.resolve({ kind: 'skipped', reason: 'cancelled' });
      pending = this.queue.shift();
    }
    if (!pending) return;
    if (this.brokenReason !== undefined) {
      pending.resolve({ kind: 'skipped', reason: this.brokenReason });
      this.pump();
      return;
    }
    const current = pending;
    const sentAt = performance.now();
    const onAbort = (): void => {
      if (this.inFlight?.request.id !== current.request.id) return;
      this.inFlight = undefined;
      clearTimeout(timer);
      current.resolve({ kind: 'skipped', reason: 'cancelled' });
      // Tint cannot be interrupted. When the run it abandons would still take longer than starting
      // a new host, kill it; small files (the usual case while typing) just finish.
      const elapsed = performance.now() - sentAt;
      const remaining = current.request.code.length * TINT_MS_PER_CHARACTER - elapsed;
      if (remaining > RESTART_COST_MS || elapsed > LONG_RUN_MS) this.kill();
      this.pump();
    };
    const timer = setTimeout(() => {
      this.log('warn', `WGSL validation took longer than ${current.timeoutMs} ms; stopping the Tint host`);
      this.kill();
      this.finishInFlight({
        kind: 'skipped',
        reason: `Tint did not finish within ${current.timeoutMs} ms (the file may be too large or pathological); the validator was restarted`,
      });
    }, current.timeoutMs);
    this.inFlight = { ...current, timer, onAbort };
    current.signal?.addEventListener('abort', onAbort, { once: true });
    // A started host gets the request now, not a microtask later, so the caller's own checks run
    // while Tint compiles.
    if (this.child !== undefined && this.readyChild === this.child) {
      this.child.send(current.request);
      return;
    }
    this.start().then(
      () => {
        if (this.inFlight?.request.id !== current.request.id) return;
        this.child?.send(current.request);
      },
      (error: unknown) => {
        if (this.inFlight?.request.id !== current.request.id) return;
        this.failures++;
        const reason = errorMessage(error);
        if (this.failures >= MAX_CONSECUTIVE_FAILURES)
          this.brokenReason ??= `${reason} (${this.failures} attempts); restart the language server to try again`;
        this.finishInFlight({ kind: 'skipped', reason });
      },
    );
  }
}
