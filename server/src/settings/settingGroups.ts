// The settings each part of the engine takes, cut from the whole.
import type { CoordinatorConfig } from '../coordinator/coordinatorTypes';
import type { RingKernelSettings } from './settingDeclarations';

export function coordinatorConfigOf(settings: RingKernelSettings): CoordinatorConfig {
  return {
    loadBalancing: settings.loadBalancing,
    maxKernelsPerDevice: settings.maxKernelsPerDevice,
    preferredDevices: [...settings.preferredDevices],
    enableP2P: settings.enableP2P,
  };
}
