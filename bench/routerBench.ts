// The K2K router on one core, beside raw copies of the same bytes in the same run:
// - routing decisions per second (64 kernels on a DGX H100's 8 GPUs, every sender→receiver pair;
//   target ≥ 5 million), through the kernel-index lookup the router uses per message, and by
//   device key;
// - messages per second through the whole host-side path (submit → takeInbox → encodeInbox), in
//   batches of one outbox, 48-byte payloads, free-running and lockstep; the raw figure copies the
//   same 64-byte slots from an outbox buffer into an inbox buffer with nothing else.
// No device copies here: those belong to the host wiring (issue 14's bench).
// Standalone: `npm run build && node out/bench/routerBench.js [--quick]`.
import { OUTBOX_HEADER_BYTES, SLOT_BYTES, decodeOutbox, inboxBytes, outboxBytes } from '../server/src/abi/kernelAbi';
import { K2KRouter, type K2KRouterOptions } from '../server/src/router/k2kRouter';
import { encodeInbox } from '../server/src/router/inboxLayout';
import { machine } from '../test/unit/topology/machines';
import { ratio } from './stats';

export interface RouterBenchResult {
  decisions: { kernels: number; devices: number; perSecondByKernel: number; perSecondByDevice: number; target: number };
  delivery: Record<'freeRunning' | 'lockstep', DeliveryFigures>;
}

const KERNELS = 64;
const BATCH = 64;

function best(runs: number, once: () => number): number {
  let top = 0;
  for (let i = 0; i < runs; i++) top = Math.max(top, once());
  return top;
}

function benchDecisions(quick: boolean): RouterBenchResult['decisions'] {
  const topology = machine('dgx-h100');
  const router = new K2KRouter({ topology });
  for (let k = 0; k < KERNELS; k++) router.addKernel({ index: k, id: `k${k}`, device: `cuda:${k % 8}` });
  const rounds = quick ? 200 : 2000;
  let sink = 0;
  const byKernel = best(3, () => {
    const started = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (let a = 0; a < KERNELS; a++) for (let b = 0; b < KERNELS; b++) sink += router.routeFor(a, b)?.hops ?? 0;
    }
    return (rounds * KERNELS * KERNELS) / ((performance.now() - started) / 1000);
  });
  const keys = Array.from({ length: 8 }, (_, d) => `cuda:${d}`);
  const byDevice = best(3, () => {
    const started = performance.now();
    for (let r = 0; r < rounds * 64; r++)
      for (const a of keys) for (const b of keys) sink += router.routeBetween(a, b).hops;
    return (rounds * 64 * 64) / ((performance.now() - started) / 1000);
  });
  if (sink < 0) throw new Error('unreachable: keeps the loops from being optimised away');
  return {
    kernels: KERNELS,
    devices: 8,
    perSecondByKernel: Math.round(byKernel),
    perSecondByDevice: Math.round(byDevice),
    target: 5_000_000,
  };
}

/** One outbox of BATCH messages to the next kernel, 48-byte payloads, as a kernel would leave it. */
function outboxFor(destination: number): Uint8Array {
  const bytes = new Uint8Array(outboxBytes(BATCH));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, BATCH, true);
  for (let i = 0; i < BATCH; i++) {
    const base = OUTBOX_HEADER_BYTES + i * SLOT_BYTES;
    view.setUint32(base, destination, true);
    view.setUint32(base + 8, 48, true);
    for (let w = 0; w < 12; w++) view.setUint32(base + 16 + w * 4, i * 12 + w, true);
  }
  return bytes;
}

interface DeliveryFigures {
  messages: number;
  /** submit → takeInbox → encodeInbox, messages decoded once beforehand. */
  routerPerSecond: number;
  /** The same with decodeOutbox on every step's outbox, as the host does today. */
  withDecodePerSecond: number;
  /** The same 64-byte slots copied from outbox buffers into inbox buffers, nothing else. */
  rawCopiesPerSecond: number;
  /** router time / raw copy time per message. */
  ratio: number;
}

function deliveryRun(
  mode: 'freeRunning' | 'lockstep',
  steps: number,
  outboxes: Uint8Array[],
  decodeEachStep: boolean,
): number {
  const kernels = outboxes.length;
  const inboxes = outboxes.map(() => new Uint8Array(inboxBytes(BATCH)));
  const decoded = outboxes.map((outbox) => decodeOutbox(outbox, BATCH).messages);
  const router = new K2KRouter({
    mode,
    topology: machine('dgx-h100'),
    pendingLimit: 4 * BATCH,
  } satisfies K2KRouterOptions);
  for (let k = 0; k < kernels; k++) router.addKernel({ index: k, id: `k${k}`, device: `cuda:${k}` });
  let delivered = 0;
  const started = performance.now();
  for (let step = 0; step < steps; step++) {
    for (let k = 0; k < kernels; k++) {
      delivered += encodeInbox(router.takeInbox(k, BATCH, step), BATCH, inboxes[k]).count;
      const messages = decodeEachStep
        ? decodeOutbox(outboxes[k] ?? new Uint8Array(0), BATCH).messages
        : (decoded[k] ?? []);
      router.submit({ source: k, step, messages });
    }
    if (mode === 'lockstep') router.endStep(step);
  }
  const seconds = (performance.now() - started) / 1000;
  // Free-running, kernel k + 1 steps after k and takes its message in the same round; only the
  // last round's 7 → 0 batch is left. Lockstep delivers each step's messages at the next.
  const expected = mode === 'lockstep' ? (steps - 1) * kernels * BATCH : steps * kernels * BATCH - BATCH;
  if (delivered !== expected) throw new Error(`router bench (${mode}): ${delivered} delivered, expected ${expected}`);
  return delivered / seconds;
}

/** Eight kernels on eight GPUs in a ring, each sending a full outbox of BATCH messages per step to the next. */
export function benchDelivery(mode: 'freeRunning' | 'lockstep', quick: boolean): DeliveryFigures {
  const kernels = 8;
  const steps = quick ? 300 : 2000;
  const outboxes = Array.from({ length: kernels }, (_, k) => outboxFor((k + 1) % kernels));
  const router = best(3, () => deliveryRun(mode, steps, outboxes, false));
  const withDecode = best(3, () => deliveryRun(mode, steps, outboxes, true));
  const inboxes = outboxes.map(() => new Uint8Array(inboxBytes(BATCH)));
  const raw = best(3, () => {
    const started = performance.now();
    let copied = 0;
    for (let step = 0; step < steps; step++) {
      for (let k = 0; k < kernels; k++) {
        const from = outboxes[k] ?? new Uint8Array(0);
        const to = inboxes[(k + 1) % kernels] ?? new Uint8Array(0);
        for (let i = 0; i < BATCH; i++)
          to.set(
            from.subarray(OUTBOX_HEADER_BYTES + i * SLOT_BYTES, OUTBOX_HEADER_BYTES + (i + 1) * SLOT_BYTES),
            i * SLOT_BYTES,
          );
        copied += BATCH;
      }
    }
    return copied / ((performance.now() - started) / 1000);
  });
  return {
    messages: steps * kernels * BATCH,
    routerPerSecond: Math.round(router),
    withDecodePerSecond: Math.round(withDecode),
    rawCopiesPerSecond: Math.round(raw),
    ratio: ratio(raw, router),
  };
}

export function benchRouter(options: { quick: boolean }): RouterBenchResult {
  return {
    decisions: benchDecisions(options.quick),
    delivery: {
      freeRunning: benchDelivery('freeRunning', options.quick),
      lockstep: benchDelivery('lockstep', options.quick),
    },
  };
}

if (require.main === module) {
  const result = benchRouter({ quick: process.argv.includes('--quick') });
  process.stdout.write(
    `${JSON.stringify({ date: new Date().toISOString(), node: process.versions.node, note: 'delivery ratio = router time / raw copy time per message', router: result }, null, 2)}\n`,
  );
}
