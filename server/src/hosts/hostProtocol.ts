// Messages between the server and a device-host child over Node IPC ('advanced' serialisation,
// so Uint8Arrays travel as bytes, not JSON).
import type { BufferHandle, DeviceInfo, KernelHandle, KernelSource, Timing } from '../backends/backend';
import type { GpuErrorData } from '../backends/gpuError';
import type { Payload } from './bulkTransfer';
import type { StepBatch, StepOutcome } from './stepRunner';

/** Every operation a host performs: its arguments and its result. */
export interface HostOperations {
  devices: { args: Record<string, never>; result: DeviceInfo[] };
  compile: { args: { device: number; source: KernelSource }; result: KernelHandle };
  releaseKernel: { args: { kernel: KernelHandle }; result: null };
  allocate: { args: { device: number; bytes: number; label: string }; result: BufferHandle };
  free: { args: { buffer: BufferHandle }; result: null };
  /** Large data travels as a shared-memory file reference (bulkTransfer.ts). */
  write: { args: { buffer: BufferHandle; offset: number; data: Payload }; result: Timing };
  read: { args: { buffer: BufferHandle; offset: number; bytes: number }; result: { data: Payload; timing: Timing } };
  copy: { args: { source: BufferHandle; destination: BufferHandle; bytes: number }; result: Timing };
  steps: { args: StepBatch; result: StepOutcome[] };
  compileLogs: { args: { device: number; code: string }; result: { errorLog: string; infoLog: string } };
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

/** host → server: request `id` is still making progress (one more step done); resets its watchdog. */
export interface HostProgress {
  kind: 'progress';
  id: number;
}

export type HostMessage = HostResponse | HostDiagnostic | HostProgress;
