// What a backend probe reports: a backend is available with its devices, or unavailable with why.

import type { DeviceInfo } from './backend';

export type BackendName = 'webgpu' | 'cuda';

export interface BackendReport {
  backend: BackendName;
  available: boolean;
  /** Why the backend is unavailable, and what to do about it; absent when available. */
  reason?: string;
  devices: DeviceInfo[];
  /** How long the probe of this backend took, in milliseconds. */
  probeMs: number;
}

/** One line per backend, for logs and the command line. */
export function describeBackend(report: BackendReport): string {
  if (!report.available) return `${report.backend}: unavailable (${report.reason ?? 'no reason given'})`;
  const devices = report.devices.map((d) => `#${d.index} ${d.name} [${d.detail}]`).join(', ');
  return `${report.backend}: ${report.devices.length} device(s)${devices ? `: ${devices}` : ''}`;
}
