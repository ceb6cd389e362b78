// The coordinator's records: the registered devices (in registration order, with the epoch of
// their latest memory report) and which kernel is assigned where, kept in two maps that only
// `assign` and `unassign` change, so per-device counts are derived and cannot drift. The device
// views every strategy reads are computed from these records.
import type { DeviceInfo } from '../backends/backend';
import { deviceKey, type DeviceKey } from '../probe/probeRecords';
import { round } from '../topology/interconnect';
import type { GpuTopology } from '../topology/gpuTopology';
import type { CoordinatorConfig, DeviceView, KernelAssignment } from './coordinatorTypes';
import { ineligibleReason } from './placementStrategies';

export interface RegisteredDevice {
  info: DeviceInfo;
  /** Registration order; kept when a device is re-registered. */
  sequence: number;
  /** Bumped by each memory report: kernels placed under an older epoch are in the report. */
  memoryEpoch: number;
}

export interface KernelRecord extends KernelAssignment {
  memoryEpoch: number;
}

export class DeviceRegistry {
  private readonly registered = new Map<DeviceKey, RegisteredDevice>();
  private readonly assignments = new Map<string, KernelRecord>();
  /** The same records by device. */
  private readonly byDevice = new Map<DeviceKey, Map<string, KernelRecord>>();
  private nextSequence = 0;

  /** Adds a device, or updates one with the same backend and index (its kernels stay). Returns its key. */
  register(info: DeviceInfo): DeviceKey {
    const key = deviceKey(info.backend, info.index);
    const existing = this.registered.get(key);
    this.registered.set(key, {
      info: { ...info },
      sequence: existing?.sequence ?? this.nextSequence++,
      memoryEpoch: (existing?.memoryEpoch ?? 0) + 1,
    });
    return key;
  }

  /** Records a new free-memory report for a device. false when the device is not registered. */
  updateMemory(key: DeviceKey, freeBytes: number, totalBytes?: number): boolean {
    const device = this.registered.get(key);
    if (!device || !(freeBytes >= 0)) return false;
    device.info = {
      ...device.info,
      memoryFreeBytes: freeBytes,
      ...(totalBytes !== undefined && totalBytes >= 0 ? { memoryTotalBytes: totalBytes } : {}),
    };
    device.memoryEpoch++;
    return true;
  }

  has(key: DeviceKey): boolean {
    return this.registered.has(key);
  }

  /** Removes a device; its kernels stay assigned to it until moved or unassigned. */
  remove(key: DeviceKey): void {
    this.registered.delete(key);
  }

  /** Every registered device with its key, in no particular order. */
  entries(): [DeviceKey, RegisteredDevice][] {
    return [...this.registered.entries()];
  }

  sequence(key: DeviceKey): number {
    return this.registered.get(key)?.sequence ?? 0;
  }

  memoryEpoch(key: DeviceKey): number {
    return this.registered.get(key)?.memoryEpoch ?? 0;
  }

  assignment(kernelId: string): KernelRecord | undefined {
    return this.assignments.get(kernelId);
  }

  allAssignments(): KernelRecord[] {
    return [...this.assignments.values()];
  }

  get kernelCount(): number {
    return this.assignments.size;
  }

  kernelsOn(key: DeviceKey): KernelRecord[] {
    return [...(this.byDevice.get(key)?.values() ?? [])];
  }

  /** Assigns a kernel, replacing any earlier assignment of the same kernel. */
  assign(record: KernelRecord): void {
    this.unassign(record.kernelId);
    this.assignments.set(record.kernelId, record);
    const onDevice = this.byDevice.get(record.device) ?? new Map<string, KernelRecord>();
    onDevice.set(record.kernelId, record);
    this.byDevice.set(record.device, onDevice);
  }

  /** Forgets a kernel's assignment. false when it had none. */
  unassign(kernelId: string): boolean {
    const record = this.assignments.get(kernelId);
    if (!record) return false;
    this.assignments.delete(kernelId);
    const onDevice = this.byDevice.get(record.device);
    onDevice?.delete(kernelId);
    if (onDevice?.size === 0) this.byDevice.delete(record.device);
    return true;
  }

  /**
   * What the strategies see of each device, in registration order: its load, its memory minus
   * what kernels placed since the last memory report will take, and whether it can take more.
   */
  views(config: Readonly<CoordinatorConfig>, topology: GpuTopology): DeviceView[] {
    const preferred = new Set(config.preferredDevices);
    const max = config.maxKernelsPerDevice;
    return this.entries()
      .sort(([, a], [, b]) => a.sequence - b.sequence)
      .map(([key, device]) => {
        const kernels = this.kernelsOn(key);
        const info = device.info;
        const pending = kernels
          .filter((k) => k.memoryEpoch === device.memoryEpoch)
          .reduce((sum, k) => sum + k.memoryBytes, 0);
        const topo = topology.device(key);
        const view: { -readonly [K in keyof DeviceView]: DeviceView[K] } = {
          key,
          backend: info.backend,
          index: info.index,
          name: info.name,
          memoryPendingBytes: pending,
          kernelCount: kernels.length,
          kernels: Object.freeze(kernels.map((k) => k.kernelId)),
          load: round(kernels.length / max, 4),
          available: true,
          preferred: preferred.has(key),
        };
        if (info.computeCapability) view.computeCapability = Object.freeze({ ...info.computeCapability });
        if (info.memoryTotalBytes !== undefined) view.memoryTotalBytes = info.memoryTotalBytes;
        if (info.memoryFreeBytes !== undefined) {
          view.memoryFreeBytes = info.memoryFreeBytes;
          view.memoryAvailableBytes = Math.max(0, info.memoryFreeBytes - pending);
        }
        if (topo?.numaNode !== undefined) view.numaNode = topo.numaNode;
        if (topo) view.physicalGpu = topo.physicalGpu;
        const reason = ineligibleReason(view, {}, max);
        if (reason !== undefined) {
          view.available = false;
          view.unavailableReason = reason;
        }
        return Object.freeze(view);
      });
  }
}

/** A record as callers see it (the memory epoch is bookkeeping). */
export function publicAssignment(record: KernelRecord): KernelAssignment {
  const { memoryEpoch: _epoch, ...assignment } = record;
  return assignment;
}
