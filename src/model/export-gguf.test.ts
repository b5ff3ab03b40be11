import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { ModelConfig } from './config.ts';
import { tinyByteLevelTokenizer, tinyRandomAdapter, tinyRandomWeights } from './export-fixtures.test-util.ts';
import {
  ModelExportError,
  UnsupportedTokenizerError,
  adapterGgufContent,
  baseGgufContent,
  detectPreTokenizer,
  exportAdapterGguf,
  exportBaseGguf,
  ggmlTokenType,
  ggufTargetName,
  ggufTokenizerMetadata,
  permuteRopeRows,
} from './export-gguf.ts';
import { ggufValue, parseGguf } from './gguf.ts';
import type { GgufMetadata } from './gguf.ts';
import { allLoraTargets } from './reference-forward.test-util.ts';

const config: ModelConfig = {
  vocabSize: 304, hiddenSize: 16, intermediateSize: 24, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 64, tieEmbeddings: false, attentionBias: false, eosTokenId: 300,
};

test('permuteRopeRows moves row half·hd/2 + i of each head to 2i + half, and back', () => {
  // 2 heads of width 4, one column: rows [a0 a1 b0 b1 | c0 c1 d0 d1] → [a0 b0 a1 b1 | c0 d0 c1 d1]
  const rows = new Float32Array([0, 1, 10, 11, 20, 21, 30, 31]);
  assert.deepEqual([...permuteRopeRows(rows, 8, 1, 2)], [0, 10, 1, 11, 20, 30, 21, 31]);
  const wide = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]); // 4 rows × 2 columns, one head
  assert.deepEqual([...permuteRopeRows(wide, 4, 2, 1)], [1, 2, 5, 6, 3, 4, 7, 8]);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), (heads, halfWidth, cols) => {
      const rowsN = heads * halfWidth * 2;
      const data = Float32Array.from({ length: rowsN * cols }, (_, i) => i);
      const there = permuteRopeRows(data, rowsN, cols, heads, 'toGgml');
      return permuteRopeRows(there, rowsN, cols, heads, 'fromGgml').every((v, i) => v === data[i]);
    }),
  );
  assert.throws(() => permuteRopeRows(new Float32Array(6), 6, 1, 2), /not 2 heads of an even width/);
  assert.throws(() => permuteRopeRows(new Float32Array(5), 4, 1, 1), /5 values are not 4 × 1/);
});

test('base content: llama hyperparameters with exact GGUF types, tensor names, F32 norms', () => {
  const weights = tinyRandomWeights(config, 1);
  const { metadata, tensors } = baseGgufContent({ config, tensors: weights, tokenizerJson: tinyByteLevelTokenizer(), dtype: 'F16' });
  const typed = (key: string) => [metadata.get(key)?.type, ggufValue(metadata, key)];
  assert.deepEqual(typed('general.architecture'), ['string', 'llama']);
  assert.deepEqual(typed('general.file_type'), ['u32', 1]);
  assert.deepEqual(typed('llama.context_length'), ['u32', 64]);
  assert.deepEqual(typed('llama.embedding_length'), ['u32', 16]);
  assert.deepEqual(typed('llama.block_count'), ['u32', 2]);
  assert.deepEqual(typed('llama.feed_forward_length'), ['u32', 24]);
  assert.deepEqual(typed('llama.attention.head_count'), ['u32', 4]);
  assert.deepEqual(typed('llama.attention.head_count_kv'), ['u32', 2]);
  assert.deepEqual(typed('llama.attention.layer_norm_rms_epsilon'), ['f32', 1e-5]);
  assert.deepEqual(typed('llama.rope.freq_base'), ['f32', 10000]);
  assert.deepEqual(typed('llama.rope.dimension_count'), ['u32', 4]);
  assert.deepEqual(typed('llama.vocab_size'), ['u32', 304]);
  assert.equal(metadata.has('llama.attention.key_length'), false);
  const names = tensors.map((t) => t.name);
  assert.deepEqual(names.slice(0, 10), [
    'token_embd.weight', 'blk.0.attn_norm.weight', 'blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.0.attn_v.weight',
    'blk.0.attn_output.weight', 'blk.0.ffn_norm.weight', 'blk.0.ffn_gate.weight', 'blk.0.ffn_up.weight', 'blk.0.ffn_down.weight',
  ]);
  assert.deepEqual(names.slice(-2), ['output_norm.weight', 'output.weight']);
  assert.equal(names.length, 1 + 2 * 9 + 2);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  assert.equal(byName.get('blk.0.attn_norm.weight')!.type, 'F32');
  assert.equal(byName.get('blk.0.ffn_up.weight')!.type, 'F16');
  assert.deepEqual(byName.get('blk.1.ffn_down.weight')!.shape, [16, 24]);
  const q = weights.get('model.layers.1.self_attn.q_proj.weight')!.data;
  assert.deepEqual(byName.get('blk.1.attn_q.weight')!.data, permuteRopeRows(q, 16, 16, 4));
  const k = weights.get('model.layers.1.self_attn.k_proj.weight')!.data;
  assert.deepEqual(byName.get('blk.1.attn_k.weight')!.data, permuteRopeRows(k, 8, 16, 2));
  assert.equal(byName.get('blk.1.attn_v.weight')!.data, weights.get('model.layers.1.self_attn.v_proj.weight')!.data);
});

test('tied embeddings omit output; biases are permuted; head_dim ≠ hidden/heads adds key/value lengths', () => {
  const tied: ModelConfig = { ...config, tieEmbeddings: true, attentionBias: true, headDim: 8 };
  const weights = tinyRandomWeights(tied, 2);
  weights.set('lm_head.weight', weights.get('model.embed_tokens.weight')!); // some checkpoints save the tied copy
  weights.set('model.rotary_emb.inv_freq', { shape: [4], data: new Float32Array(4) });
  const { metadata, tensors } = baseGgufContent({ config: tied, tensors: weights, tokenizerJson: tinyByteLevelTokenizer(), dtype: 'F32' });
  const names = tensors.map((t) => t.name);
  assert.equal(names.includes('output.weight'), false);
  assert.ok(names.includes('blk.0.attn_q.bias') && names.includes('blk.0.attn_k.bias') && names.includes('blk.0.attn_v.bias'));
  const qBias = tensors.find((t) => t.name === 'blk.0.attn_q.bias')!;
  assert.deepEqual(qBias.data, permuteRopeRows(weights.get('model.layers.0.self_attn.q_proj.bias')!.data, 32, 1, 4));
  assert.equal(ggufValue(metadata, 'llama.attention.key_length'), 8);
  assert.equal(ggufValue(metadata, 'llama.attention.value_length'), 8);
  assert.equal(ggufValue(metadata, 'general.file_type'), 0);
});

test('weights that do not fit the config are refused by name', () => {
  const tokenizerJson = tinyByteLevelTokenizer();
  const missing = tinyRandomWeights(config, 1);
  missing.delete('model.layers.1.mlp.up_proj.weight');
  assert.throws(() => baseGgufContent({ config, tensors: missing, tokenizerJson }), (e) => e instanceof ModelExportError && /missing weight "model\.layers\.1\.mlp\.up_proj\.weight"/.test(e.message));
  const wrong = tinyRandomWeights(config, 1);
  wrong.set('model.norm.weight', { shape: [8], data: new Float32Array(8) });
  assert.throws(() => baseGgufContent({ config, tensors: wrong, tokenizerJson }), /"model\.norm\.weight" is \[8\], the config needs \[16\]/);
  const extra = tinyRandomWeights(config, 1);
  extra.set('model.layers.2.mlp.up_proj.weight', { shape: [1], data: new Float32Array(1) });
  assert.throws(() => baseGgufContent({ config, tensors: extra, tokenizerJson }), /no place for: model\.layers\.2\.mlp\.up_proj\.weight/);
});

function tokenizerMeta(json: unknown, extra: Partial<Parameters<typeof ggufTokenizerMetadata>[1]> = {}): GgufMetadata {
  return ggufTokenizerMetadata(json, { vocabSize: 304, ...extra });
}

test('tokenizer: gpt2 model, tokens by id with padding, token types, merges, special ids', () => {
  const json = tinyByteLevelTokenizer();
  const meta = tokenizerMeta(json, { eosTokenId: 300 });
  assert.equal(ggufValue(meta, 'tokenizer.ggml.model'), 'gpt2');
  assert.equal(ggufValue(meta, 'tokenizer.ggml.pre'), 'gpt-2');
  const tokens = ggufValue(meta, 'tokenizer.ggml.tokens') as string[];
  const types = ggufValue(meta, 'tokenizer.ggml.token_type') as number[];
  assert.equal(meta.get('tokenizer.ggml.token_type')!.type, 'array');
  assert.equal(tokens.length, 304);
  assert.equal(tokens[0], 'Ā'); // byte 0 in the byte-level alphabet
  assert.equal(tokens[33], '!');
  assert.equal(tokens[32], 'Ġ');
  assert.equal(tokens[json.model.vocab['Ġthe']!], 'Ġthe');
  assert.equal(tokens[296], '▁');
  assert.deepEqual(tokens.slice(297, 300), ['[PAD297]', '[PAD298]', '[PAD299]']);
  assert.deepEqual(types.slice(295, 304), [1, 1, 5, 5, 5, 3, 3, 3, 4]);
  assert.equal(tokens[303], '<tool>');
  assert.deepEqual((ggufValue(meta, 'tokenizer.ggml.merges') as string[]).slice(0, 3), ['t h', 'th e', 'Ġ the']);
  assert.equal(ggufValue(meta, 'tokenizer.ggml.eos_token_id'), 300);
  assert.equal(meta.has('tokenizer.ggml.bos_token_id'), false);
  assert.equal(ggufValue(meta, 'tokenizer.ggml.add_bos_token'), false);
  assert.equal(ggufValue(meta, 'tokenizer.ggml.add_eos_token'), false);
  // merges as pairs (newer tokenizers), EOS found by name when not given
  const pairs = { ...json, model: { ...json.model, merges: json.model.merges.map((m) => m.split(' ')) } };
  const again = tokenizerMeta(pairs);
  assert.deepEqual(ggufValue(again, 'tokenizer.ggml.merges'), ggufValue(meta, 'tokenizer.ggml.merges'));
  assert.equal(ggufValue(again, 'tokenizer.ggml.eos_token_id'), 300);
  assert.equal(ggmlTokenType.control, 3);
});

test('tokenizer: a template post-processor that adds BOS (and EOS) sets the add flags and ids', () => {
  const json = {
    ...tinyByteLevelTokenizer(),
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|im_start|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|im_end|>', type_id: 0 } }], pair: [], special_tokens: {} },
      ],
    },
  };
  const meta = tokenizerMeta(json, { chatTemplate: '{{ x }}' });
  assert.equal(ggufValue(meta, 'tokenizer.ggml.add_bos_token'), true);
  assert.equal(ggufValue(meta, 'tokenizer.ggml.bos_token_id'), 301);
  assert.equal(ggufValue(meta, 'tokenizer.ggml.add_eos_token'), true);
  assert.equal(ggufValue(meta, 'tokenizer.ggml.eos_token_id'), 302);
  assert.equal(ggufValue(meta, 'tokenizer.chat_template'), '{{ x }}');
  assert.throws(() => tokenizerMeta(json, { bosTokenId: 300 }), /adds "<\|im_start\|>" \(id 301\) before every text, but the BOS id given is 300/);
});

test('pre-tokenizer detection and refusals', () => {
  const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const split = (regex: string) => ({ pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, use_regex: false }] } });
  assert.equal(detectPreTokenizer(split(llama3)), 'llama-bpe');
  assert.equal(detectPreTokenizer(split(llama3.replace('\\p{N}{1,3}', '\\p{N}'))), 'qwen2');
  assert.equal(detectPreTokenizer({ pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: false, use_regex: true }] } }), 'smollm');
  assert.throws(() => detectPreTokenizer(split('\\s+')), (e) => e instanceof UnsupportedTokenizerError && /pass preTokenizer explicitly/.test(e.message));
  assert.throws(() => detectPreTokenizer({ pre_tokenizer: { type: 'Metaspace' } }), /not byte-level/);
  assert.throws(() => detectPreTokenizer({ pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true } }), /add_prefix_space/);
  const json = tinyByteLevelTokenizer();
  assert.equal(ggufValue(tokenizerMeta({ ...json, pre_tokenizer: { type: 'Metaspace' } }, { preTokenizer: 'default' }), 'tokenizer.ggml.pre'), 'default');
  assert.throws(() => ggufTokenizerMetadata(json, { vocabSize: 300 }), /"<\|endoftext\|>" has id 300, past the model's 300 embedding rows/);
  assert.throws(() => tokenizerMeta({ ...json, model: { ...json.model, type: 'Unigram' } }), /model type "Unigram" is not BPE/);
  assert.throws(() => tokenizerMeta({ ...json, added_tokens: [{ id: 5, content: 'x', special: true }] }), /id 5 is both "ą" and "x"/);
  assert.throws(() => tokenizerMeta(json, { eosTokenId: 999 }), /eos token id 999 is outside the vocabulary/);
});

test('adapter content: lora_a [r, in] / lora_b [out, r] under the base names, q and k B rows permuted', () => {
  const adapter = tinyRandomAdapter(config, { r: 2, alpha: 5, targets: allLoraTargets, seed: 4 });
  const { metadata, tensors } = adapterGgufContent({ config, adapter });
  assert.equal(ggufValue(metadata, 'general.type'), 'adapter');
  assert.equal(ggufValue(metadata, 'general.architecture'), 'llama');
  assert.equal(ggufValue(metadata, 'adapter.type'), 'lora');
  assert.deepEqual([metadata.get('adapter.lora.alpha')!.type, ggufValue(metadata, 'adapter.lora.alpha')], ['f32', 5]);
  assert.equal(tensors.length, 2 * 7 * 2);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  assert.equal(ggufTargetName(1, 'down_proj'), 'blk.1.ffn_down.weight');
  const qa = byName.get('blk.0.attn_q.weight.lora_a')!;
  const qb = byName.get('blk.0.attn_q.weight.lora_b')!;
  assert.deepEqual(qa.shape, [2, 16]);
  assert.deepEqual(qb.shape, [16, 2]);
  assert.equal(qa.data, adapter.layers[0]!.q_proj!.a);
  assert.deepEqual(qb.data, permuteRopeRows(adapter.layers[0]!.q_proj!.b, 16, 2, 4));
  assert.deepEqual(byName.get('blk.1.attn_k.weight.lora_b')!.data, permuteRopeRows(adapter.layers[1]!.k_proj!.b, 8, 2, 2));
  assert.equal(byName.get('blk.1.attn_v.weight.lora_b')!.data, adapter.layers[1]!.v_proj!.b);
  assert.deepEqual(byName.get('blk.1.ffn_down.weight.lora_a')!.shape, [2, 24]);

  const bad = tinyRandomAdapter({ ...config, hiddenSize: 8 }, { r: 2, alpha: 5, targets: ['q_proj'], seed: 4 });
  assert.throws(() => adapterGgufContent({ config, adapter: bad }), /layer 0 q_proj: A has 16 values and B 32; r=2 needs 32/);
  assert.throws(() => adapterGgufContent({ config, adapter: { ...adapter, layers: [] } }), /no LoRA weights/);
});

test('the exporters write files that parse back with the same content', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'export-gguf-unit-'));
  try {
    const weights = tinyRandomWeights(config, 1);
    const tokenizerJson = tinyByteLevelTokenizer();
    await exportBaseGguf({ config, tensors: weights, tokenizerJson, path: join(dir, 'base.gguf'), dtype: 'F16', name: 'tiny' });
    const base = parseGguf(await readFile(join(dir, 'base.gguf')));
    assert.equal(ggufValue(base.metadata, 'general.name'), 'tiny');
    assert.equal(base.tensors.find((t) => t.name === 'blk.0.ffn_gate.weight')!.type, 'F16');
    assert.deepEqual(base.tensors.find((t) => t.name === 'token_embd.weight')!.dims, [16, 304]);
    const adapter = tinyRandomAdapter(config, { r: 2, alpha: 4, targets: ['q_proj', 'v_proj'], seed: 5 });
    await exportAdapterGguf({ config, adapter, path: join(dir, 'adapter.gguf') });
    const file = parseGguf(await readFile(join(dir, 'adapter.gguf')));
    assert.deepEqual(file.tensors.map((t) => t.name), [
      'blk.0.attn_q.weight.lora_a', 'blk.0.attn_q.weight.lora_b', 'blk.0.attn_v.weight.lora_a', 'blk.0.attn_v.weight.lora_b',
      'blk.1.attn_q.weight.lora_a', 'blk.1.attn_q.weight.lora_b', 'blk.1.attn_v.weight.lora_a', 'blk.1.attn_v.weight.lora_b',
    ]);
    assert.deepEqual(file.tensors[0]!.dims, [16, 2]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
