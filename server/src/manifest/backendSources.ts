// Which source file a kernel runs from on a backend: `source` on its own backend, or its entry in
// `sources` (one per backend, same ABI and state layout) on another, so it can migrate there.
import type { BackendName } from '../backends/backendReport';
import type { KernelLanguage } from '../backends/backend';
import type { KernelSpec } from './manifestTypes';

const LANGUAGE_OF: Record<BackendName, KernelLanguage> = { webgpu: 'wgsl', cuda: 'ptx' };

export function backendSource(
  spec: Pick<KernelSpec, 'source' | 'language' | 'sources'>,
  backend: BackendName,
): { path: string; language: KernelLanguage } | undefined {
  const language = LANGUAGE_OF[backend];
  const path = spec.sources?.[backend] ?? (spec.language === language ? spec.source : undefined);
  return path === undefined ? undefined : { path, language };
}

/** Why a kernel cannot run on `backend`, or undefined when it can. */
export function noSourceReason(
  spec: Pick<KernelSpec, 'id' | 'source' | 'language' | 'sources'>,
  backend: BackendName,
): string | undefined {
  if (backendSource(spec, backend)) return undefined;
  return (
    `kernel "${spec.id}" has no ${LANGUAGE_OF[backend].toUpperCase()} source for ${backend === 'cuda' ? 'CUDA' : 'WebGPU'}; ` +
    `give one in its "sources" (e.g. "sources": { "${backend}": "kernels/${spec.id}.${LANGUAGE_OF[backend]}" })`
  );
}
