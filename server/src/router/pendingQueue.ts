// A receiving kernel's queue of pending messages: a FIFO SlotRing (slotRing.ts) whose slots are
// the inbox's, with the columns a delivery needs besides: the step a restore redelivers it at, when
// it was accepted and the receiver's step then (latency), and its route (a reference to the routing
// table's decision object, shared by every message of a device pair: nothing allocated per message).
import type { MessageList } from './outboxSlots';
import type { RoutingDecision } from './routingDecision';
import { SlotRing, type SlotMessage } from './slotRing';

const REPLAY_STEP = 0;
const ACCEPTED_MS = 1;
const ARRIVAL_STEP = 2;

/** A pending message as an object: what a restore puts back and a checkpoint reads. */
export interface PendingMessage extends SlotMessage {
  route: RoutingDecision;
  /** The receiver's step that delivers it again after a restore; -1 for a first delivery. */
  replayStep: number;
  /** Router clock (ms) when it was accepted. */
  acceptedMs: number;
  /** The receiver's latest step when it was accepted: latency in steps counts from here. */
  arrivalStep: number;
}

/** What every message of one admitted run shares (one sender, one step, one receiver). */
export interface AdmittedRun {
  source: number;
  fromSlot: number;
  /** The first message's sequence number; the next ones follow it. */
  seq: number;
  /** The first message's HLC time as two 32-bit words; the next ones follow it. */
  timeHigh: number;
  timeLow: number;
  sendStep: number;
  route: RoutingDecision;
  acceptedMs: number;
  arrivalStep: number;
}

export class PendingQueue extends SlotRing {
  private routes: (RoutingDecision | undefined)[] = [];

  constructor() {
    super(3);
  }

  replayStep(i: number): number {
    return this.column(REPLAY_STEP)[this.at(i)] ?? -1;
  }

  setReplayStep(i: number, step: number): void {
    this.column(REPLAY_STEP)[this.at(i)] = step;
  }

  acceptedMs(i: number): number {
    return this.column(ACCEPTED_MS)[this.at(i)] ?? 0;
  }

  arrivalStep(i: number): number {
    return this.column(ARRIVAL_STEP)[this.at(i)] ?? 0;
  }

  route(i: number): RoutingDecision {
    const route = this.routes[this.at(i)];
    if (route === undefined) throw new RangeError(`pending queue: no message ${i} of ${this.count}`);
    return route;
  }

  setRoute(i: number, route: RoutingDecision): void {
    this.routes[this.at(i)] = route;
  }

  /** Accepts `n` consecutive messages of a sender's outbox list, from its message `first`: one copy of their slots, then table writes. */
  appendRun(list: MessageList, first: number, n: number, run: AdmittedRun): void {
    const start = this.appendFromList(
      list,
      first,
      n,
      run.source,
      run.fromSlot,
      run.seq,
      run.timeHigh,
      run.timeLow,
      run.sendStep,
    );
    const replay = this.column(REPLAY_STEP);
    const accepted = this.column(ACCEPTED_MS);
    const arrival = this.column(ARRIVAL_STEP);
    for (let k = 0; k < n; k++) {
      const p = this.at(start + k);
      replay[p] = -1;
      accepted[p] = run.acceptedMs;
      arrival[p] = run.arrivalStep;
      this.routes[p] = run.route;
    }
  }

  /** Puts messages back in front, in their order (a redelivery after a restore). */
  unshiftAll(messages: readonly PendingMessage[]): void {
    if (messages.length === 0) return;
    this.openFront(messages.length);
    messages.forEach((message, i) => this.writePending(i, message));
  }

  /** Removes the oldest `n` (taken into an inbox). */
  shift(n: number): void {
    for (let k = 0; k < Math.min(n, this.count); k++) this.routes[this.at(k)] = undefined;
    this.dropFront(n);
  }

  override clear(): void {
    this.routes = [];
    super.clear();
  }

  /** Message `i` as an object (tests; the router reads the columns). */
  pendingMessage(i: number): PendingMessage {
    return {
      ...this.message(i),
      route: this.route(i),
      replayStep: this.replayStep(i),
      acceptedMs: this.acceptedMs(i),
      arrivalStep: this.arrivalStep(i),
    };
  }

  protected override moved(capacity: number): void {
    const routes = new Array<RoutingDecision | undefined>(capacity);
    for (let i = 0; i < this.count; i++) routes[i] = this.routes[this.at(i)];
    this.routes = routes;
  }

  private writePending(i: number, message: PendingMessage): void {
    this.writeAt(i, message);
    const p = this.at(i);
    this.column(REPLAY_STEP)[p] = message.replayStep;
    this.column(ACCEPTED_MS)[p] = message.acceptedMs;
    this.column(ARRIVAL_STEP)[p] = message.arrivalStep;
    this.routes[p] = message.route;
  }

  private column(index: number): Float64Array {
    return this.extra[index] as Float64Array;
  }
}
