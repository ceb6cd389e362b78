// The examples/ring token's trip, as a model: the kernels' states after N lockstep steps.
import { createHash } from 'node:crypto';

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The ring's states after `steps` lockstep steps (ring.wgsl's rules), as the kernels' digests. */
export function ringModel(size: number, steps: number): string[] {
  const states = Array.from({ length: size }, () => new Uint32Array(6));
  let token: { to: number; from: number; hops: number; trail: number } | undefined = {
    to: 1 % size,
    from: 0,
    hops: 0,
    trail: 0,
  };
  for (let step = 1; step < steps && token; step++) {
    const me: number = token.to;
    const state = states[me]!;
    const hops: number = token.hops + 1;
    const trail: number = (Math.imul(token.trail, 31) + me + 1) >>> 0;
    state[0] = (state[0] ?? 0) + 1;
    state[1] = hops;
    state[2] = trail;
    state[3] = step;
    state[4] = token.from;
    if (hops < 96) token = { to: (me + 1) % size, from: me, hops, trail };
    else {
      state[5] = 1;
      token = undefined;
    }
  }
  return states.map((state) => sha256(new Uint8Array(state.buffer)));
}
