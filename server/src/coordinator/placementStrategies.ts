// The built-in strategies, as pure functions over device views in registration order, and the
// checks that decide whether a device can take a kernel at all. No strategy ever returns a device
// that is not among its candidates; with no candidates, none returns anything.
import { formatBytes } from '../format';
import type { DeviceView, LoadBalancingStrategy, PlacementRequest } from './coordinatorTypes';

/** Why `view` cannot take a kernel with these needs; undefined when it can. */
export function ineligibleReason(
  view: DeviceView,
  request: Readonly<PlacementRequest>,
  maxKernelsPerDevice: number,
): string | undefined {
  if (request.exclude?.includes(view.key)) return 'excluded by the request';
  if (request.backend !== undefined && view.backend !== request.backend) return `not a ${request.backend} device`;
  if (view.kernelCount >= maxKernelsPerDevice) return `full (${view.kernelCount} of ${maxKernelsPerDevice} kernels)`;
  if (view.memoryAvailableBytes !== undefined) {
    if (view.memoryAvailableBytes <= 0) return 'no free memory';
    if (request.memoryBytes !== undefined && request.memoryBytes > view.memoryAvailableBytes) {
      return `needs ${formatBytes(request.memoryBytes)}, ${formatBytes(view.memoryAvailableBytes)} free`;
    }
  }
  return undefined;
}

export type BuiltInStrategy = Exclude<LoadBalancingStrategy, 'custom'>;

/**
 * Picks one of `candidates` (registration order) by `strategy`. Ties go to the less loaded device,
 * then to the earlier one. `lastRoundRobin` is the registration sequence of the previous
 * round-robin pick; `sequence` gives each candidate's.
 */
export function pickByStrategy(
  strategy: BuiltInStrategy,
  candidates: readonly DeviceView[],
  sequence: (view: DeviceView) => number,
  lastRoundRobin: number,
): DeviceView | undefined {
  if (candidates.length === 0) return undefined;
  switch (strategy) {
    case 'firstAvailable':
      return candidates[0];
    case 'leastLoaded':
      return best(candidates, () => 0);
    case 'roundRobin':
      // The next device after the previous pick in registration order, wrapping: stays fair when
      // devices come, go or fill up, unlike a counter modulo a changing list length.
      return candidates.find((c) => sequence(c) > lastRoundRobin) ?? candidates[0];
    case 'memoryBased':
      return best(candidates, (c) => c.memoryAvailableBytes ?? -1);
    case 'computeCapability':
      return best(candidates, (c) =>
        c.computeCapability ? c.computeCapability.major * 1000 + c.computeCapability.minor : -1,
      );
  }
}

/** The candidate with the highest score; ties to the fewest kernels, then the earliest. */
function best(candidates: readonly DeviceView[], score: (view: DeviceView) => number): DeviceView | undefined {
  let chosen: DeviceView | undefined;
  for (const c of candidates) {
    if (!chosen) {
      chosen = c;
      continue;
    }
    const difference = score(c) - score(chosen);
    if (difference > 0 || (difference === 0 && c.kernelCount < chosen.kernelCount)) chosen = c;
  }
  return chosen;
}

/** Describes what a selector returned, for error messages. */
export function describeReturned(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `"${value}"`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${value} (a ${typeof value})`;
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    case 'object':
      if (value === null) return 'null';
      if (typeof (value as { then?: unknown }).then === 'function') return 'a Promise';
      return Array.isArray(value) ? 'an array' : 'an object';
  }
}
