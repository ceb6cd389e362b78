// The engine logs through this interface; the LSP wiring sends it to the client's output channel,
// the command line to stderr. The engine never writes to stdout: in --stdio mode that is the
// language server's transport.
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** Turns anything thrown into a message that says what it was. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
