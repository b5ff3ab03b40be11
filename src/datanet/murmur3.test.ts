import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fmix32, murmur3, murmur3Words } from './murmur3.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const utf8 = (s: string) => new TextEncoder().encode(s);

test('murmur3 matches the published MurmurHash3_x86_32 test vectors', () => {
  // The widely quoted vectors (SMHasher's reference code; e.g. the "MurmurHash3 test vectors"
  // answer on Stack Overflow), checked here against Python's mmh3 5.3.0 as well.
  const vectors: [Uint8Array, number, number][] = [
    [new Uint8Array(0), 0, 0],
    [new Uint8Array(0), 1, 0x514e28b7],
    [new Uint8Array(0), 0xffffffff, 0x81f16f39],
    [hex('ffffffff'), 0, 0x76293b50],
    [hex('21436587'), 0, 0xf55b516b],
    [hex('21436587'), 0x5082edee, 0x2362f9de],
    [hex('214365'), 0, 0x7e4a8634],
    [hex('2143'), 0, 0xa0f7b07a],
    [hex('21'), 0, 0x72661cf4],
    [hex('00000000'), 0, 0x2362f9de],
    [hex('000000'), 0, 0x85f0b427],
    [hex('0000'), 0, 0x30f4c306],
    [hex('00'), 0, 0x514e28b7],
    [utf8(''), 0x9747b28c, 0xebb6c228],
    [utf8('aa'), 0x9747b28c, 0x5d211726],
    [utf8('a'), 0x9747b28c, 0x7fa09ea6],
    [utf8('abc'), 0x9747b28c, 0xc84a62dd],
    [utf8('aaaa'), 0x9747b28c, 0x5a97808a],
    [utf8('Hello, world!'), 0x9747b28c, 0x24884cba],
    [utf8('The quick brown fox jumps over the lazy dog'), 0x9747b28c, 0x2fa826cd],
    [utf8('ππππππππ'), 0x9747b28c, 0xd58063c1],
  ];
  for (const [bytes, seed, expected] of vectors) {
    assert.equal(murmur3(bytes, seed), expected, `${Buffer.from(bytes).toString('hex')} seed ${seed.toString(16)}`);
  }
});

test('murmur3 matches Python mmh3 5.3.0 on random inputs of every tail length', () => {
  // Generated with: mmh3.hash(bytes, seed, signed=False), random.Random(7).
  const vectors: [string, number, number][] = [
    ['a5', 0xf2a74de4, 0x248eb194],
    ['ca18', 0x892f902b, 0x3630ac43],
    ['bb1d6d', 0x099950d8, 0xc9e99596],
    ['ded6237b', 0x6cad4a26, 0xcb8f1314],
    ['3f721fcb19', 0xf9ebdacc, 0x598da0e0],
    ['174494d6493c9d', 0xae97ba94, 0xabab3faf],
    ['3460be31201e69fe', 0x506bf2ef, 0xa8bdc3f2],
    ['e8b9997f5c7c2999fd', 0xe00902c7, 0xe087f256],
    ['e593253cd654af4dfad71427a0aeb3', 0x98289fcd, 0xd907e765],
    ['e9232f8af2211f9ee491c5b10becb556', 0x9c653938, 0x1a1e3f78],
    ['fc1e6f93427ecbc8fe2955e5cd8e46dc8e', 0xb4d66a3a, 0x1469161b],
    ['b7c2764d2a5a4d767706f85d8690024ad6bda3401be9c8cbccc935f6cd1f61', 0x3571810a, 0xa48be85d],
    ['5338ae1a34004d33ba0d246ac04c81b1baf23e3bf9eef5f79f2b4934af87f552', 0x842e7fc2, 0xdc63ec97],
    ['69b94b0d982e85bb55b672a872637acd7466fcb60e0e8ff18463b0e4b2ba297034', 0x3a12917c, 0x506c226b],
    [
      '64ac68f700f5b02b3dc666f45bdeaa2ccaedcd2b5157410e4dee4af2b34f430a073447de636c0e806c957ba684d6431fb5ead7424d09e15d024c5848f23d1fa6',
      0xc6c80e2b,
      0x5310a5c0,
    ],
    [
      '1d7f618d1532e70e20e2a6668de7f47e8467e546d53ec8e2a1257bdb256c9b3e4fbb498146ef7030cbf9537252dcceadd764b6a32fbb09adeae109c4a997203975352b878b145c8a42d884cf4cfda72d8e1d5dd92589082d852a7122873ee805add58942',
      0xb5a432cf,
      0x2f2b0b6a,
    ],
  ];
  for (const [bytes, seed, expected] of vectors) assert.equal(murmur3(hex(bytes), seed), expected, bytes);
});

test('murmur3 of a range equals murmur3 of the copied range', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(64), fc.nat(64), fc.nat({ max: 0xffffffff }), (bytes, a, b, seed) => {
      const start = Math.min(a, b, bytes.length);
      const end = Math.min(Math.max(a, b), bytes.length);
      assert.equal(murmur3(bytes, seed, start, end), murmur3(bytes.slice(start, end), seed));
    }),
  );
});

test('fmix32 is the finaliser: murmur3 of no bytes with seed s is fmix32(s)', () => {
  fc.assert(fc.property(fc.nat({ max: 0xffffffff }), (s) => assert.equal(fmix32(s), murmur3(new Uint8Array(0), s))));
  assert.equal(fmix32(0), 0);
});

test('murmur3Words is murmur3 of the words as little-endian bytes', () => {
  assert.equal(murmur3Words(Uint32Array.of(0x87654321), 0), 0xf55b516b);
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 16 }), fc.nat({ max: 0xffffffff }), (values, seed) => {
      const words = Uint32Array.from(values);
      const bytes = new Uint8Array(words.length * 4);
      const view = new DataView(bytes.buffer);
      words.forEach((w, i) => view.setUint32(i * 4, w, true));
      assert.equal(murmur3Words(words, seed), murmur3(bytes, seed));
      if (words.length > 2) assert.equal(murmur3Words(words, seed, 1, 3), murmur3(bytes, seed, 4, 12));
    }),
  );
});
