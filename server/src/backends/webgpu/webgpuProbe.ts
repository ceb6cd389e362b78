// Finds the WebGPU devices Dawn offers on this machine (Vulkan on GPU machines; Mesa's lavapipe
// on machines without a GPU). Runs in the probe child process: Dawn and the Vulkan loader print
// to stdout/stderr, and a bad driver must not take the language server down.
import type { BackendReport } from '../backendReport';
import { errorMessage } from '../../logger';
import { WebGpuBackend } from './webgpuBackend';

export async function probeWebGpu(): Promise<BackendReport> {
  const started = performance.now();
  const report = (fields: Omit<BackendReport, 'backend' | 'probeMs'>): BackendReport => ({
    backend: 'webgpu',
    probeMs: Math.round(performance.now() - started),
    ...fields,
  });
  try {
    return report({ available: true, devices: await new WebGpuBackend().devices() });
  } catch (error) {
    return report({ available: false, reason: errorMessage(error), devices: [] });
  }
}
