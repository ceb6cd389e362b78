// Hostile file contents the language server must survive. The random ones come from a seeded
// generator: a run that fails prints its seed, and RINGKERNEL_FUZZ_SEED=<seed> replays it.

const SEED_VARIABLE = 'RINGKERNEL_FUZZ_SEED';

function chooseSeed(): number {
  const given = process.env[SEED_VARIABLE];
  if (given === undefined || given === '') return Math.floor(Math.random() * 2 ** 32);
  const seed = Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(
      `${SEED_VARIABLE}=${JSON.stringify(given)} is not a whole number from 0 to 4294967295; use the seed a failed run printed`,
    );
  }
  return seed;
}

/** The seed of this process's random inputs. */
export const fuzzSeed = chooseSeed();

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededWords(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const processWords = seededWords(fuzzSeed);
let announced = false;

/** `count` bytes from this process's seeded generator (`next` replaces it, for tests of the generator). */
export function seededBytes(count: number, next: () => number = processWords): Buffer {
  if (!announced && next === processWords) {
    announced = true;
    // A failed test file exits non-zero; only then is the seed worth reading.
    process.once('exit', (code) => {
      if (code !== 0)
        console.error(`random inputs used seed ${fuzzSeed}: ${SEED_VARIABLE}=${fuzzSeed} reproduces them`);
    });
  }
  const bytes = Buffer.alloc(count);
  for (let at = 0; at < count; at += 4) {
    const word = next();
    for (let k = 0; k < 4 && at + k < count; k++) bytes[at + k] = (word >>> (8 * k)) & 0xff;
  }
  return bytes;
}

/** Random bytes decoded as UTF-8 (so invalid sequences become U+FFFD, as an editor would show them). */
export function randomText(bytes: number): string {
  return seededBytes(bytes).toString('utf8');
}

/** About `megabytes` MB of plausible source in a language, so parsers do real work on it. */
export function hugeSource(languageId: 'wgsl' | 'ptx' | 'msl', megabytes: number): string {
  const line = {
    wgsl: 'fn f(a: f32) -> f32 { return a * 2.0; } // filler for a very large file\n',
    ptx: '\tadd.s32 \t%r1, %r2, %r3; // filler for a very large file\n',
    msl: 'inline float f(float a) { return a * 2.0f; } // filler for a very large file\n',
  }[languageId];
  return line.repeat(Math.ceil((megabytes * 1024 * 1024) / line.length));
}
