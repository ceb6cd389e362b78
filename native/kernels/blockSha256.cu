// Migration's verify on the GPU: the SHA-256 (FIPS 180-4) of every block of a device buffer, one
// thread per block. A state of `bytes` is cut into blocks of `blockBytes` (the last one may be
// shorter; the server picks the size per state, gpuDigestBlockBytes in
// server/src/backends/deviceDigests.ts, so a small state still has enough blocks to fill the GPU); thread i hashes block i as one message, padding included, and writes its 32-byte
// digest (big-endian words, as SHA-256 prints) at digests + 32 * i. The CPU computes the same
// digests with node:crypto (server/src/hosts/stateDigests.ts), so either
// side can check the other. Compiled to blockSha256.ptx by scripts/gen-digest-ptx.mjs.
//
// The helpers are __host__ __device__ so the same code can be checked on a CPU (the PTX is what
// ships). `data` is a whole allocation (256-byte aligned) and `blockBytes` a multiple of 64, so
// every full 64-byte chunk is read with four aligned 16-byte loads.
#include <stdint.h>
#include <vector_types.h>

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes (4.2.2).
#define ROUND_CONSTANTS \
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, \
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, \
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, \
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, \
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, \
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, \
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, \
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,

__constant__ uint32_t kRound[64] = {ROUND_CONSTANTS};
#ifndef __CUDA_ARCH__
// The same for a CPU check of this code.
static const uint32_t hostRound[64] = {ROUND_CONSTANTS};
#endif

__host__ __device__ __forceinline__ uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

// A little-endian load's word as the big-endian word SHA-256 reads.
__host__ __device__ __forceinline__ uint32_t bigEndian(uint32_t x) {
#ifdef __CUDA_ARCH__
  return __byte_perm(x, 0, 0x0123);
#else
  return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
#endif
}

__host__ __device__ __forceinline__ uint32_t roundConstant(int t) {
#ifdef __CUDA_ARCH__
  return kRound[t];
#else
  return hostRound[t];
#endif
}

// One compression (6.2.2): the 64 rounds over a 16-word chunk `w`, which becomes the schedule's
// last 16 words as it goes (W_t for t >= 16 is computed in place, a window of 16).
__host__ __device__ __forceinline__ void compress(uint32_t h[8], uint32_t w[16]) {
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
#pragma unroll
  for (int t = 0; t < 64; t++) {
    uint32_t wt;
    if (t < 16) {
      wt = w[t];
    } else {
      uint32_t w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
      uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
      uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
      wt = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
      w[t & 15] = wt;
    }
    uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + roundConstant(t) + wt;
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
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

// The SHA-256 of `length` bytes at `p` (16-byte aligned) into `out` (32 bytes, 4-byte aligned).
__host__ __device__ void sha256Block(const unsigned char* p, uint32_t length, unsigned char* out) {
  // The initial hash value (5.3.3): square roots of the first 8 primes, fractional parts.
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint32_t w[16];
  // Padding (5.1.1): after the last whole chunk, the rest of the bytes, a 1 bit, zeros and the
  // length in bits as 64 bits: one more chunk, or two when fewer than 9 bytes of it are free.
  // One loop over every chunk keeps a single copy of the (unrolled) compression in the code.
  uint32_t full = length / 64u;
  uint32_t rest = length - full * 64u;
  uint32_t chunks = full + (rest >= 56u ? 2u : 1u);
  const uint4* chunk = reinterpret_cast<const uint4*>(p);
  for (uint32_t i = 0; i < chunks; i++) {
    if (i < full) {
#pragma unroll
      for (int q = 0; q < 4; q++) {
        uint4 v = chunk[4 * i + q];
        w[4 * q + 0] = bigEndian(v.x);
        w[4 * q + 1] = bigEndian(v.y);
        w[4 * q + 2] = bigEndian(v.z);
        w[4 * q + 3] = bigEndian(v.w);
      }
    } else {
      // Built in an array of its own: indexing `w` by a variable would put it in local memory
      // for the whole loop, not only for the last chunks.
      uint32_t pad[16];
#pragma unroll
      for (int q = 0; q < 16; q++) pad[q] = 0;
      if (i == full) {
        const unsigned char* tail = p + full * 64u;
        for (uint32_t b = 0; b < rest; b++) pad[b >> 2] |= uint32_t(tail[b]) << (24u - 8u * (b & 3u));
        pad[rest >> 2] |= 0x80u << (24u - 8u * (rest & 3u));
      }
      if (i == chunks - 1) {
        uint64_t bits = uint64_t(length) * 8u;
        pad[14] = uint32_t(bits >> 32);
        pad[15] = uint32_t(bits);
      }
#pragma unroll
      for (int q = 0; q < 16; q++) w[q] = pad[q];
    }
    compress(h, w);
  }
  uint32_t* words = reinterpret_cast<uint32_t*>(out);
#pragma unroll
  for (int i = 0; i < 8; i++) words[i] = bigEndian(h[i]);
}

// Thread `block` of a launch: block `block` of the `bytes` at `data` into its 32 bytes of `digests`.
__device__ __forceinline__ void hashBlockAt(const unsigned char* data, unsigned long long bytes,
                                            unsigned long long blockBytes, unsigned char* digests,
                                            unsigned long long block) {
  unsigned long long start = block * blockBytes;
  if (start >= bytes) return;
  unsigned long long left = bytes - start;
  uint32_t length = uint32_t(left < blockBytes ? left : blockBytes);
  sha256Block(data + start, length, digests + 32u * block);
}

// blockSha256(data, bytes, blockBytes, digests): thread i hashes bytes [i * blockBytes, min(bytes,
// (i + 1) * blockBytes)) of `data` into digests[32 * i, 32 * i + 32). Launch at least ceil(bytes /
// blockBytes) threads in x; the others return at once. `blockBytes`: a multiple of 64, below 4 GiB.
extern "C" __global__ void blockSha256(const unsigned char* __restrict__ data, unsigned long long bytes,
                                       unsigned long long blockBytes, unsigned char* __restrict__ digests) {
  hashBlockAt(data, bytes, blockBytes, digests, (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x);
}

// blockSha256Pair(first, second, bytes, blockBytes, firstDigests, secondDigests): blockSha256 over
// two buffers of the same size in one launch, grid.y = 2 picking the buffer (a copy's source and
// the copy). A thread hashes its whole block in a row, so a launch lasts about one block's hash
// whatever the state's size up to the GPU's width: two launches in a row would take twice that.
extern "C" __global__ void blockSha256Pair(const unsigned char* __restrict__ first,
                                           const unsigned char* __restrict__ second, unsigned long long bytes,
                                           unsigned long long blockBytes,
                                           unsigned char* __restrict__ firstDigests,
                                           unsigned char* __restrict__ secondDigests) {
  unsigned long long block = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  bool firstOne = blockIdx.y == 0;
  hashBlockAt(firstOne ? first : second, bytes, blockBytes, firstOne ? firstDigests : secondDigests, block);
}
