// The K2K flood the router tests and the message fault tests share: senders that each write BURST
// numbered messages a step to kernel 0, and a receiver that logs every message it gets, in inbox
// order, so a lost, repeated or reordered message shows in its state.
import assert from 'node:assert/strict';
import { WGSL_ABI } from './kernelSources';

/** Messages each sender writes per step. */
export const BURST = 3;

/** Each step a sender sends BURST messages to kernel 0, numbered by its own counter (state[0]). */
export const SENDER_WGSL = `${WGSL_ABI}
@compute @workgroup_size(1)
fn main() {
  for (var k = 0u; k < ${BURST}u; k = k + 1u) {
    let seq = state[0];
    state[0] = seq + 1u;
    let slot = atomicAdd(&outbox.count, 1u);
    if (slot >= control.outbox_capacity) { continue; }
    outbox.slots[slot].destination = 0u;
    outbox.slots[slot].kind = 5u;
    outbox.slots[slot].length = 4u;
    outbox.slots[slot].payload[0] = seq;
  }
}`;

/** The receiver logs `logEntries` messages in inbox order: state[0] counts them, state[1 + i] is (source << 24) | seq. Its state: 4 × (1 + logEntries) bytes. */
export function receiverWgsl(logEntries: number): string {
  return `${WGSL_ABI}
@compute @workgroup_size(1)
fn main() {
  for (var i = 0u; i < control.inbox_count; i = i + 1u) {
    let n = state[0];
    state[0] = n + 1u;
    if (n < ${logEntries}u) { state[1u + n] = (inbox[i].destination << 24u) | inbox[i].payload[0]; }
  }
}`;
}

/** A manifest entry of the flood: one workgroup, a 4-slot outbox, on WebGPU; `extra` gives the rest (id, source, state, inbox, rate, device). */
export function floodKernel(extra: object): object {
  return { entryPoint: 'main', backend: 'webgpu', grid: [1, 1, 1], outboxCapacity: 4, ...extra };
}

export interface ReceiverLog {
  /** Messages the receiver got. */
  received: number;
  /** Per source, the sequence numbers in the order they came (those out of order left out). */
  perSource: Map<number, number[]>;
  /** Each number that came again or out of order: a duplicate or a reorder. */
  outOfOrder: string[];
}

/** Reads the receiver's log out of its state. */
export function readReceiverLog(state: Uint8Array, logEntries: number): ReceiverLog {
  const words = new Uint32Array(state.buffer, state.byteOffset, state.byteLength / 4);
  const received = words[0] ?? 0;
  assert.ok(received <= logEntries, `the log holds ${logEntries} entries; ${received} arrived (make the test shorter)`);
  const perSource = new Map<number, number[]>();
  const outOfOrder: string[] = [];
  for (let i = 0; i < received; i++) {
    const entry = words[1 + i] ?? 0;
    const source = entry >>> 24;
    const seq = entry & 0xffffff;
    const seen = perSource.get(source) ?? [];
    const last = seen.at(-1);
    if (last !== undefined && seq <= last) {
      outOfOrder.push(`from kernel ${source}: seq ${seq} after ${last} (entry ${i})`);
      continue;
    }
    seen.push(seq);
    perSource.set(source, seen);
  }
  return { received, perSource, outOfOrder };
}
