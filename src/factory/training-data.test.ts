import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Hex } from 'viem';
import { encodeExample, isHeldOut } from './training-data.ts';

// a character-level stand-in for a tokenizer: each char is its code, bos = eos = 0
const chars = { bosId: 0, eosId: 0, encode: (text: string) => [...text].map((c) => c.codePointAt(0)!) };

describe('encodeExample', () => {
  it('masks the prompt, learns the response and the end of text', () => {
    const e = encodeExample(chars, { prompt: 'Q:', response: 'ab' }, 64)!;
    // sequence [0, Q, :, a, b, 0]: inputs all but the last, targets all but the first
    assert.deepEqual([...e.ids], [0, 81, 58, 97, 98]);
    assert.deepEqual([...e.targets], [-1, -1, 97, 98, 0]);
    assert.equal(e.promptTokens, 3);
  });

  it('cuts long responses at the limit and gives up when the prompt fills it', () => {
    const e = encodeExample(chars, { prompt: 'Q:', response: 'abcdefgh' }, 5)!;
    assert.equal(e.ids.length, 5);
    assert.deepEqual([...e.targets], [-1, -1, 97, 98, 99]);
    assert.equal(encodeExample(chars, { prompt: 'a long prompt', response: 'x' }, 5), null);
  });

  it('always aligns targets with the next input token (property)', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 2, max: 40 }), (prompt, response, max) => {
      const e = encodeExample(chars, { prompt, response }, max);
      if (!e) return;
      assert.ok(e.ids.length <= max);
      for (let i = 0; i + 1 < e.ids.length; i++) if (e.targets[i]! >= 0) assert.equal(e.targets[i], e.ids[i + 1]);
      assert.ok(e.targets.some((t) => t >= 0));
    }));
  });
});

describe('isHeldOut', () => {
  it('is a deterministic draw of about the asked fraction, changed by the seed', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `0x${i.toString(16).padStart(64, '0')}` as Hex);
    const held = ids.filter((id) => isHeldOut(id, 0.1, 0));
    assert.ok(held.length > 140 && held.length < 260, `${held.length} of 2000`);
    assert.deepEqual(ids.filter((id) => isHeldOut(id, 0.1, 0)), held);
    assert.notDeepEqual(ids.filter((id) => isHeldOut(id, 0.1, 1)), held);
    assert.equal(ids.some((id) => isHeldOut(id, 0, 0)), false);
  });
});
