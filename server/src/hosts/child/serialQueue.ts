// Runs async tasks one at a time, in the order they were queued, as a GPU queue would. A failing
// task fails only its own promise; the next one still runs.

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waitingRequests = 0;

  /** Requests (not loop slices) queued and not yet started: a running slice yields to them. */
  get requestsWaiting(): number {
    return this.waitingRequests;
  }

  /** Queues a request from the server: counted, so step loops can let it in after their current step. */
  request<T>(task: () => Promise<T> | T): Promise<T> {
    this.waitingRequests++;
    return this.run(() => {
      this.waitingRequests--;
      return task();
    });
  }

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(task);
    // The chain must survive a rejection; the caller sees it through `result`.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
