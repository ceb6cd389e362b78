// What the PTX parser knows about instructions: every base mnemonic of the PTX ISA (through 9.x),
// and the operand counts of the common ones where the count does not depend on the modifiers.

const MNEMONICS = [
  // integer and floating-point arithmetic
  'abs',
  'add',
  'addc',
  'bfe',
  'bfi',
  'bfind',
  'bmsk',
  'brev',
  'clz',
  'cnot',
  'copysign',
  'cos',
  'div',
  'dp2a',
  'dp4a',
  'ex2',
  'fma',
  'fns',
  'lg2',
  'lop3',
  'mad',
  'mad24',
  'madc',
  'max',
  'min',
  'mul',
  'mul24',
  'neg',
  'not',
  'popc',
  'prmt',
  'rcp',
  'rem',
  'rsqrt',
  'sad',
  'shf',
  'shl',
  'shr',
  'sin',
  'sqrt',
  'sub',
  'subc',
  'szext',
  'tanh',
  'testp',
  'and',
  'or',
  'xor',
  // comparison, selection, conversion, movement
  'cvt',
  'cvta',
  'mov',
  'movmatrix',
  'selp',
  'set',
  'setp',
  'slct',
  'isspacep',
  'istypeof',
  // memory
  'ld',
  'ldu',
  'st',
  'prefetch',
  'prefetchu',
  'applypriority',
  'discard',
  'createpolicy',
  'cp',
  'ldmatrix',
  'stmatrix',
  'alloca',
  'stacksave',
  'stackrestore',
  'mapa',
  'getctarank',
  'multimem',
  'tensormap',
  // synchronization and communication
  'atom',
  'red',
  'bar',
  'barrier',
  'fence',
  'membar',
  'mbarrier',
  'vote',
  'match',
  'activemask',
  'shfl',
  'redux',
  'elect',
  'griddepcontrol',
  'nanosleep',
  'clusterlaunchcontrol',
  // control flow
  'bra',
  'brx',
  'call',
  'ret',
  'exit',
  'trap',
  'brkpt',
  'pmevent',
  // textures and surfaces
  'tex',
  'tld4',
  'txq',
  'suld',
  'sust',
  'sured',
  'suq',
  // matrix and tensor cores
  'mma',
  'wmma',
  'wgmma',
  'tcgen05',
  // registers
  'setmaxnreg',
  // SIMD video instructions
  'vabsdiff',
  'vadd',
  'vmad',
  'vmax',
  'vmin',
  'vset',
  'vshl',
  'vshr',
  'vsub',
  'vabsdiff2',
  'vabsdiff4',
  'vadd2',
  'vadd4',
  'vavrg2',
  'vavrg4',
  'vmax2',
  'vmax4',
  'vmin2',
  'vmin4',
  'vset2',
  'vset4',
  'vsub2',
  'vsub4',
];

export const PTX_MNEMONICS: ReadonlySet<string> = new Set(MNEMONICS);

/**
 * Operand counts that hold for every modifier combination of these instructions (counting a
 * vector `{...}`, an address `[...]`, and a predicate pair `p|q` as one operand each). Instructions
 * whose count varies with modifiers in ways not spelled out here are simply not checked.
 */
const OPERAND_COUNTS: Record<string, readonly number[]> = {
  mov: [2],
  add: [3],
  sub: [3],
  addc: [3],
  subc: [3],
  mul: [3],
  mul24: [3],
  mad: [4],
  madc: [4],
  mad24: [4],
  sad: [4],
  fma: [4],
  div: [3],
  rem: [3],
  and: [3],
  or: [3],
  xor: [3],
  not: [2],
  cnot: [2],
  neg: [2],
  shl: [3],
  shr: [3],
  selp: [4],
  slct: [4],
  setp: [3, 4],
  cvta: [2],
  popc: [2],
  clz: [2],
  brev: [2],
  bfind: [2],
  bfe: [4],
  bfi: [5],
  prmt: [4],
  copysign: [3],
  rcp: [2],
  sqrt: [2],
  rsqrt: [2],
  sin: [2],
  cos: [2],
  lg2: [2],
  ex2: [2],
  ld: [2, 3],
  ldu: [2],
  st: [2, 3],
  bra: [1],
  ret: [0],
  exit: [0],
  trap: [0],
  brkpt: [0],
};

export function expectedOperandCounts(mnemonic: string): readonly number[] | undefined {
  return OPERAND_COUNTS[mnemonic];
}

/** The base name of a mnemonic: `ld` for `ld.global.nc.v4.f32`. */
export function baseMnemonic(word: string): string {
  const dot = word.indexOf('.');
  return dot < 0 ? word : word.slice(0, dot);
}

/** The closest known mnemonic within an edit distance of 2, for "did you mean". */
export function suggestMnemonic(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of MNEMONICS) {
    if (Math.abs(candidate.length - name.length) > bestDistance) continue;
    const distance = editDistance(name, candidate, bestDistance + 1);
    if (
      distance < bestDistance ||
      (distance === bestDistance && best !== undefined && commonPrefix(name, candidate) > commonPrefix(name, best))
    ) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function editDistance(a: string, b: string, limit: number): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= limit) return limit;
    previous = current;
  }
  return previous[b.length] ?? limit;
}

/** Special registers, without their `.x/.y/.z` component. */
const SPECIAL_REGISTERS = new Set([
  '%tid',
  '%ntid',
  '%laneid',
  '%warpid',
  '%nwarpid',
  '%ctaid',
  '%nctaid',
  '%smid',
  '%nsmid',
  '%gridid',
  '%is_explicit_cluster',
  '%clusterid',
  '%nclusterid',
  '%cluster_ctaid',
  '%cluster_nctaid',
  '%cluster_ctarank',
  '%cluster_nctarank',
  '%lanemask_eq',
  '%lanemask_le',
  '%lanemask_lt',
  '%lanemask_ge',
  '%lanemask_gt',
  '%clock',
  '%clock_hi',
  '%clock64',
  '%globaltimer',
  '%globaltimer_lo',
  '%globaltimer_hi',
  '%total_smem_size',
  '%aggr_smem_size',
  '%dynamic_smem_size',
  '%reserved_smem_offset_begin',
  '%reserved_smem_offset_end',
  '%reserved_smem_offset_cap',
  '%current_graph_exec',
]);

export function isSpecialRegister(name: string): boolean {
  const dot = name.indexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  if (SPECIAL_REGISTERS.has(base)) return true;
  // Numbered families: %pm0..%pm7, %pm0_64..%pm7_64, %envreg0..%envreg31, %reserved_smem_offset_<2>.
  return /^%(?:pm[0-7](?:_64)?|envreg(?:[0-9]|[12][0-9]|3[01])|reserved_smem_offset_\d+)$/.test(base);
}

/** Predefined identifiers that are not registers. */
export const PREDEFINED_IDENTIFIERS: ReadonlySet<string> = new Set(['WARP_SZ', '_']);

/** The types a `.reg` may have (scalars; vectors add `.v2/.v4/.v8` in front). */
export const REGISTER_TYPES: ReadonlySet<string> = new Set([
  '.pred',
  '.b8',
  '.b16',
  '.b32',
  '.b64',
  '.b128',
  '.s8',
  '.s16',
  '.s32',
  '.s64',
  '.u8',
  '.u16',
  '.u32',
  '.u64',
  '.f16',
  '.f16x2',
  '.bf16',
  '.bf16x2',
  '.f32',
  '.f64',
  '.tf32',
  '.e4m3',
  '.e5m2',
  '.e4m3x2',
  '.e5m2x2',
  '.s16x2',
  '.u16x2',
  '.e2m1x2',
  '.e2m3x2',
  '.e3m2x2',
  '.ue8m0x2',
]);
