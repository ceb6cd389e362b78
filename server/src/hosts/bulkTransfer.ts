// Large buffers between the server and a device host travel through files in shared memory
// (/dev/shm), not through the IPC channel: Node's IPC moves about 0.1 GB/s, a tmpfs file several
// GB/s. The IPC message carries only a reference; the receiver reads the file and deletes it.
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** Payloads from this size up go through a file; smaller ones inline in the IPC message. */
export const BULK_THRESHOLD_BYTES = 256 * 1024;

export interface BulkRef {
  bulkFile: string;
  bytes: number;
}

export type Payload = Uint8Array | BulkRef;

const folder = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const PREFIX = 'ringkernel-bulk-';

/** Files of one server process start with this, so its leftovers can be removed. */
function ownPrefix(ownerPid: number): string {
  return `${PREFIX}${ownerPid}-`;
}

/**
 * A fresh shared-memory file name of a server process's own (removeLeftovers takes it if nobody
 * does): migration's state files, written by one device host and read by another.
 */
export function sharedFileName(ownerPid: number, tag: string): string {
  return join(folder, `${ownPrefix(ownerPid)}${tag.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40)}-${randomUUID()}`);
}

export function isBulkRef(payload: Payload): payload is BulkRef {
  return !(payload instanceof Uint8Array) && typeof payload.bulkFile === 'string';
}

/** Wraps bytes for sending: inline when small, else written to a shared-memory file. */
export function toPayload(data: Uint8Array, ownerPid: number): Payload {
  if (data.byteLength < BULK_THRESHOLD_BYTES) return data;
  const bulkFile = join(folder, `${ownPrefix(ownerPid)}${randomUUID()}`);
  writeFileSync(bulkFile, data);
  return { bulkFile, bytes: data.byteLength };
}

/**
 * toPayload with the file written on libuv workers: the calling process's event loop stays free
 * (a device host keeps stepping a kernel while a checkpoint's bytes are written out), and `data`
 * is only read until the promise settles.
 */
export async function toPayloadAsync(data: Uint8Array, ownerPid: number): Promise<Payload> {
  // A copy: `data` may be memory that is gone once this settles (a mapped GPU buffer).
  if (data.byteLength < BULK_THRESHOLD_BYTES) return data.slice();
  const bulkFile = join(folder, `${ownPrefix(ownerPid)}${randomUUID()}`);
  await writeFile(bulkFile, data);
  return { bulkFile, bytes: data.byteLength };
}

/**
 * Reusable memory for bytes that are consumed at once (a write the host passes straight to the
 * GPU). Reading into fresh memory costs a page fault per page, which on some machines is slower
 * than the copy itself (seen: 0.24 GB/s fresh against several GB/s reused).
 */
export class ScratchBuffer {
  private memory = Buffer.alloc(0);

  take(bytes: number): Uint8Array {
    if (this.memory.byteLength < bytes) this.memory = Buffer.alloc(bytes);
    return this.memory.subarray(0, bytes);
  }
}

/**
 * Unwraps received bytes; a bulk file is read once and deleted. With `scratch`, the bytes land
 * in its reused memory and are valid only until the next call with the same scratch; with a
 * Uint8Array of the payload's size, they land in it (memory the caller owns and reuses).
 */
export function fromPayload(payload: Payload, scratch?: ScratchBuffer | Uint8Array): Uint8Array {
  if (!isBulkRef(payload)) return payload;
  // The name comes in a message: only a bulk file of ours is read and deleted, never any other path
  // (found by fuzzing the device-host protocol: any file named was read, then removed).
  const name = basename(payload.bulkFile);
  if (
    payload.bulkFile !== join(folder, name) ||
    !name.startsWith(PREFIX) ||
    !Number.isSafeInteger(payload.bytes) ||
    payload.bytes < 0
  ) {
    throw new Error(
      `refused bulk transfer ${JSON.stringify(payload.bulkFile).slice(0, 200)} of ${String(payload.bytes)} bytes: ` +
        `only a file ${PREFIX}* directly in ${folder} with a byte count is accepted`,
    );
  }
  try {
    const fd = openSync(payload.bulkFile, 'r');
    try {
      // Before any memory is taken: a count that is not the file's would allocate for nothing.
      const { size } = fstatSync(fd);
      if (size !== payload.bytes)
        throw new Error(`bulk transfer ${payload.bulkFile} has ${size} bytes, not the ${payload.bytes} announced`);
      const target =
        scratch instanceof ScratchBuffer
          ? scratch.take(payload.bytes)
          : scratch && scratch.byteLength === payload.bytes
            ? scratch
            : new Uint8Array(payload.bytes);
      let done = 0;
      while (done < payload.bytes) {
        const read = readSync(fd, target, done, payload.bytes - done, done);
        if (read === 0)
          throw new Error(`bulk transfer ${payload.bulkFile} ended after ${done} of ${payload.bytes} bytes`);
        done += read;
      }
      return target;
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(payload.bulkFile, { force: true });
  }
}

/** Removes the bulk files a server process left (its hosts died before reading them). */
export function removeLeftovers(ownerPid: number): void {
  const prefix = ownPrefix(ownerPid);
  for (const name of readdirSync(folder)) {
    if (name.startsWith(prefix)) {
      try {
        unlinkSync(join(folder, name));
      } catch {
        /* already taken by its reader */
      }
    }
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let orphansRemoved = false;

/**
 * Removes the bulk files of server processes that no longer exist (once per process). A server
 * killed while a device host's transfer was in flight leaves that file; its own cleanup
 * (removeLeftovers) never ran, so the next server does it (found by the server-restart fault test).
 */
export function removeOrphanedFiles(): void {
  if (orphansRemoved) return;
  orphansRemoved = true;
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = /^ringkernel-bulk-(\d+)-/.exec(name)?.[1];
    if (owner === undefined || Number(owner) === process.pid || processExists(Number(owner))) continue;
    try {
      unlinkSync(join(folder, name));
    } catch {
      /* taken meanwhile */
    }
  }
}
