// The checkpoint file format, version 1, in code (docs/checkpoint-format.md is the written form).
// A file is: a 32-byte header, typed chunks (each: 16-byte header, payload, SHA-256 of the
// payload), and an 8-byte trailer whose CRC-32 covers every byte before it. Little-endian.

/** "\x89RKC\r\n\x1a\n": the high byte catches 7-bit transfers, CR LF and LF catch newline conversion. */
export const MAGIC = Uint8Array.of(0x89, 0x52, 0x4b, 0x43, 0x0d, 0x0a, 0x1a, 0x0a);
export const FORMAT_VERSION = 1;

export const HEADER_BYTES = 32;
/** Byte offsets of the header's fields. */
export const HEADER = {
  magic: 0,
  version: 8,
  headerBytes: 10,
  flags: 12,
  chunkCount: 16,
  reserved: 20,
  fileBytes: 24,
} as const;

export const CHUNK_HEADER_BYTES = 16;
/** Byte offsets inside a chunk header: a four-letter type, flags, payload length (u64). */
export const CHUNK_HEADER = { type: 0, flags: 4, length: 8 } as const;
export const DIGEST_BYTES = 32;
/** Chunk flag: a reader that does not know the chunk's type may skip it (after checking its digest). */
export const CHUNK_SKIPPABLE = 1;

export const TRAILER_BYTES = 8;
/** The trailer: this tag, then the CRC-32 (zlib's) of every byte of the file before the CRC. */
export const TRAILER_TAG = 'RKND';

/** The smallest file any writer can produce: header, the three required chunks, trailer. */
export const MIN_FILE_BYTES = HEADER_BYTES + 3 * (CHUNK_HEADER_BYTES + DIGEST_BYTES) + TRAILER_BYTES;

/** A reader rejects files with more chunks than this before reading any of them. */
export const MAX_CHUNKS = 64;

/** The chunk types of version 1, in the order a writer puts them (the state last: a reader checks everything small before the big read). */
export const CHUNK = {
  metadata: 'META',
  control: 'CTRL',
  hlc: 'HLC ',
  pendingMessages: 'PEND',
  state: 'STAT',
} as const;
export type ChunkType = (typeof CHUNK)[keyof typeof CHUNK];

export const REQUIRED_CHUNKS: readonly ChunkType[] = [CHUNK.metadata, CHUNK.control, CHUNK.state];

/** A name for a chunk type in messages: "state (STAT)". */
export function chunkLabel(type: string): string {
  const name = Object.entries(CHUNK).find(([, tag]) => tag === type)?.[0];
  const printable = /^[\x20-\x7e]{4}$/.test(type) ? `'${type}'` : `0x${Buffer.from(type, 'latin1').toString('hex')}`;
  return name ? `${name} (${printable})` : `unknown type ${printable}`;
}

/** The fixed part of the metadata payload; three length-prefixed UTF-8 strings follow. */
export const METADATA = { version: 0, step: 8, takenAtMs: 16, stateBytes: 24, codeSha256: 32, strings: 64 } as const;
export const METADATA_FIXED_BYTES = METADATA.strings;
/** Strings in the metadata carry a u16 length, so at most this many UTF-8 bytes. */
export const MAX_STRING_BYTES = 0xffff;

export const HLC_BYTES = 16;
export const HLC = { physicalMicros: 0, logical: 8, nodeId: 12 } as const;

/** Bytes a payload is hashed and moved in: large enough for few system calls, small enough that one slice never holds the event loop long (about 3 ms of SHA-256). */
export const SLICE_BYTES = 4 * 1024 * 1024;

export function fileBytesFor(payloadLengths: readonly number[]): number {
  return (
    HEADER_BYTES +
    payloadLengths.reduce((sum, length) => sum + CHUNK_HEADER_BYTES + length + DIGEST_BYTES, 0) +
    TRAILER_BYTES
  );
}
