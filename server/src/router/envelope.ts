// A message as the router carries it: what the sender wrote in its outbox slot (destination,
// type, payload) wrapped with who sent it, its place in the sender→receiver sequence, and its
// hybrid logical clock time. The host reads the outbox; the router adds the rest. The router keeps
// pending and delivered messages in slot rings (pendingQueue.ts, retentionRing.ts), not as these
// objects: an Envelope is what takeInbox hands out (tests, tools), one copy per message.
import type { HlcTimestamp } from './hybridLogicalClock';
import type { RoutingDecision } from './routingDecision';

export interface Envelope {
  /** The sending kernel's index (its place in the manifest). */
  readonly source: number;
  /** The receiving kernel's index. */
  readonly destination: number;
  /** Chosen by the sender. */
  readonly type: number;
  /**
   * The sender's count of messages to this destination, from 0. Every message the sender addresses
   * to a known kernel takes the next number, accepted or refused, so a re-run after a restore
   * gives the same numbers and the router recognises the re-sent ones as duplicates.
   */
  readonly seq: number;
  /** The sender's clock at the send (physical << 16 | logical). */
  readonly timestamp: HlcTimestamp;
  /** At most 48 bytes (decodeOutbox cuts longer ones). */
  readonly payload: Uint8Array;
  /** The sender's step that sent it. */
  readonly sendStep: number;
  /** The route to the receiver's device: decided on arrival, decided again if the receiver moves or the topology changes. */
  readonly route: RoutingDecision;
  /** The receiver's step that will deliver it again, after a restore from an older checkpoint; -1 otherwise. */
  readonly replayStep: number;
}
