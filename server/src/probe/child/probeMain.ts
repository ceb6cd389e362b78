// Entry of the probe child process (dist/probe.js). It looks for GPU backends and sends one
// message with the reports to its parent, then exits. Kept out of the language server because
// drivers print to stdout (the server's transport in --stdio mode) and can crash or hang.
import type { BackendReport } from '../../backends/backendReport';
import { loadCudaAddon } from '../../backends/cuda/cudaAddonLoader';
import { CudaBackend } from '../../backends/cuda/cudaBackend';
import { probeBackend } from './probeBackend';
import { WebGpuBackend } from '../../backends/webgpu/webgpuBackend';
import { errorMessage } from '../../logger';
import { devicesFromReports, probeTopology, sysfsSource } from './hardwareProbe';
import type { TopologyProbes } from '../probeRecords';
import type { ProbeResult } from '../probeMessage';

function topologyOf(reports: BackendReport[]): TopologyProbes {
  try {
    const cudaFound = reports.some((r) => r.backend === 'cuda' && r.available && r.devices.length > 0);
    const loaded = cudaFound ? loadCudaAddon() : undefined;
    return probeTopology(reports, { ...sysfsSource(), ...(loaded?.ok ? { cuda: loaded.addon } : {}) });
  } catch (error) {
    return {
      devices: devicesFromReports(reports),
      unavailable: [{ probe: 'pcie', reason: `the topology probe failed: ${errorMessage(error)}` }],
    };
  }
}

async function main(): Promise<void> {
  // CUDA first: it is synchronous and its driver initialisation should not race Dawn's Vulkan one.
  const cuda = await probeBackend('cuda', () => new CudaBackend());
  const webgpu = await probeBackend('webgpu', () => new WebGpuBackend());
  const reports = [webgpu, cuda];
  const result: ProbeResult = { kind: 'probe-result', reports, topology: topologyOf(reports) };
  if (process.send) {
    process.send(result, () => process.exit(0));
  } else {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exit(0);
  }
}

void main();
