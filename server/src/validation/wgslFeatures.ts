// Optional WGSL extensions (`enable f16;`) against the devices the manifest's kernels run on.
// Tint validates with every feature Dawn's null adapter offers, so a valid file passes; whether a
// real device has the feature is a question about the kernel's placement, answered here from the
// devices the probe found: a kernel that must run on a device lacking the feature is an error at
// the `enable`, one that may be placed there is a warning.
import { LineIndex, type Diagnostic } from './diagnostic';
import type { ExpectedEntryPoint } from './wgslValidator';

export const WGSL_FEATURES_SOURCE = 'ringkernel';

/** The WebGPU feature each WGSL extension needs (WGSL spec, "Enable Extensions"). */
export const EXTENSION_FEATURES: Readonly<Record<string, string>> = {
  f16: 'shader-f16',
  subgroups: 'subgroups',
  clip_distances: 'clip-distances',
  dual_source_blending: 'dual-source-blending',
  primitive_index: 'primitive-index',
};

/** A WebGPU device as the probe reports it. */
export interface WgslDevice {
  index: number;
  name: string;
  /** Its features (GPUFeatureName); absent when the probe could not tell (then nothing is checked). */
  features?: readonly string[] | undefined;
}

export interface EnabledExtension {
  name: string;
  /** UTF-16 offsets of the extension's name in its `enable` directive. */
  start: number;
  end: number;
}

/** The extensions named by `enable` directives (before any declaration, where WGSL allows them). */
export function findEnables(text: string): EnabledExtension[] {
  const found: EnabledExtension[] = [];
  // Comments become spaces of the same length, so offsets stay exact.
  const code = text.replace(/\/\/[^\n\r]*|\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n\r]/g, ' '));
  const directive = /\benable\s+([^;]*);/g;
  for (let match = directive.exec(code); match !== null; match = directive.exec(code)) {
    const list = match[1] ?? '';
    const listStart = match.index + match[0].indexOf(list, 6);
    const name = /[A-Za-z_][A-Za-z0-9_]*/g;
    for (let item = name.exec(list); item !== null; item = name.exec(list)) {
      found.push({ name: item[0], start: listStart + item.index, end: listStart + item.index + item[0].length });
    }
  }
  return found;
}

const describeDevice = (device: WgslDevice): string => `WebGPU device ${device.index} (${device.name})`;
const kernelsOf = (ids: string[]): string =>
  ids.length === 1 ? `kernel '${ids[0] ?? ''}'` : `kernels ${ids.map((id) => `'${id}'`).join(', ')}`;

/**
 * Diagnostics for extensions the kernels' devices lack. `kernels` are the manifest's kernels that
 * use this file (their `device`: an index, or `auto` for any WebGPU device).
 */
export function checkDeviceFeatures(
  text: string,
  kernels: readonly ExpectedEntryPoint[],
  devices: readonly WgslDevice[],
  index = new LineIndex(text),
  manifestName = 'ringkernel.json',
): Diagnostic[] {
  if (kernels.length === 0 || devices.length === 0) return [];
  const enables = findEnables(text).filter((e) => EXTENSION_FEATURES[e.name] !== undefined);
  const diagnostics: Diagnostic[] = [];
  for (const extension of enables) {
    const feature = EXTENSION_FEATURES[extension.name] ?? '';
    const lacks = (device: WgslDevice): boolean => device.features !== undefined && !device.features.includes(feature);
    /** Per device lacking the feature: the kernels that must run there, and those that may be placed there. */
    const must = new Map<number, string[]>();
    const may = new Map<number, string[]>();
    for (const kernel of kernels) {
      const id = kernel.kernelId ?? kernel.name;
      if (typeof kernel.device === 'number') {
        const device = devices.find((d) => d.index === kernel.device);
        if (device && lacks(device)) must.set(device.index, [...(must.get(device.index) ?? []), id]);
        continue;
      }
      const candidates = devices.filter((d) => d.features !== undefined);
      const without = candidates.filter(lacks);
      if (without.length === 0) continue;
      // No device has it: the kernel cannot run anywhere here.
      const target = without.length === candidates.length ? must : may;
      for (const device of without) target.set(device.index, [...(target.get(device.index) ?? []), id]);
    }
    const at = index.rangeOf(extension.start, extension.end - extension.start);
    const needs = `the feature '${feature}' that 'enable ${extension.name}' needs`;
    for (const [deviceIndex, ids] of must) {
      const device = devices.find((d) => d.index === deviceIndex);
      if (!device) continue;
      const withIt = devices.filter((d) => !lacks(d) && d.features !== undefined);
      diagnostics.push({
        range: at,
        severity: 'error',
        message:
          `${kernelsOf(ids)} ${ids.length === 1 ? 'runs' : 'run'} on ${describeDevice(device)}, which lacks ${needs}: it cannot run there. ` +
          (withIt.length > 0
            ? `Set "device" in ${manifestName} to one that has it (${withIt.map(describeDevice).join(', ')}), or remove the extension.`
            : `No WebGPU device here has it: remove the extension and what uses it.`),
        source: WGSL_FEATURES_SOURCE,
        code: 'device-feature',
      });
    }
    for (const [deviceIndex, ids] of may) {
      const device = devices.find((d) => d.index === deviceIndex);
      if (!device) continue;
      const withIt = devices.filter((d) => !lacks(d) && d.features !== undefined);
      diagnostics.push({
        range: at,
        severity: 'warning',
        message:
          `${kernelsOf(ids)} may be placed on ${describeDevice(device)}, which lacks ${needs}. ` +
          `Set "device" in ${manifestName} to one that has it (${withIt.map(describeDevice).join(', ')}).`,
        source: WGSL_FEATURES_SOURCE,
        code: 'device-feature',
      });
    }
  }
  return diagnostics;
}
