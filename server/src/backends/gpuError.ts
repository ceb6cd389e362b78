// Every failure a backend reports: what happened, to what (kernel, device), and a code a caller
// can act on. Crosses the device-host IPC as plain data (see toData / fromData).
import { errorMessage } from '../logger';

export type GpuErrorCode =
  | 'BACKEND_UNAVAILABLE'
  | 'NO_SUCH_DEVICE'
  | 'COMPILE_FAILED'
  | 'ENTRY_POINT_MISSING'
  | 'BUFFER_TOO_LARGE'
  | 'OUT_OF_MEMORY'
  | 'INVALID_ARGUMENT'
  | 'INVALID_LAUNCH'
  | 'KERNEL_FAULT'
  | 'DEVICE_LOST'
  | 'WATCHDOG_TIMEOUT'
  | 'HOST_EXITED'
  | 'DRIVER_ERROR';

export interface GpuErrorData {
  code: GpuErrorCode;
  message: string;
  /** The compiler's or driver's own log, kept whole. */
  log?: string;
}

export class GpuError extends Error implements GpuErrorData {
  override readonly name = 'GpuError';
  readonly log?: string;

  constructor(
    readonly code: GpuErrorCode,
    message: string,
    log?: string,
  ) {
    super(message);
    if (log !== undefined) this.log = log;
  }

  toData(): GpuErrorData {
    return this.log === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, log: this.log };
  }

  static fromData(data: GpuErrorData): GpuError {
    return new GpuError(data.code, data.message, data.log);
  }

  /** Wraps anything thrown into a GpuError, keeping one that already is. */
  static wrap(error: unknown, code: GpuErrorCode, context: string): GpuError {
    if (error instanceof GpuError) return error;
    return new GpuError(code, `${context}: ${errorMessage(error)}`);
  }
}
