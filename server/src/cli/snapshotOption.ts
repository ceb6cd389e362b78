// `--snapshot VIEW@STEP=FILE` of `ringkernel run`: which manifest view (VIEW is `kernel.view`),
// after how many steps, into which file (.png or .csv). Parsed in two stages: the text first (a
// usage error, exit 2), then against the manifest (which kernel and which view, exit 1).
import { resolve } from 'node:path';
import type { KernelSpec } from '../manifest/manifestTypes';
import type { StateView } from '../manifest/views';
import { snapshotFormat, type SnapshotFormat } from '../views/snapshotFiles';

export interface SnapshotRequest {
  /** As written: `kernel.view`. */
  view: string;
  step: number;
  /** Absolute. */
  file: string;
  format: SnapshotFormat;
}

export interface ResolvedSnapshot extends SnapshotRequest {
  kernelId: string;
  stateView: StateView;
}

const FORM = 'VIEW@STEP=FILE, such as heat.rod@100=rod.png (VIEW is kernel.view, FILE a .png or .csv)';

/** The option's value, or a message saying what is wrong with it. */
export function parseSnapshot(value: string | undefined): SnapshotRequest | string {
  if (value === undefined || value === '') return `--snapshot needs ${FORM}`;
  const match = /^([^@=]+)@([^=]+)=(.+)$/.exec(value);
  if (!match) return `--snapshot "${value}" is not ${FORM}`;
  const [, view = '', stepText = '', file = ''] = match;
  const step = Number(stepText);
  if (!/^\d+$/.test(stepText) || !Number.isSafeInteger(step))
    return `--snapshot "${value}": the step must be a whole number, 0 or more (got "${stepText}")`;
  if (!view.includes('.'))
    return `--snapshot "${value}": name the view as kernel.view, such as heat.rod (got "${view}")`;
  const format = snapshotFormat(file);
  if (format === undefined)
    return `--snapshot "${value}": the file must end in .png (a picture) or .csv (the numbers) (got "${file}")`;
  return { view, step, file: resolve(file), format };
}

/**
 * Finds the kernel and view a request names. Kernel ids and view names may both contain dots, so
 * every split of `kernel.view` is tried against the manifest.
 */
export function resolveSnapshot(
  request: SnapshotRequest,
  kernels: readonly KernelSpec[],
  steps: number,
): ResolvedSnapshot | string {
  if (request.step > steps)
    return `--snapshot ${request.view}@${request.step}: step ${request.step} is past the ${steps} steps this run takes; raise --steps or pick an earlier step`;
  const { view } = request;
  for (let dot = view.indexOf('.'); dot >= 0; dot = view.indexOf('.', dot + 1)) {
    const kernel = kernels.find((k) => k.id === view.slice(0, dot));
    const stateView = kernel?.views?.find((v) => v.name === view.slice(dot + 1));
    if (kernel && stateView) {
      if (stateView.plot === 'table' && request.format === 'png')
        return `--snapshot ${view}: view "${stateView.name}" is a table, which has no picture; write it to a .csv file`;
      return { ...request, kernelId: kernel.id, stateView };
    }
  }
  // The longest kernel id the name starts with is the one meant.
  const kernel = kernels.filter((k) => view.startsWith(`${k.id}.`)).sort((a, b) => b.id.length - a.id.length)[0];
  if (!kernel)
    return `--snapshot ${view}: no runnable kernel of the manifest is called "${view.slice(0, view.indexOf('.'))}" (kernels: ${kernels.map((k) => k.id).join(', ') || 'none'})`;
  const names = kernel.views?.map((v) => v.name) ?? [];
  return `--snapshot ${view}: kernel "${kernel.id}" has no view "${view.slice(kernel.id.length + 1)}" (${names.length > 0 ? `its views: ${names.join(', ')}` : 'it declares no "views" in the manifest'})`;
}
