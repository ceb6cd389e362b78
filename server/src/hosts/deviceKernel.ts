// A kernel living in a device host: its compiled entry point and its four ABI buffers, stepped
// one dispatch (or launch) at a time by the host side, in batches the server asks for or in a
// continuous loop inside the host. Hot reload swaps the compiled entry point under the same
// buffers, so the state and the step number carry over to the new version.
import type { RegionRef } from './bulkTransfer';
import type { BufferHandle, CompiledKernelHandle, KernelSource, StepLaunch, Timing } from '../backends/backend';
import { GpuError } from '../backends/gpuError';
import type { KernelHost, LoopEvent } from './kernelHost';
import type {
  BufferRange,
  DeviceStateExport,
  DeviceStateImport,
  InboxDelivery,
  ImportVerifyPlan,
  StateTransferResult,
} from './hostProtocol';
import {
  CONTROL_BYTES,
  decodeOutbox,
  inboxBytes,
  outboxBytes,
  type ControlBlock,
  type OutboxMessage,
} from '../abi/kernelAbi';

export interface KernelPlacement {
  /** Position of the kernel among all running kernels; written into its control block. */
  index: number;
  device: number;
  stateBytes: number;
  grid: [number, number, number];
  block?: [number, number, number];
  inboxCapacity: number;
  outboxCapacity: number;
}

export interface StepResult {
  step: number;
  timing: Timing;
  messages: OutboxMessage[];
  dropped: number;
}

interface KernelBuffers {
  control: BufferHandle;
  state: BufferHandle;
  inbox: BufferHandle;
  outbox: BufferHandle;
}

export class DeviceKernel {
  private steps: number;
  private currentSource: KernelSource;
  private handle: CompiledKernelHandle;
  /** The running loop's id; undefined when the kernel is not looping. */
  private loop: number | undefined;
  /** The stop in progress, shared by concurrent stopLoop calls. */
  private stopping: Promise<number> | undefined;

  private constructor(
    private readonly host: KernelHost,
    source: KernelSource,
    readonly placement: KernelPlacement,
    handle: CompiledKernelHandle,
    private readonly buffers: KernelBuffers,
    /** The host process generation this kernel's handles belong to. */
    readonly generation: number,
    step: number,
  ) {
    this.currentSource = source;
    this.handle = handle;
    this.steps = step;
  }

  /**
   * Compiles the kernel on its device and allocates its buffers; the state starts zeroed and the
   * step counter at `options.step` (a restored checkpoint's step), else 0.
   */
  static async create(
    host: KernelHost,
    source: KernelSource,
    placement: KernelPlacement,
    options: { step?: number } = {},
  ): Promise<DeviceKernel> {
    const step = options.step ?? 0;
    checkStep(step);
    const handle = await host.compile(placement.device, source);
    const generation = host.generation;
    const allocated: BufferHandle[] = [];
    try {
      const allocate = async (bytes: number, role: string): Promise<BufferHandle> => {
        const buffer = await host.allocate(placement.device, bytes, `${source.label}.${role}`);
        allocated.push(buffer);
        return buffer;
      };
      const buffers = {
        control: await allocate(CONTROL_BYTES, 'control'),
        state: await allocate(placement.stateBytes, 'state'),
        inbox: await allocate(inboxBytes(placement.inboxCapacity), 'inbox'),
        outbox: await allocate(outboxBytes(placement.outboxCapacity), 'outbox'),
      };
      // The handle came from a process that died meanwhile: the buffers would live in the new one.
      if (host.generation !== generation)
        throw new GpuError(
          'HOST_EXITED',
          `the ${host.backend} device host restarted while kernel "${source.label}" was being created`,
        );
      return new DeviceKernel(host, source, placement, handle, buffers, generation, step);
    } catch (error) {
      if (host.generation === generation)
        await Promise.allSettled([...allocated.map((b) => host.free(b)), host.releaseKernel(handle)]);
      throw error;
    }
  }

  /** Steps completed (the next step's number); follows a running loop through its progress. */
  get stepCount(): number {
    return this.steps;
  }

  /** The current version's source. */
  get source(): KernelSource {
    return this.currentSource;
  }

  /** False once the host process the kernel lived in was restarted: its handles are gone. */
  get alive(): boolean {
    return this.host.generation === this.generation;
  }

  get looping(): boolean {
    return this.loop !== undefined && this.alive;
  }

  /** Sets the step counter (restoring a checkpoint into a fresh kernel); not while looping. */
  setStepCount(step: number): void {
    this.assertNotLooping('set its step count');
    checkStep(step);
    this.steps = step;
  }

  /** Runs one step: `inbox` and the control block in, dispatch, the outbox drained. */
  async step(timeoutMs?: number, inbox?: InboxDelivery): Promise<StepResult> {
    const [result] = await this.run(1, timeoutMs, inbox);
    if (!result) throw new Error('the device host returned no step');
    return result;
  }

  /**
   * Runs `count` steps back to back in the device host (one IPC round trip for all of them).
   * Handle ids restart with each host process, so a dead kernel must not send them.
   */
  async run(count: number, timeoutMs?: number, inbox?: InboxDelivery): Promise<StepResult[]> {
    this.assertNotLooping('run steps on request');
    this.assertAlive();
    const { placement } = this;
    if (inbox && inbox.count > Math.max(0, placement.inboxCapacity)) {
      throw new RangeError(
        `kernel "${this.currentSource.label}": ${inbox.count} messages do not fit its inbox of ${placement.inboxCapacity} slots`,
      );
    }
    const outcomes = await this.host.steps(
      { launch: this.launch(), control: this.control(), count, ...(inbox && inbox.count > 0 ? { inbox } : {}) },
      timeoutMs,
    );
    this.steps += outcomes.length;
    return outcomes.map(({ step, timing, outbox, sent }) =>
      outbox
        ? { step, timing, ...decodeOutbox(outbox, placement.outboxCapacity) }
        : { step, timing, messages: [], dropped: sent ?? 0 },
    );
  }

  /**
   * Starts stepping continuously inside the host at `rateHz` (0: as fast as it goes), from the
   * current step count. Resolves once the host accepted the loop; `listener` hears its progress
   * (the first right after the first step) and a failed step, which ends the loop.
   */
  async startLoop(rateHz: number, listener: (event: LoopEvent) => void): Promise<void> {
    this.assertNotLooping('start another loop');
    this.assertAlive();
    const loop = this.host.nextLoopId();
    // Set before the request goes out, so run() and swap() are refused from now on.
    this.loop = loop;
    const onEvent = (event: LoopEvent): void => {
      if (this.loop !== loop) return;
      this.steps = event.step;
      if (event.kind === 'failed') this.loop = undefined;
      listener(event);
    };
    try {
      await this.host.startLoop(loop, this.launch(), this.control(), rateHz, onEvent);
    } catch (error) {
      if (this.loop === loop) this.loop = undefined;
      throw error;
    }
  }

  /**
   * Stops the loop at a step boundary (the step in flight finishes) and returns the steps
   * completed, which becomes the step count. Without a loop, returns the step count.
   */
  stopLoop(): Promise<number> {
    if (this.stopping) return this.stopping;
    const loop = this.loop;
    if (loop === undefined) return Promise.resolve(this.steps);
    this.assertAlive();
    this.stopping = (async () => {
      try {
        const { step } = await this.host.stopLoop(loop);
        this.steps = step;
        this.loop = undefined;
        return step;
      } finally {
        this.stopping = undefined;
      }
    })();
    return this.stopping;
  }

  /** Compiles another version on the kernel's device; the loop may keep running meanwhile. */
  compileVersion(source: KernelSource): Promise<CompiledKernelHandle> {
    this.assertAlive();
    return this.host.compile(this.placement.device, source);
  }

  /**
   * Makes `handle` (from compileVersion) the kernel's code from the next step on, with the same
   * buffers (state, step count, mailboxes carry over). Only while not looping, so no step runs
   * half on each version. Returns the previous handle, for the caller to release or keep.
   */
  swap(handle: CompiledKernelHandle, source: KernelSource): CompiledKernelHandle {
    this.assertNotLooping('swap its code');
    if (handle.device !== this.placement.device) {
      throw new Error(
        `kernel "${this.currentSource.label}": the new version was compiled for device ${handle.device}, the kernel lives on device ${this.placement.device}`,
      );
    }
    const old = this.handle;
    this.handle = handle;
    this.currentSource = source;
    return old;
  }

  /** Releases a version's compiled code (a swapped-out or unused one), never the current one. */
  async releaseHandle(handle: CompiledKernelHandle): Promise<void> {
    if (handle.id === this.handle.id)
      throw new Error(`kernel "${this.currentSource.label}": cannot release the version it is running`);
    // Its process is gone, and with it the code; the id may name something else in the new one.
    if (!this.alive) return;
    await this.host.releaseKernel(handle);
  }

  /** The state; large states land in `into` when given (stateBytes long), small ones in fresh memory. */
  async readState(into?: Uint8Array): Promise<Uint8Array> {
    this.assertAlive();
    return (await this.host.read(this.buffers.state, 0, this.placement.stateBytes, into)).data;
  }

  /**
   * The state as it is now, read with the host's readSoon: the copy is queued ahead of anything
   * requested after this call (a swap, the next loop), and the reply does not wait for those.
   */
  readStateSoon(into?: Uint8Array): Promise<Uint8Array> {
    this.assertAlive();
    return this.host.readSoon(this.buffers.state, 0, this.placement.stateBytes, into).then((result) => result.data);
  }

  /**
   * Only `ranges` of the state, at a step boundary, with the steps completed then. A running loop
   * is not stopped: the read waits in the host's queue for the step in flight, and the host says
   * the loop's step number at that boundary.
   */
  async readStateRanges(ranges: readonly BufferRange[]): Promise<{ step: number; bytes: Uint8Array[] }> {
    this.assertAlive();
    const { stateBytes } = this.placement;
    for (const { offset, length } of ranges) {
      if (
        !Number.isSafeInteger(offset) ||
        !Number.isSafeInteger(length) ||
        offset < 0 ||
        length < 0 ||
        offset % 4 !== 0 ||
        length % 4 !== 0 ||
        offset + length > stateBytes
      ) {
        throw new Error(
          `kernel "${this.currentSource.label}": the range at ${offset} of ${length} bytes is not whole 32-bit words within its ${stateBytes}-byte state`,
        );
      }
    }
    const loop = this.loop;
    const read = await this.host.readRanges(this.buffers.state, ranges, loop);
    return { step: read.step ?? this.steps, bytes: read.bytes };
  }

  /**
   * The state into the shared-memory region `region`, hashed in the host (migration's checkpoint);
   * with `transfer`, its host announces each chunk (a pipelined transfer); `blockBytes`, the
   * digest's block size (the importer's, when it digests on its device).
   */
  exportState(region: RegionRef, transfer?: number, blockBytes?: number): Promise<StateTransferResult> {
    this.assertAlive();
    this.assertNotLooping('export its state');
    return this.host.exportState(this.buffers.state, this.placement.stateBytes, region, transfer, blockBytes);
  }

  /**
   * Readies this kernel's state buffer and `region` for importState, where its host can (migration's
   * prepare); with `verify`, how the import will verify (a host that cannot say: on the CPU).
   */
  async prepareImport(region: RegionRef, verify = true): Promise<ImportVerifyPlan | undefined> {
    this.assertAlive();
    return (
      (await this.host.prepareImport?.(this.buffers.state, this.placement.stateBytes, region, verify)) ?? undefined
    );
  }

  /** Readies this kernel's host for exportState, where it can (migration's prepare, on the source). */
  async prepareExport(): Promise<void> {
    this.assertAlive();
    await this.host.prepareExport?.();
  }

  /**
   * The state from `region`; with `verify`, the SHA-256 of what the device then holds (migration's
   * restore); with `transfer`, chunk by chunk as the exporter announces them; with
   * `deviceBlockBytes` (the prepare's plan said so), the verify's digests computed on the device.
   */
  importState(
    region: RegionRef,
    verify: boolean,
    transfer?: number,
    deviceBlockBytes?: number,
  ): Promise<StateTransferResult> {
    this.assertAlive();
    this.assertNotLooping('import a state');
    return this.host.importState(
      this.buffers.state,
      this.placement.stateBytes,
      region,
      verify,
      transfer,
      deviceBlockBytes,
    );
  }

  /**
   * Device-to-device migration (CUDA hosts): this kernel's quiesced state as a CUDA IPC handle for
   * another host; the state must stay as it is until that host has copied it.
   */
  exportDeviceState(): Promise<DeviceStateExport> {
    this.assertAlive();
    this.assertNotLooping('export its state');
    const exportState = this.host.exportDeviceState?.bind(this.host);
    if (!exportState) throw new Error(`the ${this.host.backend} device host cannot export a state device to device`);
    return exportState(this.buffers.state, this.placement.stateBytes);
  }

  /** Device-to-device migration: the state from another host's export (`from`); with `verify`, its SHA-256 after. */
  importDeviceState(from: DeviceStateExport, verify: boolean): Promise<DeviceStateImport> {
    this.assertAlive();
    this.assertNotLooping('import a state');
    const importState = this.host.importDeviceState?.bind(this.host);
    if (!importState) throw new Error(`the ${this.host.backend} device host cannot import a state device to device`);
    return importState(this.buffers.state, this.placement.stateBytes, from, verify);
  }

  /** Device-to-device migration within one host: `source`'s state into this kernel's; with `verify`, hashed after. */
  copyStateFrom(source: DeviceKernel, verify: boolean): Promise<StateTransferResult> {
    this.assertAlive();
    this.assertNotLooping('import a state');
    const copyState = this.host.copyState?.bind(this.host);
    if (source.host !== this.host || !copyState)
      throw new Error(`kernel "${this.currentSource.label}": a state is copied within one device host only`);
    return copyState(source.buffers.state, this.buffers.state, this.placement.stateBytes, verify);
  }

  /**
   * Before a device-to-device move into this kernel pauses its source: the digest kernel loaded and
   * run once on this kernel's GPU (loaded on its host's other GPUs too); `onGpu` false where it
   * cannot (the verify hashes on the CPU).
   */
  async prepareDeviceVerify(): Promise<{ onGpu: boolean; reason?: string }> {
    this.assertAlive();
    const prepare = this.host.prepareDeviceVerify?.bind(this.host);
    if (prepare) return prepare(this.buffers.state, this.placement.stateBytes);
    await this.stateSha256();
    return { onGpu: false, reason: `the ${this.host.backend} device host has no GPU digests` };
  }

  /** The SHA-256 of the state, computed in the host (the bytes stay there). */
  stateSha256(): Promise<{ sha256: string; ms: number }> {
    this.assertAlive();
    const hash = this.host.hashState?.bind(this.host);
    if (!hash) throw new Error(`the ${this.host.backend} device host cannot hash a state`);
    return hash(this.buffers.state, this.placement.stateBytes);
  }

  /** The device host this kernel lives in. */
  get deviceHost(): KernelHost {
    return this.host;
  }

  async writeState(bytes: Uint8Array): Promise<void> {
    this.assertAlive();
    await this.host.write(this.buffers.state, 0, bytes);
  }

  /**
   * Stops a running loop first, so no step runs on freed buffers. A kernel whose host restarted
   * has nothing left to free (and its handle ids may name another kernel's buffers there now).
   */
  async release(): Promise<void> {
    if (!this.alive) return;
    if (this.looping) await this.stopLoop().catch(() => undefined);
    await Promise.allSettled([
      ...Object.values<BufferHandle>({ ...this.buffers }).map((b) => this.host.free(b)),
      this.host.releaseKernel(this.handle),
    ]);
  }

  private launch(): StepLaunch {
    const { placement } = this;
    return {
      kernel: this.handle,
      ...this.buffers,
      grid: placement.grid,
      ...(placement.block ? { block: placement.block } : {}),
    };
  }

  private control(): ControlBlock {
    return {
      step: this.steps,
      kernelIndex: this.placement.index,
      inboxCount: 0,
      outboxCapacity: this.placement.outboxCapacity,
    };
  }

  private assertNotLooping(what: string): void {
    if (this.looping)
      throw new Error(`kernel "${this.currentSource.label}" is stepping in a loop: stop the loop before you ${what}`);
  }

  private assertAlive(): void {
    if (!this.alive) {
      throw new GpuError(
        'HOST_EXITED',
        `kernel "${this.currentSource.label}" is gone: its ${this.host.backend} device host was restarted`,
      );
    }
  }
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0)
    throw new Error(`a step count must be a whole number from 0, not ${step}`);
}
