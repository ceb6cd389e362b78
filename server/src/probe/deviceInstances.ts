// Several device instances of one WebGPU adapter (the setting ringkernel.webgpu.instancesPerAdapter,
// `ringkernel run --webgpu-instances N`). Instance k is a WebGPU device of its own, opened from a
// fresh adapter in its own device host, with its own memory: webgpu:k. Machines with one GPU (or
// none: lavapipe) get several devices whose data really moves between them, so migration and the
// router can be used and tested anywhere. The topology shows them as one physical GPU.
import type { BackendReport } from '../backends/backendReport';
import type { MachineProbe } from './machineProbe';
import { deviceKey, type DeviceProbe } from './probeRecords';

/** The most instances one adapter is opened as (each is a Vulkan device and a process). */
export const MAX_INSTANCES_PER_ADAPTER = 8;

/** The setting's value as a whole number from 1 to MAX_INSTANCES_PER_ADAPTER, or why not. */
export function instancesSetting(value: unknown): { instances: number; issue?: string } {
  if (value === undefined || value === null) return { instances: 1 };
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_INSTANCES_PER_ADAPTER)
    return { instances: value };
  return {
    instances: 1,
    issue: `ringkernel.webgpu.instancesPerAdapter must be a whole number from 1 to ${MAX_INSTANCES_PER_ADAPTER}, not ${JSON.stringify(value)}; 1 is used`,
  };
}

/**
 * The probe with WebGPU device 0 (the adapter the backend opens) repeated as instances 0..n-1.
 * Each instance's probe record names its first instance in `instanceOf`, which joins them into
 * one physical GPU in the topology.
 */
export function withWebGpuInstances(probe: MachineProbe, instances: number): MachineProbe {
  if (instances <= 1) return probe;
  const reports = probe.reports.map((report) => expandReport(report, instances));
  const devices: DeviceProbe[] = [];
  for (const device of probe.topology.devices) {
    if (device.backend !== 'webgpu' || device.index !== 0) {
      devices.push(device);
      continue;
    }
    for (let k = 0; k < instances; k++) {
      devices.push(
        k === 0
          ? device
          : {
              ...device,
              key: deviceKey('webgpu', k),
              index: k,
              name: instanceName(device.name, k),
              instanceOf: device.key,
            },
      );
    }
  }
  return { reports, topology: { ...probe.topology, devices } };
}

function expandReport(report: BackendReport, instances: number): BackendReport {
  if (report.backend !== 'webgpu' || !report.available) return report;
  const first = report.devices.find((d) => d.index === 0);
  if (!first) return report;
  const copies = Array.from({ length: instances }, (_, k) =>
    k === 0 ? first : { ...first, index: k, name: instanceName(first.name, k) },
  );
  return { ...report, devices: [...copies, ...report.devices.filter((d) => d.index !== 0)] };
}

function instanceName(name: string, k: number): string {
  return `${name} (instance ${k})`;
}
