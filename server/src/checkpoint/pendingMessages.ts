// The pending-messages chunk (PEND) both ways: what the K2K router held for and from one kernel
// at its checkpoint's step, so that a server restarted from the files loses and repeats nothing
// (docs/checkpoint-format.md, "Pending messages", says which kernel's file carries what and why).
// Encoding checks the values (a file no reader accepts must never be written); decoding trusts
// nothing and throws MalformedPayload, which the decoder turns into an error naming the file.
import { SLOT_PAYLOAD_BYTES } from '../abi/kernelAbi';
import { MalformedPayload, metadataString } from './chunkPayloads';

/** The version of the PEND payload's own layout (inside a format-version-1 file). */
export const PENDING_ENCODING = 1;
export const PENDING_HEADER_BYTES = 24;
/** A pair entry's fixed part; the peer's kernel id (UTF-8) follows. */
export const PENDING_PAIR_BYTES = 16;
/** A message's fixed part; its payload follows. */
export const PENDING_MESSAGE_BYTES = 40;
/** More entries than this are not a router's (its queues and retention are bounded far below). */
export const MAX_PENDING_ENTRIES = 1 << 24;

export const PAIR_ROLE = {
  /** The peer sends to this kernel: `sequence` is one past the highest sequence number the router had handled from it. */
  incoming: 1,
  /** This kernel sends to the peer: `sequence` is the number its message sent at the checkpoint's step or later gets first. */
  outgoing: 2,
} as const;

export interface PendingPair {
  role: 'incoming' | 'outgoing';
  /** The other kernel's index (its place in the manifest). */
  peer: number;
  /** The other kernel's id, so a resume after the manifest changed does not pair the wrong kernels. */
  peerId: string;
  sequence: number;
}

export interface PendingMessage {
  source: number;
  destination: number;
  type: number;
  /** Per sender→receiver pair, from 0. */
  seq: number;
  /** The sender's hybrid logical clock at the send (physical << 16 | logical). */
  timestamp: bigint;
  /** The sender's step that sent it. */
  sendStep: number;
  /** At most 48 bytes. */
  payload: Uint8Array;
}

/**
 * One kernel's share of the router at a checkpoint: as a receiver, the messages addressed to it
 * that were accepted and not consumed by a step before the checkpoint's; as a sender, the
 * messages it sent before that step that no checkpoint of their receiver was known to cover.
 */
export interface PendingMessages {
  /** The kernel whose checkpoint this is: every message has it as source or destination. */
  kernelIndex: number;
  pairs: PendingPair[];
  /** Per pair in sequence order. */
  messages: PendingMessage[];
}

const HEADER = { encoding: 0, reserved: 2, kernelIndex: 4, pairCount: 8, messageCount: 12, reserved2: 16 } as const;
const PAIR = { role: 0, reserved: 1, idBytes: 2, peer: 4, sequence: 8 } as const;
const MESSAGE = { source: 0, destination: 4, type: 8, length: 12, seq: 16, timestamp: 24, sendStep: 32 } as const;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function u32(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new RangeError(`pending messages: ${what} ${value} is not a 32-bit unsigned integer`);
  return value;
}

function count(what: string, value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`pending messages: ${what} ${value} is not a whole number from 0 to 2^53-1`);
  return BigInt(value);
}

export function encodePendingMessages(pending: PendingMessages): Uint8Array {
  const kernel = u32('kernel index', pending.kernelIndex);
  if (pending.pairs.length > MAX_PENDING_ENTRIES || pending.messages.length > MAX_PENDING_ENTRIES)
    throw new RangeError(`pending messages: more than ${MAX_PENDING_ENTRIES} pairs or messages`);
  const ids = pending.pairs.map((pair) => metadataString(`kernel id of peer ${pair.peer}`, pair.peerId));
  let bytes = PENDING_HEADER_BYTES;
  for (const id of ids) bytes += PENDING_PAIR_BYTES + id.byteLength;
  for (const message of pending.messages) {
    if (message.payload.byteLength > SLOT_PAYLOAD_BYTES)
      throw new RangeError(
        `pending messages: a message's payload is ${message.payload.byteLength} bytes; a slot holds at most ${SLOT_PAYLOAD_BYTES}`,
      );
    bytes += PENDING_MESSAGE_BYTES + message.payload.byteLength;
  }
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  view.setUint16(HEADER.encoding, PENDING_ENCODING, true);
  view.setUint32(HEADER.kernelIndex, kernel, true);
  view.setUint32(HEADER.pairCount, pending.pairs.length, true);
  view.setUint32(HEADER.messageCount, pending.messages.length, true);
  let at = PENDING_HEADER_BYTES;
  pending.pairs.forEach((pair, i) => {
    const id = ids[i] ?? new Uint8Array(0);
    view.setUint8(at + PAIR.role, PAIR_ROLE[pair.role]);
    view.setUint16(at + PAIR.idBytes, id.byteLength, true);
    view.setUint32(at + PAIR.peer, u32('peer index', pair.peer), true);
    view.setBigUint64(at + PAIR.sequence, count('sequence number', pair.sequence), true);
    out.set(id, at + PENDING_PAIR_BYTES);
    at += PENDING_PAIR_BYTES + id.byteLength;
  });
  const lastSeq = new Map<string, number>();
  for (const message of pending.messages) {
    const pair = `${message.source}>${message.destination}`;
    const previous = lastSeq.get(pair);
    if (previous !== undefined && message.seq <= previous)
      throw new RangeError(
        `pending messages: from kernel ${message.source} to ${message.destination}, sequence number ${message.seq} comes after ${previous}; a pair's messages go in increasing order`,
      );
    lastSeq.set(pair, message.seq);
    if (message.source !== kernel && message.destination !== kernel)
      throw new RangeError(
        `pending messages: a message from kernel ${message.source} to ${message.destination} does not belong in kernel ${kernel}'s checkpoint`,
      );
    if (message.timestamp < 0n || message.timestamp >= 1n << 64n)
      throw new RangeError(`pending messages: timestamp ${message.timestamp} is not a 64-bit unsigned integer`);
    view.setUint32(at + MESSAGE.source, u32('source', message.source), true);
    view.setUint32(at + MESSAGE.destination, u32('destination', message.destination), true);
    view.setUint32(at + MESSAGE.type, u32('message type', message.type), true);
    view.setUint32(at + MESSAGE.length, message.payload.byteLength, true);
    view.setBigUint64(at + MESSAGE.seq, count('sequence number', message.seq), true);
    view.setBigUint64(at + MESSAGE.timestamp, message.timestamp, true);
    view.setBigUint64(at + MESSAGE.sendStep, count('send step', message.sendStep), true);
    out.set(message.payload, at + PENDING_MESSAGE_BYTES);
    at += PENDING_MESSAGE_BYTES + message.payload.byteLength;
  }
  return out;
}

export function decodePendingMessages(bytes: Uint8Array): PendingMessages {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < PENDING_HEADER_BYTES)
    throw new MalformedPayload(
      `pending messages are ${bytes.byteLength} bytes, shorter than their ${PENDING_HEADER_BYTES}-byte header`,
    );
  const encoding = view.getUint16(HEADER.encoding, true);
  if (encoding !== PENDING_ENCODING)
    throw new MalformedPayload(
      `pending messages are in encoding ${encoding}; this RingKernel reads encoding ${PENDING_ENCODING}`,
    );
  if (view.getUint16(HEADER.reserved, true) !== 0 || view.getBigUint64(HEADER.reserved2, true) !== 0n)
    throw new MalformedPayload('pending messages have reserved header fields that are not 0');
  const kernelIndex = view.getUint32(HEADER.kernelIndex, true);
  const pairCount = view.getUint32(HEADER.pairCount, true);
  const messageCount = view.getUint32(HEADER.messageCount, true);
  // Checked against the bytes really there before anything is allocated for them.
  const least = PENDING_HEADER_BYTES + pairCount * PENDING_PAIR_BYTES + messageCount * PENDING_MESSAGE_BYTES;
  if (least > bytes.byteLength)
    throw new MalformedPayload(
      `pending messages say ${pairCount} pairs and ${messageCount} messages, which need at least ${least} bytes; the chunk has ${bytes.byteLength}`,
    );
  const end = (what: string, at: number, length: number): void => {
    if (at + length > bytes.byteLength)
      throw new MalformedPayload(
        `pending messages end inside ${what} (it needs ${length} bytes at byte ${at}; the chunk has ${bytes.byteLength})`,
      );
  };
  const seqOf = (at: number, what: string): number => {
    const value = view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER))
      throw new MalformedPayload(`pending messages: ${what} is ${value}, more than 2^53-1`);
    return Number(value);
  };
  const pairs: PendingPair[] = [];
  const seenPairs = new Set<string>();
  let at = PENDING_HEADER_BYTES;
  for (let i = 0; i < pairCount; i++) {
    end(`pair ${i}`, at, PENDING_PAIR_BYTES);
    const roleCode = view.getUint8(at + PAIR.role);
    const role =
      roleCode === PAIR_ROLE.incoming ? 'incoming' : roleCode === PAIR_ROLE.outgoing ? 'outgoing' : undefined;
    if (role === undefined)
      throw new MalformedPayload(`pending messages: pair ${i} has role ${roleCode}, expected 1 or 2`);
    if (view.getUint8(at + PAIR.reserved) !== 0)
      throw new MalformedPayload(`pending messages: pair ${i} has a reserved byte that is not 0`);
    const idBytes = view.getUint16(at + PAIR.idBytes, true);
    const peer = view.getUint32(at + PAIR.peer, true);
    const sequence = seqOf(at + PAIR.sequence, `pair ${i}'s sequence number`);
    end(`the kernel id of pair ${i}`, at + PENDING_PAIR_BYTES, idBytes);
    let peerId: string;
    try {
      peerId = strictUtf8.decode(bytes.subarray(at + PENDING_PAIR_BYTES, at + PENDING_PAIR_BYTES + idBytes));
    } catch {
      throw new MalformedPayload(`pending messages: the kernel id of pair ${i} is not valid UTF-8`);
    }
    const key = `${role}:${peer}`;
    if (seenPairs.has(key))
      throw new MalformedPayload(`pending messages: kernel ${peer} is listed twice as an ${role} peer`);
    seenPairs.add(key);
    pairs.push({ role, peer, peerId, sequence });
    at += PENDING_PAIR_BYTES + idBytes;
  }
  const messages: PendingMessage[] = [];
  const lastSeq = new Map<string, number>();
  for (let i = 0; i < messageCount; i++) {
    end(`message ${i}`, at, PENDING_MESSAGE_BYTES);
    const source = view.getUint32(at + MESSAGE.source, true);
    const destination = view.getUint32(at + MESSAGE.destination, true);
    const length = view.getUint32(at + MESSAGE.length, true);
    if (source !== kernelIndex && destination !== kernelIndex)
      throw new MalformedPayload(
        `pending messages: message ${i} goes from kernel ${source} to ${destination}, neither of which is this checkpoint's kernel ${kernelIndex}`,
      );
    if (length > SLOT_PAYLOAD_BYTES)
      throw new MalformedPayload(
        `pending messages: message ${i}'s payload is ${length} bytes; a slot holds at most ${SLOT_PAYLOAD_BYTES}`,
      );
    const seq = seqOf(at + MESSAGE.seq, `message ${i}'s sequence number`);
    const pair = `${source}>${destination}`;
    const previous = lastSeq.get(pair);
    if (previous !== undefined && seq <= previous)
      throw new MalformedPayload(
        `pending messages: message ${i} from kernel ${source} to ${destination} has sequence number ${seq} after ${previous}; a pair's messages are in increasing order`,
      );
    lastSeq.set(pair, seq);
    end(`message ${i}'s payload`, at + PENDING_MESSAGE_BYTES, length);
    messages.push({
      source,
      destination,
      type: view.getUint32(at + MESSAGE.type, true),
      seq,
      timestamp: view.getBigUint64(at + MESSAGE.timestamp, true),
      sendStep: seqOf(at + MESSAGE.sendStep, `message ${i}'s send step`),
      payload: bytes.slice(at + PENDING_MESSAGE_BYTES, at + PENDING_MESSAGE_BYTES + length),
    });
    at += PENDING_MESSAGE_BYTES + length;
  }
  if (at !== bytes.byteLength)
    throw new MalformedPayload(`pending messages have ${bytes.byteLength - at} bytes after their last message`);
  return { kernelIndex, pairs, messages };
}
