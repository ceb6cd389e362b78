// How long moving a kernel's state between two devices should take, over the topology's widest
// route: the basis of drain plans' tie-breaks and of the transfer shown with each plan.
import type { DeviceKey } from '../probe/probeRecords';
import type { GpuTopology } from '../topology/gpuTopology';
import { interconnectLabel } from '../topology/interconnect';
import type { TransferEstimate } from './coordinatorTypes';

/** undefined when the topology does not know a device; host-staged routes only when `allowPeer` is off. */
export function transferEstimate(
  topology: GpuTopology,
  from: DeviceKey,
  to: DeviceKey,
  bytes: number,
  allowPeer: boolean,
): TransferEstimate | undefined {
  const path = topology.bestPath(from, to, { allowPeer });
  if (!path) return undefined;
  const size = Math.max(0, bytes);
  const seconds = path.links.reduce((sum, link) => sum + size / (link.bandwidthGBps * 1e9) + link.latencyUs * 1e-6, 0);
  return {
    route: path.devices,
    hops: path.hops,
    interconnects: path.links.map((link) => interconnectLabel(link.interconnect)),
    bottleneckGBps: path.bottleneckGBps,
    latencyUs: path.latencyUs,
    basis: path.basis,
    bytes: size,
    seconds,
  };
}
