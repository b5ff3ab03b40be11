import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseModelConfig, toHfConfig, UnsupportedConfigError } from './config.ts';

// config.json fields as SmolLM2-135M and Qwen2-0.5B publish them
const smollm2 = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 49152, hidden_size: 576, intermediate_size: 1536,
  num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, rms_norm_eps: 1e-5, rope_theta: 100000,
  max_position_embeddings: 8192, tie_word_embeddings: true, hidden_act: 'silu', bos_token_id: 0, eos_token_id: 0, rope_scaling: null,
};
const qwen2 = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864,
  num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000,
  max_position_embeddings: 32768, tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: 151643, bos_token_id: 151643,
};

describe('parseModelConfig', () => {
  it('reads SmolLM2 and Qwen2 configs (GQA, head_dim derived, Qwen2 q/k/v biases)', () => {
    const s = parseModelConfig(smollm2);
    assert.deepEqual([s.hiddenSize, s.numHeads, s.numKvHeads, s.headDim, s.tieEmbeddings, s.attentionBias, s.ropeTheta], [576, 9, 3, 64, true, false, 100000]);
    const q = parseModelConfig(qwen2);
    assert.deepEqual([q.headDim, q.attentionBias, q.eosTokenId], [64, true, 151643]);
  });

  it('reads a linear rope_scaling, and a multimodal Gemma 3 config through its text_config', () => {
    assert.deepEqual(parseModelConfig({ ...smollm2, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling, { type: 'linear', factor: 2 });
    const gemma = parseModelConfig({ model_type: 'gemma3', text_config: { ...smollm2, model_type: undefined, head_dim: 64, sliding_window: 512, sliding_window_pattern: 6, query_pre_attn_scalar: 64 } });
    assert.equal(gemma.architecture, 'gemma3');
    assert.deepEqual(gemma.layerAttention?.slice(0, 6), ['sliding', 'sliding', 'sliding', 'sliding', 'sliding', 'full']);
  });

  it('round-trips through toHfConfig', () => {
    const s = parseModelConfig(smollm2);
    assert.deepEqual(parseModelConfig(toHfConfig(s)), s);
  });

  it('refuses what the engine cannot run, naming the field', () => {
    assert.throws(() => parseModelConfig({ ...smollm2, model_type: 'gpt2' }), /model_type "gpt2"/);
    assert.throws(() => parseModelConfig({ ...smollm2, model_type: 'constructor' }), /model_type "constructor"/);
    assert.throws(() => parseModelConfig({ ...smollm2, hidden_act: 'gelu' }), /hidden_act/);
    assert.throws(() => parseModelConfig({ ...smollm2, rope_scaling: { rope_type: 'yarn', factor: 4 } }), /rope_scaling type "yarn"/);
    assert.throws(() => parseModelConfig({ ...smollm2, rope_scaling: { rope_type: 'llama3', factor: 4 } }), /low_freq_factor/);
    assert.throws(() => parseModelConfig({ ...smollm2, model_type: 'phi3', partial_rotary_factor: 0.75, rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [1] }, original_max_position_embeddings: 4096 }), /need 24 entries/);
    assert.throws(() => parseModelConfig({ ...smollm2, mlp_bias: true }), /mlp_bias/);
    assert.throws(() => parseModelConfig({ ...smollm2, model_type: 'gemma3_text', final_logit_softcapping: 30 }), /soft-capping/);
    assert.throws(() => parseModelConfig({ ...smollm2, model_type: 'smollm3', no_rope_layers: [1, 0] }), /no_rope_layers has 2 entries for 30 layers/);
    assert.throws(() => parseModelConfig({ ...smollm2, num_key_value_heads: 4 }), /multiple of num_key_value_heads/);
    assert.throws(() => parseModelConfig({ ...smollm2, hidden_size: undefined }), (e: Error) => e instanceof UnsupportedConfigError && /hidden_size/.test(e.message));
  });
});
