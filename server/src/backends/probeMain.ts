// Entry of the probe child process (dist/probe.js). It looks for GPU backends and sends one
// message with the reports to its parent, then exits. Kept out of the language server because
// drivers print to stdout (the server's transport in --stdio mode) and can crash or hang.
import type { BackendReport } from './backendReport';
import { probeCuda } from './cuda/cudaProbe';
import { probeWebGpu } from './webgpu/webgpuProbe';

export interface ProbeResult {
  kind: 'probe-result';
  reports: BackendReport[];
}

async function main(): Promise<void> {
  // CUDA first: it is synchronous and its driver initialisation should not race Dawn's Vulkan one.
  const cuda = await probeCuda();
  const webgpu = await probeWebGpu();
  const result: ProbeResult = { kind: 'probe-result', reports: [webgpu, cuda] };
  if (process.send) {
    process.send(result, () => process.exit(0));
  } else {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exit(0);
  }
}

void main();
