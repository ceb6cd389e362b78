// File names in a checkpoint folder. A kernel id is anything a manifest (or a bad one) says, so it
// never becomes a path: the name is a short readable part made only of [A-Za-z0-9_-], a key that is
// a hash of the exact id (two ids never share files, also on case-insensitive disks), and a
// generation number that orders the files of a folder by when their write began.
import { createHash, randomBytes } from 'node:crypto';
import { metadataString } from './chunkPayloads';

export const CHECKPOINT_EXTENSION = '.rkcp';
const READABLE_CHARS = 40;
const GENERATION_DIGITS = 12;
/** Names Windows reserves for devices, with any extension ("CON.x" opens the console). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9]|lpt[0-9])$/i;

const FINAL_NAME = /^([A-Za-z0-9_-]{1,40})\.([0-9a-f]{16})\.([0-9]{12,16})\.rkcp$/;
const TEMP_NAME = /^[A-Za-z0-9_-]{1,40}\.[0-9a-f]{16}\.[0-9]{12,16}\.rkcp\.[0-9a-f]{16}\.tmp$/;

/** The part of the name that says which kernel: 16 hex digits of the SHA-256 of its id. */
export function kernelKey(kernelId: string): string {
  return createHash('sha256').update(metadataString('kernel id', kernelId)).digest('hex').slice(0, 16);
}

function readablePart(kernelId: string): string {
  const part = kernelId.replace(/[^A-Za-z0-9_-]/gu, '_').slice(0, READABLE_CHARS) || '_';
  return WINDOWS_RESERVED.test(part) ? `${part.slice(0, READABLE_CHARS - 1)}_` : part;
}

export function checkpointFileName(kernelId: string, generation: number): string {
  if (!Number.isSafeInteger(generation) || generation < 0)
    throw new RangeError(`checkpoint generation ${generation} is not a count`);
  return `${readablePart(kernelId)}.${kernelKey(kernelId)}.${String(generation).padStart(GENERATION_DIGITS, '0')}${CHECKPOINT_EXTENSION}`;
}

export interface ParsedCheckpointName {
  key: string;
  generation: number;
}

export function parseCheckpointFileName(name: string): ParsedCheckpointName | undefined {
  const match = FINAL_NAME.exec(name);
  if (!match?.[2] || !match[3]) return undefined;
  const generation = Number(match[3]);
  return Number.isSafeInteger(generation) ? { key: match[2], generation } : undefined;
}

/** A temporary name beside the final one: same folder (so the rename is atomic), never matching a final name. */
export function tempFileName(finalName: string): string {
  return `${finalName}.${randomBytes(8).toString('hex')}.tmp`;
}

/** Whether a name is one of our temporary files (only those are removed when a store opens). */
export function isTempFileName(name: string): boolean {
  return TEMP_NAME.test(name);
}
