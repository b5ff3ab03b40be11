/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's `MurmurHash3_x86_32`, public domain), over a
 * range of a byte array, so that many shingles of one encoded text are hashed without copying.
 * The result is the unsigned 32-bit value that the reference C code, Python's `mmh3.hash(...,
 * signed=False)` and Guava's `murmur3_32_fixed` give for the same bytes and seed.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * MurmurHash3_x86_32 of `bytes[start, end)` with `seed`, as an unsigned 32-bit integer.
 *
 * @example
 * murmur3(new TextEncoder().encode('Hello, world!'), 0x9747b28c) // 0x24884cba
 * murmur3(bytes, 0, 4, 10) // the hash of bytes 4..9 only
 */
export function murmur3(bytes: Uint8Array, seed = 0, start = 0, end = bytes.length): number {
  let h = seed | 0;
  const blocksEnd = start + ((end - start) & ~3);
  let i = start;
  for (; i < blocksEnd; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (end - i) {
    case 3:
      k ^= bytes[i + 2]! << 16;
    // falls through
    case 2:
      k ^= bytes[i + 1]! << 8;
    // falls through
    case 1:
      k ^= bytes[i]!;
      k = Math.imul(k, C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
      h ^= k;
  }
  h ^= end - start;
  return fmix32(h);
}

/**
 * MurmurHash3's 32-bit finaliser: a bijection on 32-bit integers that mixes every input bit into
 * every output bit. Returns an unsigned 32-bit integer.
 *
 * @example
 * fmix32(0) // 0
 * fmix32(1) // 0x514e28b7
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * MurmurHash3_x86_32 of the 32-bit words `words[start, end)` taken as little-endian bytes: the
 * same value as {@link murmur3} of those bytes, without making them.
 *
 * @example
 * murmur3Words(Uint32Array.of(0x87654321), 0) // 0xf55b516b, murmur3 of the bytes 21 43 65 87
 */
export function murmur3Words(words: Uint32Array, seed = 0, start = 0, end = words.length): number {
  let h = seed | 0;
  for (let i = start; i < end; i++) {
    let k = Math.imul(words[i]!, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= (end - start) * 4;
  return fmix32(h);
}
