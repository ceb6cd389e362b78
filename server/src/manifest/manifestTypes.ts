// What reading `ringkernel.json` gives: the runnable kernels, every problem at its place, and every
// kernel entry as written.
import type { KernelLanguage } from '../validation/validatorSet';

export type { KernelLanguage };

export type KernelBackendChoice = 'auto' | 'webgpu' | 'cuda';
export type Dims = [number, number, number];

/** One kernel with defaults applied and paths resolved. */
export interface KernelSpec {
  id: string;
  /** Absolute path, inside the manifest's folder. */
  source: string;
  language: KernelLanguage;
  entryPoint: string;
  backend: KernelBackendChoice;
  device: 'auto' | number;
  stateBytes: number;
  grid: Dims;
  block: Dims;
  inboxCapacity: number;
  outboxCapacity: number;
  rateHz: number;
  /**
   * One source per backend with the same ABI and state layout (`"sources"` in the manifest),
   * absolute paths; the kernel can migrate between devices of these backends. `source` is among them.
   */
  sources?: Partial<Record<'webgpu' | 'cuda', string>>;
}

export interface ManifestProblem {
  severity: 'error' | 'warning';
  /** Says what is wrong, with what (kernel id / property), and what to do. */
  message: string;
  /** 0-based offset and length in the manifest text: the offending value or property; the document start when nothing better. */
  offset: number;
  length: number;
  /** 'schema': VS Code's JSON service reports it too (from the contributed schema, or JSON syntax); 'semantic': only we can tell. */
  kind: 'schema' | 'semantic';
  kernelId?: string;
}

/**
 * A kernel entry as written, errors or not, with whichever of these read as strings. Editor
 * features need the broken kernels too: the WGSL file of a kernel whose entry point is missing is
 * exactly where that error must show, and saving a missing source file must re-check the manifest.
 */
export interface DeclaredKernel {
  id?: string;
  /** Absolute path. */
  source?: string;
  entryPoint?: string;
  /** The device index, when the entry names one (validation checks the features that device has). */
  device?: number;
}

export interface Manifest {
  /** Absolute path of ringkernel.json. */
  path: string;
  /** Only the kernels without errors, in manifest order: a kernel with an error is left out, the others still run. */
  kernels: KernelSpec[];
  problems: ManifestProblem[];
  /** Every kernel entry, including those left out of `kernels`. */
  declared: DeclaredKernel[];
}
