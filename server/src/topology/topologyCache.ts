// Measured bandwidths and latencies, cached per machine so `Measure Topology` runs once. The file
// holds one entry per machine key (see machineKey): a cache copied to another machine, or kept
// after a GPU was swapped, simply has no entry for the new key. Loading never throws: a missing
// file is an empty cache, a corrupt one is an empty cache plus an error that says what is wrong,
// and the topology falls back to estimates. Saving is atomic: temporary file, fsync, rename.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { JsonObject, JsonShapeError, readString } from './jsonReader';
import { machineKey } from './machineKey';
import type { MeasuredHostLinkProbe, MeasuredLinkProbe, TopologyProbes } from '../probe/probeRecords';
import { readMeasuredHostLink, readMeasuredLink } from './probeParser';

export const TOPOLOGY_CACHE_FORMAT = 'ringkernel-topology-cache';
export const TOPOLOGY_CACHE_VERSION = 1;

export interface CachedMeasurements {
  /** ISO time the measurements were saved. */
  savedAt: string;
  /** The device keys measured, for people reading the file. */
  devices: string[];
  links: MeasuredLinkProbe[];
  hostLinks: MeasuredHostLinkProbe[];
}

export type TopologyCacheErrorCode =
  'UNREADABLE' | 'NOT_JSON' | 'NOT_A_CACHE' | 'UNSUPPORTED_VERSION' | 'CORRUPT' | 'WRITE_FAILED';

export interface TopologyCacheError {
  code: TopologyCacheErrorCode;
  path: string;
  /** What is wrong and what happens now, for the log and the user. */
  message: string;
}

export interface TopologyCacheLoad {
  cache: TopologyCache;
  /** true when there was no file (not an error: nothing measured yet). */
  missing: boolean;
  error?: TopologyCacheError;
}

export type TopologyCacheSave = { ok: true; path: string } | { ok: false; error: TopologyCacheError };

export class TopologyCache {
  private readonly machines = new Map<string, CachedMeasurements>();

  static empty(): TopologyCache {
    return new TopologyCache();
  }

  /** Reads the cache file at `path`. Never throws. */
  static async load(path: string): Promise<TopologyCacheLoad> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { cache: new TopologyCache(), missing: true };
      return failed('UNREADABLE', path, `cannot read the topology cache: ${(error as Error).message}`);
    }
    return TopologyCache.parse(text, path);
  }

  /** Reads cache text; `path` only names it in errors. Never throws. */
  static parse(text: string, path: string): TopologyCacheLoad {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return failed('NOT_JSON', path, `the topology cache is not JSON (${(error as Error).message})`);
    }
    try {
      const o = JsonObject.of(value, '');
      if (o.raw('format') !== TOPOLOGY_CACHE_FORMAT)
        return failed(
          'NOT_A_CACHE',
          path,
          `the file is not a RingKernel topology cache (no "format": "${TOPOLOGY_CACHE_FORMAT}")`,
        );
      const version = o.raw('version');
      if (version !== TOPOLOGY_CACHE_VERSION) {
        return failed(
          'UNSUPPORTED_VERSION',
          path,
          `the topology cache has version ${JSON.stringify(version)}; this RingKernel reads version ${TOPOLOGY_CACHE_VERSION}`,
        );
      }
      const cache = new TopologyCache();
      for (const [key, entry] of o.object('machines').entries())
        cache.machines.set(key, readEntry(entry, `machines.${key}`));
      return { cache, missing: false };
    } catch (error) {
      if (error instanceof JsonShapeError)
        return failed('CORRUPT', path, `the topology cache is corrupt: ${error.message}`);
      return failed('CORRUPT', path, `the topology cache could not be read: ${(error as Error).message}`);
    }
  }

  get(key: string): CachedMeasurements | undefined {
    return this.machines.get(key);
  }

  set(
    key: string,
    entry: {
      links: readonly MeasuredLinkProbe[];
      hostLinks?: readonly MeasuredHostLinkProbe[];
      devices?: readonly string[];
      savedAt?: string;
    },
  ): void {
    const devices =
      entry.devices ??
      [
        ...new Set([...entry.links.flatMap((l) => [l.from, l.to]), ...(entry.hostLinks ?? []).map((h) => h.device)]),
      ].sort();
    this.machines.set(key, {
      savedAt: entry.savedAt ?? new Date().toISOString(),
      devices: [...devices],
      links: entry.links.map((l) => ({ ...l })),
      hostLinks: (entry.hostLinks ?? []).map((h) => ({ ...h })),
    });
  }

  delete(key: string): boolean {
    return this.machines.delete(key);
  }

  machineKeys(): string[] {
    return [...this.machines.keys()];
  }

  toJSON(): { format: string; version: number; machines: Record<string, CachedMeasurements> } {
    return {
      format: TOPOLOGY_CACHE_FORMAT,
      version: TOPOLOGY_CACHE_VERSION,
      machines: Object.fromEntries(this.machines),
    };
  }

  /** Writes the cache atomically: a temporary file beside `path`, fsync, rename, fsync of the folder. Never throws. */
  async save(path: string): Promise<TopologyCacheSave> {
    const folder = dirname(path);
    const temporary = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(folder, { recursive: true });
      const file = await open(temporary, 'wx', 0o644);
      try {
        await file.writeFile(`${JSON.stringify(this.toJSON(), null, 2)}\n`, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      return {
        ok: false,
        error: {
          code: 'WRITE_FAILED',
          path,
          message: `cannot save the topology cache: ${(error as Error).message}; measurements are kept for this session only`,
        },
      };
    }
    try {
      const dir = await open(folder, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // Folders cannot be opened for fsync on every platform (Windows); the rename is done either way.
    }
    return { ok: true, path };
  }
}

function failed(code: TopologyCacheErrorCode, path: string, message: string): TopologyCacheLoad {
  return {
    cache: new TopologyCache(),
    missing: false,
    error: { code, path, message: `${path}: ${message}; using estimates until the topology is measured again` },
  };
}

function readEntry(value: unknown, at: string): CachedMeasurements {
  const o = JsonObject.of(value, at);
  const savedAt = o.string('savedAt');
  const devices = o.array('devices', readString);
  return {
    savedAt,
    devices,
    links: o.array('links', readMeasuredLink),
    hostLinks: o.array('hostLinks', readMeasuredHostLink),
  };
}

/** The probes with this machine's cached measurements added; fresh measurements in `probes` win. */
export function withCachedMeasurements(probes: TopologyProbes, cache: TopologyCache): TopologyProbes {
  const entry = cache.get(machineKey(probes.devices));
  if (!entry) return probes;
  return {
    ...probes,
    measured: [...entry.links, ...(probes.measured ?? [])],
    hostLinks: [
      ...entry.hostLinks.filter(
        (h) => !(probes.hostLinks ?? []).some((f) => f.device === h.device && f.direction === h.direction),
      ),
      ...(probes.hostLinks ?? []),
    ],
  };
}
