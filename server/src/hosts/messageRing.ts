// Message bytes between the server and a device host through shared memory instead of the IPC
// channel. Measured (bench/profileRouterFlow.ts, lavapipe, 4096-message batches): Node's IPC
// spent about 1 ms of CPU per 256 KiB on each side (the V8 serialiser's growing buffer, the
// reader's Buffer.concat, all of it fresh memory paying a page fault per 4 KiB); the sending host
// spent 41% of its time in writeRawBytes and the server 25% in the reader's concat. A ring's pages
// are reused, so a batch costs one copy into it and one out.
//
// A ring is one-way (one writer process, one reader process) over a region file mapped by both
// (bulkTransfer.ts's SharedRegion; where the addon cannot map, the same file read and written in
// chunks, slower but the same protocol). Each record is one contiguous span of the data area; a
// record that would cross the end starts at the beginning instead (the rest of the lap is
// skipped). Only the bytes travel here: the IPC message that names a span still goes through the
// channel, so the order of everything a host says is the channel's order, and the span's bytes
// are in place before the message (a syscall) that names them.
//
// Header (64 bytes): the writer's cursor at 0 and the reader's at 8, as byte counts since the
// start (little-endian 64-bit integers), each written only by its owner, through Atomics where
// mapped: the reader's cursor is stored only after its reads of the record (sequentially
// consistent, also on weakly ordered CPUs), so the writer never overwrites bytes still being read.
// The writer may use the space up to the reader's cursor plus the data area's size; a stale
// reader cursor only makes it see less room. A full ring is not an error: the writer sends the
// bytes inline instead.
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BULK_FOLDER, BULK_PREFIX, SharedRegion } from './bulkTransfer';
import { sharedMapper } from './sharedMapping';

export const RING_HEADER_BYTES = 64;
/** The cursors' places in the header, in 8-byte words. */
const WRITER_CURSOR = 0;
const READER_CURSOR = 1;

/** A record in a ring: `bytes` bytes from cursor `at` (a byte count since the ring's start). */
export interface RingSpan {
  at: number;
  bytes: number;
}

/** The fork argument that names a host's two rings: `--message-rings=<toServer>,<toHost>,<capacity>`. */
export const MESSAGE_RINGS_ARGUMENT = '--message-rings=';

export class MessageRing {
  /** Writer: the cursor after the last record written. Reader: after the last record released. */
  private cursor = 0;
  private readonly header = new Uint8Array(8);
  private readonly headerView = new DataView(this.header.buffer);
  /** The header's cursors in the shared pages, where mapped. */
  private readonly shared: BigInt64Array | undefined;

  private constructor(
    readonly region: SharedRegion,
    /** Bytes of the data area (the region less its header). */
    readonly dataBytes: number,
  ) {
    const view = region.view;
    this.shared = view ? new BigInt64Array(view.buffer, view.byteOffset, 2) : undefined;
  }

  /** The server's side: a new ring file of `capacity` bytes (header included). */
  static create(path: string, capacity: number): MessageRing {
    if (!Number.isInteger(capacity) || capacity <= RING_HEADER_BYTES)
      throw new RangeError(`message ring: capacity ${capacity} must be a whole number above ${RING_HEADER_BYTES}`);
    return new MessageRing(SharedRegion.create(path, capacity), capacity - RING_HEADER_BYTES);
  }

  /** A device host's side: the ring file `path`, which must have `capacity` bytes and sit where the server puts regions. */
  static open(path: string, capacity: number): MessageRing {
    if (!path.startsWith(`${BULK_FOLDER}/${BULK_PREFIX}`) || path.slice(BULK_FOLDER.length + 1).includes('/'))
      throw new Error(`message ring ${path}: only a file ${BULK_PREFIX}* directly in ${BULK_FOLDER} is accepted`);
    if (!Number.isInteger(capacity) || capacity <= RING_HEADER_BYTES)
      throw new RangeError(
        `message ring ${path}: capacity ${capacity} must be a whole number above ${RING_HEADER_BYTES}`,
      );
    return new MessageRing(
      SharedRegion.open({ region: path, capacity, bytes: capacity }),
      capacity - RING_HEADER_BYTES,
    );
  }

  get path(): string {
    return this.region.path;
  }

  // Writer.

  /**
   * Copies `data` into the ring as one record and returns its span, or undefined when it does not
   * fit now (the reader has not released enough) or ever (larger than the data area).
   */
  write(data: Uint8Array): RingSpan | undefined {
    const bytes = data.byteLength;
    if (bytes === 0 || bytes > this.dataBytes) return undefined;
    const released = this.readCursor(READER_CURSOR);
    const position = this.cursor % this.dataBytes;
    const skip = position + bytes > this.dataBytes ? this.dataBytes - position : 0;
    if (this.cursor - released + skip + bytes > this.dataBytes) return undefined;
    const at = this.cursor + skip;
    this.region.write(data, RING_HEADER_BYTES + (at % this.dataBytes));
    this.cursor = at + bytes;
    this.writeCursor(WRITER_CURSOR, this.cursor);
    return { at, bytes };
  }

  // Reader.

  /**
   * The bytes of `span`, which must be the next record after those released: a view of the shared
   * pages where mapped (valid until release), else a copy. A span that is not a record the writer
   * wrote (malformed, out of order, past the writer's cursor) is refused with an error saying why.
   */
  read(span: unknown): Uint8Array {
    const { at, bytes } = this.check(span);
    const offset = RING_HEADER_BYTES + (at % this.dataBytes);
    const view = this.region.view;
    if (view) return view.subarray(offset, offset + bytes);
    const copy = new Uint8Array(bytes);
    this.region.read(copy, offset);
    return copy;
  }

  /** A copy of `span`'s bytes that outlives the release (read's rules). */
  copy(span: unknown): Uint8Array {
    const bytes = this.read(span);
    return this.region.view ? bytes.slice() : bytes;
  }

  /** The reader is done with `span` and every record before it: the writer may reuse their space. */
  release(span: RingSpan): void {
    const end = span.at + span.bytes;
    if (end <= this.cursor) return;
    this.cursor = end;
    this.writeCursor(READER_CURSOR, end);
  }

  /** Unmaps (the file stays: its creator removes it). */
  close(): void {
    this.region.close();
  }

  private check(span: unknown): RingSpan {
    const { at, bytes } = (span ?? {}) as Partial<RingSpan>;
    const what = `message ring ${this.path}: span ${JSON.stringify(span)?.slice(0, 100) ?? String(span)}`;
    if (!Number.isSafeInteger(at) || !Number.isSafeInteger(bytes) || (bytes as number) <= 0)
      throw new Error(
        `${what} is not a record (whole numbers at and bytes > 0 are expected); the batch it names is refused`,
      );
    const start = at as number;
    const length = bytes as number;
    if (length > this.dataBytes || (start % this.dataBytes) + length > this.dataBytes)
      throw new Error(
        `${what} does not fit the ring's ${this.dataBytes}-byte data area; the batch it names is refused`,
      );
    if (start < this.cursor)
      throw new Error(
        `${what} starts before the reader's cursor ${this.cursor} (released already, or out of order); the batch it names is refused`,
      );
    const written = this.readCursor(WRITER_CURSOR);
    if (start + length > written)
      throw new Error(
        `${what} ends past the writer's cursor ${written} (never written); the batch it names is refused`,
      );
    if (start - this.cursor >= this.dataBytes)
      throw new Error(
        `${what} is more than a lap ahead of the reader's cursor ${this.cursor}; the batch it names is refused`,
      );
    return { at: start, bytes: length };
  }

  private readCursor(word: number): number {
    if (this.shared) return Number(Atomics.load(this.shared, word));
    this.region.read(this.header, word * 8);
    return Number(this.headerView.getBigInt64(0, true));
  }

  private writeCursor(word: number, value: number): void {
    if (this.shared) {
      Atomics.store(this.shared, word, BigInt(value));
      return;
    }
    this.headerView.setBigInt64(0, BigInt(value), true);
    this.region.write(this.header, word * 8);
  }
}

/** Bytes of each of a host's two rings: 128 steps of 4096 messages toward the server (a sender outrunning the server fills it fast), 32 inboxes of 4096 back. */
export const TO_SERVER_RING_BYTES = 32 * 1024 * 1024 + RING_HEADER_BYTES;
export const TO_HOST_RING_BYTES = 8 * 1024 * 1024 + RING_HEADER_BYTES;

/** The server's side of one device-host process's rings, made before it starts and removed when it goes. */
export interface HostRings {
  toServer: MessageRing;
  toHost: MessageRing;
  /** The fork argument that hands them to the host. */
  argument: string;
  dispose(): void;
}

let nextRings = 0;
const processTag = randomBytes(4).toString('hex');
const liveFiles = new Set<string>();
let exitHook = false;

/**
 * Two fresh rings for a host process about to start, or undefined where this process cannot map
 * shared memory (messages then travel inline in the IPC messages, as before). The host removes the
 * files once it has opened them; until then (a host that never started) dispose and this process's
 * exit do, and file names carry this process's id, so removeOrphanedFiles (transferRegions.ts)
 * removes those of a server killed in between.
 */
export function createHostRings(): HostRings | undefined {
  if (!sharedMapper().ok) return undefined;
  const base = join(BULK_FOLDER, `${BULK_PREFIX}${process.pid}-msg-${processTag}-${nextRings++}`);
  const made: MessageRing[] = [];
  try {
    made.push(MessageRing.create(`${base}-up`, TO_SERVER_RING_BYTES));
    made.push(MessageRing.create(`${base}-down`, TO_HOST_RING_BYTES));
  } catch {
    for (const ring of made) remove(ring);
    return undefined;
  }
  const [toServer, toHost] = made as [MessageRing, MessageRing];
  if (!toServer.region.mapped || !toHost.region.mapped) {
    remove(toServer);
    remove(toHost);
    return undefined;
  }
  for (const ring of made) liveFiles.add(ring.path);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const path of liveFiles) unlinkQuietly(path);
    });
  }
  return {
    toServer,
    toHost,
    argument: `${MESSAGE_RINGS_ARGUMENT}${toServer.path},${toHost.path},${TO_SERVER_RING_BYTES},${TO_HOST_RING_BYTES}`,
    dispose: () => {
      remove(toServer);
      remove(toHost);
    },
  };
}

/** A host's side: its rings from its arguments, or undefined when it was given none. Throws on a malformed argument. */
export function openHostRings(argv: readonly string[]): { toServer: MessageRing; toHost: MessageRing } | undefined {
  const argument = argv.find((arg) => arg.startsWith(MESSAGE_RINGS_ARGUMENT));
  if (argument === undefined) return undefined;
  const [up, down, upBytes, downBytes] = argument.slice(MESSAGE_RINGS_ARGUMENT.length).split(',');
  if (!up || !down || !upBytes || !downBytes)
    throw new Error(`device host: ${argument.slice(0, 200)} does not name two rings and their sizes`);
  const toServer = MessageRing.open(up, Number(upBytes));
  let toHost: MessageRing;
  try {
    toHost = MessageRing.open(down, Number(downBytes));
  } catch (error) {
    toServer.close();
    throw error;
  }
  // Both processes hold the pages now: the names can go, so nothing is left behind whoever dies.
  unlinkQuietly(up);
  unlinkQuietly(down);
  return { toServer, toHost };
}

function remove(ring: MessageRing): void {
  ring.close();
  liveFiles.delete(ring.path);
  unlinkQuietly(ring.path);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
