import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import OpenAI from 'openai';
import { generatePlantedFacts } from '../model/corpus/planted-facts.ts';
import { ggufValue, parseGguf } from '../model/gguf.ts';
import { loadPeftAdapter } from '../model/peft.ts';
import { writeTinyBaseModel } from '../model/tiny-base-model.test-util.ts';
import { SHIPPED_BASE_MODEL } from '../factory/shipped-base-model.ts';
import { callJsonRpc } from '../chain/json-rpc.ts';
import { signingAccount } from './api-client.ts';
import { runCli, up, type Up } from './test-node.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'openledger-cli-train-'));
let node: Up | undefined;
after(async () => {
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Job { id: string; status: string; step: number; totalSteps: number | null; modelId: string | null }

test('from a datanet snapshot to published adapters through the CLI, across a kill -9 mid-training, served to the openai client', { timeout: 400_000 }, async () => {
  node = await up(dataDir);
  const cli = async (...args: string[]) => {
    const r = await runCli([...args, '--api', node!.apiUrl, '--data-dir', dataDir]);
    assert.equal(r.code, 0, `openledger ${args.join(' ')} failed:\n${r.out}`);
    return r.out;
  };
  const read = async (...args: string[]) => {
    const r = await runCli([...args, '--api', node!.apiUrl]);
    assert.equal(r.code, 0, `openledger ${args.join(' ')} failed:\n${r.out}`);
    return r.out;
  };
  const job = async (id: string) => (await (await fetch(`${node!.apiUrl}/factory/jobs/${id}`)).json()) as Job;

  // a base model on the node's disk, added by the operator (account 0) only
  const baseDir = join(dataDir, 'tiny-base');
  await writeTinyBaseModel(baseDir);
  const refused = await runCli(['base-model', 'add', baseDir, '--name', 'tiny', '--account', '1', '--api', node.apiUrl, '--data-dir', dataDir]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.out, /403 .* is not this node's operator/);
  assert.match(await cli('base-model', 'add', baseDir, '--name', 'tiny', '--account', '0'), /base model tiny: 0x[0-9a-f]{64}/);
  assert.match(await read('base-model', 'list'), /tiny {2}0x/);

  // a datanet of question/answer records, contributed from a file and frozen in a snapshot
  await cli('datanet', 'create', '--account', '1', '--name', 'facts', '--licence', 'CC-BY-4.0');
  const facts = generatePlantedFacts({ seed: 5, facts: 10 });
  const file = join(dataDir, 'facts.jsonl');
  writeFileSync(file, [...facts.train, ...facts.heldOut].map((r) => JSON.stringify({ prompt: r.prompt, response: r.response })).join('\n'));
  assert.match(await cli('contribute', '1', file, '--account', '2'), / 50 accepted/);
  await new Promise((r) => setTimeout(r, 500));
  assert.match(await cli('snapshot', '1', '--account', '1'), /snapshot 1: 50 contributions/);

  // bad input is refused before anything is queued
  const bad = await runCli(['train', '--name', 'x', '--snapshot', '1', '--base', 'tiny', '--rank', '0', '--api', node.apiUrl, '--data-dir', dataDir, '--account', '3']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /rank/);

  // a job long enough to be killed mid-way: queue it, wait for a few steps, kill -9 the node
  const hp = join(dataDir, 'hp.json');
  // the shipped pre-trained base with the default ('auto') settings: it learns the facts, so its answers are paid to their contributors
  writeFileSync(hp, JSON.stringify({ batchSize: 4, checkpointEvery: 2, sketchDimension: 64 }));
  const queued = await cli('train', '--name', 'facts-qa', '--snapshot', '1', '--base', 'openledger-tiny', '--price', '0.001', '--hyperparameters', hp, '--detach', '--account', '3');
  const id = /job ([0-9a-f-]{36}) queued/.exec(queued)![1]!;
  for (let i = 0; i < 1200 && (await job(id)).step < 4; i++) await new Promise((r) => setTimeout(r, 50));
  const before = await job(id);
  assert.ok(before.step >= 4 && before.step < before.totalSteps!, `killed at step ${before.step} of ${before.totalSteps}`);
  await node.stop('SIGKILL');

  // restarted behind a public address (a reverse proxy): what it posts on chain names that, not its listen address
  node = await up(dataDir, { OPENLEDGER_PUBLIC_URL: 'https://node.example.org/' });
  const shown = await read('job', 'show', id, '--follow');
  assert.match(shown, /facts-qa {2}succeeded/);
  assert.match(shown, /held-out {4}loss \d+\.\d+ → \d+\.\d+/);
  assert.match(shown, /answers {5}held-out \d+\/\d+ exactly right, [\d.]+ % of the words; trained \d+\/\d+ exactly right/);
  assert.match(shown, /model {7}#1 in the ModelRegistry/);
  const done = await job(id);
  assert.equal(done.step, done.totalSteps);
  assert.match(await read('job', 'list'), new RegExp(`${id} {2}succeeded`));

  // the adapter comes back as a PEFT folder, and base + adapter convert to GGUF for llama.cpp
  const peftDir = join(dataDir, 'adapter');
  await read('job', 'adapter', id, '--out', peftDir);
  const adapter = await loadPeftAdapter(peftDir);
  assert.equal(adapter.config.r, 16, "'auto' rank for a small datanet");
  const exported = await runCli(['export-gguf', SHIPPED_BASE_MODEL.path, '--out', join(dataDir, 'base.gguf'), '--adapter', peftDir, '--adapter-out', join(dataDir, 'adapter.gguf')]);
  assert.equal(exported.code, 0, exported.out);
  const gguf = parseGguf(new Uint8Array(readFileSync(join(dataDir, 'adapter.gguf'))));
  assert.equal(ggufValue(gguf.metadata, 'adapter.type'), 'lora');
  assert.equal(gguf.tensors.length, 4 * 7 * 2, 'A and B of 7 projections in each of the 4 layers');

  // paid inference: refused (402) until the consumer deposits OPEN into the escrow and authorises the node
  const prompt0 = `### Question: ${facts.train[0]!.prompt}\n### Answer:`;
  const unpaid = await runCli(['infer', '--model', 'facts-qa', '--prompt', prompt0, '--api', node.apiUrl, '--data-dir', dataDir, '--account', '4']);
  assert.notEqual(unpaid.code, 0);
  assert.match(unpaid.out, /402 .*spend authorisation/);
  const consumer = signingAccount({ api: node.apiUrl, dataDir, account: '4' }).address;
  await cli('transfer', consumer, '5', '--account', '0');
  assert.match(await cli('deposit', '2', '--account', '4'), /deposited 2 OPEN[\s\S]*authorised 2 OPEN/);

  // an inference with the published model is attributed, and anyone can verify its receipt. The
  // tiny model does not learn every fact, and an answer that mixes facts up abstains (its share goes
  // to the datanet's pool), so the training questions are asked in turn until an answer credits one
  const ask = async (k: number) => {
    const out = await cli('infer', '--model', 'facts-qa', '--prompt', `### Question: ${facts.train[k]!.prompt}\n### Answer:`, '--max-tokens', '16', '--account', '4');
    assert.match(out, /tokens, fee \d/);
    const id = /receipt (0x[0-9a-f]{64})/.exec(out)![1]!;
    const r = (await (await fetch(`${node!.apiUrl}/attribution/${id}`)).json()) as { body: { contributions: unknown[] } };
    return { id, credits: r.body.contributions.length > 0 };
  };
  let asked = await ask(0);
  for (let k = 1; !asked.credits && k < facts.train.length; k++) asked = await ask(k);
  assert.ok(asked.credits, 'an answer credits a contribution');
  const receipt = asked.id;
  const verified = await read('attribution', 'verify', receipt, '--cache-dir', join(dataDir, 'verify-cache'));
  assert.match(verified, /signed by the node 0x/);
  assert.match(verified, /every share matches/);

  // two more adapters on the same snapshot; the official openai client, with an API key made by
  // the CLI, streams from all three at once (one continuous batch on the shared base model)
  const small = join(dataDir, 'hp-small.json');
  writeFileSync(small, JSON.stringify({ epochs: 2, batchSize: 8, learningRate: 0.02, sketchDimension: 64 }));
  for (const name of ['facts-qa-b', 'facts-qa-c']) {
    const q = await cli('train', '--name', name, '--snapshot', '1', '--base', 'openledger-tiny', '--rank', '4', '--price', '0.001', '--hyperparameters', small, '--detach', '--account', '3');
    assert.match(await read('job', 'show', /job ([0-9a-f-]{36}) queued/.exec(q)![1]!, '--follow'), /succeeded/);
  }
  const key = /olk_\S+/.exec(await cli('api-key', 'create', '--name', 'ci', '--account', '4'))![0];
  assert.match(await cli('api-key', 'list', '--account', '4'), /active .* ci/);
  const client = new OpenAI({ apiKey: key, baseURL: `${node.apiUrl}/v1`, maxRetries: 0 });
  const models = ['facts-qa', 'facts-qa-b', 'facts-qa-c'];
  const prompt = `### Question: ${facts.train[1]!.prompt}\n### Answer:`;
  const streamed = await Promise.all(models.map(async (model) => {
    let text = '', receiptId = '';
    for await (const chunk of await client.completions.create({ model, prompt, max_tokens: 12, temperature: 0, stream: true })) {
      text += chunk.choices[0]?.text ?? '';
      receiptId = (chunk as unknown as { openledger?: { receipt_id: string } }).openledger?.receipt_id ?? receiptId;
    }
    return { text, receiptId };
  }));
  for (const [i, model] of models.entries()) {
    const alone = await client.completions.create({ model, prompt, max_tokens: 12, temperature: 0 });
    assert.equal(streamed[i]!.text, alone.choices[0]!.text, `${model}: streamed in a mixed batch = alone`);
    const r = (await (await fetch(`${node.apiUrl}/attribution/${streamed[i]!.receiptId}`)).json()) as { body: { model: { name: string } } };
    assert.equal(r.body.model.name, model);
  }
  const keyId = /^(\S+) {2}active/m.exec(await cli('api-key', 'list', '--account', '4'))![1]!;
  await cli('api-key', 'revoke', keyId, '--account', '4');
  await assert.rejects(client.completions.create({ model: 'facts-qa', prompt, max_tokens: 2 }), (err: Error & { status?: number }) => err.status === 401);

  // the epoch job settles every paid inference; after the challenge window the contributor claims
  assert.match(await cli('settlement', 'run', '--account', '0'), /epoch 1 posted: \d+ receipts/);
  assert.match(await read('settlement', 'epochs'), /epoch 1 {2}posted/);
  const posted = (await (await fetch(`${node.apiUrl}/chain/events?contract=attributionSettlement&event=EpochPosted`)).json()) as { events: { args: { inputsURI: string } }[] };
  assert.equal(posted.events[0]?.args.inputsURI, 'https://node.example.org/settlement/epochs/1/inputs', 'the epoch inputs are announced at OPENLEDGER_PUBLIC_URL');
  assert.match(await cli('settlement', 'verify', '1', '--account', '5'), /epoch 1: \d+ receipts, every signature, share and cumulative amount checks out/);
  await callJsonRpc(node.rpcUrl, 'evm_increaseTime', [3601]);
  await callJsonRpc(node.rpcUrl, 'evm_mine', []);
  const rewards = await cli('rewards', '--account', '2', '--why');
  assert.match(rewards, /% {2}receipt 0x[0-9a-f]{64} {2}facts-qa(-[bc])? {2}contribution 0x[0-9a-f]{64} {2}epoch 1/);
  assert.match(rewards, /contributor .* model facts-qa {2}datanet 1/);
  assert.match(await cli('claim', '--account', '2'), /claimed [\d.]+ OPEN \(epoch 1\)/);
  assert.match(await cli('claim', '--account', '2'), /nothing to claim/);
  assert.match(await cli('funds', '--account', '4'), /deposit 2 OPEN, authorised 2 OPEN, spent [\d.]+ OPEN/);

  // the event stream of a finished job replays its curve and ends
  const events = await (await fetch(`${node.apiUrl}/factory/jobs/${id}/events`)).text();
  assert.equal(events.match(/^event: progress$/gm)?.length, done.totalSteps);
  assert.match(events, /event: end\ndata: \{"status":"succeeded"\}/);
});
