// Runs in a worker thread for the validators' fuzz target: the PTX and MSL parsers run in the
// thread that calls them, so an input that hangs one can only be stopped from outside that thread.
// The target terminates this worker when an answer is late and starts a new one.
import { parentPort } from 'node:worker_threads';
import type { Logger } from '../../server/src/logger';
import { ValidatorSet, type KernelLanguage, type ValidationContext } from '../../server/src/validation/validatorSet';
import type { ValidationRequest, ValidationReply } from './stoppableValidator';

const errors: string[] = [];
const logger: Logger = {
  error: (m) => errors.push(m),
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};
const validators = new ValidatorSet({ logger });

parentPort?.on('message', (request: ValidationRequest) => {
  const context: ValidationContext = { parserOnly: request.parserOnly };
  void validators.validate(request.language as KernelLanguage, request.text, context).then((outcome) => {
    const reply: ValidationReply = { id: request.id, outcome, errors: errors.splice(0) };
    parentPort?.postMessage(reply);
  });
});
