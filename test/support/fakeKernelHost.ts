// An in-memory device host for the fast tests of ManagedKernel and HotReloadManager: it keeps
// buffers as byte arrays, "compiles" any code, and steps a loop only when the test says so, so
// a test decides exactly when each step, hang, fault or host restart happens. The real DeviceHost
// (a child process with Dawn or CUDA) is exercised by the process tests; this one implements the
// same KernelHost interface.
//
// A step adds 1 to the state's first little-endian u32, so a test can tell a kept state from a
// fresh one. Code containing "HANG" never finishes a step (until the host restarts); code
// containing "FAULT" faults on its first step, which ends the host like a real fault does; code
// containing "INVALID" does not compile.
import type { RegionRef } from '../../server/src/hosts/bulkTransfer';
import type {
  BufferHandle,
  CompiledKernelHandle,
  KernelSource,
  StepLaunch,
  Timing,
} from '../../server/src/backends/backend';
import { GpuError } from '../../server/src/backends/gpuError';
import type { ControlBlock } from '../../server/src/abi/kernelAbi';
import type { BufferRange, StateTransferResult, StepBatch, StepOutcome } from '../../server/src/hosts/hostProtocol';
import { sha256Hex } from '../../server/src/checkpoint/kernelCheckpoint';
import type { KernelHost, LoopListener, RangesRead, RestartListener } from '../../server/src/hosts/kernelHost';

interface FakeLoop {
  id: number;
  launch: StepLaunch;
  step: number;
  listener: LoopListener;
  code: string;
}

type Operation =
  | 'compile'
  | 'allocate'
  | 'read'
  | 'readSoon'
  | 'readRanges'
  | 'write'
  | 'startLoop'
  | 'stopLoop'
  | 'exportState'
  | 'importState';

const TIMING: Timing = { hostMs: 0 };

export class FakeKernelHost implements KernelHost {
  readonly backend = 'webgpu' as const;
  generation = 1;
  readonly pid = 4242;
  /** Every operation, in order, as "op" or "op:detail" (compile:<label>, stopLoop, ...). */
  readonly calls: string[] = [];
  /** How many buffers were allocated and are not freed (a leak shows here). */
  private readonly buffers = new Map<number, Uint8Array>();
  private readonly kernels = new Map<number, { code: string; label: string }>();
  private readonly loops = new Map<number, FakeLoop>();
  /** Requests that wait for a hung step; a restart fails them. */
  private readonly waiting = new Set<(error: GpuError) => void>();
  private readonly listeners = new Set<RestartListener>();
  private nextHandle = 1;
  private lastLoop = 0;
  /** Runs before an operation; a test makes it throw, restart the host, or wait. */
  private readonly interceptors = new Map<Operation, (detail: string) => void | Promise<void>>();

  onRestart(listener: RestartListener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Calls `action` before every `op` (until removed with `undefined`). */
  intercept(op: Operation, action: ((detail: string) => void | Promise<void>) | undefined): void {
    if (action) this.interceptors.set(op, action);
    else this.interceptors.delete(op);
  }

  get liveBuffers(): number {
    return this.buffers.size;
  }

  get liveLoops(): number {
    return this.loops.size;
  }

  async compile(device: number, source: KernelSource): Promise<CompiledKernelHandle> {
    await this.before('compile', source.label);
    if (source.code.includes('INVALID'))
      throw new GpuError('COMPILE_FAILED', `${source.label}:1:1: error: the fake compiler refuses INVALID code`);
    const id = this.nextHandle++;
    this.kernels.set(id, { code: source.code, label: source.label });
    return { id, device, label: source.label, entryPoint: source.entryPoint };
  }

  async releaseKernel(kernel: CompiledKernelHandle): Promise<null> {
    this.calls.push('releaseKernel');
    this.kernels.delete(kernel.id);
    return Promise.resolve(null);
  }

  async allocate(device: number, bytes: number, label: string): Promise<BufferHandle> {
    await this.before('allocate', label);
    const id = this.nextHandle++;
    this.buffers.set(id, new Uint8Array(bytes));
    return { id, device, bytes };
  }

  free(buffer: BufferHandle): Promise<null> {
    this.buffers.delete(buffer.id);
    return Promise.resolve(null);
  }

  async write(buffer: BufferHandle, offset: number, data: Uint8Array): Promise<Timing> {
    await this.before('write');
    this.memory(buffer).set(data, offset);
    return TIMING;
  }

  read(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }> {
    return this.receive('read', buffer, offset, bytes, into);
  }

  readSoon(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }> {
    return this.receive('readSoon', buffer, offset, bytes, into);
  }

  /** Like the real host: between two steps of every loop, with the named loop's next step number. */
  async readRanges(buffer: BufferHandle, ranges: readonly BufferRange[], loop?: number): Promise<RangesRead> {
    await this.before('readRanges');
    const memory = this.memory(buffer);
    const bytes = ranges.map(({ offset, length }) => memory.slice(offset, offset + length));
    const step = loop === undefined ? undefined : this.loops.get(loop)?.step;
    return { bytes, ...(step !== undefined ? { step } : {}), timing: TIMING };
  }

  steps(batch: StepBatch): Promise<StepOutcome[]> {
    const outcomes: StepOutcome[] = [];
    for (let i = 0; i < batch.count; i++) {
      this.stepState(batch.launch);
      outcomes.push({ step: batch.control.step + i + 1, timing: TIMING });
    }
    return Promise.resolve(outcomes);
  }

  nextLoopId(): number {
    return ++this.lastLoop;
  }

  /** Accepts the loop, then runs its first step on the next turn of the event loop (a HANG never finishes it). */
  async startLoop(
    loop: number,
    launch: StepLaunch,
    control: ControlBlock,
    _rateHz: number,
    listener: LoopListener,
  ): Promise<void> {
    await this.before('startLoop', launch.kernel.label);
    const code = this.kernels.get(launch.kernel.id)?.code;
    if (code === undefined)
      throw new GpuError(
        'INVALID_ARGUMENT',
        `no compiled kernel ${launch.kernel.id} in the fake host (generation ${this.generation})`,
      );
    this.memory(launch.state);
    const running: FakeLoop = { id: loop, launch, step: control.step, listener, code };
    this.loops.set(loop, running);
    setImmediate(() => {
      if (this.loops.get(loop) === running) this.stepLoop(running);
    });
  }

  async stopLoop(loop: number): Promise<{ step: number }> {
    await this.before('stopLoop');
    const running = this.loops.get(loop);
    if (!running) throw new GpuError('INVALID_ARGUMENT', `no loop ${loop} in the fake host`);
    // A hung step never reaches the boundary the stop waits for: only a restart ends the wait.
    if (running.code.includes('HANG')) await new Promise<never>((_resolve, reject) => this.waiting.add(reject));
    this.loops.delete(loop);
    return { step: running.step };
  }

  /** Runs `count` more steps of every loop (what a real host does on its own between progress reports). */
  tick(count = 1): void {
    for (let i = 0; i < count; i++) for (const running of [...this.loops.values()]) this.stepLoop(running);
  }

  /** The state's step counter (its first u32) of the kernel labelled `label`, as the device holds it. */
  counterOf(label: string): number | undefined {
    for (const running of this.loops.values()) {
      if (running.launch.kernel.label === label)
        return new DataView(this.memory(running.launch.state).buffer).getUint32(0, true);
    }
    return undefined;
  }

  /** What the real host does when a step hangs past its watchdog or the process dies: everything in it is gone. */
  restart(reason: string, culprit?: string): void {
    this.calls.push(`restart:${reason}`);
    this.generation++;
    this.buffers.clear();
    this.kernels.clear();
    this.loops.clear();
    const error = new GpuError(culprit !== undefined ? 'WATCHDOG_TIMEOUT' : 'HOST_EXITED', reason);
    for (const reject of [...this.waiting]) reject(error);
    this.waiting.clear();
    const event = { generation: this.generation, reason, ...(culprit !== undefined ? { culprit } : {}) };
    for (const listener of [...this.listeners]) listener(event);
  }

  private stepLoop(running: FakeLoop): void {
    if (running.code.includes('HANG')) return;
    if (running.code.includes('FAULT')) {
      this.loops.delete(running.id);
      running.listener({
        kind: 'failed',
        step: running.step,
        error: new GpuError('KERNEL_FAULT', `kernel "${running.launch.kernel.label}" faulted at step ${running.step}`),
      });
      this.restart(`kernel "${running.launch.kernel.label}" faulted; the host ended`, running.launch.kernel.label);
      return;
    }
    this.stepState(running.launch);
    running.step++;
    running.listener({ kind: 'progress', step: running.step, messages: 0, dropped: 0 });
  }

  private stepState(launch: StepLaunch): void {
    const view = new DataView(this.memory(launch.state).buffer);
    view.setUint32(0, view.getUint32(0, true) + 1, true);
  }

  private async receive(
    op: 'read' | 'readSoon',
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }> {
    await this.before(op);
    const source = this.memory(buffer).subarray(offset, offset + bytes);
    const data = into && into.byteLength === bytes ? into : new Uint8Array(bytes);
    data.set(source);
    return { data, timing: TIMING };
  }

  /** Migration's shared-memory regions, kept in memory: a region's name to its bytes. */
  static readonly files = new Map<string, Uint8Array>();

  async exportState(buffer: BufferHandle, bytes: number, region: RegionRef): Promise<StateTransferResult> {
    await this.before('exportState');
    const data = this.memory(buffer).slice(0, bytes);
    FakeKernelHost.files.set(region.region, data);
    return { bytes, sha256: sha256Hex(data), copyMs: 0 };
  }

  async importState(
    buffer: BufferHandle,
    bytes: number,
    region: RegionRef,
    verify: boolean,
  ): Promise<StateTransferResult> {
    await this.before('importState');
    const file = region.region;
    const data = FakeKernelHost.files.get(file);
    if (!data || data.byteLength !== bytes)
      throw new GpuError('INVALID_ARGUMENT', `the fake host has no ${bytes}-byte region ${file}`);
    FakeKernelHost.files.delete(file);
    this.memory(buffer).set(data);
    return { bytes, ...(verify ? { sha256: sha256Hex(this.memory(buffer).slice(0, bytes)) } : {}), copyMs: 0 };
  }

  private memory(buffer: BufferHandle): Uint8Array {
    const memory = this.buffers.get(buffer.id);
    if (!memory)
      throw new GpuError(
        'INVALID_ARGUMENT',
        `buffer ${buffer.id} does not exist in the fake host (generation ${this.generation})`,
      );
    return memory;
  }

  private async before(op: Operation, detail = ''): Promise<void> {
    this.calls.push(detail ? `${op}:${detail}` : op);
    await this.interceptors.get(op)?.(detail);
  }
}
