// Reads a checkpoint file in one pass and trusts nothing in it: every length is checked against
// the bytes really there before anything is allocated, every chunk's SHA-256 and the whole file's
// CRC-32 are recomputed, and the first thing wrong is reported with the file, the chunk, and what
// was expected against what was found. Nothing is returned from a file that fails any check.
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { CONTROL_BYTES, type ControlBlock } from '../abi/kernelAbi';
import { KernelCheckpoint } from './kernelCheckpoint';
import { fileSource, type ByteSource } from './byteStreams';
import { CheckpointFileError, systemErrorCode, type CheckpointProblem } from './checkpointErrors';
import {
  CHUNK,
  CHUNK_HEADER,
  CHUNK_HEADER_BYTES,
  CHUNK_SKIPPABLE,
  DIGEST_BYTES,
  FORMAT_VERSION,
  HEADER,
  HEADER_BYTES,
  HLC_BYTES,
  MAGIC,
  MAX_CHUNKS,
  MAX_STRING_BYTES,
  METADATA_FIXED_BYTES,
  REQUIRED_CHUNKS,
  SLICE_BYTES,
  TRAILER_BYTES,
  TRAILER_TAG,
  chunkLabel,
  type ChunkType,
} from './checkpointFormat';
import type { CheckpointMetadata, CheckpointRecord, HlcState } from './checkpointRecord';
import { MalformedPayload, decodeControlChunk, decodeHlc, decodeMetadata } from './chunkPayloads';
import { decodePendingMessages, type PendingMessages } from './pendingMessages';

export interface DecodeOptions {
  /** Reject the file as 'foreign', before reading its state, when it holds another kernel. */
  expectKernelId?: string;
  /** Memory to read the state into when its size is right (reused buffers avoid a page fault per page); it is then the checkpoint's. */
  into?: Uint8Array;
}

export async function readCheckpointFile(path: string, options: DecodeOptions = {}): Promise<CheckpointRecord> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new CheckpointFileError(
      path,
      'unreadable',
      `it cannot be opened: ${systemErrorCode(error) === 'ENOENT' ? 'it does not exist' : String(error)}`,
      { cause: error },
    );
  }
  try {
    const { size } = await handle.stat();
    return await decodeCheckpoint(fileSource(handle, size), path, options);
  } finally {
    await handle.close();
  }
}

/** Decodes a checkpoint from any source; `file` names it in errors. */
export async function decodeCheckpoint(
  source: ByteSource,
  file: string,
  options: DecodeOptions = {},
): Promise<CheckpointRecord> {
  return new CheckpointDecoder(source, file, options).decode();
}

const KNOWN_TYPES = new Set<string>(Object.values(CHUNK));
const MAX_METADATA_BYTES = METADATA_FIXED_BYTES + 3 * (2 + MAX_STRING_BYTES);

class CheckpointDecoder {
  private position = 0;
  private crc = 0;
  private meta: CheckpointMetadata | undefined;
  private control: ControlBlock | undefined;
  private hlc: HlcState | undefined;
  private pendingMessages: PendingMessages | undefined;
  private state: Uint8Array | undefined;
  private stateSha256 = '';

  constructor(
    private readonly source: ByteSource,
    private readonly file: string,
    private readonly options: DecodeOptions,
  ) {}

  async decode(): Promise<CheckpointRecord> {
    const { chunkCount, fileBytes } = await this.readHeader();
    const trailerStart = fileBytes - TRAILER_BYTES;
    const seen = new Set<string>();
    for (let index = 1; index <= chunkCount; index++) {
      const at = this.position;
      if (at + CHUNK_HEADER_BYTES + DIGEST_BYTES > trailerStart) {
        this.fail(
          'malformed',
          `chunk ${index} of ${chunkCount} would start at byte ${at}, too close to the trailer at byte ${trailerStart} for a chunk header and digest`,
        );
      }
      const header = await this.take(CHUNK_HEADER_BYTES);
      const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
      const type = Buffer.from(header.subarray(CHUNK_HEADER.type, CHUNK_HEADER.type + 4)).toString('latin1');
      const flags = view.getUint32(CHUNK_HEADER.flags, true);
      const length = view.getBigUint64(CHUNK_HEADER.length, true);
      const where = `chunk ${index} of ${chunkCount} (${chunkLabel(type)}, at byte ${at})`;
      const known = KNOWN_TYPES.has(type);
      if (!known && flags !== CHUNK_SKIPPABLE)
        this.fail(
          'malformed',
          `${where} is of a type format version ${FORMAT_VERSION} does not know and is not marked skippable (flags 0x${flags.toString(16)})`,
        );
      if (known && flags !== 0) this.fail('malformed', `${where} has flags 0x${flags.toString(16)}, expected 0`);
      if (index === 1 && type !== CHUNK.metadata)
        this.fail('malformed', `the first chunk is ${chunkLabel(type)}, expected ${chunkLabel(CHUNK.metadata)}`);
      if (seen.has(type)) this.fail('malformed', `${where} is the second chunk of its type`);
      seen.add(type);
      const room = trailerStart - this.position - DIGEST_BYTES;
      if (length > BigInt(room))
        this.fail(
          'malformed',
          `${where} says its payload is ${length} bytes, but only ${room} remain before its digest and the trailer`,
        );
      this.checkLength(type, Number(length), where);
      await this.readChunk(type, Number(length), where);
    }
    if (this.position !== trailerStart)
      this.fail(
        'malformed',
        `${trailerStart - this.position} bytes lie between the last chunk (ending at byte ${this.position}) and the trailer`,
      );
    for (const type of REQUIRED_CHUNKS)
      if (!seen.has(type)) this.fail('malformed', `it has no ${chunkLabel(type)} chunk`);
    const pendingOf = this.pendingMessages?.kernelIndex;
    if (pendingOf !== undefined && pendingOf !== this.control?.kernelIndex)
      this.fail(
        'malformed',
        `its ${chunkLabel(CHUNK.pendingMessages)} chunk is kernel ${pendingOf}'s, its control block says kernel ${this.control?.kernelIndex}`,
      );
    await this.readTrailer();
    return this.record();
  }

  private async readHeader(): Promise<{ chunkCount: number; fileBytes: number }> {
    const size = this.source.byteLength;
    const header = await this.take(Math.min(size, HEADER_BYTES));
    const prefix = header.subarray(0, MAGIC.byteLength);
    if (!prefix.every((byte, i) => byte === MAGIC[i])) {
      this.fail(
        'not-a-checkpoint',
        `it is not a RingKernel checkpoint: it starts with ${hexBytes(prefix)}, expected ${hexBytes(MAGIC)}`,
      );
    }
    if (size < HEADER_BYTES)
      this.fail('truncated', `it is ${size} bytes, shorter than the ${HEADER_BYTES}-byte header`);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const version = view.getUint16(HEADER.version, true);
    if (version !== FORMAT_VERSION) {
      const why = version > FORMAT_VERSION ? 'written by a newer RingKernel' : 'an old format no longer read';
      this.fail(
        'unsupported-version',
        `its format version is ${version} (${why}); this RingKernel reads version ${FORMAT_VERSION}`,
      );
    }
    const headerBytes = view.getUint16(HEADER.headerBytes, true);
    if (headerBytes !== HEADER_BYTES)
      this.fail('malformed', `its header size field is ${headerBytes}, expected ${HEADER_BYTES}`);
    const flags = view.getUint32(HEADER.flags, true);
    if (flags !== 0)
      this.fail('malformed', `its header flags are 0x${flags.toString(16)}; version ${FORMAT_VERSION} defines none`);
    const reserved = view.getUint32(HEADER.reserved, true);
    if (reserved !== 0) this.fail('malformed', `its reserved header word is 0x${reserved.toString(16)}, expected 0`);
    const declared = view.getBigUint64(HEADER.fileBytes, true);
    if (declared > BigInt(size))
      this.fail(
        'truncated',
        `its header says it is ${declared} bytes, but it is ${size} (${declared - BigInt(size)} missing)`,
      );
    if (declared < BigInt(size))
      this.fail(
        'malformed',
        `it is ${size} bytes, ${BigInt(size) - declared} more than the ${declared} its header says`,
      );
    const chunkCount = view.getUint32(HEADER.chunkCount, true);
    if (chunkCount < REQUIRED_CHUNKS.length || chunkCount > MAX_CHUNKS)
      this.fail(
        'malformed',
        `its header says it has ${chunkCount} chunks; a checkpoint has ${REQUIRED_CHUNKS.length} to ${MAX_CHUNKS}`,
      );
    if (size < HEADER_BYTES + TRAILER_BYTES)
      this.fail('malformed', `it is ${size} bytes, too short for a header and trailer`);
    return { chunkCount, fileBytes: size };
  }

  /** Lengths each known chunk must have, checked before its payload is read or memory is allocated for it. */
  private checkLength(type: string, length: number, where: string): void {
    const expected = ((): number | undefined => {
      switch (type) {
        case CHUNK.control:
          return CONTROL_BYTES;
        case CHUNK.hlc:
          return HLC_BYTES;
        case CHUNK.state:
          return this.meta?.stateBytes;
        default:
          return undefined;
      }
    })();
    if (expected !== undefined && length !== expected)
      this.fail(
        'malformed',
        `${where} is ${length} bytes, expected ${expected}${type === CHUNK.state ? ' (the state size in its metadata)' : ''}`,
      );
    if (type === CHUNK.metadata && length > MAX_METADATA_BYTES)
      this.fail('malformed', `${where} is ${length} bytes, more than metadata can be (${MAX_METADATA_BYTES})`);
  }

  private async readChunk(type: string, length: number, where: string): Promise<void> {
    const reuse = this.options.into;
    const payload = type === CHUNK.state && reuse?.byteLength === length ? reuse : new Uint8Array(length);
    const found = await this.takeHashed(payload);
    const recorded = await this.take(DIGEST_BYTES);
    const foundHex = Buffer.from(found).toString('hex');
    const recordedHex = Buffer.from(recorded).toString('hex');
    if (foundHex !== recordedHex)
      this.fail(
        'digest-mismatch',
        `${where} is corrupt: its payload's SHA-256 is ${foundHex}, the file records ${recordedHex}`,
      );
    try {
      this.accept(type as ChunkType, payload, foundHex);
    } catch (error) {
      if (error instanceof MalformedPayload) this.fail('malformed', `${where}: ${error.message}`);
      throw error;
    }
  }

  private accept(type: ChunkType, payload: Uint8Array, sha256: string): void {
    switch (type) {
      case CHUNK.metadata: {
        const meta = decodeMetadata(payload);
        const expected = this.options.expectKernelId;
        if (expected !== undefined && meta.kernelId !== expected) {
          this.fail(
            'foreign',
            `it holds kernel ${JSON.stringify(meta.kernelId.slice(0, 200))}, not ${JSON.stringify(expected.slice(0, 200))}`,
          );
        }
        this.meta = meta;
        return;
      }
      case CHUNK.control:
        this.control = decodeControlChunk(payload, this.meta?.step ?? 0);
        return;
      case CHUNK.hlc:
        this.hlc = decodeHlc(payload);
        return;
      case CHUNK.pendingMessages:
        this.pendingMessages = decodePendingMessages(payload);
        return;
      case CHUNK.state:
        this.state = payload;
        this.stateSha256 = sha256;
        return;
      default:
        // A skippable chunk of a later version: its digest was checked; its content is not ours to read.
        return;
    }
  }

  private async readTrailer(): Promise<void> {
    const tag = await this.take(4);
    const tagText = Buffer.from(tag).toString('latin1');
    if (tagText !== TRAILER_TAG)
      this.fail(
        'malformed',
        `its trailer starts with ${hexBytes(tag)}, expected ${hexBytes(Buffer.from(TRAILER_TAG, 'latin1'))} ('${TRAILER_TAG}')`,
      );
    const computed = this.crc >>> 0;
    const stored = await this.readExactly(new Uint8Array(4), this.position);
    const recorded = new DataView(stored.buffer).getUint32(0, true);
    if (computed !== recorded)
      this.fail('checksum-mismatch', `its CRC-32 is ${hex32(computed)}, the trailer records ${hex32(recorded)}`);
  }

  private record(): CheckpointRecord {
    const meta = this.meta;
    const state = this.state;
    const control = this.control;
    if (!meta || !state || !control) throw new Error('checkpoint decoder: a required chunk was not kept (a bug)');
    const checkpoint = KernelCheckpoint.of(
      { kernelId: meta.kernelId, version: meta.version, step: meta.step, state, sha256: this.stateSha256 },
      meta.takenAt,
    );
    const record: CheckpointRecord = {
      checkpoint,
      codeSha256: meta.codeSha256,
      backend: meta.backend,
      deviceKey: meta.deviceKey,
      control,
    };
    if (this.hlc) record.hlc = this.hlc;
    if (this.pendingMessages) record.pendingMessages = this.pendingMessages;
    return record;
  }

  /** Reads `length` bytes at the current position into fresh memory, counting them into the CRC. */
  private async take(length: number): Promise<Uint8Array> {
    const bytes = await this.readExactly(new Uint8Array(length), this.position);
    this.crc = crc32(bytes, this.crc);
    this.position += length;
    return bytes;
  }

  /** Reads into `payload` in slices, hashing each while the next is read; returns its SHA-256. */
  private async takeHashed(payload: Uint8Array): Promise<Uint8Array> {
    const hash: Hash = createHash('sha256');
    const start = this.position;
    const sliceAt = (at: number): Promise<Uint8Array> =>
      this.readExactly(payload.subarray(at, Math.min(at + SLICE_BYTES, payload.byteLength)), start + at);
    let reading = payload.byteLength > 0 ? sliceAt(0) : undefined;
    for (let at = 0; reading; at += SLICE_BYTES) {
      const slice = await reading;
      reading = at + SLICE_BYTES < payload.byteLength ? sliceAt(at + SLICE_BYTES) : undefined;
      hash.update(slice);
      this.crc = crc32(slice, this.crc);
    }
    this.position += payload.byteLength;
    return hash.digest();
  }

  private async readExactly(into: Uint8Array, position: number): Promise<Uint8Array> {
    let got: number;
    try {
      got = await this.source.read(into, position);
    } catch (error) {
      throw new CheckpointFileError(
        this.file,
        'unreadable',
        `reading ${into.byteLength} bytes at byte ${position} failed: ${String(error)}`,
        { cause: error },
      );
    }
    if (got < into.byteLength)
      this.fail(
        'truncated',
        `it ends at byte ${position + got}, while ${into.byteLength} bytes were expected from byte ${position} (it changed while being read)`,
      );
    return into;
  }

  private fail(problem: CheckpointProblem, detail: string): never {
    throw new CheckpointFileError(this.file, problem, detail);
  }
}

function hexBytes(bytes: Uint8Array): string {
  return bytes.byteLength === 0
    ? '(nothing)'
    : Buffer.from(bytes)
        .toString('hex')
        .replace(/(..)(?!$)/g, '$1 ');
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
