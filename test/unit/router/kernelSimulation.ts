// Deterministic stand-ins for kernels, stepped in lockstep through a real K2KRouter: each folds its
// inbox (sources, types, seqs, payloads, timestamps) into its state and sends messages chosen by
// that state. If anything the router hands a kernel depended on placement or submission order,
// their states would differ between runs.
import type { OutboxMessage } from '../../../server/src/abi/kernelAbi';
import type { K2KRouter } from '../../../server/src/router/k2kRouter';
import { encodeInbox } from '../../../server/src/router/inboxLayout';
import { hlcLowWord } from '../../../server/src/router/hybridLogicalClock';
import { message } from './routerHelpers';

export interface SimulationPlan {
  kernels: number;
  steps: number;
  inboxCapacity: number;
  /** The order the host submits outboxes in at a step (a permutation of kernel indices). */
  submitOrder: (step: number) => readonly number[];
  /** Moves to make before a step: [kernel, device]. */
  moves?: (step: number) => readonly (readonly [number, string])[];
}

export interface SimulationTrace {
  /** Per step, per kernel: the encoded inbox bytes as hex. */
  inboxes: string[][];
  states: number[];
}

function mix(hash: number, value: number): number {
  return Math.imul(hash ^ (value >>> 0), 0x9e3779b1) >>> 0;
}

/** What kernel k sends at a step, given its state: 0-4 messages, some to itself, some far away. */
export function outboxOf(kernel: number, step: number, state: number, kernels: number): OutboxMessage[] {
  const count = state % 5;
  return Array.from({ length: count }, (_, i) =>
    message((kernel + 1 + ((state >>> (i * 3)) % kernels)) % kernels, i, state, step, i),
  );
}

/** Runs the plan from `fromStep` on a lockstep router whose kernels 0..n-1 are registered; states start as given. */
export function runLockstep(
  router: K2KRouter,
  plan: SimulationPlan,
  states: number[],
  fromStep = 0,
  until = plan.steps,
): SimulationTrace {
  const trace: SimulationTrace = { inboxes: [], states };
  for (let step = fromStep; step < until; step++) {
    for (const [kernel, device] of plan.moves?.(step) ?? []) router.relocate(kernel, device);
    const outboxes: OutboxMessage[][] = [];
    const row: string[] = [];
    for (let k = 0; k < plan.kernels; k++) {
      const inbox = router.takeInbox(k, plan.inboxCapacity, step);
      const encoded = encodeInbox(inbox, plan.inboxCapacity);
      row.push(Buffer.from(encoded.bytes.subarray(0, encoded.usedBytes)).toString('hex'));
      let hash = mix(states[k] ?? 0, step);
      for (const envelope of inbox) {
        hash = mix(hash, envelope.source);
        hash = mix(hash, envelope.seq);
        hash = mix(hash, hlcLowWord(envelope.timestamp));
        for (const byte of envelope.payload) hash = mix(hash, byte);
      }
      states[k] = hash;
      outboxes[k] = outboxOf(k, step, hash, plan.kernels);
    }
    trace.inboxes.push(row);
    for (const k of plan.submitOrder(step)) router.submit({ source: k, step, messages: outboxes[k] ?? [] });
    router.endStep(step);
  }
  return trace;
}
