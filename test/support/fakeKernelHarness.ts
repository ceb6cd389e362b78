// A ManagedKernel and a HotReloadManager wired the way KernelRuntime wires them, on the in-memory
// FakeKernelHost: the fast tests of the kernel state machine and of hot reload use it.
import type { KernelSource } from '../../server/src/backends/backend';
import type { KernelPlacement } from '../../server/src/hosts/deviceKernel';
import type { Logger } from '../../server/src/logger';
import type { KernelSpec } from '../../server/src/manifest/manifestTypes';
import {
  DEFAULT_HOT_RELOAD_CONFIG,
  HotReloadManager,
  type HotReloadConfig,
  type Validate,
} from '../../server/src/runtime/hotReloadManager';
import type { ReloadOutcome } from '../../server/src/runtime/kernelReports';
import { ManagedKernel, kernelVersion, type KernelLocation } from '../../server/src/runtime/managedKernel';
import { FakeKernelHost } from './fakeKernelHost';
import { pollUntil } from './poll';

export const STATE_BYTES = 64;

export function fakeSpec(id = 'heat'): KernelSpec {
  return {
    id,
    source: `/ws/${id}.wgsl`,
    language: 'wgsl',
    entryPoint: 'main',
    backend: 'auto',
    device: 'auto',
    stateBytes: STATE_BYTES,
    grid: [1, 1, 1],
    block: [1, 1, 1],
    inboxCapacity: 4,
    outboxCapacity: 4,
    rateHz: 0,
  };
}

export function fakeLocation(device = 0): KernelLocation {
  return { backend: 'webgpu', device, key: `webgpu:${device}`, deviceName: `fake adapter ${device}` };
}

export function source(code: string, id = 'heat'): KernelSource {
  return { language: 'wgsl', label: id, code, entryPoint: 'main' };
}

export interface Harness {
  host: FakeKernelHost;
  kernel: ManagedKernel;
  manager: HotReloadManager;
  /** Every outcome the manager announced, in order. */
  outcomes: ReloadOutcome[];
  /** The kernel's state (": phase" when it has one) each time it changed, without repeats. */
  seen: string[];
  /** Debug lines of the log. */
  debug: string[];
  warnings: string[];
  /** Waits until the manager announced `count` outcomes in all. */
  outcomeCount(count: number): Promise<ReloadOutcome[]>;
}

export function harness(
  config: Partial<HotReloadConfig> = {},
  validate: Validate = () => Promise.resolve([]),
): Harness {
  const host = new FakeKernelHost();
  const outcomes: ReloadOutcome[] = [];
  const seen: string[] = [];
  const debug: string[] = [];
  const warnings: string[] = [];
  const log: Logger = {
    error: (m) => warnings.push(m),
    warn: (m) => warnings.push(m),
    info: () => undefined,
    debug: (m) => debug.push(m),
  };
  const manager = new HotReloadManager(
    { ...DEFAULT_HOT_RELOAD_CONFIG, retryBackoffMs: 0, ...config },
    { validate, log, notify: (outcome) => outcomes.push(outcome) },
  );
  const spec = fakeSpec();
  const placement: KernelPlacement = {
    index: 0,
    device: 0,
    stateBytes: spec.stateBytes,
    grid: spec.grid,
    inboxCapacity: spec.inboxCapacity,
    outboxCapacity: spec.outboxCapacity,
  };
  const kernel: ManagedKernel = new ManagedKernel(spec, host, fakeLocation(), placement, {
    log,
    changed: () => {
      const now = kernel.phase !== undefined ? `${kernel.state}: ${kernel.phase}` : kernel.state;
      if (seen.at(-1) !== now) seen.push(now);
    },
    // As KernelRuntime does: the manager brings a failed kernel back.
    failed: (failed, reason, culprit) => void manager.recover(failed, reason, culprit),
  });
  const outcomeCount = (count: number): Promise<ReloadOutcome[]> =>
    pollUntil(
      `${count} reload outcomes (have: ${outcomes.map((o) => o.status).join(', ') || 'none'})`,
      () => (outcomes.length >= count ? outcomes : undefined),
      { timeoutMs: 2000, intervalMs: 1 },
    );
  return { host, kernel, manager, outcomes, seen, debug, warnings, outcomeCount };
}

/** Starts the harness's kernel on v1 of `code` and lets it step `steps` more times. */
export async function startKernel(h: Harness, code = 'v1', steps = 3): Promise<void> {
  await h.kernel.start(kernelVersion(1, source(code)));
  h.host.tick(steps);
}

/** The state's step counter (first u32) of a checkpoint. */
export function counterIn(state: Readonly<Uint8Array>): number {
  return new DataView(state.buffer, state.byteOffset, state.byteLength).getUint32(0, true);
}
