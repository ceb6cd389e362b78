// The route a kernel's state takes between two devices. Every migration today stages the bytes
// through host memory (a shared-memory region between the two device hosts); CUDA peer copies
// (cuMemcpyPeerAsync) are not implemented yet, so NVLink and PCIe peers are reported as staged,
// which is how their bytes really travel.
import type { GpuTopology } from '../topology/gpuTopology';
import type { MigrationRoute } from './migrationTypes';

export function migrationRoute(topology: GpuTopology, from: string, to: string): MigrationRoute {
  return topology.link(from, to)?.interconnect.kind === 'samePhysicalGpu' ? 'samePhysicalGpu' : 'hostStaged';
}

export function routeLabel(route: MigrationRoute): string {
  switch (route) {
    case 'samePhysicalGpu':
      return 'same physical GPU, staged through host memory';
    case 'nvlinkPeer':
      return 'NVLink peer';
    case 'pciePeer':
      return 'PCIe peer';
    case 'hostStaged':
      return 'staged through the host';
  }
}
