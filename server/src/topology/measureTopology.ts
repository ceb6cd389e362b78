// Measures the machine: host↔device bandwidth and latency per device, and device↔device for every
// pair (a peer copy inside the CUDA host, where the driver takes NVLink or PCIe P2P when peer access
// is on; otherwise staged through the host: read from one device, write to the other). Transfers
// run in device hosts, timed there; latency is the median of small (4-byte) transfers. Software
// adapters get small buffers so a CI run stays quick.
import type { BufferHandle, Timing } from '../backends/backend';
import type { BackendName } from '../backends/backendReport';
import { errorMessage } from '../logger';
import { round } from './interconnect';
import type { DeviceKey, MeasuredHostLinkProbe, MeasuredLinkProbe } from '../probe/probeRecords';

/** What measuring needs of a device host (DeviceHost has it all). */
export interface MeasureHost {
  allocate(device: number, bytes: number, label: string): Promise<BufferHandle>;
  free(buffer: BufferHandle): Promise<unknown>;
  write(buffer: BufferHandle, offset: number, data: Uint8Array): Promise<Timing>;
  read(buffer: BufferHandle, offset: number, bytes: number): Promise<{ data: Uint8Array; timing: Timing }>;
  copy(source: BufferHandle, destination: BufferHandle, bytes: number): Promise<Timing>;
}

export interface MeasureDevice {
  key: DeviceKey;
  backend: BackendName;
  index: number;
  /** A software rasteriser: measured with small buffers. */
  software: boolean;
  /** The largest buffer the device allows. */
  maxBufferBytes?: number;
  memoryFreeBytes?: number;
}

export interface MeasureProgress {
  done: number;
  total: number;
  /** What is being measured now, e.g. "cuda:0 → cuda:1". */
  what: string;
}

export interface MeasureOptions {
  /** The device host of a backend (one process holds every device of that backend). */
  hostFor(backend: BackendName): MeasureHost;
  onProgress?(progress: MeasureProgress): void;
  /** Checked between steps; true stops with what was measured so far. */
  cancelled?(): boolean;
  /** Bandwidth transfer size on hardware GPUs; default 256 MiB. */
  hardwareBytes?: number;
  /** On software adapters; default 16 MiB. */
  softwareBytes?: number;
  /** Small transfers per latency figure; default 15. */
  latencySamples?: number;
  /** Large transfers per bandwidth figure (the best counts: the first pays for warm-up); default 3. */
  bandwidthRepeats?: number;
  now?: () => Date;
}

export interface MeasureResult {
  links: MeasuredLinkProbe[];
  hostLinks: MeasuredHostLinkProbe[];
  /** What could not be measured, and why. */
  failures: string[];
  cancelled: boolean;
}

const MiB = 1024 * 1024;

/** The transfer size for a device: what its kind calls for, within its limits, a multiple of 4. */
export function measureBytes(
  device: MeasureDevice,
  options: Pick<MeasureOptions, 'hardwareBytes' | 'softwareBytes'> = {},
): number {
  let bytes = device.software ? (options.softwareBytes ?? 16 * MiB) : (options.hardwareBytes ?? 256 * MiB);
  if (device.maxBufferBytes !== undefined) bytes = Math.min(bytes, device.maxBufferBytes);
  if (device.memoryFreeBytes !== undefined) bytes = Math.min(bytes, Math.floor(device.memoryFreeBytes / 4));
  return Math.max(4, bytes - (bytes % 4));
}

function seconds(timing: Timing): number {
  return (timing.deviceMs ?? timing.hostMs) / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

interface Prepared {
  device: MeasureDevice;
  host: MeasureHost;
  bytes: number;
  big: BufferHandle;
  small: BufferHandle;
}

export async function measureTopology(
  devices: readonly MeasureDevice[],
  options: MeasureOptions,
): Promise<MeasureResult> {
  const repeats = Math.max(1, options.bandwidthRepeats ?? 3);
  const samples = Math.max(1, options.latencySamples ?? 15);
  const now = options.now ?? ((): Date => new Date());
  const result: MeasureResult = { links: [], hostLinks: [], failures: [], cancelled: false };
  const pairs = devices.flatMap((a) => devices.filter((b) => b.key !== a.key).map((b) => [a, b] as const));
  const total = devices.length + pairs.length;
  let done = 0;
  const step = (what: string): boolean => {
    if (options.cancelled?.()) {
      result.cancelled = true;
      return false;
    }
    options.onProgress?.({ done, total, what });
    return true;
  };

  const prepared = new Map<DeviceKey, Prepared>();
  const payloads = new Map<number, Uint8Array>();
  const payload = (bytes: number): Uint8Array => {
    let data = payloads.get(bytes);
    if (!data) {
      data = new Uint8Array(bytes).fill(0xa5);
      payloads.set(bytes, data);
    }
    return data;
  };
  try {
    for (const device of devices) {
      if (!step(`host ↔ ${device.key}`)) return result;
      try {
        const host = options.hostFor(device.backend);
        const bytes = measureBytes(device, options);
        const big = await host.allocate(device.index, bytes, `measure.${device.key}`);
        const small = await host.allocate(device.index, 4, `measure.${device.key}.small`);
        prepared.set(device.key, { device, host, bytes, big, small });
        let toDevice = 0;
        let toHost = 0;
        for (let i = 0; i < repeats; i++) {
          toDevice = Math.max(toDevice, bytes / seconds(await host.write(big, 0, payload(bytes))));
          toHost = Math.max(toHost, bytes / seconds((await host.read(big, 0, bytes)).timing));
        }
        const writeUs: number[] = [];
        const readUs: number[] = [];
        for (let i = 0; i < samples; i++) {
          writeUs.push(seconds(await host.write(small, 0, payload(4))) * 1e6);
          readUs.push(seconds((await host.read(small, 0, 4)).timing) * 1e6);
        }
        const at = now().toISOString();
        result.hostLinks.push(
          {
            device: device.key,
            direction: 'hostToDevice',
            bandwidthGBps: round(toDevice / 1e9, 3),
            latencyUs: round(median(writeUs), 3),
            measured: true,
            measuredAt: at,
            bytes,
          },
          {
            device: device.key,
            direction: 'deviceToHost',
            bandwidthGBps: round(toHost / 1e9, 3),
            latencyUs: round(median(readUs), 3),
            measured: true,
            measuredAt: at,
            bytes,
          },
        );
      } catch (error) {
        result.failures.push(`host ↔ ${device.key}: ${errorMessage(error)}`);
      }
      done++;
    }

    for (const [a, b] of pairs) {
      if (!step(`${a.key} → ${b.key}`)) return result;
      const from = prepared.get(a.key);
      const to = prepared.get(b.key);
      if (!from || !to) {
        result.failures.push(
          `${a.key} → ${b.key}: not measured, because ${!from ? a.key : b.key} could not be measured`,
        );
        done++;
        continue;
      }
      try {
        const bytes = Math.min(from.bytes, to.bytes);
        const peer = a.backend === b.backend && a.backend === 'cuda';
        const transfer = async (size: number, source: BufferHandle, target: BufferHandle): Promise<number> => {
          if (peer) return seconds(await from.host.copy(source, target, size));
          // Staged through the host: what a migration between these devices costs.
          const read = await from.host.read(source, 0, size);
          const write = await to.host.write(target, 0, read.data);
          return seconds(read.timing) + seconds(write);
        };
        let bandwidth = 0;
        for (let i = 0; i < repeats; i++)
          bandwidth = Math.max(bandwidth, bytes / (await transfer(bytes, from.big, to.big)));
        const latencies: number[] = [];
        for (let i = 0; i < samples; i++) latencies.push((await transfer(4, from.small, to.small)) * 1e6);
        result.links.push({
          from: a.key,
          to: b.key,
          bandwidthGBps: round(bandwidth / 1e9, 3),
          latencyUs: round(median(latencies), 3),
          measured: true,
          measuredAt: now().toISOString(),
          bytes,
        });
      } catch (error) {
        result.failures.push(`${a.key} → ${b.key}: ${errorMessage(error)}`);
      }
      done++;
    }
    options.onProgress?.({ done, total, what: 'done' });
    return result;
  } finally {
    for (const p of prepared.values()) {
      await p.host.free(p.big).catch(() => undefined);
      await p.host.free(p.small).catch(() => undefined);
    }
  }
}
