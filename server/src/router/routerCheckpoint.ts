// The router's part of a kernel's checkpoint file (the PEND chunk) and the way back: after a server
// restart every kernel resumes from its own newest file, each taken at its own time, and the
// router is seeded from all of them before any kernel runs, so nothing is lost or delivered twice.
//
// Which file carries what (docs/checkpoint-format.md, "Pending messages"):
// - A receiver's file, taken before its step c: per sender, the sequence number the router had
//   handled up to (everything below is in the receiver's state, in this list, or was refused or
//   failed and counted), and the messages addressed to it not consumed by a step before c
//   (pending, in a mailbox, or consumed at c or later).
// - A sender's file, taken before its step a: per receiver, the number its re-run from a sends
//   first, and the messages it sent before a that the router still held (pending, or retained
//   because no checkpoint of the receiver was known to cover them). A receiver's file taken
//   earlier than the sender's does not have those; the sender's does.
// Seeding pair S→R: the candidates are R's list and those of S's list at or above R's handled
// number (below it R has them or consumed them); one copy per sequence number. S's re-run numbers
// from its saved next number; what it sends again below the pair's new handled number is dropped
// as a duplicate (counted), as after an in-server restore.
import { PairRecord, type KernelRecord, type WindowShape } from './kernelRecord';
import type { PendingMessage } from './pendingQueue';
import type { RoutingDecision } from './routingDecision';

/** What a restore needs of the router's insides (K2KRouter.restoreMessages passes them). */
export interface RouterCheckpointContext {
  records: readonly (KernelRecord | undefined)[];
  window: WindowShape;
  decide(fromSlot: number, toSlot: number): RoutingDecision;
  /** The router's monotonic clock (ms). */
  now(): number;
  /** Lockstep queues a step's messages in (send step, source, sequence) order; free-running in arrival order. */
  lockstep: boolean;
}

export interface SavedPair {
  role: 'incoming' | 'outgoing';
  peer: number;
  peerId: string;
  sequence: number;
}

export interface SavedMessage {
  source: number;
  destination: number;
  type: number;
  seq: number;
  timestamp: bigint;
  sendStep: number;
  payload: Uint8Array;
}

/** One kernel's share of the router at a checkpoint; the checkpoint file's PendingMessages has this shape. */
export interface SavedMessages {
  kernelIndex: number;
  pairs: SavedPair[];
  messages: SavedMessage[];
}

export interface RestoredMessages {
  /** Messages put back in receivers' queues. */
  restored: number;
  /** Pairs whose sequence numbers were set from the files. */
  pairs: number;
  /** What could not be restored and why (a peer that is not the kernel it was, a receiver gone). */
  notes: string[];
}

/** What kernel `record`'s checkpoint before its step `step` carries of the router. */
export function savedMessagesOf(
  records: readonly (KernelRecord | undefined)[],
  record: KernelRecord,
  step: number,
): SavedMessages {
  const pairs: SavedPair[] = [];
  const messages: SavedMessage[] = [];
  const index = record.index;
  // As a receiver.
  for (const sender of records) {
    const pair = sender?.outgoing[index];
    if (sender && pair)
      pairs.push({ role: 'incoming', peer: sender.index, peerId: sender.id, sequence: pair.handledNext });
  }
  for (const kept of record.retained.peekFrom(step)) messages.push({ ...kept, destination: index });
  for (let i = 0; i < record.queue.length; i++) messages.push({ ...record.queue.message(i), destination: index });
  // As a sender (its messages to itself are in the list above already).
  for (const pair of record.outgoing) {
    if (!pair) continue;
    const receiver = records[pair.destination];
    const next = pair.seqAt(step);
    pairs.push({ role: 'outgoing', peer: pair.destination, peerId: receiver?.id ?? '', sequence: next });
    if (!receiver || receiver === record) continue;
    for (const kept of receiver.retained.peekFrom(Number.NEGATIVE_INFINITY))
      if (kept.source === index && kept.seq < next) messages.push({ ...kept, destination: receiver.index });
    const queue = receiver.queue;
    for (let i = 0; i < queue.length; i++)
      if (queue.source(i) === index && queue.seq(i) < next)
        messages.push({ ...queue.message(i), destination: receiver.index });
  }
  // Per pair in sequence order (the file's rule); a restore orders the pairs' messages by their clocks.
  messages.sort((a, b) => a.destination - b.destination || a.source - b.source || a.seq - b.seq);
  return { kernelIndex: index, pairs, messages: messages.map(strip) };
}

/**
 * Seeds the router from the checkpoint files of kernels about to resume (a restarted server),
 * before any of them runs. `records` are the registered kernels; a file whose kernel is not
 * registered under its index is the caller's to leave out.
 */
export function restoreSavedMessages(
  context: RouterCheckpointContext,
  saved: readonly SavedMessages[],
): RestoredMessages {
  const { records } = context;
  const result: RestoredMessages = { restored: 0, pairs: 0, notes: [] };
  const files = new Map(saved.map((s) => [s.kernelIndex, s]));
  interface PairSeed {
    source: number;
    destination: number;
    nextSeq?: number;
    handled?: number;
    fromReceiver: SavedMessage[];
    fromSender: SavedMessage[];
  }
  const seeds = new Map<string, PairSeed>();
  const seedOf = (source: number, destination: number): PairSeed => {
    const key = `${source}>${destination}`;
    let seed = seeds.get(key);
    if (!seed) {
      seed = { source, destination, fromReceiver: [], fromSender: [] };
      seeds.set(key, seed);
    }
    return seed;
  };
  for (const file of saved) {
    const own = file.kernelIndex;
    const stale = new Set<number>();
    for (const pair of file.pairs) {
      if (records[pair.peer]?.id !== pair.peerId) {
        // The manifest changed: index `peer` is another kernel now (or none); its messages are not this one's.
        stale.add(pair.peer);
        result.notes.push(
          `"${records[own]?.id ?? own}": its file's ${pair.role === 'incoming' ? 'sender' : 'receiver'} #${pair.peer} was "${pair.peerId}", now ${records[pair.peer] ? `"${records[pair.peer]?.id}"` : 'no kernel'}; its messages and numbers are not restored`,
        );
        continue;
      }
      if (pair.role === 'incoming') seedOf(pair.peer, own).handled = pair.sequence;
      else seedOf(own, pair.peer).nextSeq = pair.sequence;
    }
    for (const message of file.messages) {
      const peer = message.destination === own ? message.source : message.destination;
      if (stale.has(peer) && peer !== own) continue;
      const seed = seedOf(message.source, message.destination);
      (message.destination === own ? seed.fromReceiver : seed.fromSender).push(message);
    }
  }
  const byReceiver = new Map<number, SavedMessage[]>();
  for (const seed of seeds.values()) {
    const receiver = records[seed.destination];
    const sender = records[seed.source];
    // Without the receiver's file its state starts afresh: what the sender's file holds is all there is.
    const handled = files.has(seed.destination) ? (seed.handled ?? 0) : 0;
    const kept = new Map<number, SavedMessage>();
    for (const message of seed.fromReceiver) kept.set(message.seq, message);
    for (const message of seed.fromSender)
      if (message.seq >= handled && !kept.has(message.seq)) kept.set(message.seq, message);
    if (!receiver) {
      if (kept.size > 0)
        result.notes.push(
          `${kept.size} message(s) from #${seed.source} to #${seed.destination} were not restored: no kernel has that index now`,
        );
      continue;
    }
    let highest = -1;
    for (const seq of kept.keys()) highest = Math.max(highest, seq);
    if (sender) {
      let pair = sender.outgoing[seed.destination];
      if (!pair) {
        pair = new PairRecord(seed.source, seed.destination, context.window);
        sender.outgoing[seed.destination] = pair;
      }
      // A sender without a file starts from step 0 and numbers from 0: its re-sent messages below the handled number are duplicates.
      pair.nextSeq = Math.max(pair.nextSeq, files.has(seed.source) ? (seed.nextSeq ?? 0) : 0);
      pair.handledNext = Math.max(pair.handledNext, handled, highest + 1);
      pair.pending += kept.size;
      result.pairs++;
      for (const message of kept.values()) sender.clock.advanceTo(message.timestamp);
    }
    const list = byReceiver.get(seed.destination) ?? [];
    list.push(...kept.values());
    byReceiver.set(seed.destination, list);
  }
  const now = context.now();
  for (const [index, list] of byReceiver) {
    const receiver = records[index];
    if (!receiver || list.length === 0) continue;
    // Lockstep: the order endStep accepted them in, so a resumed run matches an uninterrupted one.
    // Free-running: arrival order, which the clocks follow; one pair's timestamps grow with its
    // numbers (one sender's clock), so either keeps each pair's order.
    if (context.lockstep) list.sort((a, b) => a.sendStep - b.sendStep || a.source - b.source || a.seq - b.seq);
    else
      list.sort((a, b) =>
        a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.source - b.source || a.seq - b.seq,
      );
    const envelopes = list.map((message): PendingMessage => {
      const fromSlot = records[message.source]?.deviceSlot ?? receiver.deviceSlot;
      return {
        ...message,
        route: context.decide(fromSlot, receiver.deviceSlot),
        replayStep: -1,
        fromSlot,
        acceptedMs: now,
        arrivalStep: receiver.lastStep,
      };
    });
    receiver.queue.unshiftAll(envelopes);
    result.restored += envelopes.length;
  }
  return result;
}

function strip(message: SavedMessage): SavedMessage {
  return {
    source: message.source,
    destination: message.destination,
    type: message.type,
    seq: message.seq,
    timestamp: message.timestamp,
    sendStep: message.sendStep,
    payload: message.payload,
  };
}
