// Every `ringkernel.*` setting the server knows, declared once: its type, default and bounds, as
// package.json's contributes.configuration declares them (test/unit/settings.test.ts checks that
// the two agree). readSettings.ts reads an editor's section against these declarations.
import { LOAD_BALANCING_STRATEGIES } from '../coordinator/coordinatorTypes';
import { MAX_INSTANCES_PER_ADAPTER } from '../probe/deviceInstances';
import { MAX_CUDA_INSTANCES_PER_DEVICE } from '../probe/cudaInstances';
import { MAX_STATE_FPS } from '../views/stateViewFeed';

export type SettingDeclaration =
  | { readonly type: 'boolean'; readonly default: boolean }
  | {
      readonly type: 'number' | 'integer';
      readonly default: number;
      readonly minimum?: number;
      readonly maximum?: number;
    }
  | { readonly type: 'string'; readonly default: string; readonly enum?: readonly string[] }
  /** A list of distinct strings, each matching `pattern`. */
  | { readonly type: 'array'; readonly default: readonly string[]; readonly pattern: RegExp };

/** A device key as settings name devices: backend and index, e.g. "cuda:0". */
export const DEVICE_KEY_PATTERN = /^[a-z]+:[0-9]+$/;

/** Which saves hot-reload a running kernel (`kernels.reloadOn`); lsp/saveIntent.ts decides per save. */
export type ReloadOn = 'manualSave' | 'anySave' | 'command';
export const RELOAD_ON_VALUES: readonly ReloadOn[] = ['manualSave', 'anySave', 'command'];

export const SETTING_DECLARATIONS = {
  /** Read by vscode-languageclient in the extension; declared here so that every setting is known. */
  'trace.server': { type: 'string', default: 'off', enum: ['off', 'messages', 'verbose'] },
  loadBalancing: { type: 'string', default: 'leastLoaded', enum: LOAD_BALANCING_STRATEGIES },
  maxKernelsPerDevice: { type: 'integer', default: 64, minimum: 1 },
  preferredDevices: { type: 'array', default: [], pattern: DEVICE_KEY_PATTERN },
  enableP2P: { type: 'boolean', default: true },
  'ptxas.path': { type: 'string', default: '' },
  'validation.onType': { type: 'boolean', default: true },
  'validation.debounceMs': { type: 'number', default: 250, minimum: 0, maximum: 10_000 },
  'kernels.autoStart': { type: 'boolean', default: true },
  'kernels.reloadOn': { type: 'string', default: 'manualSave', enum: RELOAD_ON_VALUES },
  /** Deprecated: `false` reads as reloadOn "command" while reloadOn is at its default (saveIntent.ts). */
  'kernels.reloadOnSave': { type: 'boolean', default: true },
  'kernels.stepTimeoutMs': { type: 'number', default: 5_000, minimum: 100, maximum: 600_000 },
  'kernels.checkpointIntervalSeconds': { type: 'number', default: 10, minimum: 0 },
  /** The runtime's own default when it runs without settings (the command line) is the same, DEFAULT_MAX_HOSTS_PER_DEVICE. */
  'kernels.maxHostsPerDevice': { type: 'integer', default: 4, minimum: 1, maximum: 256 },
  /** Read once, when the server starts: it decides how many WebGPU devices the probe yields. */
  'webgpu.instancesPerAdapter': { type: 'integer', default: 1, minimum: 1, maximum: MAX_INSTANCES_PER_ADAPTER },
  /** Read once, when the server starts: how many CUDA devices (each a device host) the probe yields per GPU. */
  'cuda.instancesPerDevice': { type: 'integer', default: 1, minimum: 1, maximum: MAX_CUDA_INSTANCES_PER_DEVICE },
  'migration.verify': { type: 'boolean', default: true },
  /** The client asks for at most this many frames a second; the server holds subscriptions to it too. */
  'stateView.maxFps': { type: 'number', default: 10, minimum: 1, maximum: MAX_STATE_FPS },
} as const satisfies Record<string, SettingDeclaration>;

export type SettingName = keyof typeof SETTING_DECLARATIONS;

/** The value type a declaration gives: an enum's members, a list of strings, a number, ... */
type ValueOf<D> = D extends { readonly enum: readonly (infer E)[] }
  ? E
  : D extends { readonly type: 'boolean' }
    ? boolean
    : D extends { readonly type: 'number' | 'integer' }
      ? number
      : D extends { readonly type: 'array' }
        ? readonly string[]
        : string;

/** Every setting, with the value in use (the editor's, or the default where it had none or a bad one). */
export type RingKernelSettings = { readonly [N in SettingName]: ValueOf<(typeof SETTING_DECLARATIONS)[N]> };
