import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestProtocol, type TestProtocol } from '../chain/test-chain.ts';
import { canonicalBytes, contentHashOf, contributionIdOf } from './contribution-id.ts';

let t: TestProtocol;
before(async () => {
  t = await startTestProtocol();
});
after(() => t.stop());

test('key order and number formatting do not change the content hash', () => {
  assert.equal(contentHashOf({ b: 1, a: 'x', n: 1.0 }), contentHashOf({ n: 1, a: 'x', b: 1 }));
  assert.notEqual(contentHashOf({ a: 'x' }), contentHashOf({ a: 'y' }));
  assert.equal(new TextDecoder().decode(canonicalBytes({ b: [2, 1], a: 'é' })), '{"a":"é","b":[2,1]}');
  assert.equal(new TextDecoder().decode(canonicalBytes('plain text')), 'plain text');
});

test('the contribution id matches DatanetRegistry.contributionId on chain', async () => {
  const registry = (await t.as(0)).datanetRegistry;
  for (const record of [{ q: 'why?', a: 'because' }, 'a line of text', { nested: { x: [1, 2, 3] } }]) {
    const contentHash = contentHashOf(record);
    for (const contributor of [t.accounts[1]!.address, t.accounts[2]!.address]) {
      assert.equal(contributionIdOf(contentHash, contributor), await registry.read.contributionId([contentHash, contributor]));
    }
  }
});
