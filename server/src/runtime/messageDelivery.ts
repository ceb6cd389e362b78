// Free-running delivery (the editor): the device hosts' step loops send what their kernels wrote
// to the server in batches (loopMessages), the K2K router accepts them at once, and each
// receiver's next inbox goes to its host's mailbox, where the kernel's next step takes it. A
// message lands at the receiver's first step after it reaches the receiver's host.
//
// Flow control: a kernel has at most MAX_INBOXES_IN_FLIGHT inboxes (and about MAX_MESSAGES_IN_FLIGHT
// messages) in its host's mailbox. A few, so the receiver's next steps find their inboxes without
// waiting a round trip to the server after each; few, so what waits beyond them stays in the
// router's bounded pending queue, where it is counted and visible, and a full queue refuses (the
// sender's outbox overflow) instead of the host's memory growing. In-flight messages stay in the
// router's retention until the host reports the step that consumed them (below), so the bound on
// messages keeps them well inside its retention limit.
//
// Start-up: the runtime registers every kernel it is about to start (kernelsExpected) before the
// first one runs, so a message sent at step 0 to a kernel further down the manifest waits in that
// kernel's pending queue (its route decided once it is placed) instead of failing as an unknown
// destination. It is handed over once the kernel started (kernelStarted); a kernel that does not
// start turns what waits for it into counted failures (destinationNotStarted).
//
// A kernel's mailbox outlives its loop (reloads and checkpoints stop and start the loop in the
// same host). When the kernel migrates (messagesFollow), the mailbox is taken back and handed to
// its next host before its first step there, so nothing is lost or repeated and the order holds.
//
// Restores (a host died, a loop failed, a stopped kernel starts again): the router keeps what it
// handed out (retentionRing.ts) until a checkpoint of the receiver covers it: an inbox counts as
// in flight until the host reports the step that consumed it (loopMessages' inboxSteps), and a
// checkpoint before step c covers only what steps before c consumed (checkpointCovers). When the
// kernel is created again from a checkpoint at step c (kernelRestoring, before its first step),
// its old mailbox is dropped and router.restore puts back, in order, what steps from c consumed
// and what was still in flight; its own re-sent messages are recognised by their per-pair
// sequence numbers and dropped. Until then nothing is handed to it, so the order holds. What the
// router could not keep (past its retention limit) is counted (lostWithHost), never silently gone.
import type { DeviceHost } from '../hosts/deviceHost';
import type { HostLoopMessages, InboxDelivery } from '../hosts/hostProtocol';
import { errorMessage, type Logger } from '../logger';
import type { DeviceKey } from '../probe/probeRecords';
import type { GpuTopology } from '../topology/gpuTopology';
import { SLOT_BYTES, inboxBytes } from '../abi/kernelAbi';
import { K2KRouter, OutboxSlots, UNPLACED, type RouterStatsSnapshot } from '../router';

/** Inboxes of one kernel sent to its host's mailbox and not yet reported consumed, at most. */
export const MAX_INBOXES_IN_FLIGHT = 4;
/**
 * Messages of one kernel in flight, at most (its first inbox goes whatever its size): half the
 * router's default retention (32,768 per receiver), so nothing in flight is evicted before its
 * consuming step is known.
 */
export const MAX_MESSAGES_IN_FLIGHT = 16384;

export interface DeliveryKernel {
  /** The kernel's index: its place in the manifest, its control block's kernel_index. */
  index: number;
  id: string;
  device: DeviceKey;
  host: DeviceHost;
  inboxCapacity: number;
  outboxCapacity: number;
}

interface Entry extends DeliveryKernel {
  /** Messages in inboxes sent to the host's mailbox and not yet consumed, oldest first (one count per inbox). */
  inFlight: number[];
  /** Inboxes taken back from a host the kernel left, for its next host. */
  carried: InboxDelivery[];
  /** The kernel's next step as far as its batches tell. */
  step: number;
  /** False while stopped: its host may be gone, nothing is sent to it. */
  running: boolean;
  /** Its host died or it is starting again: nothing goes to it until it is restored (kernelRestoring). */
  awaitingRestore: boolean;
  /** Registered ahead (kernelsExpected) and starting for the first time: nothing goes to it until kernelStarted. */
  held: boolean;
}

/** The router's snapshot plus what only the delivery knows. */
export interface DeliveryStats extends RouterStatsSnapshot {
  delivery: {
    /** Messages sitting in hosts' mailboxes, taken from the router, waiting for their kernel's next step. */
    inMailboxes: number;
    /**
     * Messages a restored kernel had consumed after its checkpoint (or had in its mailbox) that the
     * router could no longer deliver again: evicted past its retention limit. 0 while retention holds.
     */
    lostWithHost: number;
  };
}

export interface MessageDeliveryOptions {
  log: Logger;
  topology?: GpuTopology;
  enableP2P?: boolean;
  pendingLimit?: number;
  /** The router's figures changed (a batch was routed, a kernel came or went). */
  onChange?(): void;
}

export class MessageDelivery {
  readonly router: K2KRouter;
  private readonly kernels = new Map<number, Entry>();
  private readonly hosts = new Map<DeviceHost, { dispose(): void }[]>();
  /** Kernels registered ahead (kernelsExpected) that have not reached kernelStarting, by index: their ids. */
  private readonly expected = new Map<number, string>();
  private lostWithHost = 0;
  private inboxScratch = new Uint8Array(0);

  constructor(private readonly options: MessageDeliveryOptions) {
    this.router = new K2KRouter({
      mode: 'freeRunning',
      ...(options.topology ? { topology: options.topology } : {}),
      ...(options.enableP2P !== undefined ? { enableP2P: options.enableP2P } : {}),
      ...(options.pendingLimit !== undefined ? { pendingLimit: options.pendingLimit } : {}),
    });
  }

  /** Listens to a host's loops (once per host) and notes when it dies. */
  attachHost(host: DeviceHost): void {
    if (this.hosts.has(host)) return;
    this.hosts.set(host, [
      host.onLoopMessages((batch) => this.received(host, batch)),
      host.onRestart(() => this.hostRestarted(host)),
    ]);
  }

  detachHost(host: DeviceHost): void {
    for (const subscription of this.hosts.get(host) ?? []) subscription.dispose();
    this.hosts.delete(host);
  }

  /**
   * The kernels about to start (a manifest's, before the first of them starts). Each one not yet
   * known is registered with the router, not placed yet, so what is sent to it meanwhile waits in
   * its bounded pending queue; a stopped one accepts messages again. Follow with kernelStarting for
   * each, then kernelStarted, or kernelStartFailed.
   */
  kernelsExpected(kernels: readonly { index: number; id: string }[]): void {
    for (const { index, id } of kernels) {
      const entry = this.kernels.get(index);
      if (entry?.id === id) {
        this.router.setRunning(index, true);
        continue;
      }
      if (this.expected.get(index) === id) continue;
      if (entry) this.kernelRemoved(entry.id);
      const waiting = this.expected.get(index);
      if (waiting !== undefined) this.kernelRemoved(waiting);
      this.router.addKernel({ index, id, device: UNPLACED });
      this.expected.set(index, id);
    }
  }

  /**
   * A kernel is about to start its loop in `kernel.host` (first start, or again after a stop).
   * Registered before its first step, so its first batch finds it. A kernel started before gets
   * nothing until kernelRestoring (its start from a checkpoint) puts back what it must receive.
   */
  kernelStarting(kernel: DeliveryKernel): void {
    const known = this.kernels.get(kernel.index);
    if (known && known.id !== kernel.id) this.kernelRemoved(known.id);
    const ahead = this.expected.get(kernel.index);
    if (ahead !== undefined && ahead !== kernel.id) this.kernelRemoved(ahead);
    const entry = this.kernels.get(kernel.index);
    if (entry) {
      Object.assign(entry, {
        host: kernel.host,
        inboxCapacity: kernel.inboxCapacity,
        outboxCapacity: kernel.outboxCapacity,
        running: true,
        // It starts from a checkpoint (or from scratch): kernelRestoring hands it what it needs.
        awaitingRestore: true,
      });
      if (entry.device !== kernel.device) this.router.relocate(kernel.index, kernel.device);
      entry.device = kernel.device;
      this.router.setRunning(kernel.index, true);
    } else {
      const registeredAhead = this.expected.get(kernel.index) === kernel.id;
      this.expected.delete(kernel.index);
      if (registeredAhead) {
        this.router.relocate(kernel.index, kernel.device);
        this.router.setRunning(kernel.index, true);
      } else {
        this.router.addKernel({ index: kernel.index, id: kernel.id, device: kernel.device });
      }
      this.kernels.set(kernel.index, {
        ...kernel,
        inFlight: [],
        carried: [],
        step: 0,
        running: true,
        awaitingRestore: false,
        held: registeredAhead,
      });
    }
    this.attachHost(kernel.host);
    this.pump();
  }

  /** The kernel's start finished (its loop runs): what waited for it since kernelsExpected goes to it. */
  kernelStarted(id: string): void {
    const entry = this.entryOf(id);
    if (!entry?.held) return;
    entry.held = false;
    this.pump();
  }

  /**
   * The kernel did not start. One registered ahead and never started is forgotten: what waited for
   * it fails (destinationNotStarted, counted), and later messages to it are unknownDestination. One
   * that ran before is stopped again (kernelStopped): its pending messages wait for its next start.
   */
  async kernelStartFailed(id: string): Promise<void> {
    for (const [index, waiting] of this.expected) {
      if (waiting !== id) continue;
      this.expected.delete(index);
      this.router.removeKernel(index, 'destinationNotStarted');
      this.options.onChange?.();
      return;
    }
    const entry = this.entryOf(id);
    if (!entry) return;
    if (entry.held) {
      // Nothing was handed to it (held), so its pending queue holds everything sent to it.
      this.kernels.delete(entry.index);
      this.router.removeKernel(entry.index, 'destinationNotStarted');
      this.options.onChange?.();
      return;
    }
    await this.kernelStopped(id);
  }

  /**
   * The kernel is about to be created again in its host with a checkpoint's state from before step
   * `step` (after its host died or its loop failed, or a start after a stop), before its first
   * step. Its old mailbox is dropped; the router puts back what steps from `step` consumed and
   * what was in flight, and rewinds its sequence numbers so that what it sends again is dropped.
   */
  async kernelRestoring(id: string, step: number): Promise<void> {
    const entry = this.entryOf(id);
    if (!entry) return;
    entry.awaitingRestore = true;
    if (entry.inFlight.length > 0) {
      // Its host lives (a failed loop): empty the mailbox, whose inboxes the restore repeats. The
      // answer comes after every loopMessages the host sent before it.
      await entry.host.takeMailbox(entry.index).catch(() => undefined);
    }
    entry.inFlight = [];
    entry.carried = [];
    const result = this.router.restore([entry.index], step);
    entry.step = step;
    entry.awaitingRestore = false;
    this.lostWithHost += result.lost;
    if (result.lost > 0 || result.redelivered > 0 || result.rewoundPairs > 0)
      this.options.log.info(
        `router: kernel "${id}" restored from step ${step}: ${result.redelivered} messages delivered again, ${result.rewoundPairs} sequences rewound${result.lost > 0 ? `, ${result.lost} no longer kept (lost)` : ''}`,
      );
    for (const line of result.incomplete) this.options.log[result.lost > 0 ? 'warn' : 'debug'](`router: ${line}`);
    this.pump();
    this.options.onChange?.();
  }

  /**
   * Kernel `id`'s oldest checkpoint a recovery may go back to holds its state before step `step`:
   * what it consumed before that step need not be kept for a redelivery, nor its sends logged.
   */
  checkpointCovers(id: string, step: number): void {
    const entry = this.entryOf(id);
    if (entry) this.router.acknowledgeCheckpoint(entry.index, step);
  }

  /**
   * The kernel stopped (its loop is stopped, so its last batch has arrived) and is about to leave
   * its host: its mailbox is taken back for its next start. New messages to it fail
   * (destinationStopped); those pending wait for it.
   */
  async kernelStopped(id: string): Promise<void> {
    const entry = this.entryOf(id);
    if (!entry) return;
    entry.running = false;
    this.router.setRunning(entry.index, false);
    await this.takeBack(entry);
  }

  /** The kernel left the manifest: its pending messages fail (destinationRemoved, counted). */
  kernelRemoved(id: string): void {
    for (const [index, waiting] of this.expected) {
      if (waiting !== id) continue;
      this.expected.delete(index);
      this.router.removeKernel(index);
    }
    const entry = this.entryOf(id);
    if (!entry) return;
    this.kernels.delete(entry.index);
    this.router.removeKernel(entry.index);
  }

  /**
   * Migration hook: call at a migration's switch, after the kernel's loop stopped in its old host
   * and before it starts in `host` on `device`. Its mailbox moves with it, and the router routes
   * its pending messages to the new device (router.relocate), in order, none dropped.
   */
  async messagesFollow(id: string, device: DeviceKey, host: DeviceHost): Promise<{ rerouted: number }> {
    const entry = this.entryOf(id);
    if (!entry) throw new Error(`router: no kernel "${id}" is registered for messages`);
    await this.takeBack(entry);
    entry.host = host;
    entry.device = device;
    this.attachHost(host);
    const result = this.router.relocate(entry.index, device);
    if (entry.running) this.handOverCarried(entry);
    this.pump();
    return result;
  }

  setTopology(topology: GpuTopology): void {
    this.router.setTopology(topology);
  }

  setEnableP2P(enableP2P: boolean): void {
    this.router.setEnableP2P(enableP2P);
  }

  snapshot(): DeliveryStats {
    let inMailboxes = 0;
    for (const entry of this.kernels.values()) {
      for (const count of entry.inFlight) inMailboxes += count;
      for (const inbox of entry.carried) inMailboxes += inbox.count;
    }
    return { ...this.router.snapshot(), delivery: { inMailboxes, lostWithHost: this.lostWithHost } };
  }

  dispose(): void {
    for (const host of [...this.hosts.keys()]) this.detachHost(host);
  }

  // Internals.

  /** Reused memory for encoding inboxes: fresh memory costs a page fault per 4 KiB, more than the encoding. */
  private scratch(capacity: number): Uint8Array {
    const bytes = inboxBytes(capacity);
    if (this.inboxScratch.byteLength < bytes) this.inboxScratch = new Uint8Array(bytes);
    return this.inboxScratch;
  }

  private entryOf(id: string): Entry | undefined {
    for (const entry of this.kernels.values()) if (entry.id === id) return entry;
    return undefined;
  }

  /** One loop's batch: accepted by the router in step order, then whatever can be delivered goes out. */
  private received(host: DeviceHost, batch: HostLoopMessages): void {
    const entry = this.kernels.get(batch.kernel);
    if (!entry || entry.host !== host) {
      const sent = batch.steps.reduce((sum, step) => sum + step.sent, 0);
      if (sent > 0)
        this.options.log.warn(
          `router: ${sent} messages from kernel index ${batch.kernel}, which is not registered on that host, were not routed`,
        );
      return;
    }
    for (const step of batch.inboxSteps) {
      const count = entry.inFlight.shift();
      if (count !== undefined) this.router.inboxConsumed(entry.index, count, step);
    }
    for (const sent of batch.steps) {
      // Read in place (the host's ring, valid during this call): only what the router keeps is copied.
      if (!sent.outbox) {
        this.router.submit({ source: entry.index, step: sent.step, messages: [], outboxFull: sent.sent });
        continue;
      }
      const messages = new OutboxSlots(sent.outbox, entry.outboxCapacity);
      this.router.submit({ source: entry.index, step: sent.step, messages, outboxFull: messages.dropped });
    }
    entry.step = batch.nextStep;
    this.pump();
    this.options.onChange?.();
  }

  /** Every running kernel with room in its mailbox (flow control, above) and messages pending gets its next inboxes. */
  private pump(): void {
    for (const entry of this.kernels.values()) {
      // Inboxes carried from a host it left go first (handOverCarried): nothing may overtake them.
      if (!entry.running || entry.awaitingRestore || entry.held || entry.carried.length > 0 || entry.inboxCapacity <= 0)
        continue;
      let inFlight = 0;
      for (const count of entry.inFlight) inFlight += count;
      while (
        entry.inFlight.length < MAX_INBOXES_IN_FLIGHT &&
        (entry.inFlight.length === 0 || inFlight + entry.inboxCapacity <= MAX_MESSAGES_IN_FLIGHT) &&
        this.router.pendingFor(entry.index) > 0
      ) {
        // Written into reused memory: deliver copies it (into the host's ring, or the IPC message) before returning.
        const scratch = this.scratch(entry.inboxCapacity);
        const count = this.router.takeInboxInto(entry.index, entry.inboxCapacity, entry.step, scratch, {
          inFlight: true,
        });
        if (count === 0) break;
        const inbox: InboxDelivery = { slots: scratch.subarray(0, count * SLOT_BYTES), count };
        if (!entry.host.deliver(entry.index, inbox)) {
          // No host process right now: it goes with the next start, so it keeps its own copy.
          entry.carried.push({ slots: inbox.slots.slice(), count: inbox.count });
          break;
        }
        entry.inFlight.push(inbox.count);
        inFlight += inbox.count;
      }
    }
  }

  private handOverCarried(entry: Entry | undefined): void {
    if (!entry) return;
    while (entry.carried.length > 0) {
      const inbox = entry.carried[0];
      if (!inbox || !entry.host.deliver(entry.index, inbox)) return;
      entry.carried.shift();
      entry.inFlight.push(inbox.count);
    }
  }

  /** Takes the kernel's unconsumed inboxes out of its host, to carry them to its next one. */
  private async takeBack(entry: Entry): Promise<void> {
    if (entry.inFlight.length === 0) return;
    try {
      const { inboxes } = await entry.host.takeMailbox(entry.index);
      entry.carried.push(...inboxes);
    } catch (error) {
      // The host is gone with the mailbox; the router still has those messages in flight.
      const requeued = this.router.requeueInFlight(entry.index);
      this.options.log.warn(
        `router: kernel "${entry.id}"'s mailbox could not be taken from its host (${errorMessage(error)}); its ${requeued} messages wait in the router again`,
      );
    }
    entry.inFlight = [];
  }

  /**
   * The host died with its mailboxes: its kernels come back from their checkpoints (the runtime
   * recovers them), and kernelRestoring then delivers again what they lost, in order.
   */
  private hostRestarted(host: DeviceHost): void {
    for (const entry of this.kernels.values()) {
      if (entry.host !== host) continue;
      entry.inFlight = [];
      entry.carried = [];
      entry.awaitingRestore = true;
    }
  }
}
