// The GPU backends as they travel to the client (ringkernel/serverInfo). Wire types: they import
// nothing of the engine, so an engine refactor cannot change the protocol unnoticed
// (lsp/wireMapping.ts maps the engine's types to these; test/unit/protocolWire.test.ts checks it).

export type BackendName = 'webgpu' | 'cuda';

export interface DeviceLimits {
  maxBufferBytes: number;
  maxBindingBytes: number;
  maxWorkgroupsPerDimension: number;
  maxThreadsPerWorkgroup: number;
}

export interface DeviceInfo {
  backend: BackendName;
  index: number;
  name: string;
  vendor: string;
  /** e.g. "software Vulkan (llvmpipe)", "compute 9.0". */
  detail: string;
  memoryTotalBytes?: number;
  memoryFreeBytes?: number;
  computeCapability?: { major: number; minor: number };
  /** CUDA: the device memory's peak bandwidth, from its clock and bus width. */
  memoryBandwidthGBps?: number;
  pciBusId?: string;
  uuid?: string;
  /** WebGPU: the optional features the device offers (e.g. `shader-f16`), which WGSL's `enable` needs. */
  features?: string[];
  /** Whether this device can copy to another of its backend without the host. */
  peerCapable: boolean;
  limits: DeviceLimits;
}

export interface BackendReport {
  backend: BackendName;
  available: boolean;
  /** Why the backend is unavailable, and what to do about it; absent when available. */
  reason?: string;
  devices: DeviceInfo[];
  /** How long the probe of this backend took, in milliseconds. */
  probeMs: number;
}
