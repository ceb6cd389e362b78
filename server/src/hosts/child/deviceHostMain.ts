// Entry of a device-host child process (dist/deviceHost.js BACKEND). It owns one backend and
// performs the server's requests in order, and steps running kernels continuously between them
// (stepLoop.ts). A kernel that hangs hangs only this process: the server's watchdog kills it.
import type { GpuBackend } from '../../backends/backend';
import type { BackendName } from '../../backends/backendReport';
import { GpuError } from '../../backends/gpuError';
import { errorMessage } from '../../logger';
import { CudaBackend } from '../../backends/cuda/cudaBackend';
import { WebGpuBackend } from '../../backends/webgpu/webgpuBackend';
import { AttachedRegions, ScratchBuffer, isRegionRef, type Payload, type RegionRef } from '../bulkTransfer';
import { openHostRings, type MessageRing } from '../messageRing';
import { StateChunks } from './stateChunks';
import { Mailboxes } from './mailboxes';
import { SerialQueue } from './serialQueue';
import { StepLoops } from './stepLoop';
import { runSteps } from './stepRunner';
import { exportState, importState, prepareExport, prepareImport, type StateHashing } from './stateTransfer';
import { HashPool } from './hashPool';
import { VerifySlots } from './importVerifier';
import { copyState, exportDeviceState, hashState, importDeviceState, prepareDeviceVerify } from './deviceStateCopy';
import {
  CUDA_INSTANCES_ARGUMENT,
  DEVICE_LOST_EXIT_CODE,
  KERNEL_FAULT_EXIT_CODE,
  NO_PEER_ACCESS_ARGUMENT,
  type HostDeliver,
  type HostMessage,
  type HostOperation,
  type HostOperations,
  type HostRequest,
  type StateChunkReady,
} from '../hostProtocol';

/** `onSent`: the message is written to the channel, or failed to be (the channel is gone). */
function send(message: HostMessage, onSent?: () => void): void {
  if (!process.send) return onSent?.();
  process.send(message, undefined, undefined, onSent && (() => onSent()));
}

/**
 * The loops' sender: a loopMessages' outboxes go into the ring toward the server while it has
 * room, inline otherwise (messageRing.ts says why); everything else as it is.
 */
function loopSender(ring: MessageRing | undefined): typeof send {
  if (!ring) return send;
  return (message, onSent) => {
    if (message.kind === 'loopMessages')
      for (const sent of message.steps) {
        if (!sent.outbox) continue;
        const span = ring.write(sent.outbox);
        if (!span) continue;
        sent.span = span;
        delete sent.outbox;
      }
    send(message, onSent);
  };
}

/** Progress messages at most every 50 ms: enough for a watchdog, cheap for a fast step loop. */
function progressReporter(id: number): () => void {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < 50) return;
    last = now;
    send({ kind: 'progress', id });
  };
}

/**
 * A faulted CUDA context or a lost device cannot be used again: exit, and the server's supervisor
 * starts a fresh host. Other failures leave the host serving.
 */
function exitIfUnusable(failure: GpuError): void {
  if (failure.code === 'KERNEL_FAULT' || failure.code === 'DEVICE_LOST') {
    process.exitCode = failure.code === 'KERNEL_FAULT' ? KERNEL_FAULT_EXIT_CODE : DEVICE_LOST_EXIT_CODE;
    process.disconnect();
  }
}

/** Slices of this size keep the host's event loop turning while a large read is copied out. */
const COPY_SLICE_BYTES = 8 * 1024 * 1024;

async function copyInSlices(view: Uint8Array, landing: Uint8Array): Promise<Uint8Array> {
  for (let at = 0; at < view.byteLength; at += COPY_SLICE_BYTES) {
    landing.set(view.subarray(at, at + COPY_SLICE_BYTES), at);
    if (at + COPY_SLICE_BYTES < view.byteLength) await new Promise((resolve) => setImmediate(resolve));
  }
  return landing;
}

/**
 * `instances`: which device instances of the WebGPU adapter this host opens (argv[3], e.g. "1"); for
 * CUDA with `cudaInstances` (CUDA_INSTANCES_ARGUMENT), the one CUDA device instance it serves.
 * `peerAccess`: `ringkernel.enableP2P` (off: NO_PEER_ACCESS_ARGUMENT among the arguments).
 */
function createBackend(name: string, instances: number[], peerAccess: boolean, cudaInstances?: number): GpuBackend {
  const onDiagnostic = (message: string): void => send({ kind: 'diagnostic', message });
  switch (name as BackendName) {
    case 'webgpu':
      return new WebGpuBackend({ onDiagnostic, instances });
    case 'cuda':
      return new CudaBackend({
        peerAccess,
        ...(cudaInstances ? { instance: cudaInstance(instances[0], cudaInstances) } : {}),
      });
  }
  throw new GpuError('INVALID_ARGUMENT', `unknown backend "${name}"`);
}

/** `--cuda-instances=N` among the arguments: N, or undefined (a host of every GPU). */
function cudaInstancesArgument(argv: readonly string[]): number | undefined {
  const value = argv
    .find((arg) => arg.startsWith(`${CUDA_INSTANCES_ARGUMENT}=`))
    ?.slice(CUDA_INSTANCES_ARGUMENT.length + 1);
  if (value === undefined) return undefined;
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 1)
    throw new GpuError('INVALID_ARGUMENT', `${CUDA_INSTANCES_ARGUMENT} needs a whole number from 1, not "${value}"`);
  return count;
}

/** The CUDA device instance this host serves: its index, with `perDevice` instances of each GPU. */
function cudaInstance(index: number | undefined, perDevice: number): { index: number; perDevice: number } {
  if (index === undefined || !Number.isSafeInteger(index) || index < 0)
    throw new GpuError('INVALID_ARGUMENT', `a CUDA instance host needs its device index, not ${String(index)}`);
  return { index, perDevice };
}

/** A reply that comes after the queue has moved on (readSoon); the queue does not wait for it. */
class Detached<T> {
  constructor(readonly reply: Promise<T>) {}
}

type Result<K extends HostOperation> = HostOperations[K]['result'];
type Handler = {
  [K in HostOperation]: (
    args: HostOperations[K]['args'],
    progress: () => void,
  ) => Promise<Result<K>> | Result<K> | Detached<Result<K>>;
};

/** Bytes that came inline in a message; anything else is refused with what it was. */
function inlineBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  throw new GpuError(
    'INVALID_ARGUMENT',
    `a write needs its bytes inline or a shared-memory region reference, not ${JSON.stringify(data)?.slice(0, 120) ?? String(data)}`,
  );
}

function handlers(backend: GpuBackend, loops: StepLoops, mailboxes: Mailboxes, chunks: StateChunks): Handler {
  const scratch = new ScratchBuffer();
  const readScratch = new ScratchBuffer();
  const soonScratch = new ScratchBuffer();
  const rangeScratch = new ScratchBuffer();
  // Migration's hashing threads and read-back memory, made at a migration's prepare, not at start.
  const hashing: StateHashing = { pool: new HashPool(), slots: new VerifySlots() };
  let soonScratchBusy = false;
  // The server's regions, mapped once and reused; on CUDA page-locked, so copies are DMA.
  const regions = new AttachedRegions((region) => {
    if (region.view && backend.registerHostMemory) backend.registerHostMemory(region.view.buffer as ArrayBuffer);
  });
  /** The region a large read lands in: checked, and exactly the read's size. */
  const landingOf = (into: RegionRef, bytes: number) => {
    const landing = regions.get(into);
    if (landing.bytes !== bytes)
      throw new GpuError('INVALID_ARGUMENT', `a read of ${bytes} bytes was lent a region for ${landing.bytes}`);
    return landing.region;
  };
  return {
    devices: () => backend.devices(),
    // A compile runs off the thread (CUDA: a worker of the addon; WebGPU: Dawn's async pipeline), and
    // its reply is detached, so the queue goes on and running loops keep stepping meanwhile.
    compile: ({ device, source }) => new Detached(backend.compile(device, source)),
    releaseKernel: ({ kernel }) => {
      backend.releaseKernel(kernel);
      return null;
    },
    allocate: ({ device, bytes, label }) => backend.allocate(device, bytes, label),
    free: ({ buffer }) => {
      backend.free(buffer);
      return null;
    },
    // A region's bytes go straight on: into a mapped staging buffer (WebGPU), or from the region's
    // own pages (CUDA). The backend copies them before returning, so one scratch serves the fallback.
    write: ({ buffer, offset, data }) => {
      if (!isRegionRef(data)) return backend.write(buffer, offset, inlineBytes(data));
      const { region, bytes } = regions.get(data);
      if (backend.writeWith)
        return backend.writeWith(buffer, offset, bytes, (view, at) => Promise.resolve(region.read(view, at)));
      if (region.view) return backend.write(buffer, offset, region.view.subarray(0, bytes));
      const memory = scratch.take(bytes);
      region.read(memory);
      return backend.write(buffer, offset, memory);
    },
    read: async ({ buffer, offset, bytes, into }) => {
      if (into === undefined) {
        const { data, timing } = await backend.read(buffer, offset, bytes);
        return { data, timing };
      }
      // The device's bytes land in the region the server lent (mapped: in place; else written to it).
      const region = landingOf(into, bytes);
      const started = performance.now();
      if (region.view) await backend.read(buffer, offset, bytes, region.view.subarray(0, bytes));
      else if (backend.readWith)
        await backend.readWith(buffer, offset, bytes, (view) => Promise.resolve(region.write(view)));
      else region.write((await backend.read(buffer, offset, bytes, readScratch.take(bytes))).data);
      return { data: into, timing: { hostMs: performance.now() - started } };
    },
    readSoon: ({ buffer, offset, bytes, into }) => {
      const started = performance.now();
      const region = into !== undefined ? landingOf(into, bytes) : undefined;
      const reuse = !region?.view && into !== undefined && !soonScratchBusy;
      if (reuse) soonScratchBusy = true;
      const landing = region?.view
        ? region.view.subarray(0, bytes)
        : reuse
          ? soonScratch.take(bytes)
          : new Uint8Array(bytes);
      // The copy is queued on the device before this returns (both backends submit before their
      // first await), so it lands ahead of whatever the next request queues. The bytes then leave
      // in slices, letting this thread run the next version's first steps in between.
      const read = backend.readWith
        ? backend.readWith(buffer, offset, bytes, (view) => copyInSlices(view, landing))
        : backend.read(buffer, offset, bytes, landing).then(({ data }) => data);
      const reply = read
        .then((data): { data: Payload; timing: { hostMs: number } } => {
          if (region && !region.view) region.write(data);
          return { data: into ?? data.slice(), timing: { hostMs: performance.now() - started } };
        })
        .finally(() => {
          if (reuse) soonScratchBusy = false;
        });
      return new Detached(reply);
    },
    // A request on the queue, so no step of any loop is in flight: the bytes are those after the
    // loop's last step, and its step number then goes with them. Small answers are copied out of
    // the staging memory into reused memory (sent before the next read can start), large ones into
    // the region the server lent, straight from it.
    readRanges: async ({ buffer, ranges, loop, into }) => {
      const started = performance.now();
      const step = loop === undefined ? undefined : loops.stepOf(loop);
      const data = await backend.readRanges(buffer, ranges, (view): Promise<Payload> => {
        if (into !== undefined) {
          landingOf(into, view.byteLength).write(view);
          return Promise.resolve(into);
        }
        const copy = rangeScratch.take(view.byteLength);
        copy.set(view);
        return Promise.resolve(copy);
      });
      return { data, ...(step !== undefined ? { step } : {}), timing: { hostMs: performance.now() - started } };
    },
    copy: ({ source, destination, bytes }) => backend.copy(source, destination, bytes),
    steps: (batch, progress) => {
      // Without this, a count that is not a number ran no step and answered ok with none.
      const count: unknown = (batch as Partial<typeof batch> | undefined)?.count;
      if (!Number.isSafeInteger(count) || (count as number) < 0)
        throw new GpuError(
          'INVALID_ARGUMENT',
          `a steps request needs a whole number of steps from 0, not ${String(count)}`,
        );
      return runSteps(backend, batch, progress);
    },
    compileLogs: ({ device, code }) => {
      if (!backend.compileLogs)
        throw new GpuError('INVALID_ARGUMENT', `the ${backend.name} backend has no compile-only check`);
      return new Detached(backend.compileLogs(device, code));
    },
    startLoop: ({ loop, launch, control, rateHz }) => {
      loops.start(loop, launch, control, rateHz);
      return null;
    },
    stopLoop: ({ loop }) => loops.stop(loop),
    setPeerAccess: ({ enabled }) => {
      backend.setPeerAccess?.(enabled);
      return null;
    },
    exportState: ({ buffer, bytes, region, transfer, blockBytes }) =>
      exportState(
        backend,
        buffer,
        bytes,
        {
          region: regions.get(region).region,
          ...(transfer !== undefined
            ? { progress: (ready: number) => send({ kind: 'stateChunk', transfer, ready }) }
            : {}),
        },
        readScratch,
        hashing,
        blockBytes,
      ),
    prepareImport: async ({ buffer, bytes, region, verify }) => {
      regions.get(region);
      return prepareImport(backend, buffer, bytes, scratch, hashing, verify !== false, (message) =>
        send({ kind: 'diagnostic', message }),
      );
    },
    prepareExport: async () => {
      await prepareExport(hashing);
      return null;
    },
    importState: ({ buffer, bytes, region, verify, transfer, deviceBlockBytes }) =>
      importState(
        backend,
        buffer,
        bytes,
        {
          region: regions.get(region).region,
          ...(Number.isSafeInteger(transfer) ? { pipelined: { transfer: transfer as number, chunks } } : {}),
        },
        verify,
        scratch,
        hashing,
        deviceBlockBytes,
      ),
    exportDeviceState: ({ buffer, bytes }) => exportDeviceState(backend, buffer, bytes),
    importDeviceState: ({ buffer, bytes, from, verify }) =>
      importDeviceState(backend, buffer, bytes, from, verify === true, readScratch),
    copyState: ({ source, destination, bytes, verify }) =>
      copyState(backend, source, destination, bytes, verify === true, readScratch),
    prepareDeviceVerify: ({ buffer, bytes }) =>
      prepareDeviceVerify(backend, buffer, bytes, readScratch, (message) => send({ kind: 'diagnostic', message })),
    hashState: ({ buffer, bytes }) => hashState(backend, buffer, bytes, readScratch),
    takeMailbox: ({ kernel }) => ({ inboxes: mailboxes.drain(kernel) }),
    runningLoops: () => ({ loops: loops.running() }),
  };
}

function main(): void {
  const name = process.argv[2] ?? '';
  const instances = (process.argv[3] ?? '0').split(',').map(Number);
  let table: Handler | undefined;
  let startError: GpuError | undefined;
  // Requests run one at a time, in arrival order, as a GPU queue would, and loop slices run on
  // the same queue between them; the first thing in the queue opens the backend's devices, so
  // every request finds them open.
  const queue = new SerialQueue();
  const mailboxes = new Mailboxes();
  const chunks = new StateChunks();
  // The server's rings for message bytes; without them (none given, or they cannot be opened) all goes inline.
  let rings: ReturnType<typeof openHostRings>;
  try {
    rings = openHostRings(process.argv);
  } catch (error) {
    send({ kind: 'diagnostic', message: `message rings unusable, messages travel inline: ${errorMessage(error)}` });
  }
  void queue.run(async () => {
    try {
      const backend = createBackend(
        name,
        instances,
        !process.argv.includes(NO_PEER_ACCESS_ARGUMENT),
        cudaInstancesArgument(process.argv),
      );
      await backend.devices();
      const loops = new StepLoops({
        backend,
        queue,
        send: loopSender(rings?.toServer),
        onStepFailure: exitIfUnusable,
        mailboxes,
      });
      table = handlers(backend, loops, mailboxes, chunks);
    } catch (error) {
      startError = GpuError.wrap(error, 'BACKEND_UNAVAILABLE', `device host for ${name}`);
    }
  });
  const fail = (request: HostRequest, error: unknown): void => {
    const failure = GpuError.wrap(error, 'DRIVER_ERROR', `${name} ${request.op}`);
    send({ kind: 'response', id: request.id, ok: false, error: failure.toData() });
    exitIfUnusable(failure);
  };
  process.on('message', (message: unknown) => {
    // Only the server sends here, but a message that is neither a delivery nor a request must not
    // kill the host (reading `kind` of null threw in the message handler), and a request without an
    // id cannot be answered.
    if (typeof message !== 'object' || message === null) return;
    const delivery = message as HostDeliver;
    // Deliveries skip the queue: a loop's next step finds them however busy the queue is.
    if (delivery.kind === 'deliver') {
      if (!('span' in delivery)) {
        mailboxes.deliver(delivery.kernel, delivery.inbox);
        return;
      }
      // Copied out at once: the mailbox keeps it past other kernels' deliveries, the ring is released in order.
      try {
        if (!rings) throw new Error('this host has no message ring');
        const slots = rings.toHost.copy(delivery.span);
        rings.toHost.release(delivery.span);
        mailboxes.deliver(delivery.kernel, { slots, count: delivery.count });
      } catch (error) {
        send({
          kind: 'diagnostic',
          message: `${name} device host: an inbox of ${String(delivery.count)} messages for kernel ${String(delivery.kernel)} could not be read and was not delivered: ${errorMessage(error)}`,
        });
      }
      return;
    }
    // So do a pipelined transfer's chunk announcements: the import waiting for them holds the queue.
    if ((message as StateChunkReady).kind === 'stateChunk') {
      const chunk = message as StateChunkReady;
      chunks.announce(chunk.transfer, chunk.ready, chunk.failed);
      return;
    }
    const request = message as HostRequest;
    if (request.kind !== 'request') return;
    if (!Number.isSafeInteger(request.id)) {
      send({
        kind: 'diagnostic',
        message: `${name} device host: ignored a request without an integer id (op ${JSON.stringify(request.op)?.slice(0, 100) ?? '?'})`,
      });
      return;
    }
    void queue.request(async () => {
      try {
        if (!table) throw startError ?? new GpuError('BACKEND_UNAVAILABLE', 'no backend');
        // Own operations only: `constructor` or `toString` would otherwise run Object's methods and answer ok.
        const handler = (
          typeof request.op === 'string' && Object.hasOwn(table, request.op) ? table[request.op] : undefined
        ) as ((args: unknown, progress: () => void) => unknown) | undefined;
        if (typeof handler !== 'function')
          throw new GpuError('INVALID_ARGUMENT', `unknown device-host operation "${String(request.op)}"`);
        const result = await handler(request.args, progressReporter(request.id));
        if (result instanceof Detached) {
          void result.reply.then(
            (reply: unknown) => send({ kind: 'response', id: request.id, ok: true, result: reply }),
            (error: unknown) => fail(request, error),
          );
        } else {
          send({ kind: 'response', id: request.id, ok: true, result });
        }
      } catch (error) {
        fail(request, error);
      }
    });
  });
  process.on('disconnect', () => process.exit());
}

main();
