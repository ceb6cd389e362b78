// The kernel ABI shared by every backend (docs/kernel-abi.md is the written form). A kernel sees
// four buffers, in this order: WGSL @group(0) @binding(0..3); PTX four .u64 pointer parameters.
// All fields are little-endian 32-bit words. What a kernel sees of its inbox (inbox_count = slots
// filled, oldest first and in per-pair send order; in lockstep by (send step, source index, send
// order); a message sent in step s arrives in step s + 1 at the earliest; the timestamp word is the
// low 32 bits of the HLC time; payload bytes past length are zero; past the capacity messages stay
// pending up to the receiver's pending limit, beyond it they are refused and counted as the
// sender's outbox overflow; messages to unknown or stopped kernels are counted failures) is
// docs/kernel-abi.md's "inbox: what a kernel sees".

/** Binding / parameter indices. */
export const BINDING = { control: 0, state: 1, inbox: 2, outbox: 3 } as const;

/** The four buffers in binding / parameter order (a CUDA launch's argument list). */
export function inAbiOrder<T>(buffers: { control: T; state: T; inbox: T; outbox: T }): [T, T, T, T] {
  const ordered: T[] = [];
  for (const role of ['control', 'state', 'inbox', 'outbox'] as const) ordered[BINDING[role]] = buffers[role];
  return ordered as [T, T, T, T];
}

/** control: written by the host before every step. */
export const CONTROL_BYTES = 16;
export const CONTROL_WORD = { step: 0, kernelIndex: 1, inboxCount: 2, outboxCapacity: 3 } as const;

/** A message slot, in the inbox and in the outbox: four header words and 12 payload words. */
export const SLOT_BYTES = 64;
export const SLOT_HEADER_WORDS = 4;
export const SLOT_PAYLOAD_BYTES = SLOT_BYTES - SLOT_HEADER_WORDS * 4;
/** Inbox slot header: who sent it, its type, payload length in bytes, the low word of its HLC time. */
export const INBOX_WORD = { source: 0, type: 1, length: 2, timestamp: 3 } as const;
/** Outbox slot header: where it goes, its type, payload length in bytes, reserved (0). */
export const OUTBOX_WORD = { destination: 0, type: 1, length: 2, reserved: 3 } as const;

/** outbox: a 16-byte header whose first word the kernel increments atomically, then the slots. */
export const OUTBOX_HEADER_BYTES = 16;

export interface ControlBlock {
  step: number;
  kernelIndex: number;
  inboxCount: number;
  outboxCapacity: number;
}

export function encodeControl(control: ControlBlock): Uint8Array {
  const words = new Uint32Array(CONTROL_BYTES / 4);
  words[CONTROL_WORD.step] = control.step >>> 0;
  words[CONTROL_WORD.kernelIndex] = control.kernelIndex >>> 0;
  words[CONTROL_WORD.inboxCount] = control.inboxCount >>> 0;
  words[CONTROL_WORD.outboxCapacity] = control.outboxCapacity >>> 0;
  return new Uint8Array(words.buffer);
}

/** Bytes of the inbox buffer for a capacity; never zero, since no backend binds an empty buffer. */
export function inboxBytes(capacity: number): number {
  return Math.max(1, capacity) * SLOT_BYTES;
}

export function outboxBytes(capacity: number): number {
  return OUTBOX_HEADER_BYTES + Math.max(1, capacity) * SLOT_BYTES;
}

export interface OutboxMessage {
  destination: number;
  type: number;
  /** A view into the step's one copy of its used outbox slots (see decodeOutbox). */
  payload: Uint8Array;
}

/** Bytes a host reads after a step in which the kernel counted `sent` messages: the header and the used slots. */
export function usedOutboxBytes(sent: number, capacity: number): number {
  return OUTBOX_HEADER_BYTES + Math.min(sent, Math.max(0, capacity)) * SLOT_BYTES;
}

/**
 * Reads the messages a kernel sent in one step from the outbox's header and used slots (the
 * whole buffer, or just usedOutboxBytes of it). The kernel's counter may exceed the capacity
 * (every send increments it); the excess was never written and is reported as dropped. The used
 * slots are copied once, and every message's payload is a view into that copy: one allocation per
 * step, not one per message, and nothing aliases `bytes`, which the caller may reuse.
 */
export function decodeOutbox(bytes: Uint8Array, capacity: number): { messages: OutboxMessage[]; dropped: number } {
  if (bytes.byteLength < OUTBOX_HEADER_BYTES)
    throw new RangeError(`outbox: ${bytes.byteLength} bytes hold no header (${OUTBOX_HEADER_BYTES} bytes)`);
  const sent = new DataView(bytes.buffer, bytes.byteOffset, OUTBOX_HEADER_BYTES).getUint32(0, true);
  const kept = Math.min(sent, Math.max(0, capacity));
  const used = kept * SLOT_BYTES;
  if (bytes.byteLength < OUTBOX_HEADER_BYTES + used) {
    throw new RangeError(
      `outbox: the kernel sent ${kept} messages that fit its capacity, which need ${OUTBOX_HEADER_BYTES + used} bytes; only ${bytes.byteLength} were read`,
    );
  }
  const slots = bytes.slice(OUTBOX_HEADER_BYTES, OUTBOX_HEADER_BYTES + used);
  const view = new DataView(slots.buffer);
  const messages: OutboxMessage[] = new Array<OutboxMessage>(kept);
  for (let i = 0; i < kept; i++) {
    const base = i * SLOT_BYTES;
    const length = Math.min(view.getUint32(base + OUTBOX_WORD.length * 4, true), SLOT_PAYLOAD_BYTES);
    const payloadStart = base + SLOT_HEADER_WORDS * 4;
    messages[i] = {
      destination: view.getUint32(base + OUTBOX_WORD.destination * 4, true),
      type: view.getUint32(base + OUTBOX_WORD.type * 4, true),
      payload: slots.subarray(payloadStart, payloadStart + length),
    };
  }
  return { messages, dropped: sent - kept };
}
