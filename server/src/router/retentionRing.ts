// What a receiver was delivered since its last checkpoint, kept for a redelivery after a restore.
// Kept as fixed 96-byte records in one growing buffer rather than as the envelope objects: at a
// million messages a second, thousands of retained objects per receiver each outliving a young
// generation made the garbage collector the router's main cost (measured: 0.18 against 2.5 million
// messages/s for the router alone).
import { SLOT_PAYLOAD_BYTES } from '../abi/kernelAbi';
import type { QueuedEnvelope } from './envelope';

/** Offsets in one record. */
const SOURCE = 0;
const TYPE = 4;
const FROM_SLOT = 8;
const LENGTH = 12;
const SEQ = 16;
const TIMESTAMP = 24;
const SEND_STEP = 32;
const DELIVERED_STEP = 40;
const PAYLOAD = 48;
const RECORD_BYTES = PAYLOAD + SLOT_PAYLOAD_BYTES;
const FIRST_CAPACITY = 64;

/**
 * The delivery step of a message handed to a receiver's mailbox whose consuming step is not known
 * yet (free-running: the receiver's host reports it, settle()). It sorts after every step, so a
 * checkpoint never covers it and a restore to any step delivers it again.
 */
export const IN_FLIGHT = Number.POSITIVE_INFINITY;

/** A retained message, enough to rebuild its envelope. */
export interface RetainedMessage {
  source: number;
  type: number;
  fromSlot: number;
  seq: number;
  timestamp: bigint;
  sendStep: number;
  deliveredStep: number;
  payload: Uint8Array;
}

export class RetentionRing {
  private bytes = new Uint8Array(0);
  private view = new DataView(this.bytes.buffer);
  private capacity = 0;
  /** Record index of the oldest retained message. */
  private head = 0;
  private count = 0;
  /** The newest records whose delivery step is IN_FLIGHT (always the tail: settle() goes oldest first). */
  private inFlight = 0;

  constructor(private readonly limit: number) {}

  get length(): number {
    return this.count;
  }

  /** Retained messages whose consuming step is not known yet. */
  get unsettled(): number {
    return this.inFlight;
  }

  /** Keeps a delivered envelope; past the limit the oldest goes. Returns the evicted one's delivery step, or -1. */
  push(envelope: QueuedEnvelope): number {
    if (this.limit <= 0) return envelope.deliveredStep;
    let evicted = -1;
    if (this.count === this.capacity) {
      if (this.capacity < this.limit) this.grow();
      else {
        evicted = this.view.getFloat64(this.offset(0) + DELIVERED_STEP, true);
        if (this.inFlight === this.count) this.inFlight--;
        this.head = (this.head + 1) % this.capacity;
        this.count--;
      }
    }
    if (envelope.deliveredStep === IN_FLIGHT) this.inFlight++;
    const at = this.offset(this.count);
    const view = this.view;
    const length = Math.min(envelope.payload.byteLength, SLOT_PAYLOAD_BYTES);
    view.setUint32(at + SOURCE, envelope.source, true);
    view.setUint32(at + TYPE, envelope.type >>> 0, true);
    view.setUint32(at + FROM_SLOT, envelope.fromSlot, true);
    view.setUint32(at + LENGTH, length, true);
    view.setFloat64(at + SEQ, envelope.seq, true);
    view.setBigUint64(at + TIMESTAMP, envelope.timestamp, true);
    view.setFloat64(at + SEND_STEP, envelope.sendStep, true);
    view.setFloat64(at + DELIVERED_STEP, envelope.deliveredStep, true);
    this.bytes.set(
      length === envelope.payload.byteLength ? envelope.payload : envelope.payload.subarray(0, length),
      at + PAYLOAD,
    );
    this.count++;
    return evicted;
  }

  /**
   * The oldest `count` in-flight messages were consumed by the receiver's step `step` (its host
   * said so). Returns how many were settled (fewer when fewer were in flight).
   */
  settle(count: number, step: number): number {
    const settled = Math.min(count, this.inFlight);
    const first = this.count - this.inFlight;
    for (let i = first; i < first + settled; i++) this.view.setFloat64(this.offset(i) + DELIVERED_STEP, step, true);
    this.inFlight -= settled;
    return settled;
  }

  /** Forgets what was delivered before `step` (a checkpoint covers it); returns the latest delivery step dropped, or -1. */
  dropBefore(step: number): number {
    let latest = -1;
    for (;;) {
      if (this.count === 0) return latest;
      const delivered = this.view.getFloat64(this.offset(0) + DELIVERED_STEP, true);
      if (delivered >= step) return latest;
      latest = delivered;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
    }
  }

  /** Removes and returns what was delivered at `step` or later, oldest first (deliveries are in step order). */
  takeFrom(step: number): RetainedMessage[] {
    const keep = this.firstFrom(step);
    const taken = this.read(keep);
    // In-flight records are the newest and sort after every step: a restore takes them first.
    this.inFlight = Math.max(0, this.inFlight - (this.count - keep));
    this.count = keep;
    return taken;
  }

  /** What was delivered at `step` or later, oldest first, left in place (a checkpoint file's copy). */
  peekFrom(step: number): RetainedMessage[] {
    return this.read(this.firstFrom(step));
  }

  private firstFrom(step: number): number {
    let keep = this.count;
    while (keep > 0 && this.view.getFloat64(this.offset(keep - 1) + DELIVERED_STEP, true) >= step) keep--;
    return keep;
  }

  private read(from: number): RetainedMessage[] {
    const taken: RetainedMessage[] = [];
    for (let i = from; i < this.count; i++) {
      const at = this.offset(i);
      const view = this.view;
      const length = view.getUint32(at + LENGTH, true);
      taken.push({
        source: view.getUint32(at + SOURCE, true),
        type: view.getUint32(at + TYPE, true),
        fromSlot: view.getUint32(at + FROM_SLOT, true),
        seq: view.getFloat64(at + SEQ, true),
        timestamp: view.getBigUint64(at + TIMESTAMP, true),
        sendStep: view.getFloat64(at + SEND_STEP, true),
        deliveredStep: view.getFloat64(at + DELIVERED_STEP, true),
        payload: this.bytes.slice(at + PAYLOAD, at + PAYLOAD + length),
      });
    }
    return taken;
  }

  private offset(i: number): number {
    return ((this.head + i) % this.capacity) * RECORD_BYTES;
  }

  private grow(): void {
    const capacity = Math.min(this.limit, Math.max(FIRST_CAPACITY, this.capacity * 2));
    const bytes = new Uint8Array(capacity * RECORD_BYTES);
    for (let i = 0; i < this.count; i++) {
      const from = this.offset(i);
      bytes.set(this.bytes.subarray(from, from + RECORD_BYTES), i * RECORD_BYTES);
    }
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
    this.capacity = capacity;
    this.head = 0;
  }
}
