// The small chunks' payloads, both ways: metadata, control block, HLC state. Encoding checks the
// values (a file no reader accepts must never be written); decoding checks every length and value
// and throws MalformedPayload, which the decoder turns into an error naming the file and chunk.
import { CONTROL_BYTES, CONTROL_WORD, encodeControl, type ControlBlock } from '../abi/kernelAbi';
import type { CheckpointMetadata, HlcState } from './checkpointRecord';
import { HLC, HLC_BYTES, MAX_STRING_BYTES, METADATA, METADATA_FIXED_BYTES } from './checkpointFormat';

export class MalformedPayload extends Error {}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} ${value} is not a whole number from 0 to 2^53-1`);
}

function checkU32(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new RangeError(`${what} ${value} is not a 32-bit unsigned integer`);
}

/** UTF-8 of a string the metadata carries; a string that is not well-formed Unicode would not read back the same. */
export function metadataString(what: string, value: string): Uint8Array {
  // With the u flag a surrogate pair is one code point, so only a lone surrogate matches.
  if (/[\uD800-\uDFFF]/u.test(value))
    throw new RangeError(
      `${what} ${JSON.stringify(value.slice(0, 80))} is not well-formed Unicode (it has a lone surrogate), so it cannot be stored`,
    );
  const bytes = utf8.encode(value);
  if (bytes.byteLength > MAX_STRING_BYTES)
    throw new RangeError(
      `${what} is ${bytes.byteLength} bytes of UTF-8; a checkpoint holds at most ${MAX_STRING_BYTES}`,
    );
  return bytes;
}

export function encodeMetadata(meta: CheckpointMetadata): Uint8Array {
  checkCount('version', meta.version);
  checkCount('step', meta.step);
  checkCount('state size', meta.stateBytes);
  const takenAtMs = meta.takenAt.getTime();
  if (!Number.isSafeInteger(takenAtMs)) throw new RangeError(`time ${String(meta.takenAt)} is not a valid date`);
  if (!/^[0-9a-f]{64}$/.test(meta.codeSha256))
    throw new RangeError(`code hash "${meta.codeSha256}" is not a SHA-256 in lowercase hex`);
  const strings = [
    metadataString('kernel id', meta.kernelId),
    metadataString('backend', meta.backend),
    metadataString('device key', meta.deviceKey),
  ];
  const bytes = new Uint8Array(METADATA_FIXED_BYTES + strings.reduce((sum, s) => sum + 2 + s.byteLength, 0));
  const view = viewOf(bytes);
  view.setBigUint64(METADATA.version, BigInt(meta.version), true);
  view.setBigUint64(METADATA.step, BigInt(meta.step), true);
  view.setBigInt64(METADATA.takenAtMs, BigInt(takenAtMs), true);
  view.setBigUint64(METADATA.stateBytes, BigInt(meta.stateBytes), true);
  bytes.set(Buffer.from(meta.codeSha256, 'hex'), METADATA.codeSha256);
  let at = METADATA.strings;
  for (const s of strings) {
    view.setUint16(at, s.byteLength, true);
    bytes.set(s, at + 2);
    at += 2 + s.byteLength;
  }
  return bytes;
}

function readCount(view: DataView, at: number, what: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedPayload(`${what} is ${value}, more than 2^53-1`);
  return Number(value);
}

export function decodeMetadata(bytes: Uint8Array): CheckpointMetadata {
  if (bytes.byteLength < METADATA_FIXED_BYTES + 6)
    throw new MalformedPayload(`metadata is ${bytes.byteLength} bytes, expected at least ${METADATA_FIXED_BYTES + 6}`);
  const view = viewOf(bytes);
  const takenAtMs = view.getBigInt64(METADATA.takenAtMs, true);
  if (takenAtMs > 8.64e15 || takenAtMs < -8.64e15)
    throw new MalformedPayload(`time ${takenAtMs} ms is outside the range of a date`);
  let at: number = METADATA.strings;
  const strings: string[] = [];
  for (const what of ['kernel id', 'backend', 'device key']) {
    if (at + 2 > bytes.byteLength) throw new MalformedPayload(`metadata ends before the length of the ${what}`);
    const length = view.getUint16(at, true);
    if (at + 2 + length > bytes.byteLength)
      throw new MalformedPayload(
        `the ${what} is ${length} bytes, but the metadata ends ${bytes.byteLength - at - 2} bytes after its length`,
      );
    try {
      strings.push(strictUtf8.decode(bytes.subarray(at + 2, at + 2 + length)));
    } catch {
      throw new MalformedPayload(`the ${what} is not valid UTF-8`);
    }
    at += 2 + length;
  }
  if (at !== bytes.byteLength)
    throw new MalformedPayload(`metadata has ${bytes.byteLength - at} bytes after its last field`);
  return {
    version: readCount(view, METADATA.version, 'version'),
    step: readCount(view, METADATA.step, 'step'),
    takenAt: new Date(Number(takenAtMs)),
    stateBytes: readCount(view, METADATA.stateBytes, 'state size'),
    codeSha256: Buffer.from(bytes.subarray(METADATA.codeSha256, METADATA.codeSha256 + 32)).toString('hex'),
    kernelId: strings[0] ?? '',
    backend: strings[1] ?? '',
    deviceKey: strings[2] ?? '',
  };
}

/** The control block's step word is the low 32 bits of the checkpoint's step; both sides hold to it. */
export function controlStepWord(step: number): number {
  return step % 2 ** 32;
}

export function encodeControlChunk(control: ControlBlock, step: number): Uint8Array {
  for (const [field, value] of Object.entries(control)) checkU32(`control block ${field}`, value as number);
  if (control.step !== controlStepWord(step))
    throw new RangeError(`control block step ${control.step} is not the low 32 bits of the checkpoint's step ${step}`);
  return encodeControl(control);
}

export function decodeControlChunk(bytes: Uint8Array, step: number): ControlBlock {
  if (bytes.byteLength !== CONTROL_BYTES)
    throw new MalformedPayload(`control block is ${bytes.byteLength} bytes, expected ${CONTROL_BYTES}`);
  const view = viewOf(bytes);
  const word = (index: number): number => view.getUint32(index * 4, true);
  const control = {
    step: word(CONTROL_WORD.step),
    kernelIndex: word(CONTROL_WORD.kernelIndex),
    inboxCount: word(CONTROL_WORD.inboxCount),
    outboxCapacity: word(CONTROL_WORD.outboxCapacity),
  };
  if (control.step !== controlStepWord(step))
    throw new MalformedPayload(
      `control block step is ${control.step}, expected ${controlStepWord(step)} (the low 32 bits of the metadata's step ${step})`,
    );
  return control;
}

export function encodeHlc(hlc: HlcState): Uint8Array {
  checkCount('HLC physical time', hlc.physicalMicros);
  checkU32('HLC logical counter', hlc.logical);
  checkU32('HLC node id', hlc.nodeId);
  const bytes = new Uint8Array(HLC_BYTES);
  const view = viewOf(bytes);
  view.setBigUint64(HLC.physicalMicros, BigInt(hlc.physicalMicros), true);
  view.setUint32(HLC.logical, hlc.logical, true);
  view.setUint32(HLC.nodeId, hlc.nodeId, true);
  return bytes;
}

export function decodeHlc(bytes: Uint8Array): HlcState {
  if (bytes.byteLength !== HLC_BYTES)
    throw new MalformedPayload(`HLC state is ${bytes.byteLength} bytes, expected ${HLC_BYTES}`);
  const view = viewOf(bytes);
  return {
    physicalMicros: readCount(view, HLC.physicalMicros, 'HLC physical time'),
    logical: view.getUint32(HLC.logical, true),
    nodeId: view.getUint32(HLC.nodeId, true),
  };
}
