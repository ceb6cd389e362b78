// The route a kernel's state takes between two devices. Between two CUDA devices that are one GPU
// (CUDA device instances) or peers (NVLink, PCIe P2P, with ringkernel.enableP2P on) the state is
// copied device to device (deviceStateTransfer.ts: CUDA IPC between two device hosts, a DtoD or
// peer copy within one); everything else stages the bytes through host memory (a shared-memory
// region between the two device hosts).
import type { GpuTopology } from '../topology/gpuTopology';
import type { MigrationRoute } from './migrationTypes';

export interface RouteOptions {
  /** ringkernel.enableP2P (default on): off, CUDA peers stage through the host like any other pair. */
  enableP2P?: boolean;
}

function isCuda(key: string): boolean {
  return key.startsWith('cuda:');
}

export function migrationRoute(
  topology: GpuTopology,
  from: string,
  to: string,
  options: RouteOptions = {},
): MigrationRoute {
  const kind = topology.link(from, to)?.interconnect.kind;
  if (kind === 'samePhysicalGpu') return 'samePhysicalGpu';
  if (isCuda(from) && isCuda(to) && (options.enableP2P ?? true)) {
    if (kind === 'nvlink' || kind === 'nvswitch') return 'nvlinkPeer';
    if (kind === 'pcie') return 'pciePeer';
  }
  return 'hostStaged';
}

/**
 * Whether the state moves device to device on this route: between two CUDA devices of one GPU or
 * over a peer link. WebGPU devices have no such copy (instances of one adapter stage through the host).
 */
export function copiesDeviceToDevice(route: MigrationRoute, from: string, to: string): boolean {
  return isCuda(from) && isCuda(to) && route !== 'hostStaged';
}

/** What the route is, in words; with the two devices, whether the copy is device to device. */
export function routeLabel(route: MigrationRoute, from?: string, to?: string): string {
  const onDevice = from !== undefined && to !== undefined && copiesDeviceToDevice(route, from, to);
  switch (route) {
    case 'samePhysicalGpu':
      return onDevice ? 'same physical GPU, device to device' : 'same physical GPU, staged through host memory';
    case 'nvlinkPeer':
      return 'NVLink peer';
    case 'pciePeer':
      return 'PCIe peer';
    case 'hostStaged':
      return 'staged through the host';
  }
}
