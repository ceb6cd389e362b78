// Finds the CUDA devices through our addon, which loads libcuda.so.1 at run time. No addon or no
// driver is a reason, never a crash.
import type { BackendReport } from '../backendReport';
import { errorMessage } from '../../logger';
import { CudaBackend } from './cudaBackend';

export async function probeCuda(): Promise<BackendReport> {
  const started = performance.now();
  const report = (fields: Omit<BackendReport, 'backend' | 'probeMs'>): BackendReport => ({
    backend: 'cuda',
    probeMs: Math.round(performance.now() - started),
    ...fields,
  });
  try {
    const backend = new CudaBackend();
    try {
      return report({ available: true, devices: await backend.devices() });
    } finally {
      backend.dispose();
    }
  } catch (error) {
    return report({ available: false, reason: errorMessage(error), devices: [] });
  }
}
