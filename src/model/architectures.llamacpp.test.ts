/**
 * Every architecture against an independent implementation: a randomly initialised model of the
 * architecture's real config (its widths, heads and features; fewer layers and the test
 * tokenizer's 304-token vocabulary) gives the same logits in this engine and in llama.cpp, from
 * the GGUF file this project exports, with and without a LoRA adapter on every projection. Also:
 * the Hugging Face config parses to the architecture's features, and the checkpoint's own tensor
 * layout (fused, renamed, shifted norms) round-trips. Skips the llama.cpp half, saying why, where
 * node-llama-cpp cannot be loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHfTensors, toHfTensors } from './architectures.ts';
import { parseModelConfig, toHfConfig, type ModelConfig } from './config.ts';
import { createCpuBackend } from './cpu/cpu-backend.ts';
import { naiveMatmul } from './cpu/naive-matmul.ts';
import { exportAdapterGguf, exportBaseGguf } from './export-gguf.ts';
import { tinyByteLevelTokenizer, tinyRandomAdapter, tinyRandomWeights } from './export-fixtures.test-util.ts';
import { ggufLoraAdapter, readGgufModel } from './import-gguf.ts';
import { parseGguf } from './gguf.ts';
import { Llama } from './llama.ts';
import { Tokenizer } from './tokenizer.ts';
import { llamaCppLogits, loadLlama, maxAbs, maxAbsDiff } from './llama-cpp.test-util.ts';
import { allLoraTargets } from './reference-forward.test-util.ts';

const tokens = [5, 17, 260, 100, 42, 299, 3, 250, 71, 284, 9, 33];
const vocab = { vocab_size: 304, eos_token_id: 300, bos_token_id: null };

/** Hugging Face config.json fields of each architecture's published checkpoints (widths reduced where noted). */
const architectures: Array<{ label: string; hf: Record<string, unknown>; expect: (c: ModelConfig) => void; compareWith?: Record<string, unknown> }> = [
  {
    label: 'Llama 3.2 (rope_scaling llama3; original context shortened to 16 so the scaling moves these positions)',
    hf: {
      model_type: 'llama', hidden_size: 512, intermediate_size: 1024, num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 2,
      head_dim: 64, rms_norm_eps: 1e-5, rope_theta: 500000, max_position_embeddings: 131072, tie_word_embeddings: true, hidden_act: 'silu',
      rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
    },
    expect: (c) => assert.equal(c.ropeScaling?.type, 'llama3'),
  },
  {
    label: 'Qwen3-0.6B (q/k norms, head_dim 128 ≠ hidden / heads)',
    hf: {
      model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 2, num_attention_heads: 16, num_key_value_heads: 8,
      head_dim: 128, rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 40960, tie_word_embeddings: true, hidden_act: 'silu',
      attention_bias: false, use_sliding_window: false, sliding_window: null, rope_scaling: null,
    },
    expect: (c) => assert.deepEqual([c.qkNorm, c.attentionBias, c.headDim], [true, false, 128]),
  },
  {
    label: 'SmolLM3 (every fourth layer without rope; width halved)',
    hf: {
      model_type: 'smollm3', hidden_size: 512, intermediate_size: 1376, num_hidden_layers: 4, num_attention_heads: 8, num_key_value_heads: 2,
      rms_norm_eps: 1e-6, rope_theta: 5000000, max_position_embeddings: 65536, tie_word_embeddings: true, hidden_act: 'silu',
      no_rope_layers: [1, 1, 1, 0], no_rope_layer_interval: 4,
    },
    expect: (c) => assert.deepEqual(c.noRopeLayers, [3]),
  },
  {
    label: 'Gemma 3 270M (GeGLU, sandwich norms, √d embeddings, q/k norms, 5 local : 1 global layers; window shortened to 4 so it acts within 12 tokens)',
    hf: {
      model_type: 'gemma3_text', hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 1,
      head_dim: 256, rms_norm_eps: 1e-6, rope_theta: 1000000, rope_local_base_freq: 10000, max_position_embeddings: 32768, query_pre_attn_scalar: 256,
      sliding_window: 4, hidden_activation: 'gelu_pytorch_tanh', final_logit_softcapping: null, attn_logit_softcapping: null, rope_scaling: null,
      layer_types: ['sliding_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention', 'full_attention'],
    },
    expect: (c) => assert.deepEqual([c.activation, c.outputNorms, c.scaleEmbeddings, c.qkNorm, c.tieEmbeddings, c.layerAttention?.[5]], ['gelu_tanh', true, true, true, true, 'full']),
  },
  {
    label: 'Phi-4-mini (partial rotary 0.75, longrope, fused qkv and gate_up; width quartered)',
    hf: {
      model_type: 'phi3', hidden_size: 768, intermediate_size: 1024, num_hidden_layers: 2, num_attention_heads: 6, num_key_value_heads: 2,
      rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 131072, original_max_position_embeddings: 4096, partial_rotary_factor: 0.75,
      tie_word_embeddings: true, hidden_act: 'silu', sliding_window: 262144,
      rope_scaling: {
        type: 'longrope',
        short_factor: Array.from({ length: 48 }, (_, i) => 1 + (i % 7) * 0.5),
        long_factor: Array.from({ length: 48 }, (_, i) => 2 + i),
      },
    },
    expect: (c) => {
      assert.equal(c.rotaryDim, 96);
      assert.equal(c.maxPositions, 4096, 'served up to the original context, where the short factors hold');
      assert.ok(c.ropeScaling?.type === 'longrope' && Math.abs(c.ropeScaling.attentionFactor - Math.sqrt(1 + Math.log(32) / Math.log(4096))) < 1e-12);
    },
    // Hugging Face multiplies cos and sin by the attention factor (the engine does: attentionScale);
    // llama.cpp (this build) does not apply GGUF's rope.scaling.attn_factor when serving within the
    // original context, so the comparison runs with the factor at one
    compareWith: { attention_factor: 1 },
  },
];

for (const { label, hf, expect, compareWith } of architectures) {
  test(`${label}: config, checkpoint layout, and the same logits as llama.cpp`, async (t) => {
    const published = parseModelConfig({ ...hf, ...vocab });
    expect(published);
    assert.deepEqual(parseModelConfig(toHfConfig(published)), published, 'the config round-trips through config.json');
    const config = compareWith ? parseModelConfig({ ...hf, ...vocab, rope_scaling: { ...(hf['rope_scaling'] as object), ...compareWith } }) : published;
    const weights = tinyRandomWeights(config, 7);
    const checkpoint = toHfTensors(config, weights);
    assert.deepEqual(fromHfTensors(config, checkpoint), weights, "the checkpoint's own layout round-trips");

    const be = createCpuBackend({ matmul: naiveMatmul, name: 'cpu-reference' });
    const model = Llama.fromTensors(be, config, weights);
    const adapterWeights = tinyRandomAdapter(config, { r: 4, alpha: 8, targets: allLoraTargets, seed: 3 });
    const ids = Int32Array.from(tokens);
    const rows = (flat: Float32Array) => tokens.map((_, i) => Float64Array.from(flat.subarray(i * config.vocabSize, (i + 1) * config.vocabSize)));
    const ours = rows(await model.logits(ids, 1, tokens.length));
    const oursLora = rows(await model.logits(ids, 1, tokens.length, model.loadLora(adapterWeights)));

    const dir = await mkdtemp(join(tmpdir(), 'architectures-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'base.gguf'), adapterPath = join(dir, 'adapter.gguf');
    const tokenizerJson = tinyByteLevelTokenizer();
    await exportBaseGguf({ config, tensors: weights, tokenizerJson, path, dtype: 'F32' });
    await exportAdapterGguf({ config, adapter: adapterWeights, path: adapterPath });
    // the exported file reads back (config, tokenizer, weights) as the same model
    const imported = await readGgufModel(path);
    const again = rows(await Llama.fromTensors(be, imported.config, imported.tensors).logits(ids, 1, tokens.length));
    assert.ok(maxAbsDiff(ours, again) <= 1e-6 * maxAbs(ours), `the model read back from GGUF differs by ${maxAbsDiff(ours, again)}`);
    // and the exported adapter reads back as the same adapter (Phi-3's fused pairs split again)
    const adapterBytes = await readFile(adapterPath);
    const adapterBack = ggufLoraAdapter(parseGguf(adapterBytes), adapterBytes, imported.config);
    const againLora = rows(await model.logits(ids, 1, tokens.length, model.loadLora(adapterBack)));
    assert.ok(maxAbsDiff(oursLora, againLora) <= 1e-5 * maxAbs(oursLora), `the adapter read back from GGUF differs by ${maxAbsDiff(oursLora, againLora)}`);
    assert.equal(adapterBack.config.r, 4);
    const text = 'the cat sat on the mat';
    assert.deepEqual(imported.tokenizer.encode(text, { addSpecialTokens: false }), Tokenizer.fromJson(tokenizerJson).encode(text, { addSpecialTokens: false }));

    const env = await loadLlama();
    if (typeof env === 'string') {
      t.skip(env);
      return;
    }
    {
      const theirs = await llamaCppLogits(env.llama, path, tokens, config.vocabSize);
      const theirsLora = await llamaCppLogits(env.llama, path, tokens, config.vocabSize, adapterPath);
      const scale = maxAbs(ours), dBase = maxAbsDiff(ours, theirs), dLora = maxAbsDiff(oursLora, theirsLora);
      t.diagnostic(`max |logit| ${scale.toFixed(2)}; max |Δ| vs llama.cpp: base ${dBase.toExponential(2)}, with adapter ${dLora.toExponential(2)} (the adapter moves logits by ${maxAbsDiff(ours, oursLora).toFixed(2)})`);
      assert.ok(scale > 1, 'logits large enough for the comparison to mean something');
      assert.ok(dBase < 1e-4 * scale, `base logits differ from llama.cpp by ${dBase}`);
      assert.ok(dLora < 1e-4 * scale, `adapted logits differ from llama.cpp by ${dLora}`);
      assert.ok(maxAbsDiff(ours, oursLora) > 0.01 * scale, 'the adapter changes the logits');
    }
  });
}
