// Validation as the editor needs it: per document, debounced while typing and at once on open and
// save; a newer version cancels the run still going for the older one (AbortController), and only
// the newest version's result is published. Runs are asynchronous (Tint in its child process, ptxas
// and the Metal compiler as processes with deadlines), so the server keeps answering meanwhile.
// Only typing waits: a save starts its run in the same turn of the event loop, with no timer (a
// zero-delay timer costs at least 1 ms, and on a loaded machine another wake-up of the process).
import type { Logger } from '../logger';
import { errorMessage } from '../logger';
import {
  ValidatorSet,
  kernelLanguageOf,
  type ValidationContext,
  type ValidationOutcome,
  type ValidatorSetOptions,
} from './validatorSet';

export interface DocumentToValidate {
  uri: string;
  /** The editor's language id (`wgsl`, `ptx`, `msl`) or anything else (then it is not validated). */
  languageId: string;
  version: number;
  text: string;
}

export interface ValidationServiceOptions extends Omit<ValidatorSetOptions, 'logger'> {
  logger: Logger;
  /** Receives each document's newest result. */
  publish: (uri: string, version: number, outcome: ValidationOutcome) => void;
  /** Quiet time after the last change before validating (default 250 ms). */
  debounceMs?: number;
  /** Per-document context (manifest entry points, ptxas setting, devices), read at each run. */
  contextFor?: (uri: string) => Omit<ValidationContext, 'signal'>;
  /** Share a validator set (and its Tint host) with other users; the service then does not dispose it. */
  validators?: ValidatorSet;
}

interface DocumentState {
  latestVersion: number;
  /** The last skip reason logged, so a missing compiler is said once, not on every keystroke. */
  lastSkipLogged: string | undefined;
  timer: NodeJS.Timeout | undefined;
  running: AbortController | undefined;
}

export class ValidationService {
  private readonly documents = new Map<string, DocumentState>();
  private readonly validators: ValidatorSet;
  private readonly ownsValidators: boolean;
  private disposed = false;

  constructor(private readonly options: ValidationServiceOptions) {
    this.validators = options.validators ?? new ValidatorSet(options);
    this.ownsValidators = options.validators === undefined;
  }

  warmUp(): void {
    this.validators.warmUp();
  }

  /** A change: validate after the debounce, unless another change (or a save) comes first. */
  schedule(document: DocumentToValidate): void {
    if (this.disposed || kernelLanguageOf(document.languageId) === undefined) return;
    const state = this.stateFor(document);
    if (state.timer) clearTimeout(state.timer);
    // The old run's result would be dropped anyway: stop it now.
    state.running?.abort();
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.run(document, state);
    }, this.options.debounceMs ?? 250);
  }

  /** Open or save: validate now, in this turn (cancelling an older run and a pending debounced one). */
  validateSoon(document: DocumentToValidate): void {
    if (this.disposed || kernelLanguageOf(document.languageId) === undefined) return;
    void this.validate(document);
  }

  /**
   * Validates now and resolves with the outcome, or with undefined when a newer version replaced
   * this one first (then that version's result is published instead). Publishes as well.
   */
  validate(document: DocumentToValidate): Promise<ValidationOutcome | undefined> {
    const state = this.stateFor(document);
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    return this.run(document, state);
  }

  /** The document closed: stop its work and forget it. */
  close(uri: string): void {
    const state = this.documents.get(uri);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    state.running?.abort();
    this.documents.delete(uri);
  }

  dispose(): void {
    this.disposed = true;
    for (const uri of [...this.documents.keys()]) this.close(uri);
    if (this.ownsValidators) this.validators.dispose();
  }

  private stateFor(document: DocumentToValidate): DocumentState {
    let state = this.documents.get(document.uri);
    if (!state) {
      state = { latestVersion: document.version, timer: undefined, running: undefined, lastSkipLogged: undefined };
      this.documents.set(document.uri, state);
    }
    state.latestVersion = Math.max(state.latestVersion, document.version);
    return state;
  }

  private async run(document: DocumentToValidate, state: DocumentState): Promise<ValidationOutcome | undefined> {
    const language = kernelLanguageOf(document.languageId);
    if (language === undefined || this.disposed) return undefined;
    state.running?.abort();
    const controller = new AbortController();
    state.running = controller;
    let outcome: ValidationOutcome;
    try {
      let context: Omit<ValidationContext, 'signal'> = {};
      try {
        context = this.options.contextFor?.(document.uri) ?? {};
      } catch (error) {
        this.options.logger.warn(
          `validation context for ${document.uri} could not be read (validating without it): ${errorMessage(error)}`,
        );
      }
      outcome = await this.validators.validate(language, document.text, { ...context, signal: controller.signal });
    } catch (error) {
      // ValidatorSet never throws; this is the last line of defence.
      this.options.logger.error(`validation of ${document.uri} failed: ${errorMessage(error)}`);
      return undefined;
    } finally {
      if (state.running === controller) state.running = undefined;
    }
    const current = this.documents.get(document.uri) === state;
    if (controller.signal.aborted || !current || document.version < state.latestVersion || this.disposed) {
      this.options.logger.debug(
        `validation of ${document.uri} v${document.version} dropped: a newer version is being validated`,
      );
      return undefined;
    }
    // The diagnostics go out first: the log lines below are more messages on the same connection.
    try {
      this.options.publish(document.uri, document.version, outcome);
    } catch (error) {
      this.options.logger.error(`publishing diagnostics for ${document.uri} failed: ${errorMessage(error)}`);
    }
    const summary = `${outcome.diagnostics.length} diagnostic${outcome.diagnostics.length === 1 ? '' : 's'}`;
    this.options.logger.debug(
      `validated ${document.uri} v${document.version} with ${outcome.validator} in ${outcome.ms.toFixed(1)} ms: ${summary}`,
    );
    for (const note of outcome.notes ?? []) this.options.logger.debug(`  ${note}`);
    if (outcome.skipped !== undefined && outcome.skipped !== state.lastSkipLogged) {
      this.options.logger.info(`validation of ${document.uri} incomplete (${outcome.validator}): ${outcome.skipped}`);
    }
    state.lastSkipLogged = outcome.skipped;
    return outcome;
  }
}
