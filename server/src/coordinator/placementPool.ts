// Where a strategy may choose from for one request: the checks every placement passes before any
// strategy runs (a valid request, a registered device, one that can take the kernel), then the
// request's own device or the configured preferred devices. And the check of a custom selector's
// answer, which must be one of those candidates.
import { errorMessage } from '../logger';
import type { DeviceKey } from '../probe/probeRecords';
import {
  MIGRATION_PRIORITIES,
  type CoordinatorConfig,
  type DeviceSelector,
  type DeviceView,
  type PlacementError,
  type PlacementRequest,
  type SelectorFailureCode,
} from './coordinatorTypes';
import { describeReturned, ineligibleReason } from './placementStrategies';

export type PlacementPool =
  { error: PlacementError } | { requested: DeviceView } | { pool: DeviceView[]; preferredSkipped?: string };

/** An error, the request's own device, or the devices a strategy chooses among (registration order). */
export function placementPool(
  views: readonly DeviceView[],
  request: Readonly<PlacementRequest>,
  config: Readonly<CoordinatorConfig>,
): PlacementPool {
  const invalid = invalidRequest(request);
  if (invalid !== undefined) return { error: { code: 'INVALID_REQUEST', message: invalid } };
  if (views.length === 0) {
    return {
      error: {
        code: 'NO_DEVICES',
        message: 'no GPU device is registered: no backend found a device (see `ringkernel devices` for why)',
      },
    };
  }
  const max = config.maxKernelsPerDevice;
  const rejected: { device: DeviceKey; reason: string }[] = [];
  const eligible = views.filter((v) => {
    const reason = ineligibleReason(v, request, max);
    if (reason !== undefined) rejected.push({ device: v.key, reason });
    return reason === undefined;
  });
  if (eligible.length === 0) {
    const needs = [
      request.backend && `a ${request.backend} device`,
      request.memoryBytes !== undefined && `${request.memoryBytes} bytes free`,
    ]
      .filter(Boolean)
      .join(' with ');
    return {
      error: {
        code: 'NO_ELIGIBLE_DEVICE',
        message: `no device can take the kernel${needs ? ` (it needs ${needs})` : ''}: ${rejected.map((r) => `${r.device} ${r.reason}`).join('; ')}`,
        rejected,
      },
    };
  }

  let preferredSkipped: string | undefined;
  if (request.preferredDevice !== undefined) {
    const wanted = eligible.find((v) => v.key === request.preferredDevice);
    if (wanted) return { requested: wanted };
    const why = rejected.find((r) => r.device === request.preferredDevice)?.reason ?? 'not registered';
    preferredSkipped = `requested device ${request.preferredDevice}: ${why}`;
  }
  let pool = eligible;
  if (config.preferredDevices.length > 0) {
    const preferred = eligible.filter((v) => v.preferred);
    if (preferred.length > 0) pool = preferred;
    else
      preferredSkipped = [preferredSkipped, `no preferred device (${config.preferredDevices.join(', ')}) can take it`]
        .filter(Boolean)
        .join('; ');
  }
  return preferredSkipped === undefined ? { pool } : { pool, preferredSkipped };
}

export type SelectorAnswer = { device: DeviceView } | { code: SelectorFailureCode; message: string };

/**
 * Asks `selector` to pick among `candidates` and checks the answer: one of the candidates, or why
 * not. `lookup` finds a registered device that is not a candidate, to say why it cannot be used.
 */
export function askSelector(
  selector: DeviceSelector,
  candidates: readonly DeviceView[],
  request: Readonly<PlacementRequest>,
  lookup: (key: DeviceKey) => DeviceView | undefined,
  maxKernelsPerDevice: number,
): SelectorAnswer {
  let returned: unknown;
  try {
    returned = selector(Object.freeze([...candidates]), Object.freeze({ ...request }));
  } catch (error) {
    return { code: 'SELECTOR_THREW', message: `the device selector threw: ${errorMessage(error)}` };
  }
  if (returned === undefined) return { code: 'SELECTOR_DECLINED', message: 'the device selector chose no device' };
  if (typeof returned !== 'string') {
    return {
      code: 'SELECTOR_RETURNED_INVALID',
      message: `the device selector returned ${describeReturned(returned)}; it must return a candidate's key such as "${candidates[0]?.key ?? 'cuda:0'}" (synchronously)`,
    };
  }
  const device = candidates.find((c) => c.key === returned);
  if (device) return { device };
  const view = lookup(returned);
  if (!view)
    return {
      code: 'SELECTOR_RETURNED_MISSING',
      message: `the device selector returned "${returned}", which is not a registered device`,
    };
  const why =
    ineligibleReason(view, request, maxKernelsPerDevice) ?? 'it is not among the candidates (not a preferred device)';
  return {
    code: 'SELECTOR_RETURNED_INELIGIBLE',
    message: `the device selector returned "${returned}", which cannot take this kernel: ${why}`,
  };
}

function invalidRequest(request: Readonly<PlacementRequest>): string | undefined {
  if (request.memoryBytes !== undefined && !(Number.isFinite(request.memoryBytes) && request.memoryBytes >= 0)) {
    return `memoryBytes must be a non-negative number of bytes, not ${String(request.memoryBytes)}`;
  }
  if (request.stateBytes !== undefined && !(Number.isFinite(request.stateBytes) && request.stateBytes >= 0)) {
    return `stateBytes must be a non-negative number of bytes, not ${String(request.stateBytes)}`;
  }
  if (request.priority !== undefined && !MIGRATION_PRIORITIES.includes(request.priority))
    return `priority must be one of ${MIGRATION_PRIORITIES.join(', ')}`;
  return undefined;
}
