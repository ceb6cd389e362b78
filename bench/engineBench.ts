// The engine's side of the backend bench: a kernel step and copies through a device host, for
// any backend. Each figure is measured twice: inside the host (the engine's backend code, what a
// running kernel pays) and end to end from this process (adding IPC and the shared-memory hop).
import type { BackendName } from '../server/src/backends/backendReport';
import type { KernelSource } from '../server/src/backends/backend';
import { DeviceHost } from '../server/src/hosts/deviceHost';
import { DeviceKernel, type KernelPlacement } from '../server/src/hosts/deviceKernel';
import { timeMany } from './stats';

export interface EngineSamples {
  /** Per-step time inside the host, steps run back to back. */
  step: number[];
  /** A step requested from this process one at a time (IPC round trip included). */
  stepRequested: number[];
  copies: Record<CopyDirection, { inHost: number[]; endToEnd: number[] }>;
}

export type CopyDirection = 'hostToDevice' | 'deviceToHost' | 'deviceToDevice';

export async function engineSamples(backend: BackendName, source: KernelSource, placement: KernelPlacement,
  options: { steps: number; copyBytes: number; copies: number }): Promise<EngineSamples> {
  const host = new DeviceHost({ backend, stepTimeoutMs: 60_000 });
  try {
    const kernel = await DeviceKernel.create(host, source, placement);
    await kernel.run(10);
    const step = (await kernel.run(options.steps)).map((result) => result.timing.hostMs);
    const stepRequested = await timeMany(Math.min(options.steps, 50), () => kernel.step());
    const big = await host.allocate(0, options.copyBytes, 'bench.big');
    const other = await host.allocate(0, options.copyBytes, 'bench.other');
    const payload = new Uint8Array(options.copyBytes).fill(7);
    const measure = async (run: () => Promise<number>): Promise<{ inHost: number[]; endToEnd: number[] }> => {
      await run();
      const inHost: number[] = [];
      const endToEnd = await timeMany(options.copies, async () => { inHost.push(await run()); });
      return { inHost, endToEnd };
    };
    return {
      step,
      stepRequested,
      copies: {
        hostToDevice: await measure(async () => (await host.write(big, 0, payload)).hostMs),
        deviceToHost: await measure(async () => (await host.read(big, 0, options.copyBytes)).timing.hostMs),
        deviceToDevice: await measure(async () => (await host.copy(big, other, options.copyBytes)).hostMs),
      },
    };
  } finally {
    host.dispose();
  }
}
