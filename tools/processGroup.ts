// Ending a detached child together with everything it started. The VS Code server runs in its own
// process group (and session), so closing the terminal does not reach it: the launcher must end
// the group itself, on Ctrl-C, on `kill`, when the terminal closes (SIGHUP), and when it fails.

/** The signals after which a launcher stops what it started and exits. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Sends `signal` to every process of the group `pgid`; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills the group with SIGKILL when this process exits, whatever the reason (an error included):
 * the last resort, synchronous as 'exit' handlers must be. Returns the function that disarms it,
 * for when the group was ended the orderly way.
 */
export function killGroupOnExit(pgid: number): () => void {
  const kill = (): void => {
    signalGroup(pgid, 'SIGKILL');
  };
  process.on('exit', kill);
  return () => {
    process.off('exit', kill);
  };
}

/**
 * Calls `stop` on the first stop signal, then exits with `exitCode`; a second signal exits at once
 * (the 'exit' handlers still run). Output may fail after SIGHUP (the terminal is gone), so errors
 * writing to stdout and stderr are ignored from then on. Returns the function that removes the
 * handlers.
 */
export function onStopSignal(stop: (signal: StopSignal) => Promise<void>, exitCode = 0): () => void {
  let stopping = false;
  const handler = (signal: StopSignal): void => {
    if (stopping) process.exit(128 + (signal === 'SIGHUP' ? 1 : signal === 'SIGINT' ? 2 : 15));
    stopping = true;
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    stop(signal).then(
      () => process.exit(exitCode),
      () => process.exit(1),
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, handler);
  };
}
