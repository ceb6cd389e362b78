// Messages between the server and a device-host child over Node IPC ('advanced' serialisation,
// so Uint8Arrays travel as bytes, not JSON).
import type { BufferHandle, DeviceInfo, KernelHandle, KernelSource, StepLaunch, Timing } from '../backends/backend';
import type { GpuErrorData } from '../backends/gpuError';

/** Every operation a host performs: its arguments and its result. */
export interface HostOperations {
  devices: { args: Record<string, never>; result: DeviceInfo[] };
  compile: { args: { device: number; source: KernelSource }; result: KernelHandle };
  releaseKernel: { args: { kernel: KernelHandle }; result: null };
  allocate: { args: { device: number; bytes: number; label: string }; result: BufferHandle };
  free: { args: { buffer: BufferHandle }; result: null };
  write: { args: { buffer: BufferHandle; offset: number; data: Uint8Array }; result: Timing };
  read: { args: { buffer: BufferHandle; offset: number; bytes: number }; result: { data: Uint8Array; timing: Timing } };
  copy: { args: { source: BufferHandle; destination: BufferHandle; bytes: number }; result: Timing };
  step: { args: StepLaunch; result: Timing };
}

export type HostOperation = keyof HostOperations;

export interface HostRequest<K extends HostOperation = HostOperation> {
  kind: 'request';
  id: number;
  op: K;
  args: HostOperations[K]['args'];
}

export type HostResponse =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: GpuErrorData };

/** host → server, unprompted: a line for the log (driver messages, device loss). */
export interface HostDiagnostic {
  kind: 'diagnostic';
  message: string;
}

export type HostMessage = HostResponse | HostDiagnostic;
