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

  it('round-trips through toHfConfig', () => {
    const s = parseModelConfig(smollm2);
    assert.deepEqual(parseModelConfig(toHfConfig(s)), s);
  });

  it('refuses what the engine cannot run, naming the field', () => {
    assert.throws(() => parseModelConfig({ ...smollm2, model_type: 'gpt2' }), /model_type "gpt2"/);
    assert.throws(() => parseModelConfig({ ...smollm2, hidden_act: 'gelu' }), /hidden_act/);
    assert.throws(() => parseModelConfig({ ...smollm2, rope_scaling: { type: 'linear', factor: 2 } }), /rope_scaling/);
    assert.throws(() => parseModelConfig({ ...smollm2, num_key_value_heads: 4 }), /multiple of num_key_value_heads/);
    assert.throws(() => parseModelConfig({ ...smollm2, hidden_size: undefined }), (e: Error) => e instanceof UnsupportedConfigError && /hidden_size/.test(e.message));
  });
});
