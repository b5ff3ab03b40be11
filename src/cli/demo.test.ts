import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './test-node.ts';

test('openledger demo runs datanet → contributions → training → paid inference → epoch → claims and says who earned what, and why', { timeout: 300_000 }, async () => {
  const { code, out } = await runCli(['demo']);
  assert.equal(code, 0, out);
  assert.match(out, /chain: OPEN is the native coin/, 'the embedded chain has native OPEN by default');
  for (const stage of ['1. a datanet', '2. ModelFactory', '3. paid, attributed answers', '4. the skills marketplace', '5. settlement', '6. every contributor claims', '7. the skill call', 'who earned what, and why']) assert.ok(out.includes(stage), `missing stage "${stage}"`);
  assert.match(out, /model {7}#1 in the ModelRegistry/);
  assert.match(out, /epoch 1 posted: 5 receipts/, 'three answers, and the two the skill calls ran');
  assert.match(out, /epoch 1: 5 receipts, every signature, share and cumulative amount checks out/);
  // the skill call: paid once with x402, drawn down to the contributors
  assert.match(out, /call 0x[0-9a-f]{64}: 0\.05 OPEN \(settled: yes/);
  assert.match(out, /call 0x[0-9a-f]{8}…  check-fact .* price 0\.05 OPEN/);
  assert.match(out, /\n  call 0x[0-9a-f]{8}…  answer-fact .* price 0\.02 OPEN/);
  assert.match(out, /data_royalty/);
  assert.match(out, /settled in epoch 1/);
  assert.match(out, /rated call 0x[0-9a-f]{64} 90\/100 for agent 2/);
  assert.match(out, /check-fact .* 1 paid call \(0\.05 OPEN\)  rated 90\/100 by 1 payer/);
  assert.match(out, /call 0x[0-9a-f]{64} re-runs exactly/);
  assert.match(out, /answered 100\/100 in the ValidationRegistry/);
  assert.match(out, /check-fact .* rated 90\/100 by 1 payer  agent validated 100\/100 by 1 re-run/);
  const earnings = [...out.matchAll(/contributor (0x[0-9a-fA-F]{40}) \(account \d\): earned ([\d.]+) OPEN, claimed ([\d.]+) OPEN/g)];
  assert.equal(earnings.length, 3);
  for (const [, who, earned, claimed] of earnings) assert.equal(claimed, earned, `${who} claimed all it earned`);
  assert.ok(earnings.some(([, , earned]) => Number(earned) > 0));
  assert.match(out, /% of an answer by zorvania-qa \(receipt 0x[0-9a-f]{8}…\)/);
});

test('the same lifecycle where OPEN is an ERC-20 on the chain (OPENLEDGER_OPEN=erc20): approvals before stakes, deposits and bonds; gas in ETH', { timeout: 300_000 }, async () => {
  const { code, out } = await runCli(['demo'], { OPENLEDGER_OPEN: 'erc20' });
  assert.equal(code, 0, out);
  assert.doesNotMatch(out, /chain: OPEN is the native coin/);
  assert.match(out, /epoch 1: 5 receipts, every signature, share and cumulative amount checks out/);
  const earnings = [...out.matchAll(/contributor (0x[0-9a-fA-F]{40}) \(account \d\): earned ([\d.]+) OPEN, claimed ([\d.]+) OPEN/g)];
  assert.equal(earnings.length, 3);
  for (const [, who, earned, claimed] of earnings) assert.equal(claimed, earned, `${who} claimed all it earned`);
  assert.ok(earnings.some(([, , earned]) => Number(earned) > 0));
});
