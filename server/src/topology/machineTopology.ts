// This machine's topology over time: built from the probe child's facts plus the cached
// measurements, and re-measured on request (the result cached per machine). Shared by the language
// server and the command line. A corrupt cache is a warning and estimates, never a failure.
import type { BackendName, BackendReport } from '../backends/backendReport';
import type { MachineProbe } from '../probe/machineProbe';
import { DeviceHost } from '../hosts/deviceHost';
import type { Logger } from '../logger';
import { buildTopology } from './buildTopology';
import { GpuTopology } from './gpuTopology';
import { machineKey } from './machineKey';
import {
  measureTopology,
  type MeasureDevice,
  type MeasureHost,
  type MeasureOptions,
  type MeasureResult,
} from './measureTopology';
import { deviceKey, type TopologyProbes } from '../probe/probeRecords';
import { TopologyCache, withCachedMeasurements, type TopologyCacheSave } from './topologyCache';

export type DisposableMeasureHost = MeasureHost & { dispose(): void };

export interface MachineTopologyOptions {
  /** The cache file (see topologyCachePath). */
  cachePath: string;
  log?: Logger;
  /** Starts a device host for measuring; default a DeviceHost child process. */
  hostFactory?: (backend: BackendName) => DisposableMeasureHost;
}

export interface MeasureOutcome {
  topology: GpuTopology;
  result: MeasureResult;
  save: TopologyCacheSave;
}

export type MeasureRunOptions = Pick<
  MeasureOptions,
  'onProgress' | 'cancelled' | 'hardwareBytes' | 'softwareBytes' | 'latencySamples' | 'bandwidthRepeats'
>;

export class MachineTopology {
  private probes: TopologyProbes = { devices: [] };
  private reports: BackendReport[] = [];
  private current = GpuTopology.empty('no topology discovered yet: the device probe is running');
  private measuring: Promise<MeasureOutcome> | undefined;

  constructor(private readonly options: MachineTopologyOptions) {}

  get topology(): GpuTopology {
    return this.current;
  }

  get cachePath(): string {
    return this.options.cachePath;
  }

  get isMeasuring(): boolean {
    return this.measuring !== undefined;
  }

  /** Takes a fresh probe and builds the topology with this machine's cached measurements. */
  async update(probe: MachineProbe): Promise<GpuTopology> {
    this.reports = probe.reports;
    this.probes = probe.topology;
    const cache = await this.loadCache();
    this.current = buildTopology(withCachedMeasurements(this.probes, cache));
    return this.current;
  }

  /** Measures every device and pair, caches the figures for this machine and rebuilds. One run at a time. */
  measure(options: MeasureRunOptions = {}): Promise<MeasureOutcome> {
    if (this.measuring) return this.measuring;
    const run = this.runMeasure(options).finally(() => {
      this.measuring = undefined;
    });
    this.measuring = run;
    return run;
  }

  private async runMeasure(options: MeasureRunOptions): Promise<MeasureOutcome> {
    const devices = this.measureDevices();
    const hosts = new Map<BackendName, DisposableMeasureHost>();
    const factory =
      this.options.hostFactory ??
      ((backend: BackendName): DisposableMeasureHost => {
        const host = new DeviceHost({ backend, ...(this.options.log ? { log: this.options.log } : {}) });
        return host;
      });
    let result: MeasureResult;
    try {
      result = await measureTopology(devices, {
        ...options,
        hostFor: (backend) => {
          let host = hosts.get(backend);
          if (!host) {
            host = factory(backend);
            hosts.set(backend, host);
          }
          return host;
        },
      });
    } finally {
      for (const host of hosts.values()) host.dispose();
    }
    for (const failure of result.failures) this.options.log?.warn(`measuring the topology: ${failure}`);
    const cache = await this.loadCache();
    const key = machineKey(this.probes.devices);
    const previous = cache.get(key);
    // A partial run keeps the figures it did not replace.
    const links = [
      ...(previous?.links ?? []).filter((l) => !result.links.some((m) => m.from === l.from && m.to === l.to)),
      ...result.links,
    ];
    const hostLinks = [
      ...(previous?.hostLinks ?? []).filter(
        (h) => !result.hostLinks.some((m) => m.device === h.device && m.direction === h.direction),
      ),
      ...result.hostLinks,
    ];
    cache.set(key, { links, hostLinks, devices: this.probes.devices.map((d) => d.key) });
    const save = await cache.save(this.options.cachePath);
    if (!save.ok) this.options.log?.warn(save.error.message);
    this.current = buildTopology(withCachedMeasurements(this.probes, cache));
    return { topology: this.current, result, save };
  }

  private measureDevices(): MeasureDevice[] {
    const devices: MeasureDevice[] = [];
    for (const report of this.reports) {
      if (!report.available) continue;
      for (const info of report.devices) {
        const key = deviceKey(info.backend, info.index);
        const device: MeasureDevice = {
          key,
          backend: info.backend,
          index: info.index,
          software: this.current.device(key)?.software ?? false,
        };
        device.maxBufferBytes = Math.min(info.limits.maxBufferBytes, info.limits.maxBindingBytes);
        if (info.memoryFreeBytes !== undefined) device.memoryFreeBytes = info.memoryFreeBytes;
        devices.push(device);
      }
    }
    // CUDA first: the order the topology lists them in.
    return devices.sort((a, b) => (a.backend === b.backend ? a.index - b.index : a.backend === 'cuda' ? -1 : 1));
  }

  private async loadCache(): Promise<TopologyCache> {
    const loaded = await TopologyCache.load(this.options.cachePath);
    if (loaded.error) this.options.log?.warn(loaded.error.message);
    return loaded.cache;
  }
}
