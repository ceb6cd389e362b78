// The workspace manifest, `ringkernel.json`: which kernels run, from which source and entry point,
// with how much state, launched how, how often. This module is the manifest's public face; the
// work is split by concern:
//   manifestTypes.ts      what reading gives (KernelSpec, ManifestProblem, Manifest)
//   manifestRules.ts      properties, defaults and limits: the schema's mirror
//   manifestParse.ts      JSON text to syntax tree and syntax problems (nesting limit first)
//   manifestReader.ts     the tree to kernels, each value checked against the rules
//   kernelChecks.ts       what only we can tell: files, entry points, backends, combinations
//   sourceLocation.ts     sources stay inside the manifest's folder
//   manifestPositions.ts  offsets, line numbers, ranges
// Two kinds of problem: 'schema' ones are exactly what media/schemas/ringkernel.schema.json says
// (VS Code's JSON service reports those itself, so the LSP wiring can leave them out there), and
// 'semantic' ones only we can tell.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ManifestReader } from './manifestReader';
import { MANIFEST_NAME } from './manifestRules';
import type { Manifest } from './manifestTypes';

export type {
  DeclaredKernel,
  Dims,
  KernelBackendChoice,
  KernelLanguage,
  KernelSpec,
  Manifest,
  ManifestProblem,
} from './manifestTypes';
export {
  BACKENDS,
  KERNEL_DEFAULTS,
  KERNEL_PROPERTIES,
  LIMITS,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  REQUIRED_KERNEL_PROPERTIES,
  SOURCE_EXTENSIONS,
  TOP_LEVEL_PROPERTIES,
  runsOn,
} from './manifestRules';
export { problemRange } from './manifestPositions';

function readSourceFile(absolutePath: string): string | undefined {
  try {
    return readFileSync(absolutePath, 'utf8');
  } catch {
    return undefined;
  }
}

/** Parses and checks manifest text; never throws on any content. `readSource` reads a kernel file (undefined: missing). */
export function parseManifest(
  text: string,
  manifestPath: string,
  readSource: (absolutePath: string) => string | undefined = readSourceFile,
): Manifest {
  const path = resolve(manifestPath);
  try {
    return new ManifestReader(typeof text === 'string' ? text : '', path, readSource).read();
  } catch (error) {
    // A bug of ours must not take the editor features down with it: say so on the manifest.
    const message = error instanceof Error ? error.message : String(error);
    return {
      path,
      kernels: [],
      declared: [],
      problems: [
        {
          severity: 'error',
          kind: 'semantic',
          offset: 0,
          length: 0,
          message: `${MANIFEST_NAME} could not be checked (internal error: ${message}); please report this`,
        },
      ],
    };
  }
}

/** Reads and parses the manifest; a missing or unreadable file gives one problem saying so. */
export function loadManifest(manifestPath: string): Manifest {
  const path = resolve(manifestPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message =
      code === 'ENOENT'
        ? `${MANIFEST_NAME} not found at ${path}; create it to declare kernels (see docs/manifest.md)`
        : `${MANIFEST_NAME} could not be read at ${path}: ${error instanceof Error ? error.message : String(error)}`;
    return {
      path,
      kernels: [],
      declared: [],
      problems: [{ severity: 'error', kind: 'semantic', offset: 0, length: 0, message }],
    };
  }
  return parseManifest(text, path);
}
