// Checkpoint records for the checkpoint tests, a temporary folder per test, and fast-check options
// with a printed seed so a failing property run can be repeated exactly.
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { crc32 } from 'node:zlib';
import { MemorySink } from '../../../server/src/checkpoint/byteStreams';
import { encodeCheckpoint } from '../../../server/src/checkpoint/checkpointEncoder';
import type { CheckpointRecord } from '../../../server/src/checkpoint/checkpointRecord';
import { KernelCheckpoint } from '../../../server/src/checkpoint/kernelCheckpoint';
import type { PendingMessages } from '../../../server/src/checkpoint/pendingMessages';

export interface SampleOptions {
  kernelId?: string;
  version?: number;
  step?: number;
  stateBytes?: number;
  /** Include the optional chunks (HLC state and pending messages). */
  full?: boolean;
}

/** Bytes that differ from step to step, so a file of one step never passes for another. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

export function sampleRecord(options: SampleOptions = {}): CheckpointRecord {
  const step = options.step ?? 1234;
  const kernelId = options.kernelId ?? 'heat';
  const checkpoint = KernelCheckpoint.of(
    { kernelId, version: options.version ?? 3, step, state: patternBytes(options.stateBytes ?? 64, step) },
    new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678)),
  );
  const record: CheckpointRecord = {
    checkpoint,
    codeSha256: 'ab'.repeat(32),
    backend: 'webgpu',
    deviceKey: 'webgpu:1',
    control: { step: step % 2 ** 32, kernelIndex: 2, inboxCount: 0, outboxCapacity: 16 },
  };
  if (options.full) {
    record.hlc = { physicalMicros: 1_735_787_045_678_123, logical: 7, nodeId: 42 };
    record.pendingMessages = samplePending(record.control.kernelIndex);
  }
  return record;
}

/** The router's share of kernel `kernelIndex`'s checkpoint: two senders' messages to it, and its own to a third kernel. */
export function samplePending(kernelIndex: number): PendingMessages {
  const message = (source: number, destination: number, seq: number, length: number) => ({
    source,
    destination,
    type: 5,
    seq,
    timestamp: (1_735_787_045_678n << 16n) | BigInt(seq),
    sendStep: 1200 + seq,
    payload: patternBytes(length, seq),
  });
  return {
    kernelIndex,
    pairs: [
      { role: 'incoming', peer: 0, peerId: 'sender-0', sequence: 12 },
      { role: 'incoming', peer: 7, peerId: 'émetteur', sequence: 3 },
      { role: 'outgoing', peer: 9, peerId: 'sink', sequence: 41 },
    ],
    messages: [
      message(0, kernelIndex, 10, 48),
      message(0, kernelIndex, 11, 0),
      message(7, kernelIndex, 2, 4),
      message(kernelIndex, 9, 40, 12),
    ],
  };
}

export async function encodeToBytes(record: CheckpointRecord): Promise<Uint8Array> {
  const sink = new MemorySink();
  await encodeCheckpoint(record, sink);
  return sink.bytes();
}

/** Recomputes the trailer's CRC-32 after a test edited the bytes on purpose (to reach the checks behind it). */
export function reseal(bytes: Uint8Array): Uint8Array {
  const crc = crc32(bytes.subarray(0, bytes.byteLength - 4));
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(bytes.byteLength - 4, crc >>> 0, true);
  return bytes;
}

export async function withTempFolder<T>(body: (folder: string) => Promise<T>): Promise<T> {
  const folder = await mkdtemp(join(tmpdir(), 'ringkernel-checkpoint-'));
  try {
    return await body(folder);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** fast-check options with a seed from RINGKERNEL_FC_SEED or a fresh one, printed as a test diagnostic. */
export function propertyRuns(t: TestContext, numRuns: number): { seed: number; numRuns: number } {
  const fromEnv = process.env.RINGKERNEL_FC_SEED;
  const seed = fromEnv ? Number(fromEnv) : randomInt(2 ** 31);
  t.diagnostic(`fast-check seed ${seed} (RINGKERNEL_FC_SEED=${seed} repeats this run)`);
  return { seed, numRuns };
}
