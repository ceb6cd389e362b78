// Free-running delivery (the editor): the device hosts' step loops send what their kernels wrote
// to the server in batches (loopMessages), the K2K router accepts them at once, and each
// receiver's next inbox goes to its host's mailbox, where the kernel's next step takes it. A
// message lands at the receiver's first step after it reaches the receiver's host.
//
// Flow control: a kernel has at most one inbox in its host's mailbox. The next is taken from the
// router only when the host reports the last one consumed, so what waits stays in the router's
// bounded pending queue, where it is counted and visible, and a full queue refuses (the sender's
// outbox overflow) instead of the host's memory growing.
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
import { decodeOutbox } from '../abi/kernelAbi';
import { errorMessage, type Logger } from '../logger';
import type { DeviceKey } from '../probe/probeRecords';
import type { GpuTopology } from '../topology/gpuTopology';
import { K2KRouter, encodeInbox, type RouterStatsSnapshot } from '../router';

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
  private lostWithHost = 0;

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
   * A kernel is about to start its loop in `kernel.host` (first start, or again after a stop).
   * Registered before its first step, so its first batch finds it. A kernel started before gets
   * nothing until kernelRestoring (its start from a checkpoint) puts back what it must receive.
   */
  kernelStarting(kernel: DeliveryKernel): void {
    const known = this.kernels.get(kernel.index);
    if (known && known.id !== kernel.id) this.kernelRemoved(known.id);
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
      this.router.addKernel({ index: kernel.index, id: kernel.id, device: kernel.device });
      this.kernels.set(kernel.index, {
        ...kernel,
        inFlight: [],
        carried: [],
        step: 0,
        running: true,
        awaitingRestore: false,
      });
    }
    this.attachHost(kernel.host);
    this.pump();
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
      const { messages, dropped } = sent.outbox
        ? decodeOutbox(sent.outbox, entry.outboxCapacity)
        : { messages: [], dropped: sent.sent };
      this.router.submit({ source: entry.index, step: sent.step, messages, outboxFull: dropped });
    }
    entry.step = batch.nextStep;
    this.pump();
    this.options.onChange?.();
  }

  /** Every running kernel with an empty mailbox and messages pending gets its next inbox. */
  private pump(): void {
    for (const entry of this.kernels.values()) {
      if (!entry.running || entry.awaitingRestore || entry.inFlight.length > 0 || entry.inboxCapacity <= 0) continue;
      if (this.router.pendingFor(entry.index) === 0) continue;
      const envelopes = this.router.takeInbox(entry.index, entry.inboxCapacity, entry.step, { inFlight: true });
      if (envelopes.length === 0) continue;
      const encoded = encodeInbox(envelopes, entry.inboxCapacity);
      const inbox: InboxDelivery = { slots: encoded.bytes.subarray(0, encoded.usedBytes), count: encoded.count };
      if (entry.host.deliver(entry.index, inbox)) entry.inFlight.push(inbox.count);
      else entry.carried.push(inbox); // no host process right now: it goes with the next start
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
