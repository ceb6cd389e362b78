// Messages as the router keeps them: one growable ring of 64-byte slots already in the inbox's
// layout (docs/kernel-abi.md: source, type, length, the timestamp's low word, 48 payload bytes),
// and beside it a table of typed-array columns for what the slot does not hold (the sender's
// device slot, the sequence number, the timestamp's high word, the send step, and whatever the
// owner adds). A receiver's pending queue and its retention are both one of these: a message is
// copied once into the ring when it is accepted, an inbox is a copy of contiguous slots, and
// retention copies ranges of slots and columns; no object per message. Measured on the
// cross-device flow (bench/profileRouterFlow.ts), the per-message envelope objects (admit,
// encodeInbox, retention and the garbage collector behind them) were most of the server's time.
//
// Capacities are powers of two, so a logical index maps to a physical one with a mask; a range
// that crosses the end of the ring is copied in two pieces.
import { SLOT_BYTES, SLOT_PAYLOAD_BYTES } from '../abi/kernelAbi';
import type { MessageList } from './outboxSlots';

const SLOT_WORDS = SLOT_BYTES / 4;
const PAYLOAD_AT = SLOT_BYTES - SLOT_PAYLOAD_BYTES;
/** Words of a slot, as the inbox has them. */
export const WORD_SOURCE = 0;
export const WORD_TYPE = 1;
export const WORD_LENGTH = 2;
export const WORD_TIME_LOW = 3;
const FIRST_CAPACITY = 64;
const TWO_32 = 2 ** 32;

/** The fields of one message that the ring's slot and common columns hold. */
export interface SlotMessage {
  source: number;
  type: number;
  fromSlot: number;
  seq: number;
  /** The sender's HLC time (64 bits: the high word in a column, the low word in the slot). */
  timestamp: bigint;
  sendStep: number;
  /** At most 48 bytes are kept; a longer one is cut, as the outbox rule does. */
  payload: Uint8Array;
}

export class SlotRing {
  protected bytes = new Uint8Array(0);
  protected words = new Uint32Array(0);
  protected capacity = 0;
  protected mask = 0;
  /** Physical index of the oldest message. */
  protected head = 0;
  protected count = 0;
  protected fromSlots = new Int32Array(0);
  protected seqs = new Float64Array(0);
  protected timeHighs = new Uint32Array(0);
  protected sendSteps = new Float64Array(0);
  /** The owner's own number columns (a pending queue's replay step, a retention ring's delivery step...). */
  protected extra: Float64Array[];

  constructor(extraColumns: number) {
    this.extra = Array.from({ length: extraColumns }, () => new Float64Array(0));
  }

  get length(): number {
    return this.count;
  }

  /** The physical index of logical index `i` (0 is the oldest). */
  protected at(i: number): number {
    return (this.head + i) & this.mask;
  }

  source(i: number): number {
    return this.words[this.at(i) * SLOT_WORDS + WORD_SOURCE] ?? 0;
  }

  type(i: number): number {
    return this.words[this.at(i) * SLOT_WORDS + WORD_TYPE] ?? 0;
  }

  payloadLength(i: number): number {
    return this.words[this.at(i) * SLOT_WORDS + WORD_LENGTH] ?? 0;
  }

  fromSlot(i: number): number {
    return this.fromSlots[this.at(i)] ?? 0;
  }

  seq(i: number): number {
    return this.seqs[this.at(i)] ?? 0;
  }

  sendStep(i: number): number {
    return this.sendSteps[this.at(i)] ?? 0;
  }

  timeHigh(i: number): number {
    return this.timeHighs[this.at(i)] ?? 0;
  }

  timeLow(i: number): number {
    return this.words[this.at(i) * SLOT_WORDS + WORD_TIME_LOW] ?? 0;
  }

  timestamp(i: number): bigint {
    return (BigInt(this.timeHigh(i)) << 32n) | BigInt(this.timeLow(i));
  }

  /** A copy of message `i`'s payload. */
  payload(i: number): Uint8Array {
    const start = this.at(i) * SLOT_BYTES + PAYLOAD_AT;
    return this.bytes.slice(start, start + this.payloadLength(i));
  }

  /** Message `i`'s fields as an object (checkpoints, restores, tests: never on the per-message path). */
  message(i: number): SlotMessage {
    return {
      source: this.source(i),
      type: this.type(i),
      fromSlot: this.fromSlot(i),
      seq: this.seq(i),
      timestamp: this.timestamp(i),
      sendStep: this.sendStep(i),
      payload: this.payload(i),
    };
  }

  /** Copies messages [from, from + n) as inbox slots into `target` at byte `offset` (one or two copies). */
  copySlots(from: number, n: number, target: Uint8Array, offset: number): void {
    let done = 0;
    while (done < n) {
      const p = this.at(from + done);
      const run = Math.min(n - done, this.capacity - p);
      target.set(this.bytes.subarray(p * SLOT_BYTES, (p + run) * SLOT_BYTES), offset + done * SLOT_BYTES);
      done += run;
    }
  }

  /** Forgets the oldest `n`. */
  dropFront(n: number): void {
    const dropped = Math.min(n, this.count);
    this.head = (this.head + dropped) & this.mask;
    this.count -= dropped;
  }

  /** Forgets the newest `n`. */
  dropBack(n: number): void {
    this.count -= Math.min(n, this.count);
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /**
   * Appends `n` messages of `list` from its message `first`: their slot bytes are copied as they
   * are (one or two copies), then each slot's header becomes the inbox's (source, the length cut
   * to 48 with the rest of the payload zeroed, the timestamp's low word; the type stays), and the
   * columns are written. The messages are consecutive in the sender's numbering and clock: message
   * k has sequence `seq + k` and timestamp (high, low) + k. Returns the logical index of the first.
   */
  protected appendFromList(
    list: MessageList,
    first: number,
    n: number,
    source: number,
    fromSlot: number,
    seq: number,
    timeHigh: number,
    timeLow: number,
    sendStep: number,
  ): number {
    this.reserve(n);
    const start = this.count;
    let done = 0;
    while (done < n) {
      const p = this.at(start + done);
      const run = Math.min(n - done, this.capacity - p);
      list.copySlots(first + done, run, this.bytes, p * SLOT_BYTES);
      done += run;
    }
    const words = this.words;
    let high = timeHigh;
    let low = timeLow;
    for (let k = 0; k < n; k++) {
      const p = this.at(start + k);
      const w = p * SLOT_WORDS;
      words[w + WORD_SOURCE] = source;
      const length = words[w + WORD_LENGTH] ?? 0;
      if (length > SLOT_PAYLOAD_BYTES) words[w + WORD_LENGTH] = SLOT_PAYLOAD_BYTES;
      else if (length < SLOT_PAYLOAD_BYTES)
        this.bytes.fill(0, p * SLOT_BYTES + PAYLOAD_AT + length, (p + 1) * SLOT_BYTES);
      words[w + WORD_TIME_LOW] = low;
      this.timeHighs[p] = high;
      this.fromSlots[p] = fromSlot;
      this.seqs[p] = seq + k;
      this.sendSteps[p] = sendStep;
      if (++low === TWO_32) {
        low = 0;
        high++;
      }
    }
    this.count += n;
    return start;
  }

  /** Appends `n` messages from another ring's [from, from + n), slots and common columns, in ranges. Returns the first's logical index. */
  protected appendFromRing(other: SlotRing, from: number, n: number): number {
    this.reserve(n);
    const start = this.count;
    let done = 0;
    while (done < n) {
      const source = other.at(from + done);
      const target = this.at(start + done);
      const run = Math.min(n - done, other.capacity - source, this.capacity - target);
      this.bytes.set(other.bytes.subarray(source * SLOT_BYTES, (source + run) * SLOT_BYTES), target * SLOT_BYTES);
      // Columns by a plain loop: an inbox's run is short, and a subarray view per column cost more than the copy.
      for (let k = 0; k < run; k++) {
        this.fromSlots[target + k] = other.fromSlots[source + k] ?? 0;
        this.seqs[target + k] = other.seqs[source + k] ?? 0;
        this.timeHighs[target + k] = other.timeHighs[source + k] ?? 0;
        this.sendSteps[target + k] = other.sendSteps[source + k] ?? 0;
      }
      done += run;
    }
    this.count += n;
    return start;
  }

  /** Makes room for `n` messages in front of the oldest; returns nothing: write them with writeAt(0..n-1). */
  protected openFront(n: number): void {
    this.reserve(n);
    this.head = (this.head - n) & this.mask;
    this.count += n;
  }

  /** Makes room for one message at the back; returns its logical index (write it with writeAt). */
  protected openBack(): number {
    this.reserve(1);
    return this.count++;
  }

  /** Writes one message's slot and common columns at logical index `i`. */
  protected writeAt(i: number, message: SlotMessage): void {
    const p = this.at(i);
    const w = p * SLOT_WORDS;
    const length = Math.min(message.payload.byteLength, SLOT_PAYLOAD_BYTES);
    this.words[w + WORD_SOURCE] = message.source >>> 0;
    this.words[w + WORD_TYPE] = message.type >>> 0;
    this.words[w + WORD_LENGTH] = length;
    this.words[w + WORD_TIME_LOW] = Number(message.timestamp & 0xffffffffn);
    const payloadStart = p * SLOT_BYTES + PAYLOAD_AT;
    this.bytes.set(
      length === message.payload.byteLength ? message.payload : message.payload.subarray(0, length),
      payloadStart,
    );
    this.bytes.fill(0, payloadStart + length, (p + 1) * SLOT_BYTES);
    this.timeHighs[p] = Number((message.timestamp >> 32n) & 0xffffffffn);
    this.fromSlots[p] = message.fromSlot;
    this.seqs[p] = message.seq;
    this.sendSteps[p] = message.sendStep;
  }

  /** Room for `n` more; growth doubles and puts the oldest at physical 0. */
  protected reserve(n: number): void {
    const needed = this.count + n;
    if (needed <= this.capacity) return;
    let capacity = Math.max(FIRST_CAPACITY, this.capacity);
    while (capacity < needed) capacity *= 2;
    this.resize(capacity);
  }

  /** Moves everything into new storage of `capacity` slots, oldest first at physical 0. */
  protected resize(capacity: number): void {
    const bytes = new Uint8Array(capacity * SLOT_BYTES);
    this.copySlots(0, this.count, bytes, 0);
    this.fromSlots = this.linear(this.fromSlots, new Int32Array(capacity));
    this.seqs = this.linear(this.seqs, new Float64Array(capacity));
    this.timeHighs = this.linear(this.timeHighs, new Uint32Array(capacity));
    this.sendSteps = this.linear(this.sendSteps, new Float64Array(capacity));
    this.extra = this.extra.map((column) => this.linear(column, new Float64Array(capacity)));
    this.bytes = bytes;
    this.words = new Uint32Array(bytes.buffer);
    this.moved(capacity);
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.head = 0;
  }

  /** A subclass with columns of its own (not numbers) moves them here, oldest first, before the ring's capacity changes. */
  protected moved(capacity: number): void {
    void capacity;
  }

  /** A column's live values, oldest first, into `into`. */
  protected linear<T extends Int32Array | Uint32Array | Float64Array>(column: T, into: T): T {
    let done = 0;
    while (done < this.count) {
      const p = this.at(done);
      const run = Math.min(this.count - done, this.capacity - p);
      into.set(column.subarray(p, p + run), done);
      done += run;
    }
    return into;
  }
}
