// Lines that drivers print on every start and that say nothing to the user: Dawn lowering limits
// it can never reach ("maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000
// to 16"), lavapipe announcing it is not conformant. They go to the log at debug level only; any
// other driver output stays visible. A leaf: the server, the hosts and the command line use it.
const NOISE: readonly RegExp[] = [
  /artificially reduced from \d+ to \d+/,
  /lavapipe is not a conformant vulkan implementation/i,
];

export function isDriverNoise(line: string): boolean {
  return NOISE.some((pattern) => pattern.test(line));
}

/** Whether the command line prints driver noise too (RINGKERNEL_DEBUG=1). */
export function showDriverNoise(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['RINGKERNEL_DEBUG'] === '1';
}

/** The command line's handler for a probe child's output line: stderr, noise only with RINGKERNEL_DEBUG=1. */
export function printDriverLine(line: string): void {
  if (isDriverNoise(line) && !showDriverNoise()) return;
  process.stderr.write(`[driver] ${line}\n`);
}
