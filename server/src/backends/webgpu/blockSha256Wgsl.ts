// Migration's verify on a WebGPU device: the SHA-256 (FIPS 180-4) of every block of a storage
// buffer, one invocation per block, the WGSL twin of native/kernels/blockSha256.cu. A bound range
// of a state (webgpuDigests.ts binds a large state in several ranges) is cut into blocks of
// `blockBytes` (a multiple of 64; the last block may be shorter); invocation i hashes block i as
// one message, padding included, and writes its digest as 8 words at `digests[8 * (firstBlock + i)]`,
// each word byte-swapped so the buffer's bytes are the digest as node:crypto prints it.
//
// The state is read as u32 words, little-endian bytes; its size need not be a multiple of 4: the
// range is bound rounded up to whole words and the last word's extra bytes are masked off. A block
// starts on a 64-byte boundary, so every whole 64-byte chunk is 16 whole words.
//
// The 64 rounds and the chunk's 16 loads are written out here, in TypeScript, with every index a
// constant (Tint unrolls nothing): the message schedule and the working variables then stay in
// registers, where a loop indexing an array by a variable would put them in memory, as the CUDA
// kernel's #pragma unroll does for it.

/** Invocations per workgroup (webgpuDigests.ts dispatches ceil(blocks / this) workgroups). */
export const DIGEST_WORKGROUP_SIZE = 64;

/** Bytes of the uniform block one dispatch reads (4 u32: bytes, blockBytes, blocks, firstBlock). */
export const DIGEST_PARAMS_BYTES = 16;

/** The first 32 bits of the fractional parts of the cube roots of the first 64 primes (4.2.2). */
const ROUND_CONSTANTS = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];

const WORDS = Array.from({ length: 16 }, (_, q) => q);

/** The 16 words of a whole chunk at word `at`, loaded and byte-swapped. */
const LOAD_CHUNK = WORDS.map((q) => `w${q} = swap(data[at + ${q}u]);`).join('\n      ');

/** The padding chunk's words, built in `pad`, into the schedule. */
const LOAD_PAD = WORDS.map((q) => `w${q} = pad[${q}];`).join('\n      ');

/** The 64 rounds of one compression (6.2.2): W_t for t >= 16 computed in place, a window of 16. */
const ROUNDS = ROUND_CONSTANTS.map((k, t) => {
  const w = `w${t % 16}`;
  const schedule =
    t < 16 ? '' : `${w} = ${w} + sigma0(w${(t - 15) % 16}) + w${(t - 7) % 16} + sigma1(w${(t - 2) % 16});\n    `;
  return `${schedule}t1 = k + bigSigma1(e) + ((e & f) ^ (~e & g)) + 0x${k.toString(16).padStart(8, '0')}u + ${w};
    t2 = bigSigma0(a) + ((a & b) ^ (a & c) ^ (b & c));
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;`;
}).join('\n    ');

export const BLOCK_SHA256_WGSL = /* wgsl */ `
struct Params {
  // Bytes of the state in the bound range (the range's last block may be shorter).
  bytes: u32,
  blockBytes: u32,
  // Blocks in the range: invocations beyond it return at once.
  blocks: u32,
  // The range's first block in the whole state: where its digests go.
  firstBlock: u32,
}

@group(0) @binding(0) var<storage, read> data: array<u32>;
@group(0) @binding(1) var<storage, read_write> digests: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

// A little-endian word as the big-endian word SHA-256 reads (and back).
fn swap(x: u32) -> u32 {
  return (x >> 24u) | ((x >> 8u) & 0xff00u) | ((x << 8u) & 0xff0000u) | (x << 24u);
}

fn rotr(x: u32, n: u32) -> u32 {
  return (x >> n) | (x << (32u - n));
}

fn sigma0(x: u32) -> u32 {
  return rotr(x, 7u) ^ rotr(x, 18u) ^ (x >> 3u);
}

fn sigma1(x: u32) -> u32 {
  return rotr(x, 17u) ^ rotr(x, 19u) ^ (x >> 10u);
}

fn bigSigma0(x: u32) -> u32 {
  return rotr(x, 2u) ^ rotr(x, 13u) ^ rotr(x, 22u);
}

fn bigSigma1(x: u32) -> u32 {
  return rotr(x, 6u) ^ rotr(x, 11u) ^ rotr(x, 25u);
}

@compute @workgroup_size(${DIGEST_WORKGROUP_SIZE})
fn blockSha256(@builtin(global_invocation_id) id: vec3<u32>) {
  let block = id.x;
  if (block >= params.blocks) {
    return;
  }
  let start = block * params.blockBytes;
  let length = min(params.blockBytes, params.bytes - start);
  let base = start / 4u;
  // Padding (5.1.1): after the whole chunks, the rest of the bytes, a 1 bit, zeros and the length
  // in bits as 64 bits: one more chunk, or two when fewer than 9 bytes of it are free.
  let full = length / 64u;
  let rest = length % 64u;
  var chunks = full + 1u;
  if (rest >= 56u) {
    chunks = full + 2u;
  }
  // The initial hash value (5.3.3).
  var h0 = 0x6a09e667u;
  var h1 = 0xbb67ae85u;
  var h2 = 0x3c6ef372u;
  var h3 = 0xa54ff53au;
  var h4 = 0x510e527fu;
  var h5 = 0x9b05688cu;
  var h6 = 0x1f83d9abu;
  var h7 = 0x5be0cd19u;
  ${WORDS.map((q) => `var w${q}: u32;`).join('\n  ')}
  var t1: u32;
  var t2: u32;
  for (var i = 0u; i < chunks; i++) {
    if (i < full) {
      let at = base + i * 16u;
      ${LOAD_CHUNK}
    } else {
      // The last one or two chunks: the rest of the state, then the padding, built by index.
      // Zeroed here, each time: a declaration in a loop is not (Dawn on lavapipe kept the last chunk's words).
      var pad = array<u32, 16>();
      if (i == full) {
        let at = base + full * 16u;
        for (var q = 0u; q < (rest + 3u) / 4u; q++) {
          pad[q] = swap(data[at + q]);
        }
        // Only the first rest % 4 bytes of the last word are the state's; then the 1 bit.
        let word = rest / 4u;
        let used = rest % 4u;
        if (used != 0u) {
          pad[word] = pad[word] & ~(0xffffffffu >> (8u * used));
        }
        pad[word] = pad[word] | (0x80u << (24u - 8u * used));
      }
      if (i == chunks - 1u) {
        pad[14] = length >> 29u;
        pad[15] = length << 3u;
      }
      ${LOAD_PAD}
    }
    var a = h0;
    var b = h1;
    var c = h2;
    var d = h3;
    var e = h4;
    var f = h5;
    var g = h6;
    var k = h7;
    ${ROUNDS}
    h0 += a;
    h1 += b;
    h2 += c;
    h3 += d;
    h4 += e;
    h5 += f;
    h6 += g;
    h7 += k;
  }
  let out = (params.firstBlock + block) * 8u;
  digests[out] = swap(h0);
  digests[out + 1u] = swap(h1);
  digests[out + 2u] = swap(h2);
  digests[out + 3u] = swap(h3);
  digests[out + 4u] = swap(h4);
  digests[out + 5u] = swap(h5);
  digests[out + 6u] = swap(h6);
  digests[out + 7u] = swap(h7);
}
`;
