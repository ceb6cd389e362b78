// Messages between the language server and its Tint host child (tintHostMain.ts), over Node IPC.

/** One `GPUCompilationMessage`, copied field by field (Dawn's fields are getters). */
export interface TintMessage {
  type: 'error' | 'warning' | 'info';
  /** 1-based, as Dawn reports them. */
  lineNum: number;
  linePos: number;
  /** UTF-16 code units from the start of the source. */
  offset: number;
  length: number;
  message: string;
}

/** server → host */
export type TintRequest =
  | { kind: 'validate'; id: number; code: string }
  /** Destroys the current device, as a driver reset would: tests that a lost device is replaced. */
  | { kind: 'lose-device' };

/** host → server */
export type TintReply =
  | { kind: 'ready'; adapter: string }
  | { kind: 'result'; id: number; messages: TintMessage[]; scopeError?: string; ms: number; deviceRecreated: boolean }
  | { kind: 'failed'; id: number; error: string }
  | { kind: 'log'; message: string }
  | { kind: 'fatal'; error: string };
