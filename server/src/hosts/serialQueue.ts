// Runs async tasks one at a time, in the order they were queued, as a GPU queue would. A failing
// task fails only its own promise; the next one still runs.

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(task);
    // The chain must survive a rejection; the caller sees it through `result`.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
