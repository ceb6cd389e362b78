// One step's outbox as the router reads it: each message's destination and type straight from the
// slot bytes, and the slots copied out (in runs, into the receiver's pending queue) only for
// messages the router keeps. Measured on the
// cross-device flow (bench/profileRouterFlow.ts, 4096-message steps): decoding every slot into an
// object with a payload view, before the router refused most of them (the receiver's queue was
// full), was the server's largest single cost (12% of its time, plus the garbage collector's).
import { OUTBOX_HEADER_BYTES, OUTBOX_WORD, SLOT_BYTES, SLOT_HEADER_WORDS, SLOT_PAYLOAD_BYTES } from '../abi/kernelAbi';
import type { OutboxMessage } from '../abi/kernelAbi';

/** Messages the router can take in order, whatever holds them. */
export interface MessageList {
  readonly count: number;
  destination(i: number): number;
  type(i: number): number;
  /** The payload (at most 48 bytes), owned by the router once asked for: it outlives the list's bytes. */
  payload(i: number): Uint8Array;
  /**
   * Copies messages [first, first + count) as 64-byte slots into `target` at byte `offset`: words
   * 1 and 2 (type, length) and the payload as the outbox has them; the router writes the other
   * header words, cuts the length to 48 and zeroes the payload past it (pendingQueue.ts).
   */
  copySlots(first: number, count: number, target: Uint8Array, offset: number): void;
  /** Makes every later read independent of the bytes the list was made over (a lockstep batch waits for its step's end). */
  detach(): void;
}

/**
 * A step's used outbox slots, read in place (the header and the slots, as usedOutboxBytes reads
 * them; a ring's pages, valid only until the batch is submitted). The first payload asked for
 * copies the used slots once, for the whole step; every payload is a view into that copy.
 */
export class OutboxSlots implements MessageList {
  readonly count: number;
  /** Sends past the capacity, never written: the sender's outbox overflow. */
  readonly dropped: number;
  private bytes: Uint8Array;
  private view: DataView;
  private owned = false;

  constructor(bytes: Uint8Array, capacity: number) {
    if (bytes.byteLength < OUTBOX_HEADER_BYTES)
      throw new RangeError(`outbox: ${bytes.byteLength} bytes hold no header (${OUTBOX_HEADER_BYTES} bytes)`);
    const sent = new DataView(bytes.buffer, bytes.byteOffset, OUTBOX_HEADER_BYTES).getUint32(0, true);
    const kept = Math.min(sent, Math.max(0, capacity));
    const used = kept * SLOT_BYTES;
    if (bytes.byteLength < OUTBOX_HEADER_BYTES + used)
      throw new RangeError(
        `outbox: the kernel sent ${kept} messages that fit its capacity, which need ${OUTBOX_HEADER_BYTES + used} bytes; only ${bytes.byteLength} were read`,
      );
    this.count = kept;
    this.dropped = sent - kept;
    this.bytes = bytes.subarray(OUTBOX_HEADER_BYTES, OUTBOX_HEADER_BYTES + used);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, used);
  }

  destination(i: number): number {
    return this.view.getUint32(i * SLOT_BYTES + OUTBOX_WORD.destination * 4, true);
  }

  type(i: number): number {
    return this.view.getUint32(i * SLOT_BYTES + OUTBOX_WORD.type * 4, true);
  }

  payload(i: number): Uint8Array {
    if (!this.owned) this.detach();
    const base = i * SLOT_BYTES;
    const length = Math.min(this.view.getUint32(base + OUTBOX_WORD.length * 4, true), SLOT_PAYLOAD_BYTES);
    const start = base + SLOT_HEADER_WORDS * 4;
    return this.bytes.subarray(start, start + length);
  }

  copySlots(first: number, count: number, target: Uint8Array, offset: number): void {
    // The whole run in one copy: the router's pending queue keeps the slots as the outbox had them.
    target.set(this.bytes.subarray(first * SLOT_BYTES, (first + count) * SLOT_BYTES), offset);
  }

  detach(): void {
    if (this.owned) return;
    this.bytes = this.bytes.slice();
    this.view = new DataView(this.bytes.buffer);
    this.owned = true;
  }
}

/** decodeOutbox's messages (or a test's) as a MessageList. */
export class DecodedMessages implements MessageList {
  constructor(private readonly messages: readonly OutboxMessage[]) {}

  get count(): number {
    return this.messages.length;
  }

  destination(i: number): number {
    return this.at(i).destination;
  }

  type(i: number): number {
    return this.at(i).type;
  }

  payload(i: number): Uint8Array {
    return this.at(i).payload;
  }

  copySlots(first: number, count: number, target: Uint8Array, offset: number): void {
    const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
    for (let k = 0; k < count; k++) {
      const payload = this.payload(first + k);
      const base = offset + k * SLOT_BYTES;
      const length = Math.min(payload.byteLength, SLOT_PAYLOAD_BYTES);
      view.setUint32(base + OUTBOX_WORD.type * 4, this.type(first + k) >>> 0, true);
      view.setUint32(base + OUTBOX_WORD.length * 4, length, true);
      target.set(length === payload.byteLength ? payload : payload.subarray(0, length), base + SLOT_HEADER_WORDS * 4);
    }
  }

  detach(): void {
    // The payloads are the caller's views already (decodeOutbox's one copy per step).
  }

  private at(i: number): OutboxMessage {
    const message = this.messages[i];
    if (message === undefined) throw new RangeError(`outbox: no message ${i} of ${this.messages.length}`);
    return message;
  }
}

/** Either form an OutboxBatch may carry. */
export function messageList(messages: readonly OutboxMessage[] | MessageList): MessageList {
  return Array.isArray(messages)
    ? new DecodedMessages(messages as readonly OutboxMessage[])
    : (messages as MessageList);
}
