import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Llama } from './llama.ts';
import { hashModelDir, ModelDirError, readModelDir } from './model-dir.ts';
import { referenceForward } from './reference-forward.test-util.ts';
import { referenceBackend } from './test-models.test-util.ts';
import { writeTinyBaseModel } from './tiny-base-model.test-util.ts';

const dir = mkdtempSync(join(tmpdir(), 'openledger-model-dir-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('model folders', () => {
  it('a checkpoint written to disk loads back and gives the reference logits', async () => {
    const config = await writeTinyBaseModel(join(dir, 'a'), { tieEmbeddings: false, attentionBias: true }, 7);
    const files = await readModelDir(join(dir, 'a'));
    assert.deepEqual(files.config, config);
    const tokens = files.tokenizer.encode('Mira has a small red boat.', { addSpecialTokens: false });
    const model = Llama.fromTensors(referenceBackend(), files.config, files.tensors);
    const ours = await model.logits(Int32Array.from(tokens), 1, tokens.length);
    const ref = referenceForward(files.config, files.tensors, tokens);
    ref.forEach((row, s) => row.forEach((x, v) => assert.ok(Math.abs(x - ours[s * config.vocabSize + v]!) < 1e-4)));
  });

  it('hashes the same files the same wherever they are, and different files differently', async () => {
    await mkdir(join(dir, 'b'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) await copyFile(join(dir, 'a', f), join(dir, 'b', f));
    assert.equal(await hashModelDir(join(dir, 'b')), await hashModelDir(join(dir, 'a')));
    await writeFile(join(dir, 'b', 'README.md'), 'not part of the model');
    assert.equal(await hashModelDir(join(dir, 'b')), await hashModelDir(join(dir, 'a')));
    await writeTinyBaseModel(join(dir, 'c'), {}, 8);
    assert.notEqual(await hashModelDir(join(dir, 'c')), await hashModelDir(join(dir, 'a')));
  });

  it('says which file is missing or broken', async () => {
    await mkdir(join(dir, 'empty'));
    await assert.rejects(readModelDir(join(dir, 'empty')), (e: Error) => e instanceof ModelDirError && /config.json is missing/.test(e.message));
    await mkdir(join(dir, 'bad'));
    await writeFile(join(dir, 'bad', 'config.json'), '{ not json');
    await assert.rejects(readModelDir(join(dir, 'bad')), /config.json is not valid JSON/);
  });
});
