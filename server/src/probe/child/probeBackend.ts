// Opens one backend, lists its devices and closes it again: a report of what was found, or why
// nothing was (no driver, no adapter, no addon), with how long it took. Never throws.
import { errorMessage } from '../../logger';
import type { GpuBackend } from '../../backends/backend';
import type { BackendName, BackendReport } from '../../backends/backendReport';

export async function probeBackend(backend: BackendName, open: () => GpuBackend): Promise<BackendReport> {
  const started = performance.now();
  const report = (fields: Omit<BackendReport, 'backend' | 'probeMs'>): BackendReport => ({
    backend,
    probeMs: Math.round(performance.now() - started),
    ...fields,
  });
  try {
    const opened = open();
    try {
      return report({ available: true, devices: await opened.devices() });
    } finally {
      opened.dispose();
    }
  } catch (error) {
    return report({ available: false, reason: errorMessage(error), devices: [] });
  }
}
