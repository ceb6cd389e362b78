// The topology engine's public face: probe records in, a GpuTopology out, measurements cached.
export * from './probeRecords';
export { parseTopologyProbes, parseTopologyProbesText, type ProbeParseResult } from './probeParser';
export * from './interconnect';
export { findSamePhysicalGpus, isSoftwareAdapter, type SameGpuMatch, type SameGpuResult } from './samePhysicalGpu';
export * from './gpuTopology';
export { buildTopology } from './buildTopology';
export { machineKey } from './machineKey';
export * from './topologyCache';
export { probeTopology, devicesFromReports, deviceProbeOf, sysfsSource, type CudaTopologyAddon, type HardwareProbeSources } from './hardwareProbe';
export { readPciSysfs, parseLinkSpeed, parseLinkWidth, parseNumaNode, type PciSysfsInfo } from './sysfs';
export { measureTopology, measureBytes, type MeasureDevice, type MeasureHost, type MeasureOptions, type MeasureProgress, type MeasureResult } from './measureTopology';
export { MachineTopology, type MachineTopologyOptions, type MeasureOutcome } from './machineTopology';
export { topologyCachePath, CACHE_DIR_ENV } from './cacheLocation';
