// What the router keeps per kernel and per sender→receiver pair: the receiver's queue and what it
// must keep for a redelivery, the sender's sequence counters and the log that rewinds them after a
// restore, and the counters behind the stats.
import type { DeviceKey } from '../probe/probeRecords';
import { HybridLogicalClock } from './hybridLogicalClock';
import { PendingQueue } from './pendingQueue';
import { RetentionRing } from './retentionRing';
import type { FailureReason } from './routerTypes';
import { TrafficWindow } from './trafficWindow';

export interface WindowShape {
  bucketMs: number;
  buckets: number;
}

export class PairRecord {
  /** The sequence number the sender's next message to this destination gets. */
  nextSeq = 0;
  /** One past the highest sequence number handled (accepted, refused or failed); below it is a duplicate. */
  handledNext = 0;
  pending = 0;
  refused = 0;
  duplicates = 0;
  failed = 0;
  readonly traffic: TrafficWindow;
  /** For each step that sent to this destination since the sender's last checkpoint: the step and its first seq. */
  private readonly logSteps: number[] = [];
  private readonly logSeqs: number[] = [];
  /** A rewind to a step before this one is not exact: log entries were evicted. */
  rewindFloor = 0;

  constructor(
    readonly source: number,
    readonly destination: number,
    window: WindowShape,
  ) {
    this.traffic = new TrafficWindow(window.bucketMs, window.buckets);
  }

  /** The next sequence number, logging the first one of each step. */
  takeSeq(step: number, logLimit: number): number {
    const seq = this.nextSeq++;
    if (logLimit > 0 && this.logSteps[this.logSteps.length - 1] !== step) {
      this.logSteps.push(step);
      this.logSeqs.push(seq);
      if (this.logSteps.length > logLimit) {
        const evicted = this.logSteps.shift() ?? 0;
        this.logSeqs.shift();
        this.rewindFloor = evicted + 1;
      }
    }
    return seq;
  }

  /** Forgets log entries a checkpoint before `step` made unnecessary; a rewind to before it is then not exact. */
  trimLog(step: number): void {
    let keep = 0;
    while (keep < this.logSteps.length && (this.logSteps[keep] ?? 0) < step) keep++;
    if (keep > 0) this.rewindFloor = Math.max(this.rewindFloor, (this.logSteps[keep - 1] ?? 0) + 1);
    this.logSteps.splice(0, keep);
    this.logSeqs.splice(0, keep);
  }

  /** The sequence number of the first message sent at `step` or later (nextSeq when none was): what a re-run from `step` numbers first. */
  seqAt(step: number): number {
    const at = this.logSteps.findIndex((logged) => logged >= step);
    return at < 0 ? this.nextSeq : (this.logSeqs[at] ?? this.nextSeq);
  }

  /** Rewinds nextSeq to the first message sent at `step` or later; true if it moved. */
  rewindTo(step: number): boolean {
    const at = this.logSteps.findIndex((logged) => logged >= step);
    if (at < 0) return false;
    this.nextSeq = this.logSeqs[at] ?? this.nextSeq;
    this.logSteps.length = at;
    this.logSeqs.length = at;
    return true;
  }
}

export class KernelRecord {
  device: DeviceKey;
  deviceSlot: number;
  running: boolean;
  pendingLimit: number;
  /** The latest step the kernel took its inbox for. */
  lastStep: number;
  /** Accepted, not yet taken into an inbox: the messages' inbox slots and their table (pendingQueue.ts). */
  readonly queue = new PendingQueue();
  /** Delivered, kept until a checkpoint covers them (in delivery order). */
  readonly retained: RetentionRing;
  /** A restore to a step before this one cannot redeliver everything: retention evicted messages. */
  retainFloor = 0;
  /** Deliveries evicted past the retention limit since the last checkpoint, as [step, count] runs in step order. */
  private readonly evicted: [number, number][] = [];
  readonly clock: HybridLogicalClock;
  /** Sender side, by destination index. */
  readonly outgoing: (PairRecord | undefined)[] = [];
  /** Lockstep: the latest step this kernel submitted a batch for. */
  submittedStep = Number.NEGATIVE_INFINITY;

  // As a sender.
  sent = 0;
  accepted = 0;
  refused = 0;
  outboxFull = 0;
  duplicates = 0;
  readonly failures = new Map<FailureReason, number>();
  /** Destinations that name no kernel, with counts (at most UNKNOWN_DESTINATIONS_KEPT distinct). */
  readonly unknownDestinations = new Map<number, number>();
  // As a receiver.
  delivered = 0;
  redelivered = 0;

  constructor(
    readonly index: number,
    readonly id: string,
    device: DeviceKey,
    deviceSlot: number,
    options: {
      running: boolean;
      pendingLimit: number;
      nextStep: number;
      retainLimit: number;
      physicalTime: () => number;
    },
  ) {
    this.retained = new RetentionRing(options.retainLimit);
    this.device = device;
    this.deviceSlot = deviceSlot;
    this.running = options.running;
    this.pendingLimit = options.pendingLimit;
    this.lastStep = options.nextStep - 1;
    this.clock = new HybridLogicalClock({ physicalTime: options.physicalTime });
  }

  countFailure(reason: FailureReason, count = 1): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + count);
  }

  /** Keeps the oldest `count` of the queue (an inbox just taken) for a redelivery; past the limit the oldest go, and a restore before them is incomplete. */
  retainTaken(count: number, deliveredStep: number): void {
    this.retained.pushFrom(this.queue, count, deliveredStep, this.noteEvicted);
  }

  private readonly noteEvicted = (step: number, count: number): void => {
    this.retainFloor = Math.max(this.retainFloor, step + 1);
    const last = this.evicted[this.evicted.length - 1];
    if (last?.[0] === step) last[1] += count;
    else this.evicted.push([step, count]);
  };

  /** A checkpoint before `step` covers what was delivered earlier. */
  forgetBefore(step: number): void {
    const dropped = this.retained.dropBefore(step);
    if (dropped >= 0) this.retainFloor = Math.max(this.retainFloor, dropped + 1);
    let covered = 0;
    while (covered < this.evicted.length && (this.evicted[covered]?.[0] ?? 0) < step) covered++;
    this.evicted.splice(0, covered);
  }

  /** How many deliveries at `step` or later retention had to evict: a restore to `step` cannot deliver them again. Forgets them. */
  takeEvictedFrom(step: number): number {
    let from = this.evicted.length;
    while (from > 0 && (this.evicted[from - 1]?.[0] ?? 0) >= step) from--;
    return this.evicted.splice(from).reduce((sum, [, count]) => sum + count, 0);
  }
}

export const UNKNOWN_DESTINATIONS_KEPT = 32;
