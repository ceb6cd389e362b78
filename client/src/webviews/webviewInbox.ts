// What a panel does with a message its webview posts, without the VS Code API (so it is
// unit-tested): check it against the panel's shape, hand only a valid one on, and log the rest.
// Nothing a webview posts can make the extension's listener throw.
import { validate, type Check } from './messageValidator';

export interface InboxLog {
  warn(message: string): void;
  error(message: string): void;
}

/** Checks `raw` and hands it to `handle`; true when it was valid and handled. Never throws. */
export function receiveWebviewMessage<T>(
  viewType: string,
  check: Check<T>,
  raw: unknown,
  log: InboxLog,
  handle: (message: T) => void,
): boolean {
  let checked: ReturnType<typeof validate<T>>;
  try {
    checked = validate(check, raw);
  } catch (error) {
    // A check that throws something other than its MessageError is a bug in the check, not the webview's.
    log.error(`${viewType}: checking a message from the webview failed: ${describe(error)}`);
    return false;
  }
  if (!checked.ok) {
    log.warn(`${viewType}: ignored a message from the webview: ${checked.error}`);
    return false;
  }
  try {
    handle(checked.value);
    return true;
  } catch (error) {
    log.error(
      `${viewType}: handling a ${describeType(checked.value)} message from the webview failed: ${describe(error)}`,
    );
    return false;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeType(message: unknown): string {
  const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? JSON.stringify(type) : 'valid';
}
