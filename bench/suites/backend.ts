// webgpu / cuda: what a running kernel and the server pay on one backend, end to end, against
// raw (bench/raw.ts). This process plays the server: it drives a real device host (DeviceHost,
// dist/deviceHost.js) as the kernel runtime does.
//
// - step loop, small and large kernel: steps per second of the production loop (hosts/stepLoop.ts,
//   rateHz 0), counted from the server's side through the host's loopProgress messages; raw: the
//   same steps back to back in this process. Both are sampled in windows of PROGRESS_INTERVAL_MS.
// - request round trip: a `devices` request to the host and its answer; raw: a bare IPC echo.
// - one step on request: `DeviceKernel.step()` from the server; raw: one step in this process.
// - state read / write: bytes from device memory into the server's (reused) memory, and from the
//   server's memory into device memory; raw: the direct copy.
// - device to device: a copy inside the host, requested from the server; raw: the direct copy.
import type { BackendName } from '../../server/src/backends/backendReport';
import { errorMessage } from '../../server/src/logger';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { PROGRESS_INTERVAL_MS } from '../../server/src/hosts/child/stepLoop';
import { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import { loopKernels, placementOf } from '../kernels';
import { timeEach, type BenchContext } from '../method';
import { MIB, RawChild, openRaw, type RawBackend, type RawKernel } from '../raw';

/** Resolves like `promise`, or rejects naming `what` after `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The measuring window's length: the loop runs this long, its progress sampled meanwhile. */
const waitWindow = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the production loop for `windowMs` after its first step and returns ms per step, one
 * sample per pair of progress messages that steps passed between (heartbeats without steps
 * widen the window instead).
 */
async function loopWindow(kernel: DeviceKernel, windowMs: number): Promise<number[]> {
  return sampleLoop(kernel, () => waitWindow(windowMs));
}

/**
 * Starts the kernel's loop, samples ms per step between its progress messages, runs `during` once
 * the first step is in (the window; the state-view suite opens a view meanwhile), then stops the loop.
 */
export async function sampleLoop(kernel: DeviceKernel, during: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  let anchor: { at: number; step: number } | undefined;
  let failure: Error | undefined;
  let firstStep: () => void = () => undefined;
  const first = new Promise<void>((resolve) => {
    firstStep = resolve;
  });
  await kernel.startLoop(0, (event) => {
    const now = performance.now();
    if (event.kind === 'failed') {
      failure = event.error;
      firstStep();
      return;
    }
    if (!anchor) {
      anchor = { at: now, step: event.step };
      firstStep();
    } else if (event.step > anchor.step) {
      samples.push((now - anchor.at) / (event.step - anchor.step));
      anchor = { at: now, step: event.step };
    }
  });
  try {
    await withDeadline(first, 60_000, "the loop's first step");
    if (!failure) await during();
  } finally {
    await kernel.stopLoop().catch(() => undefined);
  }
  if (failure) throw failure;
  return samples;
}

/** The same steps back to back, sampled the way the loop reports: ms per step per window. */
async function rawWindow(kernel: RawKernel, windowMs: number): Promise<number[]> {
  const samples: number[] = [];
  await kernel.step();
  const started = performance.now();
  let anchor = { at: started, steps: 0 };
  for (let steps = 1; ; steps++) {
    await kernel.step();
    const now = performance.now();
    if (now - anchor.at >= PROGRESS_INTERVAL_MS) {
      samples.push((now - anchor.at) / (steps - anchor.steps));
      anchor = { at: now, steps };
    }
    if (now - started >= windowMs) return samples;
  }
}

function sizeName(bytes: number): string {
  return bytes >= MIB ? `${bytes / MIB} MiB` : `${bytes / 1024} KiB`;
}

export async function backendSuite(bench: BenchContext, backend: BackendName): Promise<void> {
  const suite = backend;
  const { quick } = bench.plan;
  let raw: RawBackend;
  try {
    raw = await openRaw(backend);
  } catch (error) {
    bench.skip(suite, '*', `${backend} cannot run here: ${errorMessage(error)}`);
    return;
  }
  const host = new DeviceHost({ backend, stepTimeoutMs: 60_000 });
  const echo = RawChild.start('echo');
  try {
    await host.devices();
    const windowMs = quick ? 500 : 1000;
    let smallKernel: { ours: DeviceKernel; raw: RawKernel } | undefined;
    for (const [i, { label, kernel }] of loopKernels(backend, quick).entries()) {
      const name = `step loop, ${label}`;
      if (kernel.words * 4 > raw.largestBuffer) {
        bench.skip(
          suite,
          name,
          `${sizeName(kernel.words * 4)} of state is more than ${raw.deviceName} allows in one buffer (${sizeName(raw.largestBuffer)})`,
        );
        continue;
      }
      const ours = await DeviceKernel.create(host, kernel.source, placementOf(kernel));
      const direct = await raw.kernel(kernel);
      await bench.pair({
        suite,
        figures: [{ name, unit: 'steps/s' }],
        ours: async () => ({ [name]: await loopWindow(ours, windowMs) }),
        raw: async () => ({ [name]: await rawWindow(direct, windowMs) }),
        detail: () => ({ device: raw.deviceName, words: kernel.words, grid: kernel.grid, windowMs }),
      });
      if (i === 0) smallKernel = { ours, raw: direct };
      else {
        await ours.release();
        direct.destroy();
      }
    }

    const requests = quick ? 20 : 50;
    await bench.pair({
      suite,
      figures: [{ name: 'request round trip (server → device host)', unit: 'ms' }],
      ours: async () => ({
        'request round trip (server → device host)': await timeEach(requests, () => host.devices()),
      }),
      raw: async () => ({
        'request round trip (server → device host)': await timeEach(requests, () => echo.ask('devices', {})),
      }),
    });

    if (smallKernel) {
      const { ours, raw: direct } = smallKernel;
      await bench.pair({
        suite,
        figures: [{ name: 'one step on request, small kernel', unit: 'ms' }],
        ours: async () => ({ 'one step on request, small kernel': await timeEach(requests, () => ours.step()) }),
        raw: async () => ({ 'one step on request, small kernel': await timeEach(requests, () => direct.step()) }),
      });
      await ours.release();
      direct.destroy();
    }

    const copies = quick ? 3 : 5;
    const sizes = (quick ? [16] : [16, 256]).map((mib) => mib * MIB);
    let largest: number | undefined;
    for (const bytes of sizes) {
      if (bytes > raw.largestBuffer) {
        bench.skip(
          suite,
          `state read/write, ${sizeName(bytes)}`,
          `more than ${raw.deviceName} allows in one buffer (${sizeName(raw.largestBuffer)})`,
        );
        continue;
      }
      largest = bytes;
      const buffer = await host.allocate(0, bytes, 'bench.state');
      const landing = new Uint8Array(bytes).fill(1);
      const payload = new Uint8Array(bytes).fill(7);
      const read = raw.read(bytes);
      const write = raw.write(bytes);
      const readName = `state read into the server, ${sizeName(bytes)}`;
      const writeName = `state write from the server, ${sizeName(bytes)}`;
      try {
        await bench.pair({
          suite,
          figures: [{ name: readName, unit: 'GB/s', bytes }],
          ours: async () => ({ [readName]: await timeEach(copies, () => host.read(buffer, 0, bytes, landing)) }),
          raw: async () => ({ [readName]: await timeEach(copies, () => read.once()) }),
        });
        await bench.pair({
          suite,
          figures: [{ name: writeName, unit: 'GB/s', bytes }],
          ours: async () => ({ [writeName]: await timeEach(copies, () => host.write(buffer, 0, payload)) }),
          raw: async () => ({ [writeName]: await timeEach(copies, () => write.once()) }),
        });
      } finally {
        read.destroy();
        write.destroy();
        await host.free(buffer);
      }
    }

    if (largest !== undefined) {
      const bytes = largest;
      const name = `device to device, ${sizeName(bytes)}`;
      const from = await host.allocate(0, bytes, 'bench.from');
      const to = await host.allocate(0, bytes, 'bench.to');
      const copy = raw.copy(bytes);
      try {
        await bench.pair({
          suite,
          figures: [{ name, unit: 'GB/s', bytes }],
          ours: async () => ({ [name]: await timeEach(copies, () => host.copy(from, to, bytes)) }),
          raw: async () => ({ [name]: await timeEach(copies, () => copy.once()) }),
        });
      } finally {
        copy.destroy();
        await Promise.all([host.free(from), host.free(to)]);
      }
    }
  } finally {
    echo.dispose();
    host.dispose();
  }
}
