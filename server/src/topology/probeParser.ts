// Probe records from JSON (fixtures, a probe process's output, `ringkernel topology --probes`),
// checked field by field. A malformed file is a clear error, never a half-read topology.
import type { BackendName } from '../backends/backendReport';
import { JsonObject, JsonShapeError } from './jsonReader';
import {
  PCIE_LEVELS,
  PROBE_NAMES,
  type CudaPeerProbe,
  type DeviceProbe,
  type MeasuredHostLinkProbe,
  type MeasuredLinkProbe,
  type NvLinkProbe,
  type NvmlDeviceProbe,
  type PcieAncestorProbe,
  type ProbeUnavailable,
  type TopologyProbes,
} from '../probe/probeRecords';
import { errorMessage } from '../logger';

const BACKENDS: readonly BackendName[] = ['cuda', 'webgpu'];

export type ProbeParseResult = { ok: true; probes: TopologyProbes } | { ok: false; error: string };

/** Reads probe records from parsed JSON; `source` names the file in the error. Never throws. */
export function parseTopologyProbes(value: unknown, source = 'probe records'): ProbeParseResult {
  try {
    return { ok: true, probes: readProbes(JsonObject.of(value, '')) };
  } catch (error) {
    if (error instanceof JsonShapeError) return { ok: false, error: `${source}: ${error.message}` };
    throw error;
  }
}

/** Reads probe records from JSON text. Never throws. */
export function parseTopologyProbesText(text: string, source = 'probe records'): ProbeParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `${source}: not JSON (${errorMessage(error)})` };
  }
  return parseTopologyProbes(value, source);
}

function readProbes(o: JsonObject): TopologyProbes {
  const probes: TopologyProbes = { devices: o.array('devices', readDevice) };
  const description = o.optionalString('description');
  if (description !== undefined) probes.description = description;
  const cudaPeers = o.optionalArray('cudaPeers', readCudaPeer);
  if (cudaPeers) probes.cudaPeers = cudaPeers;
  const nvml = o.optionalArray('nvml', readNvml);
  if (nvml) probes.nvml = nvml;
  const pcie = o.optionalArray('pcie', readPcie);
  if (pcie) probes.pcie = pcie;
  const measured = o.optionalArray('measured', readMeasuredLink);
  if (measured) probes.measured = measured;
  const hostLinks = o.optionalArray('hostLinks', readMeasuredHostLink);
  if (hostLinks) probes.hostLinks = hostLinks;
  const unavailable = o.optionalArray('unavailable', readUnavailable);
  if (unavailable) probes.unavailable = unavailable;
  return probes;
}

function readDevice(value: unknown, at: string): DeviceProbe {
  const o = JsonObject.of(value, at);
  const device: DeviceProbe = {
    key: o.string('key'),
    backend: o.literal('backend', BACKENDS),
    index: o.number('index', 'nonNegativeInteger'),
    name: o.string('name'),
  };
  const vendor = o.optionalString('vendor');
  if (vendor !== undefined) device.vendor = vendor;
  const pciBusId = o.optionalString('pciBusId');
  if (pciBusId !== undefined) device.pciBusId = pciBusId;
  const uuid = o.optionalString('uuid');
  if (uuid !== undefined) device.uuid = uuid;
  const pciVendorId = o.optionalNumber('pciVendorId', 'nonNegativeInteger');
  if (pciVendorId !== undefined) device.pciVendorId = pciVendorId;
  const pciDeviceId = o.optionalNumber('pciDeviceId', 'nonNegativeInteger');
  if (pciDeviceId !== undefined) device.pciDeviceId = pciDeviceId;
  const numaNode = o.optionalNumber('numaNode', 'integer');
  if (numaNode !== undefined) device.numaNode = numaNode;
  const total = o.optionalNumber('memoryTotalBytes', 'nonNegative');
  if (total !== undefined) device.memoryTotalBytes = total;
  const free = o.optionalNumber('memoryFreeBytes', 'nonNegative');
  if (free !== undefined) device.memoryFreeBytes = free;
  const cc = o.optionalObject('computeCapability');
  if (cc)
    device.computeCapability = {
      major: cc.number('major', 'nonNegativeInteger'),
      minor: cc.number('minor', 'nonNegativeInteger'),
    };
  const link = o.optionalObject('pcieLink');
  if (link)
    device.pcieLink = { generation: link.number('generation', 'positive'), width: link.number('width', 'positive') };
  const adapterType = o.optionalLiteral('adapterType', ['discrete', 'integrated', 'cpu', 'unknown'] as const);
  if (adapterType !== undefined) device.adapterType = adapterType;
  return device;
}

function readCudaPeer(value: unknown, at: string): CudaPeerProbe {
  const o = JsonObject.of(value, at);
  const peer: CudaPeerProbe = { from: o.string('from'), to: o.string('to'), canAccessPeer: o.boolean('canAccessPeer') };
  const attributes = o.optionalObject('attributes');
  if (attributes) {
    peer.attributes = {
      performanceRank: attributes.number('performanceRank', 'integer'),
      accessSupported: attributes.boolean('accessSupported'),
      nativeAtomicSupported: attributes.boolean('nativeAtomicSupported'),
    };
  }
  return peer;
}

function readNvLink(value: unknown, at: string): NvLinkProbe {
  const o = JsonObject.of(value, at);
  const link: NvLinkProbe = {
    link: o.number('link', 'nonNegativeInteger'),
    active: o.boolean('active'),
    remoteType: o.literal('remoteType', ['gpu', 'switch', 'cpu', 'unknown'] as const),
  };
  const version = o.optionalNumber('version', 'nonNegativeInteger');
  if (version !== undefined) link.version = version;
  const remote = o.optionalString('remotePciBusId');
  if (remote !== undefined) link.remotePciBusId = remote;
  return link;
}

function readNvml(value: unknown, at: string): NvmlDeviceProbe {
  const o = JsonObject.of(value, at);
  const record: NvmlDeviceProbe = {
    device: o.string('device'),
    nvlinkSupported: o.boolean('nvlinkSupported'),
    links: o.array('links', readNvLink),
  };
  const numaNode = o.optionalNumber('numaNode', 'integer');
  if (numaNode !== undefined) record.numaNode = numaNode;
  return record;
}

function readPcie(value: unknown, at: string): PcieAncestorProbe {
  const o = JsonObject.of(value, at);
  return { a: o.string('a'), b: o.string('b'), level: o.literal('level', PCIE_LEVELS) };
}

/** One measured link record; throws JsonShapeError naming the field. */
export function readMeasuredLink(value: unknown, at: string): MeasuredLinkProbe {
  const o = JsonObject.of(value, at);
  requireMeasuredTrue(o);
  const link: MeasuredLinkProbe = {
    from: o.string('from'),
    to: o.string('to'),
    bandwidthGBps: o.number('bandwidthGBps', 'positive'),
    latencyUs: o.number('latencyUs', 'nonNegative'),
    measured: true,
  };
  return withMeasurementDetails(o, link);
}

/** One measured host-link record; throws JsonShapeError naming the field. */
export function readMeasuredHostLink(value: unknown, at: string): MeasuredHostLinkProbe {
  const o = JsonObject.of(value, at);
  requireMeasuredTrue(o);
  const link: MeasuredHostLinkProbe = {
    device: o.string('device'),
    direction: o.literal('direction', ['hostToDevice', 'deviceToHost'] as const),
    bandwidthGBps: o.number('bandwidthGBps', 'positive'),
    latencyUs: o.number('latencyUs', 'nonNegative'),
    measured: true,
  };
  return withMeasurementDetails(o, link);
}

/** The optional `measuredAt` and `bytes` every measured record may carry. */
function withMeasurementDetails<T extends { measuredAt?: string; bytes?: number }>(o: JsonObject, link: T): T {
  const measuredAt = o.optionalString('measuredAt');
  if (measuredAt !== undefined) link.measuredAt = measuredAt;
  const bytes = o.optionalNumber('bytes', 'positive');
  if (bytes !== undefined) link.bytes = bytes;
  return link;
}

function requireMeasuredTrue(o: JsonObject): void {
  if (o.raw('measured') !== true)
    throw new JsonShapeError(o.at === '' ? 'measured' : `${o.at}.measured`, 'true', o.raw('measured'));
}

function readUnavailable(value: unknown, at: string): ProbeUnavailable {
  const o = JsonObject.of(value, at);
  return { probe: o.literal('probe', PROBE_NAMES), reason: o.string('reason') };
}
