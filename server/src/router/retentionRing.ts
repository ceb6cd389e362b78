// What a receiver was delivered since its last checkpoint, kept for a redelivery after a restore.
// A SlotRing (slotRing.ts) with the step that consumed each message: an inbox taken from the
// pending queue is retained as copies of its ranges of slots and columns, never as objects.
// Thousands of retained objects per receiver, each outliving a young generation, made the garbage
// collector the router's main cost (measured: 0.18 against 2.5 million messages/s for the router
// alone).
import { SlotRing, type SlotMessage } from './slotRing';

const DELIVERED_STEP = 0;

/**
 * The delivery step of a message handed to a receiver's mailbox whose consuming step is not known
 * yet (free-running: the receiver's host reports it, settle()). It sorts after every step, so a
 * checkpoint never covers it and a restore to any step delivers it again.
 */
export const IN_FLIGHT = Number.POSITIVE_INFINITY;

/** A retained message, enough to rebuild its envelope. */
export interface RetainedMessage extends SlotMessage {
  deliveredStep: number;
}

export class RetentionRing extends SlotRing {
  /** The newest records whose delivery step is IN_FLIGHT (always the tail: settle() goes oldest first). */
  private inFlight = 0;

  constructor(private readonly limit: number) {
    super(1);
  }

  /** Retained messages whose consuming step is not known yet. */
  get unsettled(): number {
    return this.inFlight;
  }

  /** Keeps one delivered message; past the limit the oldest goes. Returns the evicted one's delivery step, or -1. */
  push(message: RetainedMessage): number {
    if (this.limit <= 0) return message.deliveredStep;
    let evicted = -1;
    if (this.count >= this.limit) evicted = this.evictOldest();
    const i = this.openBack();
    this.writeAt(i, message);
    this.delivered()[this.at(i)] = message.deliveredStep;
    if (message.deliveredStep === IN_FLIGHT) this.inFlight++;
    return evicted;
  }

  /**
   * Keeps the oldest `n` messages of `queue` (an inbox just taken), delivered at `deliveredStep`,
   * as copies of their ranges. Past the limit the oldest go: `evicted(step, count)` hears each run
   * of evicted messages' delivery step, oldest first (those of this inbox too when it alone passes
   * the limit).
   */
  pushFrom(queue: SlotRing, n: number, deliveredStep: number, evicted: (step: number, count: number) => void): void {
    if (n <= 0) return;
    // What would be evicted at once is never copied.
    const skipped = Math.max(0, n - this.limit);
    const kept = n - skipped;
    this.evict(this.count + kept - this.limit, evicted);
    if (skipped > 0) evicted(deliveredStep, skipped);
    if (kept === 0) return;
    const start = this.appendFromRing(queue, skipped, kept);
    this.fillDelivered(start, kept, deliveredStep);
    if (deliveredStep === IN_FLIGHT) this.inFlight += kept;
  }

  /**
   * The oldest `count` in-flight messages were consumed by the receiver's step `step` (its host
   * said so). Returns how many were settled (fewer when fewer were in flight).
   */
  settle(count: number, step: number): number {
    const settled = Math.min(count, this.inFlight);
    const first = this.count - this.inFlight;
    this.fillDelivered(first, settled, step);
    this.inFlight -= settled;
    return settled;
  }

  /** Forgets what was delivered before `step` (a checkpoint covers it); returns the latest delivery step dropped, or -1. */
  dropBefore(step: number): number {
    let latest = -1;
    let dropped = 0;
    const delivered = this.delivered();
    while (dropped < this.count) {
      const at = delivered[this.at(dropped)] ?? 0;
      if (at >= step) break;
      latest = at;
      dropped++;
    }
    this.dropFront(dropped);
    return latest;
  }

  /** Removes and returns what was delivered at `step` or later, oldest first (deliveries are in step order). */
  takeFrom(step: number): RetainedMessage[] {
    const keep = this.firstFrom(step);
    const taken = this.read(keep);
    // In-flight records are the newest and sort after every step: a restore takes them first.
    this.inFlight = Math.max(0, this.inFlight - (this.count - keep));
    this.dropBack(this.count - keep);
    return taken;
  }

  /** What was delivered at `step` or later, oldest first, left in place (a checkpoint file's copy). */
  peekFrom(step: number): RetainedMessage[] {
    return this.read(this.firstFrom(step));
  }

  /** Drops the oldest `n`, telling `evicted` each run of one delivery step. */
  private evict(n: number, evicted: (step: number, count: number) => void): void {
    if (n <= 0) return;
    const delivered = this.delivered();
    let runStep = delivered[this.at(0)] ?? 0;
    let runCount = 0;
    for (let k = 0; k < n; k++) {
      const step = delivered[this.at(k)] ?? 0;
      if (step !== runStep) {
        evicted(runStep, runCount);
        runStep = step;
        runCount = 0;
      }
      runCount++;
    }
    evicted(runStep, runCount);
    // In-flight records are the newest: only evicting (nearly) everything reaches them.
    this.inFlight = Math.min(this.inFlight, this.count - n);
    this.dropFront(n);
  }

  private evictOldest(): number {
    const step = this.delivered()[this.at(0)] ?? 0;
    if (this.inFlight === this.count) this.inFlight--;
    this.dropFront(1);
    return step;
  }

  private fillDelivered(from: number, n: number, step: number): void {
    const delivered = this.delivered();
    for (let k = 0; k < n; k++) delivered[this.at(from + k)] = step;
  }

  private firstFrom(step: number): number {
    const delivered = this.delivered();
    let keep = this.count;
    while (keep > 0 && (delivered[this.at(keep - 1)] ?? 0) >= step) keep--;
    return keep;
  }

  private read(from: number): RetainedMessage[] {
    const delivered = this.delivered();
    const taken: RetainedMessage[] = [];
    for (let i = from; i < this.count; i++)
      taken.push({ ...this.message(i), deliveredStep: delivered[this.at(i)] ?? 0 });
    return taken;
  }

  private delivered(): Float64Array {
    return this.extra[DELIVERED_STEP] as Float64Array;
  }
}
