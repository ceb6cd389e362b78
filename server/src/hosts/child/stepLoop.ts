// Continuous step loops inside a device host: each running kernel steps at its manifest's rateHz
// (0: as fast as it goes) without an IPC round trip per step (0.1-0.3 ms, more than a small
// kernel's step). Loop work goes through the host's request queue in slices, so the server's
// requests (read the state, compile a new version, stop the loop) run between slices, in order,
// and every loop of a host (CUDA kernels share one) gets its turn: a slice re-enters the queue at
// its back once it yields. Each step takes its kernel's delivered inbox from the host's mailboxes.
// What a step sent and which inbox it consumed go to the server in one loopMessages (never one per
// message) as soon as the next step is on the device (so the send overlaps the GPU's work), or at
// the slice's end: a message's hop costs a step and an IPC trip, not a slice. While a loop's last
// loopMessages is still being written to the channel (the server reads slower than the loop
// sends), the following steps' batches are gathered into one.
import type { GpuBackend, StepLaunch } from '../../backends/backend';
import { GpuError } from '../../backends/gpuError';
import type { ControlBlock } from '../../abi/kernelAbi';
import type { HostLoopFailed, HostLoopInfo, HostLoopMessages, HostLoopProgress, SentStep } from '../hostProtocol';
import type { Mailboxes } from './mailboxes';
import type { SerialQueue } from './serialQueue';
import { runStep } from './stepRunner';

/** A slice runs steps back to back for about this long, then lets queued requests in. */
export const SLICE_MS = 10;
/** After a step, progress goes out at most this often: enough for the watchdog, cheap for the IPC. */
export const PROGRESS_INTERVAL_MS = 100;
/** A loop waiting between steps sends a heartbeat at least this often. */
export const HEARTBEAT_MS = 200;
/** How often the heartbeat timer looks; a loop silent for HEARTBEAT_MS - TICK_MS gets one. */
const TICK_MS = 50;

interface Loop {
  readonly id: number;
  readonly launch: StepLaunch;
  readonly control: ControlBlock;
  readonly rateHz: number;
  /** The next step number. */
  step: number;
  running: boolean;
  /** One of this loop's steps is on the device: no heartbeat may claim it is alive. */
  inStep: boolean;
  messages: number;
  dropped: number;
  /** What the last step sent (its outbox counter): the next step copies that much back with its header. */
  previousSent: number;
  /** Whether the first step's progress went out (heartbeats wait for it: it means "running"). */
  reported: boolean;
  lastSent: number;
  /** Rate-limited schedule: step k of this run is due at t0 + k × period. */
  t0: number;
  k: number;
  /** Cancels the pending timer or immediate that would queue the next slice. */
  cancelWake: (() => void) | undefined;
  /** Steps that sent messages since the last loopMessages. */
  outgoing: SentStep[];
  /** The steps that consumed delivered inboxes since the last loopMessages, one per inbox. */
  inboxSteps: number[];
  /** A loopMessages of this loop is not written to the channel yet: the next batch gathers until it is. */
  sending: boolean;
}

export interface StepLoopsOptions {
  backend: GpuBackend;
  /** The host's request queue; slices run on it so no request ever runs beside a step. */
  queue: SerialQueue;
  /**
   * Sends to the server. `onSent` (loopMessages only) is called once the message is written to the
   * channel (or failed to be): until then the loop gathers its next batch instead of sending it.
   */
  send(message: HostLoopProgress | HostLoopFailed | HostLoopMessages, onSent?: () => void): void;
  /** Delivered inboxes, by kernel index; without it steps run with empty inboxes. */
  mailboxes?: Mailboxes;
  /** Called after a loop's step failed and loopFailed was sent (the host decides whether to exit). */
  onStepFailure(error: GpuError): void;
}

export class StepLoops {
  /** Stopped loops stay, so a late stopLoop still learns where its loop stopped. */
  private readonly loops = new Map<number, Loop>();
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly options: StepLoopsOptions) {}

  /**
   * Starts a loop. Called from a task on the queue: the first slice is queued right behind that
   * task, so the first step runs before any request that arrives later.
   */
  start(id: number, launch: StepLaunch, control: ControlBlock, rateHz: number): void {
    if (!Number.isSafeInteger(id)) throw new GpuError('INVALID_ARGUMENT', `loop id ${String(id)} is not an integer`);
    if (this.loops.has(id))
      throw new GpuError('INVALID_ARGUMENT', `loop ${id} was already started in this device host`);
    if (!Number.isFinite(rateHz) || rateHz < 0)
      throw new GpuError(
        'INVALID_ARGUMENT',
        `kernel "${launch.kernel.label}": rateHz must be 0 or more, not ${rateHz}`,
      );
    const now = performance.now();
    const loop: Loop = {
      id,
      launch,
      control,
      rateHz,
      step: control.step,
      running: true,
      inStep: false,
      messages: 0,
      dropped: 0,
      previousSent: 0,
      reported: false,
      lastSent: now,
      t0: now,
      k: 0,
      cancelWake: undefined,
      outgoing: [],
      inboxSteps: [],
      sending: false,
    };
    this.loops.set(id, loop);
    void this.options.queue.run(() => this.slice(loop));
    this.updateTicker();
  }

  /**
   * Stops a loop and returns its next step number. Called from a task on the queue, so none of
   * its steps is in flight: it stops at a step boundary.
   */
  stop(id: number): { step: number } {
    const loop = this.loops.get(id);
    if (!loop) throw new GpuError('INVALID_ARGUMENT', `no loop ${id} was started in this device host`);
    this.halt(loop);
    // Before the answer, on the same channel: the server has every message of the loop's steps
    // by the time it learns where the loop stopped.
    this.flush(loop);
    return { step: loop.step };
  }

  /**
   * A loop's next step number (the steps it completed), or undefined when this host has no such
   * loop. Exact when called from a task on the queue: none of its steps is in flight then.
   */
  stepOf(id: number): number | undefined {
    return this.loops.get(id)?.step;
  }

  /** The loops stepping now (stopped ones are kept for stopLoop's answer, and left out here). */
  running(): HostLoopInfo[] {
    return [...this.loops.values()]
      .filter((loop) => loop.running)
      .map((loop) => ({
        loop: loop.id,
        kernel: loop.launch.kernel.label,
        index: loop.control.kernelIndex,
        step: loop.step,
      }));
  }

  private halt(loop: Loop): void {
    loop.running = false;
    loop.cancelWake?.();
    loop.cancelWake = undefined;
    this.updateTicker();
  }

  private due(loop: Loop): number {
    return loop.t0 + (loop.k * 1000) / loop.rateHz;
  }

  private async slice(loop: Loop): Promise<void> {
    if (!loop.running) return;
    const started = performance.now();
    if (loop.rateHz > 0 && started - this.due(loop) > 1000 / loop.rateHz) {
      // More than a period late (a slow step, a long request ahead in the queue): start the
      // schedule afresh instead of catching up with a burst of steps.
      loop.t0 = started;
      loop.k = 0;
    }
    let ran = 0;
    while (loop.running) {
      const now = performance.now();
      if (loop.rateHz > 0 && this.due(loop) > now) break;
      // A waiting request (a drain, a compile, a state read) goes next: hot reload's latency is
      // one step, not a whole slice. So does another loop of this host with an inbox delivered and
      // its step due: a message between two kernels of one host waits a step, not a slice.
      if (
        ran > 0 &&
        (now - started >= SLICE_MS || this.options.queue.requestsWaiting > 0 || this.mailWaiting(loop, now))
      )
        break;
      if (!(await this.step(loop))) return;
      loop.k++;
      ran++;
    }
    // Each step sent the batch before it; the last steps' goes now, or, gathered behind a batch
    // still being written, when that one is written.
    if (!loop.sending) this.flush(loop);
    if (!loop.running) return;
    this.wakeLater(loop, loop.rateHz > 0 ? this.due(loop) - performance.now() : 0);
  }

  /** Whether another running loop, due to step, has an inbox waiting in its mailbox. */
  private mailWaiting(self: Loop, now: number): boolean {
    const mailboxes = this.options.mailboxes;
    if (!mailboxes || this.loops.size < 2) return false;
    for (const loop of this.loops.values())
      if (
        loop !== self &&
        loop.running &&
        mailboxes.has(loop.control.kernelIndex) &&
        (loop.rateHz === 0 || this.due(loop) <= now)
      )
        return true;
    return false;
  }

  /** Queues the loop's next slice after `delayMs`, or after the I/O already waiting (requests). */
  private wakeLater(loop: Loop, delayMs: number): void {
    const wake = (): void => {
      loop.cancelWake = undefined;
      void this.options.queue.run(() => this.slice(loop));
    };
    if (delayMs >= 1) {
      const timer = setTimeout(wake, delayMs);
      loop.cancelWake = () => clearTimeout(timer);
    } else {
      // setImmediate runs after the poll phase, so requests that arrived during the slice are
      // queued ahead of the next one.
      const immediate = setImmediate(wake);
      loop.cancelWake = () => clearImmediate(immediate);
    }
  }

  /** Runs one step; false when it failed (the loop is stopped and loopFailed sent). */
  private async step(loop: Loop): Promise<boolean> {
    loop.inStep = true;
    // What the earlier steps sent goes out once this step is on the device: the message's
    // serialization and the channel write (tens of µs) overlap the GPU's work instead of
    // delaying the step. It is taken before this step takes its inbox, so it still ends at a step
    // boundary. Unless the last batch is still being written: then it gathers on.
    let batch = loop.sending ? undefined : this.takeBatch(loop);
    try {
      const inbox = this.options.mailboxes?.take(loop.control.kernelIndex);
      if (inbox) loop.inboxSteps.push(loop.step);
      // runStep submits the step before its first await.
      const stepping = runStep(
        this.options.backend,
        loop.launch,
        { ...loop.control, step: loop.step },
        inbox,
        loop.previousSent,
      );
      if (batch) this.sendBatch(loop, batch);
      batch = undefined;
      const { sent, outbox } = await stepping;
      loop.previousSent = sent;
      const kept = Math.min(sent, loop.control.outboxCapacity);
      loop.messages += kept;
      loop.dropped += sent - kept;
      if (sent > 0) loop.outgoing.push(outbox ? { step: loop.step, sent, outbox } : { step: loop.step, sent });
      loop.step++;
    } catch (error) {
      loop.inStep = false;
      this.halt(loop);
      if (batch) this.sendBatch(loop, batch);
      this.flush(loop);
      const failure = GpuError.wrap(error, 'DRIVER_ERROR', `step ${loop.step} of kernel "${loop.launch.kernel.label}"`);
      this.options.send({ kind: 'loopFailed', loop: loop.id, step: loop.step, error: failure.toData() });
      this.options.onStepFailure(failure);
      return false;
    }
    loop.inStep = false;
    const now = performance.now();
    if (!loop.reported || now - loop.lastSent >= PROGRESS_INTERVAL_MS) this.report(loop, now);
    return true;
  }

  /**
   * Sends what the loop's steps sent and consumed since the last batch, if anything. Called between
   * steps only (never while one is in flight), so a batch always ends at a step boundary: nextStep
   * is exact. Stop and failure call it whatever is being written: the channel keeps the order.
   */
  private flush(loop: Loop): void {
    const batch = this.takeBatch(loop);
    if (batch) this.sendBatch(loop, batch);
  }

  /** What the loop's steps sent and consumed since the last batch (undefined: nothing), ending at this step boundary. */
  private takeBatch(loop: Loop): HostLoopMessages | undefined {
    if (loop.outgoing.length === 0 && loop.inboxSteps.length === 0) return undefined;
    const batch: HostLoopMessages = {
      kind: 'loopMessages',
      loop: loop.id,
      kernel: loop.control.kernelIndex,
      steps: loop.outgoing,
      inboxSteps: loop.inboxSteps,
      nextStep: loop.step,
    };
    loop.outgoing = [];
    loop.inboxSteps = [];
    return batch;
  }

  private sendBatch(loop: Loop, batch: HostLoopMessages): void {
    loop.sending = true;
    this.options.send(batch, () => {
      loop.sending = false;
      // What gathered meanwhile goes now, unless a step is running: the next step's start or the slice's end sends it.
      if (!loop.inStep) this.flush(loop);
    });
  }

  private report(loop: Loop, now: number): void {
    loop.reported = true;
    loop.lastSent = now;
    this.options.send({
      kind: 'loopProgress',
      loop: loop.id,
      step: loop.step,
      messages: loop.messages,
      dropped: loop.dropped,
    });
  }

  /**
   * Heartbeats for loops that wait: between rate-limited steps, or in the queue behind a request
   * or another loop's slice. A loop whose own step is on the device gets none, so a hung step
   * falls silent and the server's watchdog names it.
   */
  private tick(): void {
    const now = performance.now();
    for (const loop of this.loops.values()) {
      if (loop.running && loop.reported && !loop.inStep && now - loop.lastSent >= HEARTBEAT_MS - TICK_MS)
        this.report(loop, now);
    }
  }

  private updateTicker(): void {
    const anyRunning = [...this.loops.values()].some((loop) => loop.running);
    if (anyRunning && !this.ticker) {
      this.ticker = setInterval(() => this.tick(), TICK_MS);
      this.ticker.unref();
    } else if (!anyRunning && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}
