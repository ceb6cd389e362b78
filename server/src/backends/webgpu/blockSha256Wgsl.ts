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

/** Invocations per workgroup (webgpuDigests.ts dispatches ceil(blocks / this) workgroups). */
export const DIGEST_WORKGROUP_SIZE = 64;

/** Bytes of the uniform block one dispatch reads (4 u32: bytes, blockBytes, blocks, firstBlock). */
export const DIGEST_PARAMS_BYTES = 16;

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

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes (4.2.2).
const K = array<u32, 64>(
  0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
  0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
  0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
  0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
  0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
  0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
  0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
  0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
);

// A little-endian word as the big-endian word SHA-256 reads (and back).
fn swap(x: u32) -> u32 {
  return (x >> 24u) | ((x >> 8u) & 0xff00u) | ((x << 8u) & 0xff0000u) | (x << 24u);
}

fn rotr(x: u32, n: u32) -> u32 {
  return (x >> n) | (x << (32u - n));
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
  var h = array<u32, 8>(0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u);
  var w: array<u32, 16>;
  for (var i = 0u; i < chunks; i++) {
    if (i < full) {
      let at = base + i * 16u;
      for (var q = 0u; q < 16u; q++) {
        w[q] = swap(data[at + q]);
      }
    } else {
      for (var q = 0u; q < 16u; q++) {
        w[q] = 0u;
      }
      if (i == full) {
        let at = base + full * 16u;
        for (var q = 0u; q < (rest + 3u) / 4u; q++) {
          w[q] = swap(data[at + q]);
        }
        // Only the first rest % 4 bytes of the last word are the state's; then the 1 bit.
        let word = rest / 4u;
        let used = rest % 4u;
        if (used != 0u) {
          w[word] = w[word] & ~(0xffffffffu >> (8u * used));
        }
        w[word] = w[word] | (0x80u << (24u - 8u * used));
      }
      if (i == chunks - 1u) {
        w[14] = length >> 29u;
        w[15] = length << 3u;
      }
    }
    // One compression (6.2.2): W_t for t >= 16 computed in place, a window of 16.
    var a = h[0];
    var b = h[1];
    var c = h[2];
    var d = h[3];
    var e = h[4];
    var f = h[5];
    var g = h[6];
    var k = h[7];
    for (var t = 0u; t < 64u; t++) {
      var wt: u32;
      if (t < 16u) {
        wt = w[t];
      } else {
        let w15 = w[(t - 15u) & 15u];
        let w2 = w[(t - 2u) & 15u];
        let s0 = rotr(w15, 7u) ^ rotr(w15, 18u) ^ (w15 >> 3u);
        let s1 = rotr(w2, 17u) ^ rotr(w2, 19u) ^ (w2 >> 10u);
        wt = w[t & 15u] + s0 + w[(t - 7u) & 15u] + s1;
        w[t & 15u] = wt;
      }
      let t1 = k + (rotr(e, 6u) ^ rotr(e, 11u) ^ rotr(e, 25u)) + ((e & f) ^ (~e & g)) + K[t] + wt;
      let t2 = (rotr(a, 2u) ^ rotr(a, 13u) ^ rotr(a, 22u)) + ((a & b) ^ (a & c) ^ (b & c));
      k = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
  }
  let out = (params.firstBlock + block) * 8u;
  for (var q = 0u; q < 8u; q++) {
    digests[out + q] = swap(h[q]);
  }
}
`;
