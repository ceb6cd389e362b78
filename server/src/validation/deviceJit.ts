// The CUDA driver's JIT as a PTX validator, for machines with a GPU but no ptxas. The module is
// compiled in the CUDA device host (never in the language server: a driver fault must not take
// the server down) and unloaded at once; only the logs come back.
import { DeviceHost } from '../hosts/deviceHost';
import type { Logger } from '../logger';
import type { JitCompile } from './ptxValidator';

export class DeviceJit {
  private host: DeviceHost | undefined;

  constructor(private readonly log: Logger) {}

  /** Compiles on CUDA device 0; the host's watchdog ends a JIT that hangs. */
  readonly compile: JitCompile = (ptx) => {
    this.host ??= new DeviceHost({ backend: 'cuda', log: this.log, requestTimeoutMs: 15_000 });
    return this.host.compileLogs(0, ptx);
  };

  dispose(): void {
    this.host?.dispose();
    this.host = undefined;
  }
}
