// Finds the CUDA devices through our addon, which loads libcuda.so.1 at run time. No addon or no
// driver is a reason, never a crash.
import type { BackendReport, DeviceSummary } from '../backendReport';
import { loadCudaAddon } from './cudaAddon';

export function probeCuda(): BackendReport {
  const started = performance.now();
  const report = (fields: Omit<BackendReport, 'backend' | 'probeMs'>): BackendReport => ({
    backend: 'cuda',
    probeMs: Math.round(performance.now() - started),
    ...fields,
  });
  const loaded = loadCudaAddon();
  if (!loaded.ok) return report({ available: false, reason: loaded.reason, devices: [] });
  const status = loaded.addon.driverStatus();
  if (!status.available) return report({ available: false, reason: status.reason ?? 'the CUDA driver did not initialise', devices: [] });
  try {
    const devices: DeviceSummary[] = [];
    const count = loaded.addon.deviceCount();
    for (let index = 0; index < count; index++) {
      const info = loaded.addon.deviceInfo(index);
      devices.push({ index, name: info.name, vendor: 'NVIDIA', detail: `compute ${info.computeCapability.major}.${info.computeCapability.minor}` });
    }
    if (devices.length === 0) return report({ available: false, reason: 'the CUDA driver is installed but reports no devices', devices });
    return report({ available: true, devices });
  } catch (error) {
    return report({ available: false, reason: `querying CUDA devices failed: ${error instanceof Error ? error.message : String(error)}`, devices: [] });
  }
}
