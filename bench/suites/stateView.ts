// stateView: what an open Kernel State view costs a running kernel, and how old its frames are.
// This process plays the server: a StateViewFeed (server/src/views) subscribed to a kernel in a
// real device host reads through DeviceKernel.readStateRanges, as the language server's reader
// does (KernelRuntime.readStateRanges adds only the kernel's operation queue).
//
// - step loop with a 256 KiB view open at 10 fps (steps/s): ours: the production loop (rateHz 0)
//   of a 4 MiB kernel while the feed reads a 256 KiB range ten times a second; raw: the same loop
//   with no view open. The ratio is the view's cost (issue 15's target: at most 5% fewer steps,
//   a ratio of at most 1.05).
// - state view frame, read request → frame, 256 KiB (ms): ours: from the feed asking for the
//   range to its frame (the wait for the step in flight, the copy through the host's staging
//   memory, the IPC, the feed's checks and copy), while the kernel steps; raw: the same bytes read
//   directly in this process (copy into a staging buffer, map, copy out), with no loop running.
//   What the frame then costs on the way to the webview (JSON over the LSP connection) is not in it.
import type { BackendName } from '../../server/src/backends/backendReport';
import { DeviceHost } from '../../server/src/hosts/deviceHost';
import { DeviceKernel } from '../../server/src/hosts/deviceKernel';
import { errorMessage } from '../../server/src/logger';
import { StateViewFeed, type StateReader } from '../../server/src/views/stateViewFeed';
import { benchKernel, placementOf } from '../kernels';
import type { BenchContext } from '../method';
import { openRaw, type RawBackend } from '../raw';
import { sampleLoop } from './backend';

const VIEW_BYTES = 256 * 1024;
const FPS = 10;
const KERNEL_WORDS = 1 << 20;

/** Runs the loop for `windowMs` after its first step; ms per step between progress messages, and the frames' latencies when a view is open. */
async function loopWith(
  kernel: DeviceKernel,
  windowMs: number,
  view: boolean,
): Promise<{ perStep: number[]; latency: number[] }> {
  const latency: number[] = [];
  const perStep = await sampleLoop(kernel, async () => {
    let feed: StateViewFeed | undefined;
    try {
      if (view) {
        const reader: StateReader = async (_id, ranges) => {
          const asked = performance.now();
          const read = await kernel.readStateRanges(ranges);
          latency.push(performance.now() - asked);
          return { step: read.step, version: 1, bytes: read.bytes };
        };
        feed = new StateViewFeed({ reader, emit: () => undefined });
        feed.subscribe({ id: 'bench', kernelId: 'bench', ranges: [{ offset: 0, length: VIEW_BYTES }], fps: FPS });
      }
      await new Promise((resolve) => setTimeout(resolve, windowMs));
    } finally {
      feed?.dispose();
    }
  });
  return { perStep, latency };
}

export async function stateViewSuite(bench: BenchContext): Promise<void> {
  const { quick } = bench.plan;
  for (const backend of ['webgpu', 'cuda'] as BackendName[]) {
    const suite = 'stateView';
    const loopName = `step loop with a 256 KiB view at ${FPS} fps, ${backend}`;
    const frameName = `state view frame, read request → frame, 256 KiB, ${backend}`;
    let raw: RawBackend;
    try {
      raw = await openRaw(backend);
    } catch (error) {
      for (const name of [loopName, frameName])
        bench.skip(suite, name, `${backend} cannot run here: ${errorMessage(error)}`);
      continue;
    }
    const host = new DeviceHost({ backend, stepTimeoutMs: 60_000 });
    const directRead = raw.read(VIEW_BYTES);
    try {
      const kernel = await DeviceKernel.create(
        host,
        benchKernel(backend, KERNEL_WORDS).source,
        placementOf(benchKernel(backend, KERNEL_WORDS)),
      );
      // Long enough for several frames at 10 fps in every round.
      const windowMs = quick ? 1500 : 3000;
      await bench.pair({
        suite,
        figures: [
          { name: loopName, unit: 'steps/s' },
          { name: frameName, unit: 'ms' },
        ],
        ours: async () => {
          const { perStep, latency } = await loopWith(kernel, windowMs, true);
          return { [loopName]: perStep, [frameName]: latency };
        },
        raw: async () => {
          const { perStep } = await loopWith(kernel, windowMs, false);
          const reads: number[] = [];
          for (let i = 0; i < (quick ? 10 : 30); i++) {
            const started = performance.now();
            await directRead.once();
            reads.push(performance.now() - started);
          }
          return { [loopName]: perStep, [frameName]: reads };
        },
        detail: () => ({ kernelStateBytes: KERNEL_WORDS * 4, viewBytes: VIEW_BYTES, fps: FPS, device: raw.deviceName }),
      });
      await kernel.release();
    } finally {
      directRead.destroy();
      host.dispose();
    }
  }
}
