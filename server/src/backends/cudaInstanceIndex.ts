// Where the device instances of CUDA GPUs are numbered (ringkernel.cuda.instancesPerDevice; see
// probe/cudaInstances.ts): the GPUs keep their ordinals (cuda:0 .. cuda:G-1) and the further
// instances follow GPU by GPU, so instance k (1 <= k < N) of GPU g is G + g*(N-1) + k-1. A leaf, so
// the CUDA backend (in its host) and the probe (in the server) number them the same way.

/** The CUDA ordinal (physical GPU) behind device index `index`, on a machine of `gpus` GPUs opened `perDevice` times each. */
export function cudaOrdinalOf(index: number, gpus: number, perDevice: number): number {
  if (perDevice <= 1 || index < gpus) return index;
  return Math.floor((index - gpus) / (perDevice - 1));
}

/** The device index of instance `k` of GPU `ordinal` (instance 0 is the GPU's own index). */
export function cudaInstanceIndex(ordinal: number, k: number, gpus: number, perDevice: number): number {
  return k === 0 ? ordinal : gpus + ordinal * (perDevice - 1) + (k - 1);
}
