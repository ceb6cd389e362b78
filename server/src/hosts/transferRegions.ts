// The server's shared-memory regions (bulkTransfer.ts), one pool per server process for all its
// device hosts and migrations. A transfer takes a region for its request and gives it back when
// the answer came (the receiver is done with it), so a region is never written by two transfers at
// once; transfers that overlap (a checkpoint read while a state view reads) get regions of their
// own, up to MAX_REGIONS, then wait. Regions are reused: their pages stay paged in, which is what
// makes a transfer fast (fresh memory costs a page fault per 4 KiB). Regions idle for IDLE_MS are
// removed, so a large migration's memory goes back once it is over.
import { randomBytes } from 'node:crypto';
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BULK_FOLDER, BULK_PREFIX, SharedRegion, type RegionRef } from './bulkTransfer';
import { sharedMapper } from './sharedMapping';

/** Regions lent at once; a transfer past them waits for one to come back. */
export const MAX_REGIONS = 4;
const IDLE_MS = 30_000;
/** Capacities are whole MiB, so nearby sizes share a region. */
const GRAIN = 1024 * 1024;

/** A region lent to one transfer. */
export interface RegionLease {
  readonly region: SharedRegion;
  /** The reference a message carries: the first `bytes` of the region. */
  ref(bytes: number): RegionRef;
  /** Whether `ref` names this lease's region (an answer must name the region it was lent). */
  owns(ref: RegionRef): boolean;
  release(): void;
}

interface Slot {
  region: SharedRegion;
  busy: boolean;
  idleSince: number;
}

/**
 * Region names are never reused in a process: a device host keeps regions open by name, so a new
 * region under an old name would be mistaken for the old one's pages.
 */
let nextRegion = 0;
const processTag = randomBytes(4).toString('hex');

export class TransferRegions {
  private readonly slots: Slot[] = [];
  private readonly waiting: Array<() => void> = [];
  private sweep: NodeJS.Timeout | undefined;

  constructor(private readonly ownerPid = process.pid) {}

  /** How regions move bytes in this process: mapped shared pages, or the file fallback (and why). */
  static mode(): string {
    const mapping = sharedMapper();
    return mapping.ok
      ? 'shared memory mapped into both processes (no copy between them)'
      : `reused shared-memory files read and written in chunks (no mapping: ${mapping.reason})`;
  }

  /** A region of at least `bytes` for one transfer; waits while MAX_REGIONS are all lent. */
  async take(bytes: number): Promise<RegionLease> {
    for (;;) {
      const slot = this.claim(bytes);
      if (slot) return this.lease(slot);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private claim(bytes: number): Slot | undefined {
    const fits = this.slots
      .filter((slot) => !slot.busy && slot.region.capacity >= bytes)
      .sort((a, b) => a.region.capacity - b.region.capacity)[0];
    if (fits) {
      fits.busy = true;
      return fits;
    }
    if (this.slots.length >= MAX_REGIONS) {
      // A free region too small for this size makes room for one that fits.
      const small = this.slots.find((slot) => !slot.busy);
      if (!small) return undefined;
      this.remove(small);
    }
    const capacity = Math.max(GRAIN, Math.ceil(bytes / GRAIN) * GRAIN);
    const path = join(BULK_FOLDER, `${BULK_PREFIX}${this.ownerPid}-${processTag}-${nextRegion++}`);
    const slot: Slot = { region: SharedRegion.create(path, capacity), busy: true, idleSince: 0 };
    this.slots.push(slot);
    return slot;
  }

  private lease(slot: Slot): RegionLease {
    let released = false;
    return {
      region: slot.region,
      ref: (bytes) => ({ region: slot.region.path, capacity: slot.region.capacity, bytes }),
      owns: (ref) => ref.region === slot.region.path && ref.capacity === slot.region.capacity,
      release: () => {
        if (released) return;
        released = true;
        slot.busy = false;
        slot.idleSince = performance.now();
        this.waiting.shift()?.();
        this.scheduleSweep();
      },
    };
  }

  private scheduleSweep(): void {
    if (this.sweep) return;
    this.sweep = setTimeout(() => {
      this.sweep = undefined;
      const now = performance.now();
      for (const slot of [...this.slots]) if (!slot.busy && now - slot.idleSince >= IDLE_MS) this.remove(slot);
      if (this.slots.some((slot) => !slot.busy)) this.scheduleSweep();
    }, IDLE_MS);
    this.sweep.unref();
  }

  private remove(slot: Slot): void {
    this.slots.splice(this.slots.indexOf(slot), 1);
    slot.region.close();
    try {
      unlinkSync(slot.region.path);
    } catch {
      /* already gone */
    }
  }

  /** The pool's region files, lent and idle: what a check for leaked files must tell apart from leftovers. */
  regions(): { lent: string[]; idle: string[] } {
    const paths = (busy: boolean): string[] => this.slots.filter((s) => s.busy === busy).map((s) => s.region.path);
    return { lent: paths(true), idle: paths(false) };
  }

  /** Removes every region file (at exit; lent regions too: their transfers cannot finish then). */
  dispose(): void {
    clearTimeout(this.sweep);
    this.sweep = undefined;
    for (const slot of [...this.slots]) this.remove(slot);
  }
}

let shared: TransferRegions | undefined;

/** This process's pool; created on first use, its files removed when the process exits. */
export function transferRegions(): TransferRegions {
  if (!shared) {
    const pool = new TransferRegions();
    shared = pool;
    removeOrphanedFiles();
    process.once('exit', () => pool.dispose());
  }
  return shared;
}

/**
 * Removes the regions of server processes that are gone (killed before their exit handler ran),
 * keeping those of living owners (found by test/process/faults/serverRestartFaults.test.ts).
 */
export function removeOrphanedFiles(): void {
  let names: string[];
  try {
    names = readdirSync(BULK_FOLDER);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = /^ringkernel-bulk-(\d+)-/.exec(name)?.[1];
    if (owner === undefined || Number(owner) === process.pid || alive(Number(owner))) continue;
    try {
      unlinkSync(join(BULK_FOLDER, name));
    } catch {
      /* taken by someone else */
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
