// The client's own copy of "what was thrown, as a sentence": the client imports nothing from the
// engine but the protocol module (the rule is in .dependency-cruiser.cjs).

/** Turns anything thrown into a message that says what it was. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
