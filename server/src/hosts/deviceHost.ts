// Supervises one device-host child process: sends it requests, gives every request a watchdog,
// and kills and restarts a host that stops answering or dies. The server never waits on a GPU.
import { fork, type ChildProcess } from 'node:child_process';
import type { BufferHandle, DeviceInfo, KernelHandle, KernelSource, Timing } from '../backends/backend';
import type { BackendName } from '../backends/backendReport';
import { GpuError } from '../backends/gpuError';
import type { Logger } from '../logger';
import { bundlePath } from '../paths';
import { fromPayload, removeLeftovers, toPayload } from './bulkTransfer';
import type { StepBatch, StepOutcome } from './stepRunner';
import type { HostMessage, HostOperation, HostOperations, HostRequest } from './hostProtocol';

export interface DeviceHostOptions {
  backend: BackendName;
  /** Watchdog for every request but steps (opening a Vulkan device can take seconds). */
  requestTimeoutMs?: number;
  /** Watchdog for one kernel step. */
  stepTimeoutMs?: number;
  log?: Logger;
  /** The host bundle; defaults to dist/deviceHost.js of this installation. */
  script?: string;
}

interface Pending {
  op: HostOperation;
  what: string;
  resolve(value: unknown): void;
  reject(error: GpuError): void;
  timer: NodeJS.Timeout;
  /** Starts a fresh watchdog timer (on start, and on every progress report). */
  watchdog(): NodeJS.Timeout;
}

export type RestartListener = (event: { generation: number; reason: string }) => void;

export class DeviceHost {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disposed = false;
  private readonly restartListeners = new Set<RestartListener>();
  /** Increments on every (re)start: handles from an older generation are gone with their process. */
  generation = 0;

  constructor(private readonly options: DeviceHostOptions) {}

  get backend(): BackendName {
    return this.options.backend;
  }

  /** The host's process id, starting it if needed (tests kill it from outside). */
  get pid(): number | undefined {
    return this.ensureStarted().pid;
  }

  onRestart(listener: RestartListener): { dispose(): void } {
    this.restartListeners.add(listener);
    return { dispose: () => this.restartListeners.delete(listener) };
  }

  devices(): Promise<DeviceInfo[]> { return this.call('devices', {}); }
  compile(device: number, source: KernelSource): Promise<KernelHandle> { return this.call('compile', { device, source }); }
  releaseKernel(kernel: KernelHandle): Promise<null> { return this.call('releaseKernel', { kernel }); }
  allocate(device: number, bytes: number, label: string): Promise<BufferHandle> { return this.call('allocate', { device, bytes, label }); }
  free(buffer: BufferHandle): Promise<null> { return this.call('free', { buffer }); }
  write(buffer: BufferHandle, offset: number, data: Uint8Array): Promise<Timing> {
    return this.call('write', { buffer, offset, data: toPayload(data, process.pid) });
  }
  async read(buffer: BufferHandle, offset: number, bytes: number): Promise<{ data: Uint8Array; timing: Timing }> {
    const result = await this.call('read', { buffer, offset, bytes });
    const data = fromPayload(result.data);
    // IPC may hand back a view into a larger, unaligned buffer; callers want one they can view as words.
    const ownsBuffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    return { data: ownsBuffer ? data : new Uint8Array(data), timing: result.timing };
  }
  copy(source: BufferHandle, destination: BufferHandle, bytes: number): Promise<Timing> { return this.call('copy', { source, destination, bytes }); }
  compileLogs(device: number, code: string): Promise<{ errorLog: string; infoLog: string }> { return this.call('compileLogs', { device, code }); }
  /** Runs `count` steps in the host; the watchdog allows `timeoutMs` per step without progress. */
  steps(batch: StepBatch, timeoutMs?: number): Promise<StepOutcome[]> { return this.call('steps', batch, timeoutMs); }

  call<K extends HostOperation>(op: K, args: HostOperations[K]['args'], timeoutMs?: number): Promise<HostOperations[K]['result']> {
    if (this.disposed) return Promise.reject(new GpuError('HOST_EXITED', `the ${this.backend} device host was shut down`));
    const child = this.ensureStarted();
    const id = this.nextId++;
    const what = op === 'steps' ? `step of kernel "${(args as StepBatch).launch.kernel.label}"` : `${op}`;
    const limit = timeoutMs ?? (op === 'steps' ? this.options.stepTimeoutMs ?? 5_000 : this.options.requestTimeoutMs ?? 60_000);
    return new Promise((resolve, reject) => {
      const watchdog = (): NodeJS.Timeout => setTimeout(() => {
        const message = `${this.backend} device host: ${what} did not finish within ${limit} ms; the host was killed and is restarting ` +
          '(a kernel with an endless loop, or a hung driver)';
        this.restart(message, new GpuError('WATCHDOG_TIMEOUT', message), id);
      }, limit);
      this.pending.set(id, { op, what, resolve: resolve, reject, timer: watchdog(), watchdog });
      const request: HostRequest<K> = { kind: 'request', id, op, args };
      child.send(request, (error) => {
        if (error) this.settle(id, new GpuError('HOST_EXITED', `${this.backend} device host: could not send ${what}: ${error.message}`));
      });
    });
  }

  private ensureStarted(): ChildProcess {
    if (this.child) return this.child;
    const script = this.options.script ?? bundlePath('deviceHost.js');
    const child = fork(script, [this.backend], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced', execArgv: [] });
    this.child = child;
    this.generation++;
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line.trim()) this.options.log?.debug(`[${this.backend} host] ${line}`);
      });
    }
    child.on('message', (message: HostMessage) => {
      if (child !== this.child) return;
      if (message.kind === 'diagnostic') this.options.log?.warn(`[${this.backend} host] ${message.message}`);
      else if (message.kind === 'progress') this.rearm(message.id);
      else if (message.ok) this.settle(message.id, undefined, message.result);
      else this.settle(message.id, GpuError.fromData(message.error));
    });
    child.on('exit', (code, signal) => {
      if (child !== this.child) return;
      const reason = `${this.backend} device host exited unexpectedly (${signal ?? `code ${code}`})`;
      this.restart(reason, new GpuError('HOST_EXITED', `${reason}; it is restarting`));
    });
    child.on('error', (error) => this.options.log?.error(`${this.backend} device host: ${error.message}`));
    return child;
  }

  private rearm(id: number): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.timer = pending.watchdog();
  }

  private settle(id: number, error: GpuError | undefined, result?: unknown): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(result);
  }

  /** Kills the current process, fails what it held, and starts a fresh one. */
  private restart(reason: string, error: GpuError, culprit?: number): void {
    const old = this.child;
    this.child = undefined;
    old?.kill('SIGKILL');
    this.options.log?.warn(reason);
    removeLeftovers(process.pid);
    for (const id of [...this.pending.keys()]) {
      const pending = this.pending.get(id);
      const own = id === culprit || culprit === undefined ? error
        : new GpuError('HOST_EXITED', `${this.backend} device host was restarted while ${pending?.what ?? 'a request'} waited: ${reason}`);
      this.settle(id, own);
    }
    if (this.disposed) return;
    this.ensureStarted();
    for (const listener of this.restartListeners) listener({ generation: this.generation, reason });
  }

  dispose(): void {
    this.disposed = true;
    const child = this.child;
    this.child = undefined;
    for (const id of [...this.pending.keys()]) this.settle(id, new GpuError('HOST_EXITED', `the ${this.backend} device host was shut down`));
    child?.kill('SIGKILL');
    removeLeftovers(process.pid);
  }
}
