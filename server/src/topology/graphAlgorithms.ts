// Graph algorithms behind GpuTopology, on plain indices: widest path with hop and latency
// tie-breaks, maximum flow, and balanced bipartitions. Kept free of topology types so they can be
// tested and reasoned about on their own.

export interface Edge {
  from: number;
  to: number;
  bandwidth: number;
  latency: number;
}

/**
 * The widest path from `source` to `target`: maximum bottleneck bandwidth; among paths whose
 * bottleneck is within `tolerance` (a fraction) of that maximum, the fewest hops; then the lowest
 * total latency; then the lowest device indices, so the answer is deterministic.
 *
 * Two phases, because "widest, then fewest hops" is not a property plain Dijkstra preserves (a
 * narrow short prefix can become the best once a narrow edge follows): first a modified Dijkstra
 * finds the best bottleneck B; then, on the edges of at least B × (1 − tolerance), a Dijkstra on
 * (hops, latency), which is additive and so exact.
 *
 * Returns the edges in order, [] when source === target, undefined when there is no path.
 */
export function widestPath(
  nodeCount: number,
  edges: readonly Edge[],
  source: number,
  target: number,
  tolerance: number,
): Edge[] | undefined {
  if (source === target) return [];
  const outgoing: Edge[][] = Array.from({ length: nodeCount }, () => []);
  for (const edge of edges) outgoing[edge.from]?.push(edge);

  const width = new Array<number>(nodeCount).fill(-1);
  const done = new Array<boolean>(nodeCount).fill(false);
  width[source] = Number.POSITIVE_INFINITY;
  for (;;) {
    let u = -1;
    for (let i = 0; i < nodeCount; i++)
      if (!done[i] && (width[i] ?? -1) >= 0 && (u < 0 || (width[i] ?? -1) > (width[u] ?? -1))) u = i;
    if (u < 0) break;
    done[u] = true;
    if (u === target) break;
    for (const edge of outgoing[u] ?? []) {
      const through = Math.min(width[u] ?? -1, edge.bandwidth);
      if (through > (width[edge.to] ?? -1)) width[edge.to] = through;
    }
  }
  const best = width[target] ?? -1;
  if (best < 0) return undefined;

  const threshold = best * (1 - tolerance);
  const hops = new Array<number>(nodeCount).fill(Number.POSITIVE_INFINITY);
  const latency = new Array<number>(nodeCount).fill(Number.POSITIVE_INFINITY);
  const via = new Array<Edge | undefined>(nodeCount).fill(undefined);
  const settled = new Array<boolean>(nodeCount).fill(false);
  hops[source] = 0;
  latency[source] = 0;
  const better = (h1: number, l1: number, h2: number, l2: number): boolean => h1 < h2 || (h1 === h2 && l1 < l2 - 1e-9);
  for (;;) {
    let u = -1;
    for (let i = 0; i < nodeCount; i++) {
      if (settled[i] || hops[i] === Number.POSITIVE_INFINITY) continue;
      if (u < 0 || better(hops[i] ?? 0, latency[i] ?? 0, hops[u] ?? 0, latency[u] ?? 0)) u = i;
    }
    if (u < 0 || u === target) break;
    settled[u] = true;
    for (const edge of outgoing[u] ?? []) {
      if (edge.bandwidth < threshold || settled[edge.to]) continue;
      const h = (hops[u] ?? 0) + 1;
      const l = (latency[u] ?? 0) + edge.latency;
      if (better(h, l, hops[edge.to] ?? 0, latency[edge.to] ?? 0)) {
        hops[edge.to] = h;
        latency[edge.to] = l;
        via[edge.to] = edge;
      }
    }
  }
  const path: Edge[] = [];
  for (let at = target; at !== source;) {
    const edge = via[at];
    if (!edge) return undefined;
    path.unshift(edge);
    at = edge.from;
  }
  return path;
}

/** A capacity network for maxFlow: capacities[from][to], GB/s. */
export class FlowNetwork {
  readonly capacity: number[][];

  constructor(readonly size: number) {
    this.capacity = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  }

  add(from: number, to: number, capacity: number): void {
    const row = this.capacity[from];
    if (row && to < this.size && from !== to) row[to] = (row[to] ?? 0) + capacity;
  }
}

/** Edmonds-Karp maximum flow from `sources` to `sinks` (node sets) over a copy of the network. */
export function maxFlow(network: FlowNetwork, sources: readonly number[], sinks: readonly number[]): number {
  const n = network.size + 2;
  const superSource = network.size;
  const superSink = network.size + 1;
  const residual = Array.from({ length: n }, (_, i) =>
    i < network.size ? [...(network.capacity[i] ?? []), 0, 0] : new Array<number>(n).fill(0),
  );
  const total = sources.length + sinks.length > 0 ? Number.MAX_SAFE_INTEGER : 0;
  for (const s of sources) {
    const row = residual[superSource];
    if (row) row[s] = total;
  }
  for (const t of sinks) {
    const row = residual[t];
    if (row) row[superSink] = total;
  }

  let flow = 0;
  const parent = new Array<number>(n);
  for (;;) {
    parent.fill(-1);
    parent[superSource] = superSource;
    const queue = [superSource];
    for (let head = 0; head < queue.length && parent[superSink] === -1; head++) {
      const u = queue[head] ?? 0;
      const row = residual[u] ?? [];
      for (let v = 0; v < n; v++) {
        if (parent[v] === -1 && (row[v] ?? 0) > 1e-9) {
          parent[v] = u;
          queue.push(v);
        }
      }
    }
    if (parent[superSink] === -1) return flow;
    let push = Number.POSITIVE_INFINITY;
    for (let v = superSink; v !== superSource; v = parent[v] ?? superSource) {
      const u = parent[v] ?? superSource;
      push = Math.min(push, residual[u]?.[v] ?? 0);
    }
    for (let v = superSink; v !== superSource; v = parent[v] ?? superSource) {
      const u = parent[v] ?? superSource;
      const forward = residual[u];
      const backward = residual[v];
      if (forward) forward[v] = (forward[v] ?? 0) - push;
      if (backward) backward[u] = (backward[u] ?? 0) + push;
    }
    flow += push;
  }
}

/** Every subset of {0..n-1} with k members, as sorted index lists, in lexicographic order. */
export function* combinations(n: number, k: number): Generator<number[]> {
  if (k < 0 || k > n) return;
  const pick = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield [...pick];
    let i = k - 1;
    while (i >= 0 && pick[i] === n - k + i) i--;
    if (i < 0) return;
    pick[i] = (pick[i] ?? 0) + 1;
    for (let j = i + 1; j < k; j++) pick[j] = (pick[j - 1] ?? 0) + 1;
  }
}

export interface Bipartition {
  /** The smaller half (floor(n/2) members), the side traffic leaves from. */
  from: number[];
  to: number[];
  value: number;
}

/** Enumeration is exact up to this many devices: C(16, 8) = 12,870 flow computations. */
export const EXACT_BISECTION_LIMIT = 16;

/**
 * The balanced bipartition (floor(n/2) | ceil(n/2)) minimising `cut(from, to)`, where `cut` is a
 * directed quantity (traffic from one half to the other). Exact by enumerating every half for
 * n ≤ EXACT_BISECTION_LIMIT: each half appears once as `from` and, as the complement of another
 * half when n is even, once as `to`, so both directions are covered. Larger n: a local search
 * (pairwise swaps from several starting splits), which finds a balanced cut but may miss the
 * minimum.
 */
export function minimumBisection(
  n: number,
  cut: (from: number[], to: number[]) => number,
  startingSplits: readonly number[][] = [],
): Bipartition & { exact: boolean } {
  const all = Array.from({ length: n }, (_, i) => i);
  const k = Math.floor(n / 2);
  const complement = (half: number[]): number[] => all.filter((i) => !half.includes(i));
  const evaluate = (from: number[]): Bipartition => {
    const to = complement(from);
    let value = cut(from, to);
    let best = { from, to, value };
    if (n % 2 === 1) {
      // With an odd count the halves differ in size: also send from the larger half to the smaller.
      value = cut(to, from);
      if (value < best.value) best = { from: to, to: from, value };
    }
    return best;
  };
  if (n < 2) return { from: all, to: [], value: 0, exact: true };
  if (n <= EXACT_BISECTION_LIMIT) {
    let best: Bipartition | undefined;
    for (const half of combinations(n, k)) {
      const candidate = evaluate(half);
      if (!best || candidate.value < best.value - 1e-9) best = candidate;
    }
    return { ...(best ?? evaluate(all.slice(0, k))), exact: true };
  }
  const starts = [
    all.slice(0, k),
    all.filter((i) => i % 2 === 0).slice(0, k),
    ...startingSplits.filter((s) => s.length === k),
  ];
  let best = evaluate(starts[0] ?? all.slice(0, k));
  for (const start of starts) {
    let current = evaluate([...start].sort((a, b) => a - b));
    for (let improved = true, rounds = 0; improved && rounds < 4 * n; rounds++) {
      improved = false;
      const side = n % 2 === 1 && current.from.length !== k ? current.to : current.from;
      for (const a of side) {
        for (const b of complement(side)) {
          const swapped = side.map((x) => (x === a ? b : x)).sort((x, y) => x - y);
          const candidate = evaluate(swapped);
          if (candidate.value < current.value - 1e-9) {
            current = candidate;
            improved = true;
            break;
          }
        }
        if (improved) break;
      }
    }
    if (current.value < best.value) best = current;
  }
  return { ...best, exact: false };
}
