// The PTX and MSL validators in a worker thread (validatorWorker.ts) the fuzz target can stop: an
// input that hangs a parser becomes a failed property with its input (then shrunk), not a stuck run.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ValidationOutcome } from '../../server/src/validation/validatorSet';

export interface ValidationRequest {
  id: number;
  language: 'ptx' | 'msl';
  text: string;
  parserOnly: boolean;
}

export interface ValidationReply {
  id: number;
  outcome: ValidationOutcome;
  /** What the validator logged as errors while answering. */
  errors: string[];
}

export class StoppableValidator {
  private worker: Worker | undefined;
  private nextId = 0;
  /** Workers stopped because an answer was late. */
  stopped = 0;

  private start(): Worker {
    const worker = new Worker(join(__dirname, 'validatorWorker.js'));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** Rejects when no answer comes within `ms`; the worker is then terminated and the next call gets a new one. */
  validate(
    language: ValidationRequest['language'],
    text: string,
    parserOnly: boolean,
    ms: number,
  ): Promise<ValidationReply> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<ValidationReply>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      const onMessage = (reply: ValidationReply): void => {
        if (reply.id !== id) return;
        done();
        resolve(reply);
      };
      const onError = (error: Error): void => {
        done();
        this.worker = undefined;
        reject(new Error(`the ${language} validator's worker failed: ${error.message}`));
      };
      const timer = setTimeout(() => {
        done();
        this.worker = undefined;
        this.stopped++;
        void worker.terminate();
        reject(
          new Error(
            `no answer within ${ms} ms from the ${language.toUpperCase()} validator (${text.length} characters): a hang; its worker thread was stopped`,
          ),
        );
      }, ms);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage({ id, language, text, parserOnly } satisfies ValidationRequest);
    });
  }

  async dispose(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
