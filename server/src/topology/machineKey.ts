// A key for "this machine with these devices in this order", so measurements cached on one machine
// are never applied to another, nor to the same machine after a GPU was swapped or renumbered.
import { createHash } from 'node:crypto';
import { normalizePciBusId, normalizeUuid, type DeviceProbe } from '../probe/probeRecords';

/** 16 hex digits of SHA-256 over each device's key and its strongest identity (UUID, PCI bus id, name). */
export function machineKey(devices: readonly Pick<DeviceProbe, 'key' | 'name' | 'uuid' | 'pciBusId'>[]): string {
  const identities = devices
    .map((d) => {
      const identity =
        (d.uuid !== undefined ? normalizeUuid(d.uuid) : undefined) ??
        (d.pciBusId !== undefined ? normalizePciBusId(d.pciBusId) : undefined) ??
        `name:${d.name}`;
      return `${d.key}=${identity}`;
    })
    .sort();
  return createHash('sha256').update(identities.join('\n')).digest('hex').slice(0, 16);
}
