// The checks only RingKernel can make on a kernel entry, once its values have been read: files,
// entry points, backends against languages, and combinations of values. The schema cannot say
// any of these, so they are 'semantic' problems.
import type { Node } from 'jsonc-parser/lib/esm/main.js';
import { ENTRY_POINT_KIND, lookUpEntryPoint } from './sourceEntryPoints';
import { AUTO_BACKEND, LANGUAGE_NAME, LIMITS, MANIFEST_NAME } from './manifestRules';
import { spanOf, type Span } from './manifestPositions';
import type { Dims, KernelBackendChoice, KernelLanguage } from './manifestTypes';
import type { SourceLocation } from './sourceLocation';

/** A kernel's values as read, each with the node it came from (absent: not given, or not usable). */
export interface KernelFields {
  language: KernelLanguage | undefined;
  source: { node: Node; written: string; location: SourceLocation } | undefined;
  entryPoint: { node: Node; name: string } | undefined;
  backend: KernelBackendChoice;
  backendNode: Node | undefined;
  grid: Dims | undefined;
  gridNode: Node | undefined;
  block: Dims | undefined;
  blockKey: Node | undefined;
  blockNode: Node | undefined;
}

export interface CheckContext {
  /** The text of a source file inside the workspace; undefined when it cannot be read. */
  sourceText(path: string): string | undefined;
  error(message: string, at: Span): void;
  warning(message: string, at: Span): void;
}

export function checkKernel(fields: KernelFields, context: CheckContext): void {
  const { language, source, entryPoint, backend, backendNode, grid, gridNode, block, blockKey, blockNode } = fields;
  const threads = block ? block[0] * block[1] * block[2] : undefined;
  if (blockNode && threads !== undefined && threads > LIMITS.block.maxThreads) {
    context.error(
      `block has ${threads} threads (${block?.join(' x ')}); CUDA allows at most ${LIMITS.block.maxThreads} threads per block`,
      spanOf(blockNode),
    );
  }
  if (language === 'wgsl' && blockKey) {
    context.warning(
      '"block" is ignored for a WGSL kernel: its @workgroup_size sets the threads per workgroup; remove "block"',
      spanOf(blockKey),
    );
  }
  const runsOn = language === undefined ? undefined : backend === 'auto' ? AUTO_BACKEND[language] : backend;
  if (
    language !== undefined &&
    language !== 'msl' &&
    backendNode &&
    backend !== 'auto' &&
    backend !== AUTO_BACKEND[language]
  ) {
    context.error(
      `backend "${backend}" cannot run ${LANGUAGE_NAME[language]}; ${LANGUAGE_NAME[language]} runs on "${AUTO_BACKEND[language] ?? ''}": set that or "auto"`,
      spanOf(backendNode),
    );
  }
  if (runsOn === 'webgpu' && grid && gridNode && grid.some((n) => n > LIMITS.webgpuWorkgroupsPerDimension)) {
    context.warning(
      `grid ${grid.join(' x ')} is over the ${LIMITS.webgpuWorkgroupsPerDimension} workgroups per dimension WebGPU guarantees; a device that allows no more refuses the launch`,
      spanOf(gridNode),
    );
  }
  if (language === 'msl' && source) {
    context.warning(
      'Metal kernels are validated but cannot run here: no Metal device; this kernel is left out',
      spanOf(source.node),
    );
  }
  if (!source || language === undefined) return;
  // A source outside the workspace is never read.
  if (source.location.outside !== undefined) {
    context.error(source.location.outside, spanOf(source.node));
    return;
  }
  const text = context.sourceText(source.location.path);
  if (text === undefined) {
    context.error(
      `source file not found: ${source.location.path} ("${source.written}" is relative to the folder of ${MANIFEST_NAME}); create it or fix the path`,
      spanOf(source.node),
    );
    return;
  }
  if (!entryPoint) return;
  const lookup = lookUpEntryPoint(language, text, entryPoint.name);
  if (!lookup.found) {
    const kind = ENTRY_POINT_KIND[language];
    const instead = lookup.otherKind
      ? `"${entryPoint.name}" is ${lookup.otherKind}`
      : `there is no ${kind} named "${entryPoint.name}"`;
    const have =
      lookup.entryPoints.length > 0
        ? `its ${kind}s: ${lookup.entryPoints.slice(0, 10).join(', ')}`
        : `it has no ${kind}`;
    context.error(
      `entry point "${entryPoint.name}" not found in ${source.written}: ${instead} (${have})`,
      spanOf(entryPoint.node),
    );
  }
}
