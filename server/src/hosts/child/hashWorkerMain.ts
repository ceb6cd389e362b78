// Entry of a hashing thread of a device host (dist/hashWorker.js, started by hashPool.ts): SHA-256
// of one block at a time (or of its sub-blocks, each on its own), off the host's main thread, so a
// migration's blocks are hashed while its transfer goes on. A block is read where it is: in a
// shared-memory region file (the bytes the source exported; read with pread, the same pages the
// processes map) or in shared memory of the host (the bytes the target read back from its device).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { HashJob, HashReply } from './hashPool';

/** Open region files by path (names are never reused), a few at a time; gone files are closed so their pages go back. */
const files = new Map<string, number>();
const MAX_FILES = 4;
let scratch = Buffer.alloc(0);

function descriptor(path: string): number {
  const open = files.get(path);
  if (open !== undefined) return open;
  for (const [known, fd] of files) {
    if (files.size < MAX_FILES && existsSync(known)) continue;
    closeSync(fd);
    files.delete(known);
  }
  const fd = openSync(path, 'r');
  files.set(path, fd);
  return fd;
}

function readFile(path: string, offset: number, length: number): Uint8Array {
  if (scratch.byteLength < length) scratch = Buffer.alloc(length);
  const fd = descriptor(path);
  for (let done = 0; done < length;) {
    const read = readSync(fd, scratch, done, length - done, offset + done);
    if (read === 0)
      throw new Error(`${path} ended at ${offset + done}, before the ${length} bytes from ${offset} were read`);
    done += read;
  }
  return scratch.subarray(0, length);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function run(job: HashJob): { digest: string } | { digests: string[] } {
  const bytes =
    'file' in job ? readFile(job.file, job.offset, job.length) : new Uint8Array(job.shared, job.offset, job.length);
  const { blockBytes } = job;
  if (blockBytes === undefined) return { digest: sha256(bytes) };
  const digests: string[] = [];
  for (let at = 0; at < bytes.byteLength; at += blockBytes) digests.push(sha256(bytes.subarray(at, at + blockBytes)));
  return { digests };
}

parentPort?.on('message', (job: HashJob & { id: number }) => {
  let reply: HashReply;
  try {
    reply = { id: job.id, ...run(job) };
  } catch (error) {
    reply = { id: job.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
