// Several device instances of each CUDA GPU (the setting ringkernel.cuda.instancesPerDevice,
// `ringkernel run --cuda-instances N`). Each instance is a CUDA device of its own in the engine's
// eyes: its own device host (a process with its own CUDA context), its own kernels and memory.
// Machines with one GPU then get several CUDA devices between which a kernel's state really moves
// device to device (CUDA IPC), so CUDA migration can be used and tested there. The topology shows
// the instances of a GPU as one physical GPU, as it does for WebGPU's (deviceInstances.ts).
//
// Keys: the GPUs keep their ordinals as keys (cuda:0 .. cuda:G-1), so every probe record about
// them (peers, NVML, PCIe, measurements) stays true; the further instances follow, GPU by GPU:
// with G GPUs and N instances, instance k (1 <= k < N) of GPU g is cuda:(G + g*(N-1) + k-1). On one
// GPU that is cuda:0, cuda:1, ..., like webgpu:0, webgpu:1, ...
import type { BackendReport } from '../backends/backendReport';
import type { MachineProbe } from './machineProbe';
import { deviceKey, type DeviceProbe, type TopologyProbes } from './probeRecords';
import { cudaInstanceIndex } from '../backends/cudaInstanceIndex';

export { cudaInstanceIndex, cudaOrdinalOf } from '../backends/cudaInstanceIndex';

/** The most instances one CUDA GPU is opened as (each is a process with a CUDA context: ~500 MiB of device memory). */
export const MAX_CUDA_INSTANCES_PER_DEVICE = 8;

/** The setting's value as a whole number from 1 to MAX_CUDA_INSTANCES_PER_DEVICE, or why not. */
export function cudaInstancesSetting(value: unknown): { instances: number; issue?: string } {
  if (value === undefined || value === null) return { instances: 1 };
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_CUDA_INSTANCES_PER_DEVICE)
    return { instances: value };
  return {
    instances: 1,
    issue: `ringkernel.cuda.instancesPerDevice must be a whole number from 1 to ${MAX_CUDA_INSTANCES_PER_DEVICE}, not ${JSON.stringify(value)}; 1 is used`,
  };
}

/**
 * The probe with each CUDA device repeated as `perDevice` instances. Each further instance's
 * probe record names its GPU's key in `instanceOf` (one physical GPU in the topology) and gets
 * the GPU's peer, PCIe and host-link records under its own key, so its links to the other GPUs are
 * those of its GPU.
 */
export function withCudaInstances(probe: MachineProbe, perDevice: number): MachineProbe {
  if (perDevice <= 1) return probe;
  const gpus = probe.topology.devices.filter((d) => d.backend === 'cuda');
  if (gpus.length === 0) return probe;
  const count = gpus.length;
  /** GPU key -> the keys of its further instances. */
  const extra = new Map<string, string[]>();
  const added: DeviceProbe[] = [];
  for (const gpu of gpus) {
    const keys: string[] = [];
    for (let k = 1; k < perDevice; k++) {
      const index = cudaInstanceIndex(gpu.index, k, count, perDevice);
      const key = deviceKey('cuda', index);
      keys.push(key);
      added.push({ ...gpu, key, index, name: instanceName(gpu.name, k), instanceOf: gpu.key });
    }
    extra.set(gpu.key, keys);
  }
  const topology = copyRecords({ ...probe.topology, devices: [...probe.topology.devices, ...added] }, extra);
  const reports = probe.reports.map((report) => expandReport(report, count, perDevice));
  return { reports, topology };
}

/**
 * Every peer, PCIe and host-link record about a GPU, again for each of its further instances (pairs:
 * for every pair of keys). NVML's records stay with the GPU: buildTopology reads an instance's
 * NVLinks through `instanceOf`.
 */
function copyRecords(topology: TopologyProbes, extra: ReadonlyMap<string, string[]>): TopologyProbes {
  const keysOf = (key: string): string[] => [key, ...(extra.get(key) ?? [])];
  const result: TopologyProbes = { ...topology };
  if (topology.cudaPeers)
    result.cudaPeers = topology.cudaPeers.flatMap((p) =>
      keysOf(p.from).flatMap((from) => keysOf(p.to).map((to) => ({ ...p, from, to }))),
    );
  if (topology.pcie)
    result.pcie = topology.pcie.flatMap((p) => keysOf(p.a).flatMap((a) => keysOf(p.b).map((b) => ({ ...p, a, b }))));
  if (topology.hostLinks)
    result.hostLinks = topology.hostLinks.flatMap((h) => keysOf(h.device).map((device) => ({ ...h, device })));
  return result;
}

function expandReport(report: BackendReport, gpus: number, perDevice: number): BackendReport {
  if (report.backend !== 'cuda' || !report.available) return report;
  const copies = report.devices.flatMap((device) =>
    Array.from({ length: perDevice - 1 }, (_, j) => ({
      ...device,
      index: cudaInstanceIndex(device.index, j + 1, gpus, perDevice),
      name: instanceName(device.name, j + 1),
    })),
  );
  return { ...report, devices: [...report.devices, ...copies] };
}

function instanceName(name: string, k: number): string {
  return `${name} (instance ${k})`;
}
