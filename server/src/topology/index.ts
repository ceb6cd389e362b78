// The topology engine's public face: probe records in, a GpuTopology out, measurements cached.
export * from './probeRecords';
export { parseTopologyProbes, parseTopologyProbesText, type ProbeParseResult } from './probeParser';
export * from './interconnect';
export { findSamePhysicalGpus, isSoftwareAdapter, type SameGpuMatch, type SameGpuResult } from './samePhysicalGpu';
export * from './gpuTopology';
export { buildTopology } from './buildTopology';
export { machineKey } from './machineKey';
export * from './topologyCache';
