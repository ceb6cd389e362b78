// Messages between the language server and the Metal parser's worker thread (mslParserWorker.ts,
// child/mslParserMain.ts).
import type { ValidationResult } from '../diagnostic';

export interface MslParseRequest {
  kind: 'validate';
  id: number;
  text: string;
  parseBudgetMs?: number | undefined;
  unlimited?: boolean | undefined;
}

/** Loads the parser ahead of the first file. */
export interface MslWarmUpRequest {
  kind: 'warmUp';
}

export type MslParserRequest = MslParseRequest | MslWarmUpRequest;

export type MslParseReply =
  | { id: number; ok: true; result: ValidationResult }
  /** The parse threw (a WebAssembly RuntimeError, say): the worker's instance may be corrupt. */
  | { id: number; ok: false; error: string };

export interface MslParserWorkerData {
  /** Int32 word 0 holds the id of the request to cancel (the server's AbortSignal, across the thread). */
  cancel: SharedArrayBuffer;
}
