// Where the encoder's bytes go and where the decoder's come from: a file handle in the store, memory
// for checkpoints that travel without touching a disk. The sink is also the seam through which a
// test makes a disk fill up, without replacing the file system.
import type { FileHandle } from 'node:fs/promises';

export interface ByteSink {
  /** Appends all of `bytes`. They must stay unchanged until the promise settles (no copy is made). */
  write(bytes: Uint8Array): Promise<void>;
}

export interface ByteSource {
  readonly byteLength: number;
  /** Reads into all of `into` from `position`; resolves with the bytes read, fewer only at the end. */
  read(into: Uint8Array, position: number): Promise<number>;
}

export function fileSink(handle: FileHandle): ByteSink {
  let position = 0;
  return {
    async write(bytes: Uint8Array): Promise<void> {
      let done = 0;
      // A write may take fewer bytes than asked (a signal, a pipe, a nearly full disk): go on until all are in.
      while (done < bytes.byteLength) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position);
        if (bytesWritten === 0) throw new Error(`the file took no bytes at offset ${position}`);
        done += bytesWritten;
        position += bytesWritten;
      }
    },
  };
}

export function fileSource(handle: FileHandle, byteLength: number): ByteSource {
  return {
    byteLength,
    async read(into: Uint8Array, position: number): Promise<number> {
      let done = 0;
      while (done < into.byteLength) {
        const { bytesRead } = await handle.read(into, done, into.byteLength - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    },
  };
}

/** Collects what is written, for checkpoints kept or sent as bytes (and for tests). */
export class MemorySink implements ByteSink {
  private readonly parts: Uint8Array[] = [];

  write(bytes: Uint8Array): Promise<void> {
    this.parts.push(Uint8Array.from(bytes));
    return Promise.resolve();
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    byteLength: bytes.byteLength,
    read(into: Uint8Array, position: number): Promise<number> {
      const part = bytes.subarray(position, position + into.byteLength);
      into.set(part);
      return Promise.resolve(part.byteLength);
    },
  };
}
