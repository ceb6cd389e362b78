// Delivered inboxes waiting in a device host for their kernel's next step (free-running mode).
// Keyed by kernel index, not by loop, so they survive the loop being stopped and started again
// (a hot reload, a checkpoint) in this process. The server keeps at most a few inboxes per kernel
// in flight (runtime/messageDelivery.ts: MAX_INBOXES_IN_FLIGHT), so the receiver's next steps find
// theirs without a round trip each; a step takes the oldest, so the order holds.
import type { InboxDelivery } from '../hostProtocol';

export class Mailboxes {
  private readonly waiting = new Map<number, InboxDelivery[]>();

  deliver(kernel: number, inbox: InboxDelivery): void {
    const queue = this.waiting.get(kernel);
    if (queue) queue.push(inbox);
    else this.waiting.set(kernel, [inbox]);
  }

  /** Whether an inbox waits for `kernel`. */
  has(kernel: number): boolean {
    return this.waiting.has(kernel);
  }

  /** The oldest inbox for `kernel`'s next step, removed; undefined when none waits. */
  take(kernel: number): InboxDelivery | undefined {
    const queue = this.waiting.get(kernel);
    const inbox = queue?.shift();
    if (queue?.length === 0) this.waiting.delete(kernel);
    return inbox;
  }

  /** Everything waiting for `kernel`, oldest first; the mailbox is emptied. */
  drain(kernel: number): InboxDelivery[] {
    const queue = this.waiting.get(kernel) ?? [];
    this.waiting.delete(kernel);
    return queue;
  }
}
