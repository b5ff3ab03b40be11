import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelConfig } from './config.ts';
import type { LoraAdapterWeights } from './lora-weights.ts';
import { PeftFormatError, UnsupportedAdapterError, loadPeftAdapter, parsePeftAdapter, peftAdapterFiles, peftTensorName, savePeftAdapter } from './peft.ts';
import { parseSafetensors, serializeSafetensors } from './safetensors.ts';
import type { TensorMap } from './tensor-map.ts';
import { fromHfTensors, toHfTensors } from './architectures.ts';
import { tinyRandomWeights } from './export-fixtures.test-util.ts';
import { Llama } from './llama.ts';
import { referenceBackend } from './test-models.test-util.ts';

const config: ModelConfig = {
  vocabSize: 50, hiddenSize: 8, intermediateSize: 12, numLayers: 2, numHeads: 2, numKvHeads: 1, headDim: 4,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 64, tieEmbeddings: true, attentionBias: false,
};

function ramp(n: number, seed: number): Float32Array {
  return new Float32Array(n).map((_, i) => Math.sin(seed * 100 + i));
}

/** r=2 on q (8→8), v (8→4) and down (12→8); layer 1 has no down_proj. */
function sampleAdapter(): LoraAdapterWeights {
  const r = 2;
  return {
    config: { r, alpha: 4, targetModules: ['down_proj', 'q_proj', 'v_proj'], baseModel: '0xabc' },
    layers: [
      { q_proj: { a: ramp(r * 8, 1), b: ramp(8 * r, 2) }, v_proj: { a: ramp(r * 8, 3), b: ramp(4 * r, 4) }, down_proj: { a: ramp(r * 12, 5), b: ramp(8 * r, 6) } },
      { q_proj: { a: ramp(r * 8, 7), b: ramp(8 * r, 8) }, v_proj: { a: ramp(r * 8, 9), b: ramp(4 * r, 10) } },
    ],
  };
}

test('PEFT names and shapes: lora_A [r, in], lora_B [out, r], self_attn / mlp paths', () => {
  assert.equal(peftTensorName(0, 'q_proj', 'A'), 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
  assert.equal(peftTensorName(5, 'gate_proj', 'B'), 'base_model.model.model.layers.5.mlp.gate_proj.lora_B.weight');
  const files = peftAdapterFiles(sampleAdapter(), { config });
  const { tensors, metadata } = parseSafetensors(files['adapter_model.safetensors']);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.equal(tensors.size, 10);
  assert.deepEqual(tensors.get(peftTensorName(0, 'v_proj', 'A'))!.shape, [2, 8]);
  assert.deepEqual(tensors.get(peftTensorName(0, 'v_proj', 'B'))!.shape, [4, 2]);
  assert.deepEqual(tensors.get(peftTensorName(0, 'down_proj', 'A'))!.shape, [2, 12]);
  const json = JSON.parse(new TextDecoder().decode(files['adapter_config.json']));
  assert.equal(json.peft_type, 'LORA');
  assert.equal(json.task_type, 'CAUSAL_LM');
  assert.equal(json.r, 2);
  assert.equal(json.lora_alpha, 4);
  assert.equal(json.lora_dropout, 0);
  assert.equal(json.bias, 'none');
  assert.equal(json.fan_in_fan_out, false);
  assert.equal(json.inference_mode, true);
  assert.equal(json.base_model_name_or_path, '0xabc');
  assert.deepEqual(json.target_modules, ['q_proj', 'v_proj', 'down_proj']);
  assert.deepEqual(Object.keys(json), [...Object.keys(json)].sort());
});

test('the files are deterministic and round-trip exactly (F32) or rounded (BF16)', () => {
  const a = peftAdapterFiles(sampleAdapter());
  const shuffled = sampleAdapter();
  shuffled.config.targetModules = ['v_proj', 'down_proj', 'q_proj'];
  const b = peftAdapterFiles(shuffled);
  assert.deepEqual(a, b);
  const back = parsePeftAdapter(a, { config });
  assert.deepEqual(back.config, { r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj', 'down_proj'], baseModel: '0xabc' });
  assert.equal(back.layers.length, 2);
  assert.deepEqual(back.layers[0]!.down_proj!.a, sampleAdapter().layers[0]!.down_proj!.a);
  assert.equal(back.layers[1]!.down_proj, undefined);
  const bf16 = parsePeftAdapter(peftAdapterFiles(sampleAdapter(), { dtype: 'BF16' }));
  const max = Math.max(...bf16.layers[0]!.q_proj!.b.map((v, i) => Math.abs(v - sampleAdapter().layers[0]!.q_proj!.b[i]!)));
  assert.ok(max > 0 && max < 4e-3, `bf16 error ${max}`);
});

test('save and load a folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peft-'));
  try {
    await savePeftAdapter(join(dir, 'a'), sampleAdapter(), { config });
    const files = peftAdapterFiles(sampleAdapter());
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'a', 'adapter_model.safetensors'))), files['adapter_model.safetensors']);
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'a', 'adapter_config.json'))), files['adapter_config.json']);
    const back = await loadPeftAdapter(join(dir, 'a'), { config });
    assert.deepEqual(back.layers[1]!.v_proj!.b, sampleAdapter().layers[1]!.v_proj!.b);
    await writeFile(join(dir, 'adapter_model.bin'), 'pickle');
    await assert.rejects(loadPeftAdapter(dir), (e) => e instanceof PeftFormatError && /only adapter_model\.bin/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('files as Python PEFT writes them: adapter names, prefixes, F16, minimal config', () => {
  const s = sampleAdapter();
  const tensors: TensorMap = new Map([
    ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight', { shape: [2, 8], data: s.layers[0]!.q_proj!.a }],
    ['base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight', { shape: [8, 2], data: s.layers[0]!.q_proj!.b }],
    ['model.layers.1.mlp.up_proj.lora_A.weight', { shape: [2, 8], data: ramp(16, 11) }],
    ['model.layers.1.mlp.up_proj.lora_B.weight', { shape: [12, 2], data: ramp(24, 12) }],
  ]);
  const files = {
    'adapter_config.json': JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 16, target_modules: '.*(q_proj|up_proj)', base_model_name_or_path: null, use_dora: false, rank_pattern: {}, modules_to_save: null }),
    'adapter_model.safetensors': serializeSafetensors(tensors, { dtype: 'F16' }),
  };
  const back = parsePeftAdapter(files, { config });
  assert.deepEqual(back.config, { r: 2, alpha: 16, targetModules: ['q_proj', 'up_proj'], baseModel: '' });
  assert.deepEqual([...back.layers[0]!.q_proj!.a], [...s.layers[0]!.q_proj!.a].map(Math.f16round));
  assert.equal(back.layers[1]!.up_proj!.b.length, 24);
  assert.equal(parsePeftAdapter(files).layers.length, 2, 'without a config, layers run to the highest index');
});

test('bad adapters give typed errors naming the problem', () => {
  const good = peftAdapterFiles(sampleAdapter());
  const withTensors = (t: TensorMap, json: Uint8Array | string = good['adapter_config.json']) => ({ 'adapter_config.json': json, 'adapter_model.safetensors': serializeSafetensors(t) });
  const base = parseSafetensors(good['adapter_model.safetensors']).tensors;

  const noB = new Map(base);
  noB.delete(peftTensorName(0, 'q_proj', 'B'));
  assert.throws(() => parsePeftAdapter(withTensors(noB)), (e) => e instanceof PeftFormatError && /layer 0 q_proj has lora_A but no lora_B/.test(e.message));

  const lmHead = new Map(base).set('base_model.model.lm_head.lora_A.weight', { shape: [2, 8], data: new Float32Array(16) });
  assert.throws(() => parsePeftAdapter(withTensors(lmHead)), /"base_model\.model\.lm_head\.lora_A\.weight" is not a LoRA matrix/);

  const wrongPath = new Map(base).set('model.layers.0.mlp.q_proj.lora_A.weight', { shape: [2, 8], data: new Float32Array(16) });
  assert.throws(() => parsePeftAdapter(withTensors(wrongPath)), /mlp\.q_proj is not an adaptable projection/);

  const tooDeep = new Map(base)
    .set(peftTensorName(2, 'q_proj', 'A'), { shape: [2, 8], data: new Float32Array(16) })
    .set(peftTensorName(2, 'q_proj', 'B'), { shape: [8, 2], data: new Float32Array(16) });
  assert.throws(() => parsePeftAdapter(withTensors(tooDeep), { config }), /layer 2; the model has 2/);

  const wide = new Map(base).set(peftTensorName(0, 'v_proj', 'B'), { shape: [8, 2], data: new Float32Array(16) });
  assert.throws(() => parsePeftAdapter(withTensors(wide), { config }), /layer 0 v_proj maps 8 → 8; the model has 8 → 4/);
  assert.throws(() => parsePeftAdapter(withTensors(wide)), /layer 1 v_proj maps 8 → 4; other layers have 8 → 8|layer 0 v_proj maps 8 → 8; other layers have 8 → 4/);

  const wrongRank = new Map(base).set(peftTensorName(0, 'q_proj', 'A'), { shape: [4, 4], data: new Float32Array(16) });
  assert.throws(() => parsePeftAdapter(withTensors(wrongRank)), /lora_A is \[4, 4\] and lora_B \[8, 2\]; r=2 needs/);

  const cfg = (extra: object) => JSON.stringify({ ...JSON.parse(new TextDecoder().decode(good['adapter_config.json'])), ...extra });
  assert.throws(() => parsePeftAdapter(withTensors(base, cfg({ use_dora: true }))), (e) => e instanceof UnsupportedAdapterError && /DoRA/.test(e.message));
  assert.throws(() => parsePeftAdapter(withTensors(base, cfg({ use_rslora: true }))), /rsLoRA/);
  assert.throws(() => parsePeftAdapter(withTensors(base, cfg({ rank_pattern: { q_proj: 4 } }))), /rank_pattern/);
  assert.throws(() => parsePeftAdapter(withTensors(base, cfg({ modules_to_save: ['lm_head'] }))), /modules_to_save: lm_head/);
  assert.throws(() => parsePeftAdapter(withTensors(base, cfg({ peft_type: 'IA3' }))), /peft_type "IA3"/);
  assert.throws(() => parsePeftAdapter(withTensors(base, cfg({ r: 0 }))), (e) => e instanceof PeftFormatError && /adapter_config\.json: r:/.test(e.message));
  assert.throws(() => parsePeftAdapter(withTensors(base, '{"r": 2,')), /adapter_config\.json: bad JSON/);

  const bad = sampleAdapter();
  bad.config.targetModules = ['q_proj'];
  assert.throws(() => peftAdapterFiles(bad), /v_proj, which is not in the adapter's targetModules/);
  assert.throws(() => peftAdapterFiles({ ...sampleAdapter(), layers: [{ q_proj: { a: new Float32Array(16), b: new Float32Array(6) } }] }, { config }), /layer 0 q_proj: A has 16 values and B 6/);
});

test("a Phi-3 adapter on the fused qkv_proj and gate_up_proj reads as exact pairs on their parts: the model with it equals the model with B·A merged into the fused weights", async () => {
  const phi: ModelConfig = { ...config, architecture: 'phi3', numHeads: 2, numKvHeads: 1, headDim: 4, tieEmbeddings: false };
  const d = phi.hiddenSize, qkv = (phi.numHeads + 2 * phi.numKvHeads) * phi.headDim, f = phi.intermediateSize, r = 2, alpha = 6;
  const tensors: TensorMap = new Map();
  for (let l = 0; l < phi.numLayers; l++) {
    const p = `base_model.model.model.layers.${l}.`;
    tensors.set(`${p}self_attn.qkv_proj.lora_A.weight`, { shape: [r, d], data: ramp(r * d, 20 + l) });
    tensors.set(`${p}self_attn.qkv_proj.lora_B.weight`, { shape: [qkv, r], data: ramp(qkv * r, 30 + l) });
    tensors.set(`${p}mlp.gate_up_proj.lora_A.weight`, { shape: [r, d], data: ramp(r * d, 40 + l) });
    tensors.set(`${p}mlp.gate_up_proj.lora_B.weight`, { shape: [2 * f, r], data: ramp(2 * f * r, 50 + l) });
  }
  const files = {
    'adapter_config.json': JSON.stringify({ peft_type: 'LORA', r, lora_alpha: alpha, target_modules: ['qkv_proj', 'gate_up_proj'] }),
    'adapter_model.safetensors': serializeSafetensors(tensors),
  };
  assert.throws(() => parsePeftAdapter(files, { config }), /needs the Phi-3 base model's config/);
  const adapter = parsePeftAdapter(files, { config: phi });
  assert.deepEqual(adapter.config.targetModules, ['q_proj', 'k_proj', 'v_proj', 'gate_proj', 'up_proj']);

  // the reference: the checkpoint's own fused weights plus (alpha/r)·B·A, split by the architecture's loader
  const weights = tinyRandomWeights(phi, 4);
  const hf = toHfTensors(phi, weights);
  for (let l = 0; l < phi.numLayers; l++) {
    for (const [module, name] of [['self_attn.qkv_proj', `model.layers.${l}.self_attn.qkv_proj.weight`], ['mlp.gate_up_proj', `model.layers.${l}.mlp.gate_up_proj.weight`]] as const) {
      const A = tensors.get(`base_model.model.model.layers.${l}.${module}.lora_A.weight`)!, B = tensors.get(`base_model.model.model.layers.${l}.${module}.lora_B.weight`)!;
      const W = hf.get(name)!, out = W.shape[0]!, merged = W.data.slice();
      for (let o = 0; o < out; o++) for (let c = 0; c < d; c++) for (let k = 0; k < r; k++) merged[o * d + c]! += (alpha / r) * B.data[o * r + k]! * A.data[k * d + c]!;
      hf.set(name, { shape: W.shape, data: merged });
    }
  }
  const be = referenceBackend();
  const ids = Int32Array.from([1, 7, 3, 9, 4]);
  const base = Llama.fromTensors(be, phi, weights);
  const withAdapter = await base.logits(ids, 1, ids.length, base.loadLora(adapter));
  const expected = await Llama.fromTensors(be, phi, fromHfTensors(phi, hf)).logits(ids, 1, ids.length);
  const diff = Math.max(...withAdapter.map((v, i) => Math.abs(v - expected[i]!)));
  assert.ok(diff < 1e-4, `logits differ by ${diff}`);
});
