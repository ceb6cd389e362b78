// A message as the router carries it: what the sender wrote in its outbox slot (destination,
// type, payload) wrapped with who sent it, its place in the sender→receiver sequence, and its
// hybrid logical clock time. The host reads the outbox; the router adds the rest.
import type { HlcTimestamp } from './hybridLogicalClock';
import type { RoutingDecision } from './routingDecision';

export interface Envelope {
  /** The sending kernel's index (its place in the manifest). */
  readonly source: number;
  /** The receiving kernel's index. */
  readonly destination: number;
  /** Chosen by the sender. */
  readonly type: number;
  /**
   * The sender's count of messages to this destination, from 0. Every message the sender addresses
   * to a known kernel takes the next number, accepted or refused, so a re-run after a restore
   * gives the same numbers and the router recognises the re-sent ones as duplicates.
   */
  readonly seq: number;
  /** The sender's clock at the send (physical << 16 | logical). */
  readonly timestamp: HlcTimestamp;
  /** At most 48 bytes (decodeOutbox cuts longer ones). */
  readonly payload: Uint8Array;
  /** The sender's step that sent it. */
  readonly sendStep: number;
  /** The route to the receiver's device: decided on arrival, decided again if the receiver moves or the topology changes. */
  readonly route: RoutingDecision;
  /** The receiver's step that will deliver it again, after a restore from an older checkpoint; -1 otherwise. */
  readonly replayStep: number;
}

/** The router's own record of an envelope: what it needs for latency, re-routing and redelivery. */
export interface QueuedEnvelope extends Envelope {
  route: RoutingDecision;
  replayStep: number;
  /** The sender's device slot in the routing table when it was sent. */
  readonly fromSlot: number;
  /** Router clock (ms) when it was accepted. */
  readonly acceptedMs: number;
  /** The receiver's latest step when it was accepted: latency in steps counts from here. */
  readonly arrivalStep: number;
  /** The receiver's step that took it from its inbox; -1 while pending. */
  deliveredStep: number;
}

/** A FIFO of envelopes: push at the back, take from the front, amortised O(1) without Array.shift. */
export class EnvelopeQueue {
  private items: QueuedEnvelope[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(envelope: QueuedEnvelope): void {
    this.items.push(envelope);
  }

  peek(): QueuedEnvelope | undefined {
    return this.items[this.head];
  }

  shift(): QueuedEnvelope | undefined {
    const first = this.items[this.head];
    if (first === undefined) return undefined;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return first;
  }

  /** Puts envelopes back in front, in their order (a redelivery after a restore). */
  unshiftAll(envelopes: readonly QueuedEnvelope[]): void {
    this.items = envelopes.concat(this.items.slice(this.head));
    this.head = 0;
  }

  /** Removes everything, oldest first. */
  drain(): QueuedEnvelope[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }

  *[Symbol.iterator](): Iterator<QueuedEnvelope> {
    for (let i = this.head; i < this.items.length; i++) {
      const envelope = this.items[i];
      if (envelope !== undefined) yield envelope;
    }
  }
}
