// PTX that keeps the driver's JIT busy for a known while, for tests that need a compile in
// flight: a chain of `instructions` f32 fma, each reading two values picked (seeded) from the 300
// before it, so the register allocator has real work. On an H100 (driver 580) 6,000 took 0.42 s
// and 20,000 took 1.44 s. A different seed gives different code, so the driver's JIT cache
// (~/.nv/ComputeCache) cannot answer from an earlier run. The entry takes the kernel ABI's four
// .u64 pointers (control, state, inbox, outbox), so the engine compiles it like any kernel; run,
// it writes one f32 to state[0].

/** mulberry32: a small seeded generator, so a failing run's PTX can be made again from its seed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function slowPtx(instructions: number, seed: number, entry = 'slow'): string {
  const random = generator(seed);
  const pick = (i: number): number => Math.max(0, i - 300) + Math.floor(random() * Math.min(i, 300));
  const lines = [
    `// slowPtx(${instructions}, ${seed})`,
    '.version 7.0',
    '.target sm_70',
    '.address_size 64',
    '',
    `.visible .entry ${entry}(`,
    `\t.param .u64 ${entry}_control,`,
    `\t.param .u64 ${entry}_state,`,
    `\t.param .u64 ${entry}_inbox,`,
    `\t.param .u64 ${entry}_outbox`,
    ')',
    '{',
    `\t.reg .f32 \t%f<${instructions}>;`,
    '\t.reg .b64 \t%rd<3>;',
    '',
    `\tld.param.u64 \t%rd1, [${entry}_state];`,
    '\tcvta.to.global.u64 \t%rd2, %rd1;',
  ];
  // Eight distinct starting values just above 1.0, different for each seed.
  for (let i = 0; i < 8; i++)
    lines.push(`\tmov.f32 \t%f${i}, 0f3F8${((seed + i) & 0xfffff).toString(16).padStart(5, '0')};`);
  for (let i = 8; i < instructions; i++) lines.push(`\tfma.rn.f32 \t%f${i}, %f${pick(i)}, %f${pick(i)}, %f${i - 1};`);
  lines.push(`\tst.global.f32 \t[%rd2], %f${instructions - 1};`, '\tret;', '}', '');
  return lines.join('\n');
}
