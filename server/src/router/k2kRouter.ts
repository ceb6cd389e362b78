// The kernel-to-kernel router (the seed's CrossGpuK2KRouter, made real): the host hands it each
// step's outbox messages, it wraps them in envelopes, queues them per receiving kernel, and hands
// each kernel its inbox before the kernel's next step. Pure: no processes, no devices, no I/O;
// the runtime moves the bytes the routes describe. An envelope is kept as an inbox slot plus a row
// of typed-array columns (pendingQueue.ts, retentionRing.ts), not as an object.
//
// Rules it keeps:
// - Order per sender→receiver pair: one FIFO per receiver, appended in acceptance order.
// - Nothing lost silently: every message a sender hands in is accepted, refused (the receiver's
//   pending queue is full: the sender's outbox overflow), a duplicate (re-sent after a restore),
//   or a failure with its reason; every one of those is counted per sender, per pair and in total.
// - Bounded: a receiver's queue holds at most its pendingLimit; its inbox takes at most its
//   capacity per step and leaves the rest pending.
// - Lockstep is placement-independent: step s's batches are accepted together at endStep(s), in
//   (source index, send order) order, with clock time = s; see routerTypes.ts (RouterMode).
import { inboxBytes } from '../abi/kernelAbi';
import { GpuTopology } from '../topology/gpuTopology';
import type { DeviceKey } from '../probe/probeRecords';
import type { Envelope } from './envelope';
import { KernelRecord, PairRecord, UNKNOWN_DESTINATIONS_KEPT, type WindowShape } from './kernelRecord';
import type { RoutingDecision } from './routingDecision';
import { RoutingTable } from './routingTable';
import {
  DevicePairRecord,
  emptyFailureCounts,
  emptyRouteCounts,
  flowStats,
  type DevicePairStats,
  type KernelStats,
  type PairStats,
  type RouterStatsSnapshot,
  type RouterTotals,
} from './routerStats';
import {
  UNPLACED,
  type AdmissionCounts,
  type FailureReason,
  type KernelRegistration,
  type OutboxBatch,
  type RestoreResult,
  type RouterMode,
  type StepResult,
  type SubmitResult,
} from './routerTypes';
import { IN_FLIGHT, type RetainedMessage } from './retentionRing';
import type { AdmittedRun, PendingMessage, PendingQueue } from './pendingQueue';
import { TrafficWindow } from './trafficWindow';
import { packHlc, unpackHlc, type HlcParts } from './hybridLogicalClock';
import { restoreSavedMessages, savedMessagesOf, type RestoredMessages, type SavedMessages } from './routerCheckpoint';
import { messageList, type MessageList } from './outboxSlots';

export interface K2KRouterOptions {
  /** Default 'freeRunning'. */
  mode?: RouterMode;
  topology?: GpuTopology;
  /** ringkernel.enableP2P; default true. */
  enableP2P?: boolean;
  /** Messages that may wait per receiving kernel (default 1024); a kernel's registration may set its own. */
  pendingLimit?: number;
  /**
   * Delivered messages kept per receiver until a checkpoint covers them, and send-log entries kept
   * per pair, for redelivery after a restore (default 32768); 0 turns redelivery off.
   */
  retainLimit?: number;
  /** The rate window: windowMs long (default 5000), in buckets of bucketMs (default 250). */
  windowMs?: number;
  bucketMs?: number;
  /** Monotonic milliseconds for rates and latencies; default performance.now. */
  clock?: () => number;
  /** Milliseconds since 1970 for the clocks' physical time in free-running mode; default Date.now. */
  wallClock?: () => number;
  /** Lockstep: the first step (default 0). */
  firstStep?: number;
}

interface StagedBatch {
  source: number;
  messages: MessageList;
  outboxFull: number;
}

const MAX_KERNEL_INDEX = 2 ** 20;

export class K2KRouter {
  readonly mode: RouterMode;
  private readonly table: RoutingTable;
  private readonly records: (KernelRecord | undefined)[] = [];
  private readonly defaultPendingLimit: number;
  private readonly retainLimit: number;
  private readonly window: WindowShape;
  private readonly clock: () => number;
  private readonly wallClock: () => number;
  private step: number;
  private staged: StagedBatch[] = [];
  private stagedCount = 0;
  private readonly devicePairs = new Map<string, DevicePairRecord>();
  private devicePairMemo = new Map<RoutingDecision, DevicePairRecord>();
  private readonly overall: TrafficWindow;
  private readonly totals: RouterTotals = {
    submitted: 0,
    accepted: 0,
    delivered: 0,
    redelivered: 0,
    refused: 0,
    outboxFull: 0,
    duplicates: 0,
    failed: 0,
    pending: 0,
    staged: 0,
    rerouted: 0,
    bytesDelivered: 0,
  };
  private readonly routeCounts = emptyRouteCounts();
  private readonly failureCounts = emptyFailureCounts();

  constructor(options: K2KRouterOptions = {}) {
    this.mode = options.mode ?? 'freeRunning';
    this.table = new RoutingTable(options.topology ?? GpuTopology.empty(), { enableP2P: options.enableP2P ?? true });
    this.defaultPendingLimit = positiveInteger(options.pendingLimit ?? 1024, 'pendingLimit');
    this.retainLimit = nonNegativeInteger(options.retainLimit ?? 32768, 'retainLimit');
    const bucketMs = positiveInteger(options.bucketMs ?? 250, 'bucketMs');
    this.window = { bucketMs, buckets: Math.max(1, Math.round((options.windowMs ?? 5000) / bucketMs)) };
    this.clock = options.clock ?? (() => performance.now());
    this.wallClock = options.wallClock ?? Date.now;
    this.step = nonNegativeInteger(options.firstStep ?? 0, 'firstStep');
    this.overall = new TrafficWindow(this.window.bucketMs, this.window.buckets);
  }

  /** Lockstep: the step every kernel is running now (its inbox taken, its outbox not yet accepted). */
  get currentStep(): number {
    return this.step;
  }

  // Kernels and devices.

  addKernel(registration: KernelRegistration): void {
    const { index } = registration;
    if (!Number.isInteger(index) || index < 0 || index >= MAX_KERNEL_INDEX)
      throw new RangeError(
        `router: kernel "${registration.id}" has index ${index}; an index is an integer in [0, ${MAX_KERNEL_INDEX})`,
      );
    const existing = this.records[index];
    if (existing)
      throw new Error(
        `router: kernel "${registration.id}" cannot take index ${index}: "${existing.id}" has it; remove that kernel first`,
      );
    const physicalTime = this.mode === 'lockstep' ? (): number => this.step : this.wallClock;
    this.records[index] = new KernelRecord(
      index,
      registration.id,
      registration.device,
      this.table.slotOf(registration.device),
      {
        running: registration.running ?? true,
        pendingLimit: positiveInteger(
          registration.pendingLimit ?? this.defaultPendingLimit,
          `pendingLimit of kernel "${registration.id}"`,
        ),
        retainLimit: this.retainLimit,
        nextStep: registration.nextStep ?? (this.mode === 'lockstep' ? this.step : 0),
        physicalTime,
      },
    );
  }

  /** A stopped kernel's new messages fail (destinationStopped); those already pending wait for it. */
  setRunning(index: number, running: boolean): void {
    this.recordOf(index, 'setRunning').running = running;
  }

  /**
   * Forgets a kernel. Its pending messages fail (`reason`: destinationRemoved, or
   * destinationNotStarted for a kernel registered ahead that did not start) and, in lockstep, what
   * it submitted this step fails (sourceRemoved); both are counted. Returns how many failed.
   */
  removeKernel(index: number, reason: 'destinationRemoved' | 'destinationNotStarted' = 'destinationRemoved'): number {
    const record = this.recordOf(index, 'removeKernel');
    let failed = 0;
    const queue = record.queue;
    for (let i = 0; i < queue.length; i++) {
      const source = queue.source(i);
      const pair = this.records[source]?.outgoing[index];
      if (pair) pair.pending--;
      // A redelivery's message was counted delivered the first time; only never-delivered ones fail.
      if (queue.replayStep(i) >= 0) continue;
      if (pair) pair.failed++;
      this.fail(this.records[source], reason, 1);
      failed++;
    }
    queue.clear();
    this.staged = this.staged.filter((batch) => {
      if (batch.source !== index) return true;
      this.stagedCount -= batch.messages.count;
      this.fail(record, 'sourceRemoved', batch.messages.count);
      failed += batch.messages.count;
      return false;
    });
    this.records[index] = undefined;
    return failed;
  }

  /**
   * The kernel now lives on `device` (a migration's switch): its pending messages are routed again
   * to the new device, in the same order, none dropped; later decisions use the new device.
   */
  relocate(index: number, device: DeviceKey): { rerouted: number } {
    const record = this.recordOf(index, 'relocate');
    record.device = device;
    record.deviceSlot = this.table.slotOf(device);
    return { rerouted: this.reroute(record) };
  }

  setTopology(topology: GpuTopology): void {
    this.table.setTopology(topology);
    this.rerouteAll();
  }

  setEnableP2P(enableP2P: boolean): void {
    if (enableP2P === this.table.enableP2P) return;
    this.table.setPolicy({ enableP2P });
    this.rerouteAll();
  }

  // Routing.

  /** The route between two kernels' devices now; undefined when either kernel is unknown. */
  routeFor(source: number, destination: number): RoutingDecision | undefined {
    const from = this.records[source];
    const to = this.records[destination];
    if (from === undefined || to === undefined || from.device === UNPLACED || to.device === UNPLACED) return undefined;
    return this.table.decide(from.deviceSlot, to.deviceSlot);
  }

  routeBetween(from: DeviceKey, to: DeviceKey): RoutingDecision {
    return this.table.decideDevices(from, to);
  }

  // Delivery.

  /**
   * One kernel's outbox after one of its steps. Free-running: accepted (or refused, or failed) now.
   * Lockstep: staged until endStep(batch.step); batch.step must be the current step.
   */
  submit(batch: OutboxBatch): SubmitResult {
    const record = this.recordOf(batch.source, 'submit');
    const outboxFull = nonNegativeInteger(batch.outboxFull ?? 0, 'outboxFull');
    const messages = messageList(batch.messages);
    if (this.mode === 'lockstep') {
      if (batch.step !== this.step)
        throw new Error(
          `router (lockstep): kernel "${record.id}" submitted step ${batch.step} while step ${this.step} is running; submit every kernel's step ${this.step}, then endStep(${this.step})`,
        );
      // Kept until endStep: independent of the caller's bytes from here.
      messages.detach();
      this.staged.push({ source: batch.source, messages, outboxFull });
      this.stagedCount += messages.count;
      record.submittedStep = batch.step;
      return { accepted: 0, refused: 0, duplicates: 0, failed: 0, staged: messages.count };
    }
    const counts = zeroCounts();
    this.admit(record, batch.step, messages, outboxFull, this.wallClock(), this.clock(), counts);
    return { ...counts, staged: 0 };
  }

  /**
   * Lockstep: every kernel that took its inbox for this step has submitted; accepts the step's
   * messages in (source index, send order) order and moves to the next step. The order of the
   * submit() calls does not matter, so results do not depend on which device finished first.
   */
  endStep(step: number): StepResult {
    if (this.mode !== 'lockstep')
      throw new Error(
        'router: endStep is for lockstep mode; a free-running router accepts each batch when it is submitted',
      );
    if (step !== this.step) throw new Error(`router (lockstep): endStep(${step}) while step ${this.step} is running`);
    const missing = this.records.filter(
      (r): r is KernelRecord => r !== undefined && r.running && r.lastStep === step && r.submittedStep !== step,
    );
    if (missing.length > 0) {
      throw new Error(
        `router (lockstep): step ${step} cannot end: ${missing.map((r) => `"${r.id}"`).join(', ')} took an inbox for it but submitted no outbox; submit an empty batch for a kernel that sent nothing`,
      );
    }
    const batches = this.staged;
    this.staged = [];
    this.stagedCount = 0;
    // Array.prototype.sort is stable: one source's batches keep their submission order.
    batches.sort((a, b) => a.source - b.source);
    const now = this.clock();
    const total = zeroCounts();
    const bySource: (AdmissionCounts & { source: number })[] = [];
    for (const batch of batches) {
      const record = this.records[batch.source];
      if (!record) continue; // removed after submitting: counted by removeKernel
      let entry = bySource[bySource.length - 1];
      if (entry?.source !== batch.source) {
        entry = { source: batch.source, ...zeroCounts() };
        bySource.push(entry);
      }
      const counts = zeroCounts();
      this.admit(record, step, batch.messages, batch.outboxFull, step, now, counts);
      addCounts(entry, counts);
      addCounts(total, counts);
    }
    this.step = step + 1;
    return { step, ...total, bySource };
  }

  /**
   * The messages for `kernel`'s step `step`, at most `capacity`, oldest first (per pair in send
   * order); the rest stay pending. The host writes them into the inbox (inboxLayout.ts) and sets
   * inbox_count to their number.
   *
   * `inFlight` (free-running through a host's mailbox): the inbox waits in the receiver's host for
   * whichever step comes next, so `step` is only the receiver's latest known step; the step that
   * consumed it comes later through inboxConsumed. Until then a checkpoint never covers these
   * messages and a restore delivers them again. Messages put back by a restore go out at once
   * (the mailbox, not the router, decides their step).
   */
  takeInbox(index: number, capacity: number, step: number, options: { inFlight?: boolean } = {}): Envelope[] {
    const envelopes: Envelope[] = [];
    this.take(index, capacity, step, options.inFlight === true, undefined, envelopes);
    return envelopes;
  }

  /**
   * takeInbox written straight into `target` as inbox slots (inboxLayout.ts's layout, what
   * encodeInbox would write), the pending queue's slots copied in contiguous ranges; returns
   * inbox_count (the slots written from the start of `target`). `target` holds at least
   * inboxBytes(capacity).
   */
  takeInboxInto(
    index: number,
    capacity: number,
    step: number,
    target: Uint8Array,
    options: { inFlight?: boolean } = {},
  ): number {
    const needed = inboxBytes(Math.max(0, Math.floor(capacity)));
    if (target.byteLength < needed)
      throw new RangeError(
        `router: kernel #${index}'s inbox target has ${target.byteLength} bytes; an inbox of ${capacity} slots needs ${needed}`,
      );
    return this.take(index, capacity, step, options.inFlight === true, target, undefined);
  }

  private take(
    index: number,
    capacity: number,
    step: number,
    inFlight: boolean,
    target: Uint8Array | undefined,
    envelopes: Envelope[] | undefined,
  ): number {
    const record = this.recordOf(index, 'takeInbox');
    if (inFlight && this.mode === 'lockstep')
      throw new Error(`router (lockstep): kernel "${record.id}": an inbox in flight is for free-running delivery`);
    if (this.mode === 'lockstep' && step !== this.step) {
      throw new Error(
        `router (lockstep): kernel "${record.id}" asked for its step-${step} inbox while step ${this.step} is running`,
      );
    }
    const limit = Math.max(0, Math.floor(capacity));
    record.lastStep = Math.max(inFlight ? record.lastStep : Number.NEGATIVE_INFINITY, step);
    const queue = record.queue;
    if (limit === 0 || queue.length === 0) return 0;
    const now = this.clock();
    const lockstep = this.mode === 'lockstep';
    // The latest timestamp taken, as two words: the clock's receive event takes one bigint at the end.
    let latestHigh = -1;
    let latestLow = 0;
    let taken = 0;
    // Deliveries are counted in runs sharing sender, route and latencies (an admitted run, usually).
    let runFirst = -1;
    let runCount = 0;
    let runBytes = 0;
    let runPair: PairRecord | undefined;
    const end = Math.min(limit, queue.length);
    while (taken < end) {
      const replayStep = queue.replayStep(taken);
      if (!inFlight && replayStep > step) break;
      // Lockstep after a restore: a message accepted at the end of step s is for step s + 1 or later.
      if (replayStep < 0 && lockstep && queue.sendStep(taken) >= step) break;
      const source = queue.source(taken);
      const pair = this.records[source]?.outgoing[index];
      if (pair) pair.pending--;
      if (replayStep >= 0) {
        record.redelivered++;
        this.totals.redelivered++;
      } else {
        if (runCount > 0 && !sameRun(queue, runFirst, taken)) {
          this.countDeliveries(record, queue, runFirst, runCount, runBytes, runPair, step, now);
          runCount = 0;
        }
        if (runCount === 0) {
          runFirst = taken;
          runBytes = 0;
          runPair = pair;
        }
        runCount++;
        runBytes += queue.payloadLength(taken);
      }
      const high = queue.timeHigh(taken);
      const low = queue.timeLow(taken);
      if (high > latestHigh || (high === latestHigh && low > latestLow)) {
        latestHigh = high;
        latestLow = low;
      }
      if (envelopes) envelopes.push(this.envelopeOf(queue, taken, index));
      taken++;
    }
    if (runCount > 0) this.countDeliveries(record, queue, runFirst, runCount, runBytes, runPair, step, now);
    if (taken === 0) return 0;
    if (target) queue.copySlots(0, taken, target, 0);
    record.retainTaken(taken, inFlight ? IN_FLIGHT : step);
    queue.shift(taken);
    // The step consumes its whole inbox at once: one receive event for the clock.
    const latest = (BigInt(latestHigh) << 32n) | BigInt(latestLow);
    record.clock.receiveAt(latest, lockstep ? step : this.wallClock());
    return taken;
  }

  /**
   * Free-running: the oldest `count` messages taken in flight for `kernel` (takeInbox's
   * `inFlight`) were consumed by its step `step`; a checkpoint from a later step covers them now.
   */
  inboxConsumed(index: number, count: number, step: number): void {
    const record = this.recordOf(index, 'inboxConsumed');
    record.retained.settle(count, step);
    if (step > record.lastStep) record.lastStep = step;
  }

  /**
   * Free-running: the inboxes taken in flight for `kernel` never reached a step and never will
   * (their host is gone, the kernel's state was kept, as when a migration could not take its
   * mailbox back): they go back in front of its queue, in order. Returns how many.
   */
  requeueInFlight(index: number): number {
    const record = this.recordOf(index, 'requeueInFlight');
    if (record.retained.unsettled === 0) return 0;
    const replay = this.replayOf(record, record.retained.takeFrom(IN_FLIGHT), record.lastStep);
    record.queue.unshiftAll(replay);
    return replay.length;
  }

  /** Messages waiting for a kernel (its next inbox and beyond). */
  pendingFor(index: number): number {
    return this.records[index]?.queue.length ?? 0;
  }

  // Reliability (checkpoints and restores).

  /**
   * `index`'s checkpoint holds its state before step `step`: what it was delivered before that step
   * need not be kept for a redelivery, nor its sends before it for a rewind.
   */
  acknowledgeCheckpoint(index: number, step: number): void {
    const record = this.recordOf(index, 'acknowledgeCheckpoint');
    record.forgetBefore(step);
    for (const pair of record.outgoing) pair?.trimLog(step);
  }

  /**
   * The kernels came back from checkpoints taken before step `step`. As receivers, what they were
   * delivered from that step on is put back in front of their queues and delivered again at the
   * same steps as before. As senders, their sequence numbers go back to that step, so messages the
   * re-run sends again are recognised as duplicates and dropped (counted). Lockstep restores every
   * kernel together and the router's step becomes `step`. Clocks are not set back: redelivered
   * messages keep their first timestamps, and in lockstep a clock's time is (step, events within
   * the step), so a replay's new messages get the times the first run gave them.
   */
  restore(indices: readonly number[], step: number): RestoreResult {
    const records = indices.map((index) => this.recordOf(index, 'restore'));
    if (this.mode === 'lockstep') {
      const left = this.records.filter((r): r is KernelRecord => r !== undefined && !records.includes(r));
      if (left.length > 0)
        throw new Error(
          `router (lockstep): a restore must include every kernel (they share the step); missing ${left.map((r) => `"${r.id}"`).join(', ')}`,
        );
      // The aborted step's batches: the re-run submits them again.
      this.staged = [];
      this.stagedCount = 0;
      this.step = step;
    }
    const result: RestoreResult = { redelivered: 0, rewoundPairs: 0, lost: 0, incomplete: [] };
    for (const record of records) {
      const replay = this.replayOf(record, record.retained.takeFrom(step), step);
      record.queue.unshiftAll(replay);
      result.redelivered += replay.length;
      result.lost += record.takeEvictedFrom(step);
      if (step < record.retainFloor) {
        result.incomplete.push(
          `"${record.id}": messages delivered between steps ${step} and ${record.retainFloor - 1} are no longer kept (a later checkpoint was acknowledged, or more than retainLimit ${this.retainLimit} were delivered since); they cannot be delivered again`,
        );
      }
      for (const pair of record.outgoing) {
        if (!pair) continue;
        if (pair.rewindTo(step)) result.rewoundPairs++;
        if (step < pair.rewindFloor)
          result.incomplete.push(
            `"${record.id}" → ${pair.destination}: sends before step ${pair.rewindFloor} are no longer logged (a later checkpoint was acknowledged, or the log passed retainLimit); re-sent messages from then may be taken as new`,
          );
      }
      record.lastStep = step - 1;
      record.submittedStep = Number.NEGATIVE_INFINITY;
    }
    return result;
  }

  /**
   * What kernel `index`'s checkpoint before its step `step` carries of the router (its file's PEND
   * chunk; routerCheckpoint.ts says what and why). Undefined when no kernel `id` has that index.
   */
  checkpointMessages(index: number, id: string, step: number): SavedMessages | undefined {
    const record = this.records[index];
    return record?.id === id ? savedMessagesOf(this.records, record, step) : undefined;
  }

  /**
   * Kernel `index`'s clock now (ms since 1970 and the logical counter), for its checkpoint file's
   * HLC chunk. Undefined in lockstep, where a clock's time is the step (the file's metadata has
   * it), when no kernel `id` has that index, or before the clock's first event.
   */
  clockOf(index: number, id: string): HlcParts | undefined {
    const record = this.records[index];
    if (this.mode === 'lockstep' || record?.id !== id) return undefined;
    const current = record.clock.current();
    return current === 0n ? undefined : unpackHlc(current);
  }

  /**
   * A restarted server, before any kernel runs: kernel `index`'s clock moves up to the time its
   * checkpoint file saved, so it never hands out a timestamp it gave before the restart, even when
   * the wall clock is now behind it. Never moves a clock back; nothing in lockstep (clockOf).
   */
  restoreClock(index: number, saved: HlcParts): void {
    if (this.mode === 'lockstep') return;
    this.recordOf(index, 'restoreClock').clock.advanceTo(packHlc(saved));
  }

  /** A restarted server, before any kernel runs: queues and sequence numbers from the kernels' checkpoint files. */
  restoreMessages(saved: readonly SavedMessages[]): RestoredMessages {
    return restoreSavedMessages(
      {
        records: this.records,
        window: this.window,
        decide: (from, to) => this.table.decide(from, to),
        now: this.clock,
        lockstep: this.mode === 'lockstep',
      },
      saved,
    );
  }

  // Stats.

  snapshot(): RouterStatsSnapshot {
    const now = this.clock();
    const kernels: KernelStats[] = [];
    const pairs: PairStats[] = [];
    const devicePending = new Map<string, number>();
    let pending = 0;
    for (const record of this.records) {
      if (!record) continue;
      const queue = record.queue;
      pending += queue.length;
      // Runs of one route (the usual queue is one or a few) cost one map update each.
      for (let i = 0; i < queue.length;) {
        const route = queue.route(i);
        let end = i + 1;
        while (end < queue.length && queue.route(end) === route) end++;
        const key = devicePairKey(route.from, route.to);
        devicePending.set(key, (devicePending.get(key) ?? 0) + end - i);
        this.devicePairFor(route);
        i = end;
      }
      kernels.push(this.kernelStats(record));
      for (const pair of record.outgoing) if (pair) pairs.push(this.pairStats(record, pair, now));
    }
    const devicePairs: DevicePairStats[] = [];
    for (const [key, device] of this.devicePairs) {
      const decision = this.table.decideDevices(device.from, device.to);
      const stats: DevicePairStats = {
        from: device.from,
        to: device.to,
        route: decision.kind,
        reason: decision.reason,
        path: [...decision.path],
        decisions: { ...device.decisions },
        ...flowStats(device.traffic, now, devicePending.get(key) ?? 0),
      };
      if (decision.bandwidthGBps !== undefined) stats.bandwidthGBps = decision.bandwidthGBps;
      devicePairs.push(stats);
    }
    const snapshot: RouterStatsSnapshot = {
      mode: this.mode,
      timeMs: now,
      windowSeconds: (this.window.bucketMs * this.window.buckets) / 1000,
      enableP2P: this.table.enableP2P,
      totals: { ...this.totals, pending, staged: this.stagedCount },
      routes: { ...this.routeCounts },
      failures: { ...this.failureCounts },
      ...this.overall.rates(now),
      latencySteps: this.overall.latencySteps(),
      latencyMs: this.overall.latencyMs(),
      kernels,
      pairs,
      devicePairs,
    };
    if (this.mode === 'lockstep') snapshot.step = this.step;
    return snapshot;
  }

  // Internals.

  /**
   * Retained messages as pending messages to deliver again, each at the step it was consumed at;
   * one still in flight (its step never reported) right after the last one before it, or at `step`.
   */
  private replayOf(record: KernelRecord, kept: readonly RetainedMessage[], step: number): PendingMessage[] {
    const now = this.clock();
    let replayStep = step;
    return kept.map((message): PendingMessage => {
      if (message.deliveredStep !== IN_FLIGHT) replayStep = message.deliveredStep;
      const pair = this.records[message.source]?.outgoing[record.index];
      if (pair) pair.pending++;
      return {
        source: message.source,
        type: message.type,
        seq: message.seq,
        timestamp: message.timestamp,
        payload: message.payload,
        sendStep: message.sendStep,
        route: this.table.decide(message.fromSlot, record.deviceSlot),
        replayStep,
        fromSlot: message.fromSlot,
        acceptedMs: now,
        arrivalStep: replayStep - 1,
      };
    });
  }

  /** Message `i` of a receiver's queue as the envelope takeInbox returns (its own copy of the payload). */
  private envelopeOf(queue: PendingQueue, i: number, destination: number): Envelope {
    return {
      source: queue.source(i),
      destination,
      type: queue.type(i),
      seq: queue.seq(i),
      timestamp: queue.timestamp(i),
      payload: queue.payload(i),
      sendStep: queue.sendStep(i),
      route: queue.route(i),
      replayStep: -1,
    };
  }

  /** Accepts, refuses or fails each message of one sender's step, in order. */
  private admit(
    record: KernelRecord,
    step: number,
    messages: MessageList,
    outboxFull: number,
    physical: number,
    now: number,
    counts: AdmissionCounts,
  ): void {
    const count = messages.count;
    record.sent += count;
    this.totals.submitted += count;
    if (outboxFull > 0) {
      record.outboxFull += outboxFull;
      this.totals.outboxFull += outboxFull;
    }
    if (count === 0) return;
    // One clock update for the step: consecutive timestamps, one per accepted message, kept as two
    // 32-bit words so that no bigint is made per message.
    const first = record.clock.reserveAt(count, physical);
    let timeHigh = Number(first >> 32n);
    let timeLow = Number(first & 0xffffffffn);
    // Consecutive accepted messages to one receiver are one run: one copy of their slots into its queue.
    let runReceiver: KernelRecord | undefined;
    let runFirst = 0;
    let runCount = 0;
    let run: AdmittedRun | undefined;
    for (let i = 0; i < count; i++) {
      const destination = messages.destination(i);
      const receiver = this.records[destination];
      if (receiver === undefined) {
        this.failUnknown(record, destination);
        counts.failed++;
        continue;
      }
      let pair = record.outgoing[destination];
      if (pair === undefined) {
        pair = new PairRecord(record.index, destination, this.window);
        record.outgoing[destination] = pair;
      }
      const seq = pair.takeSeq(step, this.retainLimit);
      if (seq < pair.handledNext) {
        pair.duplicates++;
        record.duplicates++;
        this.totals.duplicates++;
        counts.duplicates++;
        continue;
      }
      pair.handledNext = seq + 1;
      if (!receiver.running) {
        pair.failed++;
        this.fail(record, 'destinationStopped', 1);
        counts.failed++;
        continue;
      }
      if (receiver.queue.length + (receiver === runReceiver ? runCount : 0) >= receiver.pendingLimit) {
        pair.refused++;
        record.refused++;
        this.totals.refused++;
        counts.refused++;
        continue;
      }
      if (runCount > 0 && (receiver !== runReceiver || i !== runFirst + runCount)) {
        this.appendRun(runReceiver, messages, runFirst, runCount, run);
        runCount = 0;
      }
      if (runCount === 0) {
        runReceiver = receiver;
        runFirst = i;
        run = {
          source: record.index,
          fromSlot: record.deviceSlot,
          seq,
          timeHigh,
          timeLow,
          sendStep: step,
          route: this.table.decide(record.deviceSlot, receiver.deviceSlot),
          acceptedMs: now,
          arrivalStep: receiver.lastStep,
        };
      }
      runCount++;
      if (++timeLow === 2 ** 32) {
        timeLow = 0;
        timeHigh++;
      }
      pair.pending++;
      record.accepted++;
      this.totals.accepted++;
      counts.accepted++;
    }
    this.appendRun(runReceiver, messages, runFirst, runCount, run);
  }

  /** One run of accepted messages into its receiver's queue, and its counts. */
  private appendRun(
    receiver: KernelRecord | undefined,
    messages: MessageList,
    first: number,
    count: number,
    run: AdmittedRun | undefined,
  ): void {
    if (receiver === undefined || run === undefined || count === 0) return;
    receiver.queue.appendRun(messages, first, count, run);
    // A receiver not placed yet has no route: it is decided (and counted) when it is (reroute).
    if (receiver.device !== UNPLACED) this.countDecision(run.route, count);
  }

  private countDecision(route: RoutingDecision, count = 1): void {
    this.routeCounts[route.kind] += count;
    this.devicePairFor(route).decisions[route.kind] += count;
  }

  /** `count` first deliveries of `bytes` in all, from message `first` of the queue on, sharing sender, route and latencies. */
  private countDeliveries(
    receiver: KernelRecord,
    queue: PendingQueue,
    first: number,
    count: number,
    bytes: number,
    pair: PairRecord | undefined,
    step: number,
    now: number,
  ): void {
    const steps = step - queue.arrivalStep(first);
    const ms = now - queue.acceptedMs(first);
    receiver.delivered += count;
    this.totals.delivered += count;
    this.totals.bytesDelivered += bytes;
    pair?.traffic.recordMany(now, count, bytes, steps, ms);
    this.devicePairFor(queue.route(first)).traffic.recordMany(now, count, bytes, steps, ms);
    this.overall.recordMany(now, count, bytes, steps, ms);
  }

  private fail(record: KernelRecord | undefined, reason: FailureReason, count: number): void {
    record?.countFailure(reason, count);
    this.failureCounts[reason] += count;
    this.totals.failed += count;
  }

  private failUnknown(record: KernelRecord, destination: number): void {
    this.fail(record, 'unknownDestination', 1);
    const known = record.unknownDestinations.get(destination);
    if (known !== undefined) record.unknownDestinations.set(destination, known + 1);
    else if (record.unknownDestinations.size < UNKNOWN_DESTINATIONS_KEPT)
      record.unknownDestinations.set(destination, 1);
  }

  private reroute(record: KernelRecord): number {
    let rerouted = 0;
    const queue = record.queue;
    for (let i = 0; i < queue.length; i++) {
      const was = queue.route(i);
      const route = this.table.decide(queue.fromSlot(i), record.deviceSlot);
      if (route === was) continue;
      queue.setRoute(i, route);
      if (was.to === UNPLACED && record.device !== UNPLACED) {
        // Accepted before its receiver was placed: this is its first decision, not a re-route.
        this.countDecision(route);
        continue;
      }
      // A fresh decision object for the same way (a new topology, same devices) is not a re-route.
      if (route.kind !== was.kind || route.path.join() !== was.path.join()) rerouted++;
    }
    this.totals.rerouted += rerouted;
    return rerouted;
  }

  private rerouteAll(): void {
    this.devicePairMemo = new Map();
    for (const record of this.records) if (record) this.reroute(record);
  }

  private devicePairFor(route: RoutingDecision): DevicePairRecord {
    let device = this.devicePairMemo.get(route);
    if (device) return device;
    const key = devicePairKey(route.from, route.to);
    device = this.devicePairs.get(key);
    if (!device) {
      device = new DevicePairRecord(route.from, route.to, this.window.bucketMs, this.window.buckets);
      this.devicePairs.set(key, device);
    }
    this.devicePairMemo.set(route, device);
    return device;
  }

  private recordOf(index: number, operation: string): KernelRecord {
    const record = this.records[index];
    if (!record) throw new Error(`router: ${operation}: no kernel has index ${index}; add it with addKernel first`);
    return record;
  }

  private kernelStats(record: KernelRecord): KernelStats {
    const failures = emptyFailureCounts();
    for (const [reason, count] of record.failures) failures[reason] = count;
    return {
      index: record.index,
      id: record.id,
      device: record.device,
      running: record.running,
      lastStep: record.lastStep,
      pending: record.queue.length,
      pendingLimit: record.pendingLimit,
      retained: record.retained.length,
      sent: record.sent,
      accepted: record.accepted,
      outboxOverflow: { pendingFull: record.refused, outboxFull: record.outboxFull },
      duplicates: record.duplicates,
      failures,
      unknownDestinations: [...record.unknownDestinations].map(([destination, count]) => ({ destination, count })),
      delivered: record.delivered,
      redelivered: record.redelivered,
    };
  }

  private pairStats(sender: KernelRecord, pair: PairRecord, now: number): PairStats {
    const receiver = this.records[pair.destination];
    const stats: PairStats = {
      source: sender.index,
      sourceId: sender.id,
      destination: pair.destination,
      destinationId: receiver?.id ?? `#${pair.destination} (removed)`,
      nextSeq: pair.nextSeq,
      refused: pair.refused,
      duplicates: pair.duplicates,
      failed: pair.failed,
      ...flowStats(pair.traffic, now, pair.pending),
    };
    if (receiver && receiver.device !== UNPLACED) {
      const route = this.table.decide(sender.deviceSlot, receiver.deviceSlot);
      stats.route = route.kind;
      stats.reason = route.reason;
    }
    return stats;
  }
}

function devicePairKey(from: DeviceKey, to: DeviceKey): string {
  return `${from}\u2192${to}`;
}

/** Whether messages `a` and `b` of a queue share sender, route and latencies (one delivery count for both). */
function sameRun(queue: PendingQueue, a: number, b: number): boolean {
  return (
    queue.source(a) === queue.source(b) &&
    queue.route(a) === queue.route(b) &&
    queue.acceptedMs(a) === queue.acceptedMs(b) &&
    queue.arrivalStep(a) === queue.arrivalStep(b)
  );
}

function zeroCounts(): AdmissionCounts {
  return { accepted: 0, refused: 0, duplicates: 0, failed: 0 };
}

function addCounts(into: AdmissionCounts, counts: AdmissionCounts): void {
  into.accepted += counts.accepted;
  into.refused += counts.refused;
  into.duplicates += counts.duplicates;
  into.failed += counts.failed;
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`router: ${what} is ${value}; it must be a whole number of at least 1`);
  return value;
}

function nonNegativeInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`router: ${what} is ${value}; it must be a whole number of at least 0`);
  return value;
}
