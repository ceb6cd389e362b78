// Finds the WebGPU adapters Dawn offers on this machine (Vulkan on GPU machines; Mesa's lavapipe
// on machines without a GPU). Runs in the probe child process: Dawn and the Vulkan loader print
// to stdout/stderr, and a bad driver must not take the language server down.
import type { BackendReport, DeviceSummary } from '../backendReport';
import { dawnInstance } from './dawn';

const NO_ADAPTER_HELP =
  'Dawn found no Vulkan adapter. Install a Vulkan driver for your GPU; on a machine without a GPU, ' +
  "install Mesa's software driver lavapipe version 24 or newer (Debian bookworm: scripts/install-system-deps.sh " +
  'installs it from bookworm-backports; Mesa 22 is rejected by Dawn).';

export async function probeWebGpu(): Promise<BackendReport> {
  const started = performance.now();
  const report = (fields: Omit<BackendReport, 'backend' | 'probeMs'>): BackendReport => ({
    backend: 'webgpu',
    probeMs: Math.round(performance.now() - started),
    ...fields,
  });
  try {
    const gpu = dawnInstance('vulkan');
    const seen = new Set<string>();
    const devices: DeviceSummary[] = [];
    // Ask for both power preferences: on machines with an integrated and a discrete GPU Dawn
    // returns different adapters for each.
    for (const powerPreference of ['high-performance', 'low-power'] as const) {
      const adapter = await gpu.requestAdapter({ powerPreference });
      if (!adapter) continue;
      const info = adapter.info;
      const key = `${info.vendor}/${info.architecture}/${info.device}/${info.description}`;
      if (seen.has(key)) continue;
      seen.add(key);
      devices.push({
        index: devices.length,
        name: info.description || info.device || 'WebGPU adapter',
        vendor: info.vendor || 'unknown',
        detail: info.architecture === 'software' ? `software Vulkan (${info.device})` : `Vulkan ${info.architecture || info.device}`.trim(),
      });
    }
    if (devices.length === 0) return report({ available: false, reason: NO_ADAPTER_HELP, devices });
    return report({ available: true, devices });
  } catch (error) {
    return report({ available: false, reason: error instanceof Error ? error.message : String(error), devices: [] });
  }
}
