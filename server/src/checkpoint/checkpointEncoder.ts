// Writes a checkpoint file to a sink as a stream: header, chunks, trailer, in one pass. The state is
// never copied: it goes to the sink in slices straight from the checkpoint's memory, each slice
// hashed (SHA-256 of its chunk, CRC-32 of the file) while the sink writes it.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { ByteSink } from './byteStreams';
import { metadataOf, type CheckpointRecord } from './checkpointRecord';
import {
  CHUNK,
  CHUNK_HEADER,
  CHUNK_HEADER_BYTES,
  FORMAT_VERSION,
  HEADER,
  HEADER_BYTES,
  MAGIC,
  SLICE_BYTES,
  TRAILER_TAG,
  fileBytesFor,
  type ChunkType,
} from './checkpointFormat';
import { encodeControlChunk, encodeHlc, encodeMetadata } from './chunkPayloads';
import { encodePendingMessages } from './pendingMessages';

export interface EncodedCheckpoint {
  fileBytes: number;
  /** SHA-256 (hex) of the state, as written. */
  stateSha256: string;
}

/**
 * Writes `record` to `sink`. Checks the record first, so a file no reader accepts is never started.
 * The state must not change until the promise settles; if it had a recorded digest and the bytes
 * written do not match it, this throws (the caller discards what was written).
 */
export async function encodeCheckpoint(record: CheckpointRecord, sink: ByteSink): Promise<EncodedCheckpoint> {
  const meta = metadataOf(record);
  const chunks: { type: ChunkType; payload: Uint8Array }[] = [
    { type: CHUNK.metadata, payload: encodeMetadata(meta) },
    { type: CHUNK.control, payload: encodeControlChunk(record.control, meta.step) },
  ];
  if (record.hlc) chunks.push({ type: CHUNK.hlc, payload: encodeHlc(record.hlc) });
  if (record.pendingMessages) {
    if (record.pendingMessages.kernelIndex !== record.control.kernelIndex)
      throw new RangeError(
        `the pending messages are kernel ${record.pendingMessages.kernelIndex}'s, the control block says kernel ${record.control.kernelIndex}`,
      );
    chunks.push({ type: CHUNK.pendingMessages, payload: encodePendingMessages(record.pendingMessages) });
  }
  chunks.push({ type: CHUNK.state, payload: record.checkpoint.state });
  const fileBytes = fileBytesFor(chunks.map((chunk) => chunk.payload.byteLength));

  const out = new ChecksummedSink(sink);
  await out.write(encodeHeader(chunks.length, fileBytes));
  let stateSha256 = '';
  for (const chunk of chunks) {
    await out.write(encodeChunkHeader(chunk.type, chunk.payload.byteLength));
    const digest = await out.writeHashed(chunk.payload);
    await out.write(digest);
    if (chunk.type === CHUNK.state) stateSha256 = Buffer.from(digest).toString('hex');
  }
  await out.write(Buffer.from(TRAILER_TAG, 'latin1'));
  await out.writeChecksum();
  if (out.count !== fileBytes)
    throw new Error(`checkpoint encoder wrote ${out.count} bytes, planned ${fileBytes} (a bug)`);

  const known = record.checkpoint.knownSha256;
  if (known !== undefined && known !== stateSha256) {
    const { kernelId, step } = record.checkpoint;
    throw new Error(
      `the state of kernel "${kernelId}" at step ${step} changed while it was being written: its SHA-256 was ${known}, the bytes written hash to ${stateSha256}`,
    );
  }
  return { fileBytes, stateSha256 };
}

function encodeHeader(chunkCount: number, fileBytes: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, HEADER.magic);
  view.setUint16(HEADER.version, FORMAT_VERSION, true);
  view.setUint16(HEADER.headerBytes, HEADER_BYTES, true);
  view.setUint32(HEADER.flags, 0, true);
  view.setUint32(HEADER.chunkCount, chunkCount, true);
  view.setUint32(HEADER.reserved, 0, true);
  view.setBigUint64(HEADER.fileBytes, BigInt(fileBytes), true);
  return bytes;
}

function encodeChunkHeader(type: ChunkType, length: number): Uint8Array {
  const bytes = new Uint8Array(CHUNK_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(Buffer.from(type, 'latin1'), CHUNK_HEADER.type);
  view.setUint32(CHUNK_HEADER.flags, 0, true);
  view.setBigUint64(CHUNK_HEADER.length, BigInt(length), true);
  return bytes;
}

/** A sink that keeps the running CRC-32 and byte count of everything through it. */
class ChecksummedSink {
  count = 0;
  private crc = 0;

  constructor(private readonly sink: ByteSink) {}

  async write(bytes: Uint8Array): Promise<void> {
    this.crc = crc32(bytes, this.crc);
    await this.sink.write(bytes);
    this.count += bytes.byteLength;
  }

  /** Writes `payload` in slices, each hashed while the sink takes it; returns its SHA-256. */
  async writeHashed(payload: Uint8Array): Promise<Uint8Array> {
    const hash = createHash('sha256');
    for (let at = 0; at < payload.byteLength; at += SLICE_BYTES) {
      const slice = payload.subarray(at, Math.min(at + SLICE_BYTES, payload.byteLength));
      const written = this.sink.write(slice);
      hash.update(slice);
      this.crc = crc32(slice, this.crc);
      await written;
      this.count += slice.byteLength;
    }
    return hash.digest();
  }

  /** The CRC-32 of everything written so far, as the last four bytes (not covered by itself). */
  async writeChecksum(): Promise<void> {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, this.crc >>> 0, true);
    await this.sink.write(bytes);
    this.count += 4;
  }
}
