import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mnemonicToAccount } from 'viem/accounts';
import { runCli, up, type Up } from './test-node.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'openledger-cli-datanet-'));
let node: Up | undefined;
after(async () => {
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('from a file on disk to accepted, anchored, provable contributions in a snapshot, through the CLI, across a kill -9', { timeout: 240_000 }, async () => {
  node = await up(dataDir);
  const cli = async (...args: string[]) => {
    const r = await runCli([...args, '--api', node!.apiUrl, '--data-dir', dataDir]);
    assert.equal(r.code, 0, `openledger ${args.join(' ')} failed:\n${r.out}`);
    return r.out;
  };
  const mnemonic = readFileSync(join(dataDir, 'chain', 'mnemonic'), 'utf8').trim();
  const contributor = mnemonicToAccount(mnemonic, { addressIndex: 2 }).address;

  const created = await cli('datanet', 'create', '--account', '1', '--name', 'cli-qa', '--licence', 'CC-BY-4.0', '--stake', '10', '--description', 'made by the CLI test');
  assert.match(created, /datanet 1 {2}cli-qa/);
  await cli('transfer', contributor, '100', '--account', '0');
  assert.match(await cli('datanet', 'stake', '1', '10', '--account', '2'), /10\.0 OPEN bonded in datanet 1|10 OPEN bonded in datanet 1/);

  const file = join(dataDir, 'records.jsonl');
  writeFileSync(
    file,
    [
      JSON.stringify({ q: 'What is the capital of France?', a: 'Paris is the capital of France.' }),
      JSON.stringify({ q: 'What is the boiling point of water at sea level?', a: '100 degrees Celsius.' }),
      '{"q": "broken line"',
      JSON.stringify({ q: 'What is the capital of France?', a: 'Paris is the capital of France.' }),
      '',
      JSON.stringify({ q: 'Who wrote Hamlet?', a: 'William Shakespeare wrote Hamlet around 1600.' }),
    ].join('\n'),
  );
  const out = await cli('contribute', '1', file, '--account', '2');
  assert.match(out, /#2 rejected: malformed_json/);
  assert.match(out, /#3 rejected: duplicate/);
  assert.match(out, /5 records .* 3 accepted, 0 pending, 2 rejected/);

  // The node dies before its worker anchors the batch; the restart anchors it.
  await node.stop('SIGKILL');
  node = await up(dataDir);
  const list = await (await fetch(`${node.apiUrl}/datanets/1/contributions?status=accepted`)).json() as { contributions: { id: string }[] };
  assert.equal(list.contributions.length, 3, 'acknowledged contributions survive kill -9');
  const proofRun = await runCli(['proof', list.contributions[0]!.id, '--api', node.apiUrl]);
  assert.equal(proofRun.code, 0, proofRun.out);
  const proof = JSON.parse(proofRun.out) as { datanetId: number; batchIndex: number; proof: string[] };
  assert.equal(proof.datanetId, 1);
  assert.equal(proof.batchIndex, 0);

  assert.match(await cli('snapshot', '1', '--account', '1'), /snapshot 1: 3 contributions, root 0x[0-9a-f]{64}, index 0 on chain/);
  // Anyone fetches the anchored batch through the node's Alt-DA server and checks it against the
  // chain; a DA server without it makes the batch unavailable, and --challenge bonds a challenge
  assert.match(await cli('datanet', 'availability', '1', '--account', '3'), /batch 0: available: 3 records/);
  const nowhere = ['--da', 'http://127.0.0.1:9/altda'];
  assert.match(await cli('datanet', 'availability', '1', '--account', '3', ...nowhere), /batch 0: unavailable: [^\n]+\n1 batch\(es\) unavailable: --challenge/);
  assert.match(await cli('datanet', 'availability', '1', '--account', '3', ...nowhere, '--challenge'), /challenged \(tx 0x[0-9a-f]{64}\), bonding 1 OPEN/);
  assert.match(await cli('datanet', 'availability', '1', '--account', '3', ...nowhere, '--challenge'), /already challenged/);
  // Not the owner or a curator: refused with the server's message, non-zero exit.
  const refused = await runCli(['snapshot', '1', '--account', '3', '--api', node.apiUrl, '--data-dir', dataDir]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.out, /403 .* is not the owner or a curator of datanet 1/);
});
