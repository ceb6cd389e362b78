// Supervises one device-host child process: sends it requests, gives every request and every
// running step loop a watchdog, and kills and restarts a host that stops answering or dies. The
// server never waits on a GPU.
import { fork, type ChildProcess } from 'node:child_process';
import type {
  BufferHandle,
  DeviceInfo,
  CompiledKernelHandle,
  KernelSource,
  StepLaunch,
  Timing,
} from '../backends/backend';
import type { BackendName } from '../backends/backendReport';
import { GpuError } from '../backends/gpuError';
import type { ControlBlock } from '../abi/kernelAbi';
import { errorMessage, type Logger } from '../logger';
import { bundlePath } from '../paths';
import { createHostRings, type HostRings, type RingSpan } from './messageRing';
import { BULK_THRESHOLD_BYTES, isRegionRef, type Payload, type RegionRef } from './bulkTransfer';
import { TransferRegions, transferRegions, type RegionLease } from './transferRegions';
import {
  CUDA_INSTANCES_ARGUMENT,
  KERNEL_FAULT_EXIT_CODE,
  NO_PEER_ACCESS_ARGUMENT,
  type BufferRange,
  type DeviceStateExport,
  type DeviceStateImport,
  type HostDeliver,
  type HostLoopInfo,
  type HostLoopMessages,
  type ImportVerifyPlan,
  type InboxDelivery,
  type StateChunkReady,
  type StateTransferResult,
  type StepBatch,
  type StepOutcome,
} from './hostProtocol';
import type { HostMessage, HostOperation, HostOperations, HostRequest } from './hostProtocol';
import type { KernelHost, LoopEvent, LoopListener, RangesRead, RestartListener } from './kernelHost';

export type { LoopEvent, LoopListener, RestartListener } from './kernelHost';

export interface DeviceHostOptions {
  backend: BackendName;
  /** Watchdog for every request but steps (opening a Vulkan device can take seconds). */
  requestTimeoutMs?: number;
  /** Watchdog for one kernel step (a loop at rateHz gets 1000 / rateHz ms more). */
  stepTimeoutMs?: number;
  log?: Logger;
  /** The host bundle; defaults to dist/deviceHost.js of this installation. */
  script?: string;
  /** `ringkernel.enableP2P`, asked whenever the host (re)starts; default on. setPeerAccess changes a running host. */
  peerAccess?: () => boolean;
  /** WebGPU: the device instance of the adapter this host opens (webgpu:N is instance N); default 0. */
  instance?: number;
  /**
   * CUDA: with ringkernel.cuda.instancesPerDevice above 1, that count; the host then serves the one
   * CUDA device `instance` (cuda:N), a process and CUDA context of its own. Unset: every GPU.
   */
  cudaInstancesPerDevice?: number;
}

interface Pending {
  op: HostOperation;
  what: string;
  resolve(value: unknown): void;
  reject(error: GpuError): void;
  timer: NodeJS.Timeout;
  /** Starts a fresh watchdog timer (on start, and on every progress report). */
  watchdog(): NodeJS.Timeout;
  /** For a steps batch: its kernel's label, a candidate culprit when a step watchdog fires. */
  kernel?: string;
  /** When it was sent or last reported progress (performance.now()). */
  lastProgress: number;
}

/** A kernel whose step may have hung; `request` when it is a steps request. */
interface Suspect {
  kernel: string;
  since: number;
  request?: number;
}

interface RunningLoop {
  kernel: string;
  listener: LoopListener;
  limitMs: number;
  /** Armed once the host accepted the loop; re-armed by every loopProgress. */
  timer: NodeJS.Timeout | undefined;
  lastProgress: number;
}

/** A pipelined state export's progress: the first `ready` bytes of its region are written. */
export type StateChunkListener = (transfer: number, ready: number) => void;

/** Said once per server process: which way bulk bytes travel here. */
let modeLogged = false;

/** The bytes a host answered with: inline, or in the region lent for the request (and nowhere else). */
function answeredBytes(
  data: Payload,
  lease: RegionLease | undefined,
  bytes: number,
  what: string,
): Uint8Array | RegionLease {
  if (!isRegionRef(data)) {
    if (data instanceof Uint8Array) return data;
  } else if (lease?.owns(data) && data.bytes === bytes) return lease;
  throw new GpuError(
    'DRIVER_ERROR',
    `device host answered ${what} with ${JSON.stringify(data)?.slice(0, 160) ?? 'nothing'}, not its ${bytes} bytes (inline or in the region it was lent)`,
  );
}

/** What a loop sent (and which delivered inboxes it consumed); the router's wiring listens. */
export type LoopMessagesListener = (batch: HostLoopMessages, generation: number) => void;

export class DeviceHost implements KernelHost {
  private child: ChildProcess | undefined;
  /** The current process's message rings (messageRing.ts); none where shared memory cannot be mapped. */
  private rings: HostRings | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly loops = new Map<number, RunningLoop>();
  private nextId = 1;
  private lastLoopId = 0;
  private disposed = false;
  private readonly restartListeners = new Set<RestartListener>();
  private readonly messageListeners = new Set<LoopMessagesListener>();
  private readonly chunkListeners = new Set<StateChunkListener>();
  /** Set until a readSoon's request is sent: requests asked for after it wait, so they reach the host after it (see readSoon). */
  private soonUnsent: Promise<void> | undefined;
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

  /**
   * Hears every loop's sent messages, whichever kernel runs it. A step's `outbox` may be a view of
   * the host's message ring (messageRing.ts): valid only during the call, copy what must outlive it.
   */
  onLoopMessages(listener: LoopMessagesListener): { dispose(): void } {
    this.messageListeners.add(listener);
    return { dispose: () => this.messageListeners.delete(listener) };
  }

  /** Hears the progress of this host's pipelined state exports (exportState with a transfer id). */
  onStateChunk(listener: StateChunkListener): { dispose(): void } {
    this.chunkListeners.add(listener);
    return { dispose: () => this.chunkListeners.delete(listener) };
  }

  /**
   * Tells this host's pipelined import `transfer` that the first `ready` bytes of its region are
   * written (or, with `failed`, that no more will come). False when no host process runs.
   */
  announceStateChunk(transfer: number, ready: number, failed?: string): boolean {
    const child = this.child;
    if (this.disposed || !child?.connected) return false;
    const message: StateChunkReady = {
      kind: 'stateChunk',
      transfer,
      ready,
      ...(failed !== undefined ? { failed } : {}),
    };
    child.send(message);
    return true;
  }

  /**
   * Puts an inbox in kernel `kernel`'s mailbox in the host, for its next step (see HostDeliver).
   * False when no host process runs (none started yet, or shut down): nothing was sent. The
   * inbox's bytes are copied before it returns (into the ring, or the IPC message, which Node
   * serialises at once): the caller may reuse them.
   */
  deliver(kernel: number, inbox: InboxDelivery): boolean {
    const child = this.child;
    if (this.disposed || !child?.connected) return false;
    // The bytes go through the ring when it has room; the message naming them keeps the channel's order.
    const span = inbox.count > 0 ? this.rings?.toHost.write(inbox.slots) : undefined;
    const message: HostDeliver = span
      ? { kind: 'deliver', kernel, span, count: inbox.count }
      : { kind: 'deliver', kernel, inbox };
    child.send(message);
    return true;
  }

  /** The inboxes delivered to `kernel` that no step consumed, taken out of the host. */
  takeMailbox(kernel: number): Promise<{ inboxes: InboxDelivery[] }> {
    return this.call('takeMailbox', { kernel });
  }

  /** The step loops the host process runs now (its own account, not this supervisor's). */
  runningLoops(): Promise<{ loops: HostLoopInfo[] }> {
    return this.call('runningLoops', {});
  }

  devices(): Promise<DeviceInfo[]> {
    return this.call('devices', {});
  }
  /** Turns peer access on or off in a running host; a host not started yet reads `peerAccess` when it starts. */
  setPeerAccess(enabled: boolean): Promise<null> {
    return this.child ? this.call('setPeerAccess', { enabled }) : Promise.resolve(null);
  }
  compile(device: number, source: KernelSource): Promise<CompiledKernelHandle> {
    return this.call('compile', { device, source });
  }
  releaseKernel(kernel: CompiledKernelHandle): Promise<null> {
    return this.call('releaseKernel', { kernel });
  }
  allocate(device: number, bytes: number, label: string): Promise<BufferHandle> {
    return this.call('allocate', { device, bytes, label });
  }
  free(buffer: BufferHandle): Promise<null> {
    return this.call('free', { buffer });
  }
  /** Large writes go through a shared-memory region lent for the request (bulkTransfer.ts). */
  async write(buffer: BufferHandle, offset: number, data: Uint8Array): Promise<Timing> {
    if (data.byteLength < BULK_THRESHOLD_BYTES) return this.call('write', { buffer, offset, data });
    const lease = await this.regions().take(data.byteLength);
    try {
      lease.region.write(data);
      return await this.call('write', { buffer, offset, data: lease.ref(data.byteLength) });
    } finally {
      lease.release();
    }
  }

  /** The server's shared-memory regions; the first use says in the log which way bytes travel. */
  private regions(): TransferRegions {
    if (!modeLogged) {
      modeLogged = true;
      this.options.log?.info(`bulk transfers to and from device hosts: ${TransferRegions.mode()}`);
    }
    return transferRegions();
  }

  /** A region for a large transfer of `bytes`, else none (it travels inline). */
  private async lend(bytes: number): Promise<RegionLease | undefined> {
    return bytes >= BULK_THRESHOLD_BYTES ? this.regions().take(bytes) : undefined;
  }
  /**
   * Reads device memory. `into` (exactly `bytes` long) receives large reads, so a caller that
   * reads the same size again and again (checkpoints) reuses memory already paged in.
   */
  read(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }> {
    return this.receive('read', buffer, offset, bytes, into);
  }

  /**
   * A read whose copy is queued on the device before anything sent after this call, and whose
   * reply waits for that copy only (see hostProtocol's readSoon): a checkpoint taken just before
   * the next version starts arrives even if that version hangs.
   */
  readSoon(
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
  ): Promise<{ data: Uint8Array; timing: Timing }> {
    // Its region is lent after an await, so without this the requests made right after the call
    // (a reload's swap and the new version's startLoop) could reach the host first. Found by fault
    // injection: a reload's checkpoint then held the state after the new version's first step under
    // the step before it, and a recovery from it ran that step twice (docs/reliability.md).
    const before = this.soonUnsent;
    let sent = (): void => undefined;
    const unsent = new Promise<void>((resolve) => (sent = resolve));
    this.soonUnsent = unsent;
    void unsent.then(() => {
      if (this.soonUnsent === unsent) this.soonUnsent = undefined;
    });
    const lending = (before ?? Promise.resolve()).then(() => this.lend(bytes));
    return this.receive('readSoon', buffer, offset, bytes, into, { lending, sent });
  }

  private async receive(
    op: 'read' | 'readSoon',
    buffer: BufferHandle,
    offset: number,
    bytes: number,
    into?: Uint8Array,
    /** A readSoon's region on its way, and what to call once its request is sent (or never will be). */
    ordered?: { lending: Promise<RegionLease | undefined>; sent(): void },
  ): Promise<{ data: Uint8Array; timing: Timing }> {
    let lease: RegionLease | undefined;
    let reply: Promise<HostOperations['read']['result']>;
    try {
      lease = await (ordered?.lending ?? this.lend(bytes));
      const args = { buffer, offset, bytes, ...(lease ? { into: lease.ref(bytes) } : {}) };
      reply = ordered ? this.send(op, args) : this.call(op, args);
    } catch (error) {
      lease?.release();
      throw error;
    } finally {
      ordered?.sent();
    }
    try {
      const result = await reply;
      const answered = answeredBytes(result.data, lease, bytes, `a ${op} of ${bytes} bytes`);
      if (!(answered instanceof Uint8Array)) {
        // Out of the region into the caller's reused memory (or, without it, memory of its own).
        const data = into && into.byteLength === bytes ? into : new Uint8Array(bytes);
        answered.region.read(data);
        return { data, timing: result.timing };
      }
      // IPC may hand back a view into a larger, unaligned buffer; callers want one they can view as words.
      const ownsBuffer = answered.byteOffset === 0 && answered.byteLength === answered.buffer.byteLength;
      return { data: ownsBuffer ? answered : new Uint8Array(answered), timing: result.timing };
    } finally {
      lease?.release();
    }
  }
  /**
   * Reads only `ranges` of a buffer, in one copy through the host's reused staging memory, at a
   * step boundary of its loops (the request waits its turn between two steps, it stops nothing).
   * Each range's bytes are a view of one fresh array.
   */
  async readRanges(buffer: BufferHandle, ranges: readonly BufferRange[], loop?: number): Promise<RangesRead> {
    const list = ranges.map(({ offset, length }) => ({ offset, length }));
    const expected = list.reduce((sum, range) => sum + range.length, 0);
    const lease = await this.lend(expected);
    let owned: Uint8Array;
    let result: { data: Payload; step?: number; timing: Timing };
    try {
      result = await this.call('readRanges', {
        buffer,
        ranges: list,
        ...(loop !== undefined ? { loop } : {}),
        ...(lease ? { into: lease.ref(expected) } : {}),
      });
      const answered =
        result.data instanceof Uint8Array && result.data.byteLength !== expected
          ? undefined
          : answeredBytes(result.data, lease, expected, `a read of ${list.length} range(s)`);
      if (!answered)
        throw new GpuError(
          'DRIVER_ERROR',
          `${this.backend} device host: a read of ${list.length} range(s) returned ${(result.data as Uint8Array).byteLength} bytes, not ${expected}`,
        );
      // One copy, so the ranges may be viewed as words whatever the IPC's alignment.
      owned = new Uint8Array(expected);
      if (answered instanceof Uint8Array) owned.set(answered);
      else answered.region.read(owned);
    } finally {
      lease?.release();
    }
    let at = 0;
    const bytes = list.map(({ length }) => owned.subarray(at, (at += length)));
    return { bytes, ...(result.step !== undefined ? { step: result.step } : {}), timing: result.timing };
  }
  copy(source: BufferHandle, destination: BufferHandle, bytes: number): Promise<Timing> {
    return this.call('copy', { source, destination, bytes });
  }
  /**
   * Writes a buffer into the shared-memory region `region` and hashes it, in the host (hostProtocol's
   * exportState); with `transfer`, onStateChunk listeners hear each chunk.
   */
  exportState(
    buffer: BufferHandle,
    bytes: number,
    region: RegionRef,
    transfer?: number,
    blockBytes?: number,
  ): Promise<StateTransferResult> {
    return this.call('exportState', {
      buffer,
      bytes,
      region,
      ...(transfer !== undefined ? { transfer } : {}),
      ...(blockBytes !== undefined ? { blockBytes } : {}),
    });
  }
  /** A buffer's CUDA IPC handle for another CUDA host (a device-to-device migration's source). */
  exportDeviceState(buffer: BufferHandle, bytes: number): Promise<DeviceStateExport> {
    return this.call('exportDeviceState', { buffer, bytes });
  }

  /** Another CUDA host's exported buffer into `buffer`, device to device; with `verify`, hashed after. */
  importDeviceState(
    buffer: BufferHandle,
    bytes: number,
    from: DeviceStateExport,
    verify: boolean,
  ): Promise<DeviceStateImport> {
    return this.call('importDeviceState', { buffer, bytes, from, verify });
  }

  /** `source` into `destination`, both this host's, device to device; with `verify`, the destination hashed. */
  copyState(
    source: BufferHandle,
    destination: BufferHandle,
    bytes: number,
    verify: boolean,
  ): Promise<StateTransferResult> {
    return this.call('copyState', { source, destination, bytes, verify });
  }

  /** Readies the GPU digest kernel (or the CPU's hashing) for a device-to-device move into `buffer`. */
  prepareDeviceVerify(buffer: BufferHandle, bytes: number): Promise<{ onGpu: boolean; reason?: string }> {
    return this.call('prepareDeviceVerify', { buffer, bytes });
  }

  /** The SHA-256 of a buffer's first `bytes`, computed in the host. */
  hashState(buffer: BufferHandle, bytes: number): Promise<{ sha256: string; ms: number }> {
    return this.call('hashState', { buffer, bytes });
  }

  /** Readies `buffer` and `region` for an import, before the kernel pauses (hostProtocol's prepareImport). */
  prepareImport(buffer: BufferHandle, bytes: number, region: RegionRef, verify?: boolean): Promise<ImportVerifyPlan> {
    return this.call('prepareImport', { buffer, bytes, region, ...(verify !== undefined ? { verify } : {}) });
  }
  /** Readies the host's hashing threads for an export, before the kernel pauses (hostProtocol's prepareExport). */
  prepareExport(): Promise<null> {
    return this.call('prepareExport', {});
  }
  /**
   * Fills a buffer from `region`; with `verify`, hashes what the device then holds (hostProtocol's
   * importState); with `transfer`, each chunk once announceStateChunk says it is there.
   */
  importState(
    buffer: BufferHandle,
    bytes: number,
    region: RegionRef,
    verify: boolean,
    transfer?: number,
    deviceBlockBytes?: number,
  ): Promise<StateTransferResult> {
    return this.call('importState', {
      buffer,
      bytes,
      region,
      verify,
      ...(transfer !== undefined ? { transfer } : {}),
      ...(deviceBlockBytes !== undefined ? { deviceBlockBytes } : {}),
    });
  }

  /** WebGPU: the adapter instance this host opens. */
  get instance(): number {
    return this.options.instance ?? 0;
  }
  compileLogs(device: number, code: string): Promise<{ errorLog: string; infoLog: string }> {
    return this.call('compileLogs', { device, code });
  }
  /** Runs `count` steps in the host; the watchdog allows `timeoutMs` per step without progress. */
  steps(batch: StepBatch, timeoutMs?: number): Promise<StepOutcome[]> {
    return this.call('steps', batch, timeoutMs);
  }

  /** A loop id not used before by this DeviceHost (ids stay unique across restarts too). */
  nextLoopId(): number {
    return ++this.lastLoopId;
  }

  /**
   * Starts stepping a kernel continuously inside the host from `control.step` (see stepLoop.ts).
   * Resolves once the host accepted it; `listener` hears its progress and a failed step. From
   * then on, `stepTimeoutMs + 1000 / rateHz` ms without progress restarts the host, naming the
   * kernel. A restart forgets every loop: their listeners hear nothing more (onRestart says why).
   */
  async startLoop(
    loop: number,
    launch: StepLaunch,
    control: ControlBlock,
    rateHz: number,
    listener: LoopListener,
  ): Promise<void> {
    if (this.loops.has(loop))
      throw new GpuError('INVALID_ARGUMENT', `loop ${loop} is already running in the ${this.backend} device host`);
    const limitMs = Math.ceil((this.options.stepTimeoutMs ?? 5_000) + (rateHz > 0 ? 1000 / rateHz : 0));
    // Registered before sending: the first loopProgress may follow the answer closely.
    const running: RunningLoop = {
      kernel: launch.kernel.label,
      listener,
      limitMs,
      timer: undefined,
      lastProgress: performance.now(),
    };
    this.loops.set(loop, running);
    try {
      await this.call('startLoop', { loop, launch, control, rateHz });
    } catch (error) {
      if (this.loops.get(loop) === running) this.loops.delete(loop);
      throw error;
    }
    // Gone already when the host restarted or the first step failed before the answer came.
    if (this.loops.get(loop) !== running) return;
    running.lastProgress = performance.now();
    this.armLoop(running);
  }

  /** Stops a loop at a step boundary; resolves with its next step number (the steps it completed). */
  async stopLoop(loop: number): Promise<{ step: number }> {
    // The loop keeps its watchdog until the host answers: a hung step delays the answer.
    const result = await this.call('stopLoop', { loop });
    this.forgetLoop(loop);
    return result;
  }

  call<K extends HostOperation>(
    op: K,
    args: HostOperations[K]['args'],
    timeoutMs?: number,
  ): Promise<HostOperations[K]['result']> {
    // Behind a readSoon whose request is not sent yet (waiting for its region): after it, in order.
    const unsent = this.soonUnsent;
    if (unsent) return unsent.then(() => this.send(op, args, timeoutMs));
    return this.send(op, args, timeoutMs);
  }

  /** Sends a request now (call() keeps the order readSoon promises). */
  private send<K extends HostOperation>(
    op: K,
    args: HostOperations[K]['args'],
    timeoutMs?: number,
  ): Promise<HostOperations[K]['result']> {
    if (this.disposed)
      return Promise.reject(new GpuError('HOST_EXITED', `the ${this.backend} device host was shut down`));
    const child = this.ensureStarted();
    const id = this.nextId++;
    // Read defensively: a malformed batch must fail in the host with an answer, not throw here.
    const kernel =
      op === 'steps'
        ? String((args as Partial<StepBatch> | undefined)?.launch?.kernel?.label ?? '(unnamed)')
        : undefined;
    const what = kernel !== undefined ? `step of kernel "${kernel}"` : `${op}`;
    const limit =
      timeoutMs ?? (op === 'steps' ? (this.options.stepTimeoutMs ?? 5_000) : (this.options.requestTimeoutMs ?? 60_000));
    return new Promise((resolve, reject) => {
      const watchdog = (): NodeJS.Timeout =>
        setTimeout(() => {
          if (kernel !== undefined) {
            this.blameHungStep({ kernel, since: this.pending.get(id)?.lastProgress ?? 0, request: id }, limit);
            return;
          }
          const message =
            `${this.backend} device host: ${what} did not finish within ${limit} ms; the host was killed and is restarting ` +
            '(a kernel with an endless loop, or a hung driver)';
          this.restart(message, new GpuError('WATCHDOG_TIMEOUT', message), { request: id });
        }, limit);
      this.pending.set(id, {
        op,
        what,
        resolve: resolve,
        reject,
        timer: watchdog(),
        watchdog,
        ...(kernel !== undefined ? { kernel } : {}),
        lastProgress: performance.now(),
      });
      const request: HostRequest<K> = { kind: 'request', id, op, args };
      child.send(request, (error) => {
        if (error)
          this.settle(
            id,
            new GpuError('HOST_EXITED', `${this.backend} device host: could not send ${what}: ${error.message}`),
          );
      });
    });
  }

  private ensureStarted(): ChildProcess {
    if (this.child) return this.child;
    // What a killed server left in shared memory is nobody's to read any more (transferRegions()
    // removes it when this process's pool is made, before the first host starts).
    transferRegions();
    const script = this.options.script ?? bundlePath('deviceHost.js');
    const peerAccess = this.options.peerAccess?.() ?? true;
    this.rings?.dispose();
    this.rings = createHostRings();
    const child = fork(
      script,
      [
        this.backend,
        String(this.instance),
        ...(peerAccess ? [] : [NO_PEER_ACCESS_ARGUMENT]),
        ...(this.backend === 'cuda' && this.options.cudaInstancesPerDevice !== undefined
          ? [`${CUDA_INSTANCES_ARGUMENT}=${this.options.cudaInstancesPerDevice}`]
          : []),
        ...(this.rings ? [this.rings.argument] : []),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'advanced',
        execArgv: [],
      },
    );
    this.child = child;
    this.generation++;
    // The last lines the host printed: a host that dies says why in its error, not only in a log nobody reads.
    const lastOutput: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) {
          if (!line.trim()) continue;
          this.options.log?.debug(`[${this.backend} host] ${line}`);
          lastOutput.push(line.trim());
          if (lastOutput.length > 6) lastOutput.shift();
        }
      });
    }
    child.on('message', (message: HostMessage) => {
      if (child !== this.child) return;
      if (message.kind === 'diagnostic') this.options.log?.warn(`[${this.backend} host] ${message.message}`);
      else if (message.kind === 'progress') this.rearm(message.id);
      else if (message.kind === 'loopProgress')
        this.loopProgress(message.loop, {
          kind: 'progress',
          step: message.step,
          messages: message.messages,
          dropped: message.dropped,
        });
      else if (message.kind === 'loopFailed')
        this.loopFailed(message.loop, message.step, GpuError.fromData(message.error));
      else if (message.kind === 'loopMessages') this.loopMessages(message);
      else if (message.kind === 'stateChunk') {
        for (const listener of this.chunkListeners) listener(message.transfer, message.ready);
      } else if (message.ok) this.settle(message.id, undefined, message.result);
      else this.settle(message.id, GpuError.fromData(message.error));
    });
    child.on('exit', (code, signal) => {
      if (child !== this.child) return;
      const printed = lastOutput.length > 0 ? `; its last output: ${lastOutput.join(' | ').slice(0, 600)}` : '';
      const reason = `${this.backend} device host exited unexpectedly (${signal ?? `code ${code}`})${printed}`;
      this.restart(
        reason,
        new GpuError('HOST_EXITED', `${reason}; it is restarting`),
        code === KERNEL_FAULT_EXIT_CODE ? { kernelFault: true } : {},
      );
    });
    child.on('error', (error) => this.options.log?.error(`${this.backend} device host: ${error.message}`));
    return child;
  }

  private rearm(id: number): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.timer = pending.watchdog();
    pending.lastProgress = performance.now();
  }

  private armLoop(running: RunningLoop): void {
    clearTimeout(running.timer);
    running.timer = setTimeout(
      () => this.blameHungStep({ kernel: running.kernel, since: running.lastProgress }, running.limitMs),
      running.limitMs,
    );
  }

  private loopProgress(loop: number, event: LoopEvent): void {
    const running = this.loops.get(loop);
    if (!running) return;
    running.lastProgress = performance.now();
    // Before the host accepted the loop the watchdog is not armed yet; startLoop arms it.
    if (running.timer) this.armLoop(running);
    this.notify(running, event);
  }

  private loopMessages(batch: HostLoopMessages): void {
    // Outboxes sent through the ring become views of its pages for the listeners, released after them.
    let last: RingSpan | undefined;
    for (const sent of batch.steps) {
      if (sent.span === undefined) continue;
      try {
        if (!this.rings) throw new Error('this host was given no message ring');
        sent.outbox = this.rings.toServer.read(sent.span);
        last = sent.span;
      } catch (error) {
        // A malformed batch: its messages are not routed, and the router counts them as the
        // sender's overflow (an absent outbox), never silently gone.
        this.options.log?.error(
          `${this.backend} device host: kernel ${batch.kernel}'s step ${sent.step} sent ${sent.sent} messages that cannot be read: ${errorMessage(error)}`,
        );
      }
      delete sent.span;
    }
    try {
      for (const listener of this.messageListeners) {
        try {
          listener(batch, this.generation);
        } catch (error) {
          this.options.log?.error(
            `${this.backend} device host: a listener of kernel ${batch.kernel}'s messages threw: ${errorMessage(error)}`,
          );
        }
      }
    } finally {
      if (last) this.rings?.toServer.release(last);
    }
  }

  private loopFailed(loop: number, step: number, error: GpuError): void {
    const running = this.loops.get(loop);
    if (!running) return;
    this.forgetLoop(loop);
    this.notify(running, { kind: 'failed', step, error });
  }

  private notify(running: RunningLoop, event: LoopEvent): void {
    try {
      running.listener(event);
    } catch (error) {
      this.options.log?.error(
        `${this.backend} device host: a listener of kernel "${running.kernel}"'s loop threw: ${errorMessage(error)}`,
      );
    }
  }

  private forgetLoop(loop: number): void {
    const running = this.loops.get(loop);
    if (!running) return;
    clearTimeout(running.timer);
    this.loops.delete(loop);
  }

  /**
   * A step watchdog fired (a loop's, or a steps request's: `firing`, silent since `since` for
   * `limitMs`). Loops of one host share its queue (and on CUDA a device's stream), so a hung step
   * can stall its neighbours too; the one silent longest hung first and is blamed.
   */
  private blameHungStep(firing: Suspect, limitMs: number): void {
    let oldest = firing;
    for (const running of this.loops.values()) {
      if (running.timer && running.lastProgress < oldest.since)
        oldest = { kernel: running.kernel, since: running.lastProgress };
    }
    for (const [id, pending] of this.pending) {
      if (pending.kernel !== undefined && pending.lastProgress < oldest.since)
        oldest = { kernel: pending.kernel, since: pending.lastProgress, request: id };
    }
    const silentMs = oldest === firing ? limitMs : Math.max(limitMs, Math.floor(performance.now() - oldest.since));
    // A steps request keeps the message it always had ("step of kernel ... did not finish within").
    const what =
      oldest.request !== undefined
        ? `step of kernel "${oldest.kernel}" did not finish within ${silentMs} ms`
        : `kernel "${oldest.kernel}" did not finish a step within ${silentMs} ms`;
    const reason = `${this.backend} device host: ${what}; the host was killed and is restarting (an endless loop in the kernel, or a hung driver)`;
    this.restart(reason, new GpuError('WATCHDOG_TIMEOUT', reason), {
      culprit: oldest.kernel,
      ...(oldest.request !== undefined ? { request: oldest.request } : {}),
    });
  }

  private settle(id: number, error: GpuError | undefined, result?: unknown): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(result);
  }

  /**
   * Kills the current process, fails what it held, forgets its loops, and starts a fresh one.
   * With no one to blame, every pending request fails with `error` (the host died under all of
   * them); otherwise only `blame.request` (if any) does and the others are told the host restarted.
   */
  private restart(
    reason: string,
    error: GpuError,
    blame: { request?: number; culprit?: string; kernelFault?: true } = {},
  ): void {
    const old = this.child;
    this.child = undefined;
    old?.kill('SIGKILL');
    this.rings?.dispose();
    this.rings = undefined;
    this.options.log?.warn(reason);
    for (const loop of [...this.loops.keys()]) this.forgetLoop(loop);
    for (const id of [...this.pending.keys()]) {
      const pending = this.pending.get(id);
      const own =
        (blame.request === undefined && blame.culprit === undefined) || id === blame.request
          ? error
          : new GpuError(
              'HOST_EXITED',
              `${this.backend} device host was restarted while ${pending?.what ?? 'a request'} waited: ${reason}`,
            );
      this.settle(id, own);
    }
    if (this.disposed) return;
    this.ensureStarted();
    const event = {
      generation: this.generation,
      reason,
      ...(blame.culprit !== undefined ? { culprit: blame.culprit } : {}),
      ...(blame.kernelFault ? { kernelFault: true as const } : {}),
    };
    for (const listener of this.restartListeners) listener(event);
  }

  dispose(): void {
    this.disposed = true;
    const child = this.child;
    this.child = undefined;
    for (const loop of [...this.loops.keys()]) this.forgetLoop(loop);
    for (const id of [...this.pending.keys()])
      this.settle(id, new GpuError('HOST_EXITED', `the ${this.backend} device host was shut down`));
    child?.kill('SIGKILL');
    this.rings?.dispose();
    this.rings = undefined;
  }
}
