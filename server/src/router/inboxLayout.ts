// Writes delivered messages into a kernel's inbox buffer exactly as docs/kernel-abi.md lays it out:
// `max(1, inboxCapacity)` slots of 64 bytes, slot i holding the i-th message of this step in the
// order takeInbox returned them; per slot the words source, type, length, timestamp (the low 32
// bits of the HLC time), then 12 payload words. inbox_count (control word 2) is the number of
// slots written. Slots at and past inbox_count keep whatever an earlier step left: the host
// uploads only the slots it wrote, and a kernel must not read them.
import { INBOX_WORD, SLOT_BYTES, SLOT_HEADER_WORDS, SLOT_PAYLOAD_BYTES, inboxBytes } from '../abi/kernelAbi';
import type { Envelope } from './envelope';
import { hlcLowWord } from './hybridLogicalClock';

export interface EncodedInbox {
  /** The whole inbox buffer (the target when one was given). */
  bytes: Uint8Array;
  /** inbox_count for the control block. */
  count: number;
  /** Bytes from the start that hold this step's slots: what the host must upload. */
  usedBytes: number;
}

export interface InboxSlot {
  source: number;
  type: number;
  length: number;
  timestamp: number;
  payload: Uint8Array;
}

/**
 * Encodes at most `capacity` envelopes into `target` (reused across steps; at least
 * inboxBytes(capacity) long) or into a new buffer. A payload longer than 48 bytes is cut to 48 and
 * its length word says 48, as the outbox rule does; the rest of each slot's payload is zeroed, so a
 * slot's bytes depend only on its message.
 */
export function encodeInbox(envelopes: readonly Envelope[], capacity: number, target?: Uint8Array): EncodedInbox {
  if (!Number.isInteger(capacity) || capacity < 0)
    throw new RangeError(`inbox: capacity ${capacity} is not a whole number of at least 0`);
  if (envelopes.length > capacity) {
    throw new RangeError(
      `inbox: ${envelopes.length} messages do not fit an inbox of ${capacity} slots; take at most the capacity (takeInbox's capacity argument)`,
    );
  }
  const needed = inboxBytes(capacity);
  if (target !== undefined && target.byteLength < needed) {
    throw new RangeError(
      `inbox: the target buffer has ${target.byteLength} bytes; an inbox of ${capacity} slots needs ${needed}`,
    );
  }
  const bytes = target ?? new Uint8Array(needed);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < envelopes.length; i++) {
    const envelope = envelopes[i];
    if (envelope === undefined) continue;
    const base = i * SLOT_BYTES;
    const length = Math.min(envelope.payload.byteLength, SLOT_PAYLOAD_BYTES);
    view.setUint32(base + INBOX_WORD.source * 4, envelope.source >>> 0, true);
    view.setUint32(base + INBOX_WORD.type * 4, envelope.type >>> 0, true);
    view.setUint32(base + INBOX_WORD.length * 4, length, true);
    view.setUint32(base + INBOX_WORD.timestamp * 4, hlcLowWord(envelope.timestamp), true);
    const payloadStart = base + SLOT_HEADER_WORDS * 4;
    // Full 48-byte payloads (the usual case) need neither a cut view nor zeroing: no object per message.
    bytes.set(
      length === envelope.payload.byteLength ? envelope.payload : envelope.payload.subarray(0, length),
      payloadStart,
    );
    if (length < SLOT_PAYLOAD_BYTES) bytes.fill(0, payloadStart + length, base + SLOT_BYTES);
  }
  return { bytes, count: envelopes.length, usedBytes: envelopes.length * SLOT_BYTES };
}

/** Reads `count` slots back (tests, and a kernel's inbox shown for debugging). */
export function decodeInbox(bytes: Uint8Array, count: number): InboxSlot[] {
  if (count * SLOT_BYTES > bytes.byteLength)
    throw new RangeError(`inbox: ${count} slots need ${count * SLOT_BYTES} bytes; the buffer has ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots: InboxSlot[] = [];
  for (let i = 0; i < count; i++) {
    const base = i * SLOT_BYTES;
    const length = Math.min(view.getUint32(base + INBOX_WORD.length * 4, true), SLOT_PAYLOAD_BYTES);
    const payloadStart = base + SLOT_HEADER_WORDS * 4;
    slots.push({
      source: view.getUint32(base + INBOX_WORD.source * 4, true),
      type: view.getUint32(base + INBOX_WORD.type * 4, true),
      length,
      timestamp: view.getUint32(base + INBOX_WORD.timestamp * 4, true),
      payload: bytes.slice(payloadStart, payloadStart + length),
    });
  }
  return slots;
}
