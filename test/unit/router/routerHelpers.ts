// Small builders for the router tests: messages with numbered payloads, a clock the test moves.
import type { OutboxMessage } from '../../../server/src/abi/kernelAbi';
import type { Envelope } from '../../../server/src/router/envelope';

/** A message whose payload is the given 32-bit words. */
export function message(destination: number, type: number, ...words: number[]): OutboxMessage {
  return { destination, type, payload: new Uint8Array(Uint32Array.from(words).buffer) };
}

/** The payload's 32-bit words. */
export function words(envelope: { payload: Uint8Array }): number[] {
  const view = new DataView(envelope.payload.buffer, envelope.payload.byteOffset, envelope.payload.byteLength);
  return Array.from({ length: Math.floor(envelope.payload.byteLength / 4) }, (_, i) => view.getUint32(i * 4, true));
}

/** What a test compares: who sent it, its sequence number and its first payload word. */
export function brief(envelope: Envelope): string {
  return `${envelope.source}>${envelope.destination}#${envelope.seq}:${words(envelope)[0] ?? '-'}`;
}

export class ManualClock {
  constructor(public ms = 1000) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}
