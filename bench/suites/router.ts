// router: the K2K router (issue 14's bench), ours against raw copies of the same bytes.
//
// - routing decisions, 64 kernels on a DGX H100's 8 GPUs (decisions/s, one core): ours:
//   K2KRouter.routeFor for every sender→receiver pair (the per-message lookup); raw: a Map lookup
//   per message of a decision computed beforehand, the cheapest equivalent.
// - router alone, submit → inbox (messages/s): 8 kernels in a ring, a full 64-message outbox per
//   step each, read in place (OutboxSlots, as the runtime does), through submit and takeInboxInto (the inbox written from the pending queue's slots); raw: the same 64-byte slots copied from
//   the outbox bytes into the inbox bytes.
// - delivered messages between two devices, batched (messages/s), through both backends: ours: a
//   sender kernel in a device host on webgpu:0 (and, where CUDA runs, on cuda:0) fills its outbox
//   every step, the runtime's free-running delivery (MessageDelivery: loopMessages, the router,
//   the receiver host's mailbox) hands them to a receiver kernel in a host on webgpu:1 (webgpu:0
//   for the CUDA sender), counted when the receiver's step consumed them; raw: the same bytes per
//   batch moved directly from a buffer of the sender's device into one of the receiver's
//   (WebGPU: staging buffer, map, write, one wait; CUDA: pinned device-to-host, then the WebGPU
//   write).
// - latency per route (ms): ours: two kernels play ping-pong (one message in flight), each
//   answering in its next step, through real hosts: same device (both kernels in one host) and
//   host-mediated (webgpu:0 ↔ webgpu:1); a hop's time = window / messages delivered; raw: one
//   64-byte message copied directly (inside a device, or across instances as above), one wait.
// - step with messages flowing (steps/s), for the same two senders: ours: the sender's loop while
//   it sends 64 messages a step to a receiver; raw: the same loop, same kernel, sending nothing (a state word says so).
//   The ratio is the extra time messages cost a step (issue 14's target: under 10%).
import { OUTBOX_HEADER_BYTES, SLOT_BYTES, inboxBytes, outboxBytes } from '../../server/src/abi/kernelAbi';
import type { BackendName } from '../../server/src/backends/backendReport';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import type { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import { errorMessage, type Logger } from '../../server/src/logger';
import { K2KRouter, OutboxSlots, type RoutingDecision } from '../../server/src/router';
import { MessageDelivery } from '../../server/src/runtime/messageDelivery';
import { WGSL_ABI } from '../../test/support/kernelSources';
import { COUNT, FLOOD, FLOOD_PTX, placeRouterKernel, words } from '../routerKernels';
import { machine } from '../../test/unit/topology/machines';
import type { BenchContext } from '../method';
import {
  cudaAvailability,
  openRaw,
  openRawDevicePair,
  type RawBackend,
  type RawDevicePair,
  type RawTransfer,
} from '../raw';
import { sampleLoop } from './backend';

const SUITE = 'router';
const KERNELS = 64;
const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

// Ping-pong: kernel 0 serves once (state[0] == 1); every message received is answered to the other kernel.
const PING_PONG = `${WGSL_ABI}
@compute @workgroup_size(1)
fn main() {
  let peer = 1u - control.kernel_index;
  var answers = control.inbox_count;
  if (state[0] == 1u) { state[0] = 2u; answers = answers + 1u; }
  for (var i = 0u; i < answers; i = i + 1u) {
    let slot = atomicAdd(&outbox.count, 1u);
    if (slot >= control.outbox_capacity) { return; }
    outbox.slots[slot].destination = peer;
    outbox.slots[slot].kind = 3u;
    outbox.slots[slot].length = 48u;
  }
}`;

/** ms per decision over `sweeps` sweeps of every pair. */
function sweep(sweeps: number, decide: (a: number, b: number) => RoutingDecision | undefined): number {
  let sink = 0;
  const started = performance.now();
  for (let s = 0; s < sweeps; s++)
    for (let a = 0; a < KERNELS; a++) for (let b = 0; b < KERNELS; b++) sink += decide(a, b)?.hops ?? 0;
  const ms = (performance.now() - started) / (sweeps * KERNELS * KERNELS);
  if (sink < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  return ms;
}

async function decisions(bench: BenchContext): Promise<void> {
  const topology = machine('dgx-h100');
  const router = new K2KRouter({ topology });
  for (let k = 0; k < KERNELS; k++) router.addKernel({ index: k, id: `k${k}`, device: `cuda:${k % 8}` });
  const map = new Map<number, RoutingDecision>();
  for (let a = 0; a < KERNELS; a++)
    for (let b = 0; b < KERNELS; b++) {
      const decision = router.routeFor(a, b);
      if (decision) map.set(a * KERNELS + b, decision);
    }
  const samples = bench.plan.quick ? 20 : 60;
  const name = 'routing decisions, 64 kernels on 8 GPUs';
  await bench.pair({
    suite: SUITE,
    figures: [{ name, unit: 'decisions/s' }],
    ours: () =>
      Promise.resolve({ [name]: Array.from({ length: samples }, () => sweep(16, (a, b) => router.routeFor(a, b))) }),
    raw: () =>
      Promise.resolve({ [name]: Array.from({ length: samples }, () => sweep(16, (a, b) => map.get(a * KERNELS + b))) }),
    detail: () => ({
      kernels: KERNELS,
      devices: 8,
      topology: 'dgx-h100',
      target: 5_000_000,
      raw: 'Map.get per message',
    }),
  });
}

/** One outbox of `batch` messages to `destination`, 48-byte payloads, as a kernel leaves it. */
function outboxFor(destination: number, batch: number): Uint8Array {
  const bytes = new Uint8Array(outboxBytes(batch));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, batch, true);
  for (let i = 0; i < batch; i++) {
    const base = OUTBOX_HEADER_BYTES + i * SLOT_BYTES;
    view.setUint32(base, destination, true);
    view.setUint32(base + 8, 48, true);
    for (let w = 0; w < 12; w++) view.setUint32(base + 16 + w * 4, i * 12 + w, true);
  }
  return bytes;
}

async function routerAlone(bench: BenchContext): Promise<void> {
  const ring = 8;
  const batch = 64;
  const steps = bench.plan.quick ? 100 : 300;
  const samples = bench.plan.quick ? 10 : 20;
  const outboxes = Array.from({ length: ring }, (_, k) => outboxFor((k + 1) % ring, batch));
  const inboxes = outboxes.map(() => new Uint8Array(inboxBytes(batch)));
  const name = 'router alone, submit → inbox, 64-byte messages';
  // One router per round, as the runtime keeps one: its queues and retention reach their steady size.
  let router: K2KRouter | undefined;
  let step = 0;
  const oursOnce = (): number => {
    if (!router) {
      router = new K2KRouter({ topology: machine('dgx-h100'), pendingLimit: 4 * batch });
      for (let k = 0; k < ring; k++) router.addKernel({ index: k, id: `k${k}`, device: `cuda:${k}` });
    }
    let delivered = 0;
    const started = performance.now();
    for (const end = step + steps; step < end; step++)
      for (let k = 0; k < ring; k++) {
        delivered += router.takeInboxInto(k, batch, step, inboxes[k] ?? new Uint8Array(0));
        // As the runtime's free-running delivery reads a step's outbox: in place.
        router.submit({ source: k, step, messages: new OutboxSlots(outboxes[k] ?? new Uint8Array(0), batch) });
      }
    return (performance.now() - started) / delivered;
  };
  const rawOnce = (): number => {
    let copied = 0;
    const started = performance.now();
    for (let step = 0; step < steps; step++)
      for (let k = 0; k < ring; k++) {
        const from = outboxes[k] ?? new Uint8Array(0);
        const to = inboxes[(k + 1) % ring] ?? new Uint8Array(0);
        for (let i = 0; i < batch; i++)
          to.set(
            from.subarray(OUTBOX_HEADER_BYTES + i * SLOT_BYTES, OUTBOX_HEADER_BYTES + (i + 1) * SLOT_BYTES),
            i * SLOT_BYTES,
          );
        copied += batch;
      }
    return (performance.now() - started) / copied;
  };
  await bench.pair({
    suite: SUITE,
    figures: [{ name, unit: 'messages/s' }],
    ours: () => {
      router = undefined;
      return Promise.resolve({ [name]: Array.from({ length: samples }, oursOnce) });
    },
    raw: () => Promise.resolve({ [name]: Array.from({ length: samples }, rawOnce) }),
    detail: () => ({
      kernels: ring,
      messagesPerStep: batch,
      steps,
      includes: 'OutboxSlots (the outbox read in place), submit, takeInboxInto',
    }),
  });
}

/** Runs `kernels`' loops for `windowMs` and samples ms per delivered message every `everyMs`. */
async function deliveredWindow(
  delivery: MessageDelivery,
  kernels: DeviceKernel[],
  windowMs: number,
  everyMs: number,
): Promise<number[]> {
  for (const kernel of kernels) await kernel.startLoop(0, () => undefined);
  const samples: number[] = [];
  try {
    // The first messages need the loops' first steps; count from there.
    let last = { at: performance.now(), delivered: delivery.router.snapshot().totals.delivered };
    const end = last.at + windowMs;
    while (performance.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      const now = { at: performance.now(), delivered: delivery.router.snapshot().totals.delivered };
      if (now.delivered > last.delivered) samples.push((now.at - last.at) / (now.delivered - last.delivered));
      last = now;
    }
  } finally {
    for (const kernel of kernels) await kernel.stopLoop().catch(() => undefined);
  }
  if (samples.length === 0) throw new Error(`no message was delivered in ${windowMs} ms`);
  return samples;
}

/** The two ends of a flow between devices, and the raw copy of a batch's bytes between them. */
interface Flow {
  /** 'webgpu:0 → webgpu:1' */
  label: string;
  sender: { backend: BackendName; instance: number; flood: string };
  receiver: { backend: BackendName; instance: number };
  /** The same bytes moved directly from the sender's device into the receiver's, one wait. */
  raw(bytes: number): RawTransfer;
  deviceName: string;
}

/** Device hosts opened for one figure, disposed before the next opens its own (a Dawn host holds about 160 MB). */
class FigureHosts {
  private readonly hosts: DeviceHost[] = [];
  open(backend: BackendName, instance: number): DeviceHost {
    const host = new DeviceHost({ backend, instance, stepTimeoutMs: 60_000 });
    this.hosts.push(host);
    return host;
  }
  dispose(): void {
    for (const host of this.hosts.splice(0)) host.dispose();
  }
}

/** The flow's receiver (COUNT, kernel 0) and sender (its flood, kernel 1, sending `perStep` messages a step), each in a host of its own. */
async function placeFlow(
  delivery: MessageDelivery,
  flow: Flow,
  hosts: FigureHosts,
  inbox: number,
  perStep: number,
): Promise<{ receiver: DeviceKernel; sender: DeviceKernel }> {
  const { receiver: to, sender: from } = flow;
  const receiver = await placeRouterKernel(
    delivery,
    hosts.open(to.backend, to.instance),
    0,
    COUNT,
    { inbox, outbox: 1 },
    words(0),
  );
  const sender = await placeRouterKernel(
    delivery,
    hosts.open(from.backend, from.instance),
    1,
    from.flood,
    { inbox: 0, outbox: perStep },
    words(1, perStep, 0),
  );
  return { receiver, sender };
}

/** Delivered messages between two devices, batched: the sender fills a batch-sized outbox every step. */
async function deliveredFigure(bench: BenchContext, flow: Flow, hosts: FigureHosts): Promise<void> {
  const { quick } = bench.plan;
  const batch = quick ? 1024 : 4096;
  const name = `delivered messages ${flow.label}, batches of ${batch}`;
  const delivery = new MessageDelivery({ log: quiet, pendingLimit: 4 * batch });
  const direct = flow.raw(batch * SLOT_BYTES);
  try {
    const { receiver, sender } = await placeFlow(delivery, flow, hosts, batch, batch);
    const windowMs = quick ? 1500 : 3000;
    await bench.pair({
      suite: SUITE,
      figures: [{ name, unit: 'messages/s' }],
      ours: async () => ({ [name]: await deliveredWindow(delivery, [receiver, sender], windowMs, 250) }),
      raw: async () => {
        const samples: number[] = [];
        for (let i = 0; i < (quick ? 10 : 30); i++) {
          const started = performance.now();
          await direct.once();
          samples.push((performance.now() - started) / batch);
        }
        return { [name]: samples };
      },
      detail: () => {
        const totals = delivery.router.snapshot().totals;
        return {
          batch,
          messageBytes: SLOT_BYTES,
          target: 1_000_000,
          refused: totals.refused,
          device: flow.deviceName,
        };
      },
    });
  } finally {
    delivery.dispose();
    direct.destroy();
    hosts.dispose();
  }
}

/** A step's extra time with messages flowing: the sender's loop sending 64 messages a step, against sending none. */
async function stepLoopFigure(bench: BenchContext, flow: Flow, hosts: FigureHosts): Promise<void> {
  const { quick } = bench.plan;
  const name = `sender step loop, 64 messages a step ${flow.label} (messages flowing / none)`;
  const delivery = new MessageDelivery({ log: quiet });
  try {
    const { receiver, sender } = await placeFlow(delivery, flow, hosts, 256, 64);
    const windowMs = quick ? 1500 : 3000;
    const loop = async (sending: boolean): Promise<number[]> => {
      await sender.writeState(new Uint8Array([...words(sending ? 1 : 0, 64, 0), ...new Uint8Array(4)]));
      await receiver.startLoop(0, () => undefined);
      try {
        return await sampleLoop(sender, () => new Promise((resolve) => setTimeout(resolve, windowMs)));
      } finally {
        await receiver.stopLoop().catch(() => undefined);
      }
    };
    await bench.pair({
      suite: SUITE,
      figures: [{ name, unit: 'steps/s' }],
      ours: async () => ({ [name]: await loop(true) }),
      raw: async () => ({ [name]: await loop(false) }),
      detail: () => {
        const totals = delivery.router.snapshot().totals;
        return { target: 'ratio under 1.10', delivered: totals.delivered, refused: totals.refused };
      },
    });
  } finally {
    delivery.dispose();
    hosts.dispose();
  }
}

/** Latency per route: ping-pong, one message in flight, on one device (one host) and between two. */
async function latencyFigures(bench: BenchContext, raw: RawDevicePair, hosts: FigureHosts): Promise<void> {
  const { quick } = bench.plan;
  const sharedHost = hosts.open('webgpu', 0);
  const routes = [
    { route: 'sameDevice', ends: [sharedHost, sharedHost], direct: raw.sameDevice(SLOT_BYTES) },
    {
      route: 'hostMediated',
      ends: [hosts.open('webgpu', 0), hosts.open('webgpu', 1)],
      direct: raw.crossDevice(SLOT_BYTES),
    },
  ];
  try {
    for (const {
      route,
      ends: [a, b],
      direct,
    } of routes) {
      if (!a || !b) continue;
      const name = `latency per message, ${route} (${a.instance === b.instance ? 'webgpu:0, one host' : 'webgpu:0 ↔ webgpu:1'})`;
      const delivery = new MessageDelivery({ log: quiet });
      const ping = await placeRouterKernel(delivery, a, 0, PING_PONG, { inbox: 4, outbox: 4 }, words(1));
      const pong = await placeRouterKernel(delivery, b, 1, PING_PONG, { inbox: 4, outbox: 4 }, words(0));
      await bench.pair({
        suite: SUITE,
        figures: [{ name, unit: 'ms' }],
        ours: async () => ({ [name]: await deliveredWindow(delivery, [ping, pong], quick ? 1500 : 3000, 300) }),
        raw: async () => {
          const samples: number[] = [];
          for (let i = 0; i < (quick ? 20 : 60); i++) {
            const started = performance.now();
            await direct.once();
            samples.push(performance.now() - started);
          }
          return { [name]: samples };
        },
        detail: () => ({
          route: delivery.router.routeFor(0, 1)?.kind,
          hop: 'a message sent in a step until the receiving step consumed it',
        }),
      });
      delivery.dispose();
    }
  } finally {
    for (const { direct } of routes) direct.destroy();
    hosts.dispose();
  }
}

/** The flows through both backends: between two WebGPU device instances, and from CUDA into WebGPU where CUDA runs. */
async function flows(bench: BenchContext, raw: RawDevicePair): Promise<Flow[]> {
  const found: Flow[] = [
    {
      label: 'webgpu:0 → webgpu:1',
      sender: { backend: 'webgpu', instance: 0, flood: FLOOD },
      receiver: { backend: 'webgpu', instance: 1 },
      raw: (bytes) => raw.crossDevice(bytes),
      deviceName: raw.deviceName,
    },
  ];
  const skipCuda = (reason: string): Flow[] => {
    for (const figure of ['delivered messages', 'sender step loop'])
      bench.skip(SUITE, `${figure} cuda:0 → webgpu:0`, `CUDA cannot run here: ${reason}`);
    return found;
  };
  const cuda = cudaAvailability();
  if (!cuda.ok) return skipCuda(cuda.reason);
  let cudaRaw: RawBackend;
  let webgpuRaw: RawBackend;
  try {
    [cudaRaw, webgpuRaw] = await Promise.all([openRaw('cuda'), openRaw('webgpu')]);
  } catch (error) {
    return skipCuda(errorMessage(error));
  }
  found.push({
    label: 'cuda:0 → webgpu:0',
    sender: { backend: 'cuda', instance: 0, flood: FLOOD_PTX },
    receiver: { backend: 'webgpu', instance: 0 },
    // Pinned device-to-host on CUDA, then host-to-device on WebGPU: the staged route's two legs.
    raw: (bytes) => {
      const read = cudaRaw.read(bytes);
      const write = webgpuRaw.write(bytes);
      return {
        async once() {
          await read.once();
          await write.once();
        },
        destroy() {
          read.destroy();
          write.destroy();
        },
      };
    },
    deviceName: `${cudaRaw.deviceName} (CUDA) → ${webgpuRaw.deviceName} (WebGPU)`,
  });
  return found;
}

export async function routerSuite(bench: BenchContext): Promise<void> {
  await decisions(bench);
  await routerAlone(bench);
  let raw: RawDevicePair;
  try {
    raw = await openRawDevicePair();
  } catch (error) {
    for (const name of ['delivered messages webgpu:0 → webgpu:1', 'latency per message', 'sender step loop'])
      bench.skip(SUITE, name, `WebGPU cannot run here: ${errorMessage(error)}`);
    return;
  }
  const hosts = new FigureHosts();
  for (const flow of await flows(bench, raw)) {
    await deliveredFigure(bench, flow, hosts);
    await stepLoopFigure(bench, flow, hosts);
  }
  await latencyFigures(bench, raw, hosts);
}
