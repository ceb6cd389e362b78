// Loading Dawn (npm `webgpu`) and keeping its instance alive. The object `create()` returns must
// stay referenced for the life of the process: once collected, Dawn later crashes or hangs.
import { createRequire } from 'node:module';
import { errorMessage } from '../../logger';

/** The part of the `webgpu` package's exports we use. */
interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

const instances = new Map<string, GPU>();
let loadError: string | undefined;

function loadModule(): DawnModule {
  // Required at run time (not bundled): the package holds the native dawn.node.
  const requireAtRuntime = createRequire(__filename);
  return requireAtRuntime('webgpu') as DawnModule;
}

/**
 * The Dawn instance for a backend (`vulkan`, `null`, ...), created once per process.
 * Throws an Error naming the package and what to do when Dawn cannot load.
 */
export function dawnInstance(backend: string): GPU {
  const existing = instances.get(backend);
  if (existing) return existing;
  if (loadError !== undefined) throw new Error(loadError);
  let dawn: DawnModule;
  try {
    dawn = loadModule();
    // Dawn's bindings expect the WebGPU enums (GPUBufferUsage, ...) as globals.
    for (const [name, value] of Object.entries(dawn.globals)) {
      if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
    }
  } catch (error) {
    loadError =
      `Dawn (npm package "webgpu") could not be loaded: ${errorMessage(error)}. ` +
      'Reinstall the extension, or run `npm install` in its folder; Dawn ships prebuilt for linux-x64, linux-arm64, darwin and win32.';
    throw new Error(loadError);
  }
  const instance = dawn.create([`backend=${backend}`]);
  instances.set(backend, instance);
  return instance;
}
