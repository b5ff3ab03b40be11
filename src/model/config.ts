import { z } from 'zod';

/**
 * The shape of a Llama-architecture decoder, read from a Hugging Face `config.json`
 * (Llama, SmolLM, Qwen2 and Mistral-style checkpoints share these fields).
 */
export interface ModelConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositions: number;
  tieEmbeddings: boolean;
  /** Qwen2-style biases on the q, k and v projections. */
  attentionBias: boolean;
  /** Scale of the attention scores; absent: 1/√headDim (Gemma 3 uses query_pre_attn_scalar^−½). */
  attentionScale?: number;
  /**
   * Sliding-window attention on every layer: each position sees its last `slidingWindow`
   * positions, itself included (Hugging Face semantics, `attention-window.ts`); absent or 0: full causal.
   */
  slidingWindow?: number;
  bosTokenId?: number;
  eosTokenId?: number;
}

const hfConfigSchema = z.looseObject({
  model_type: z.string().optional(),
  vocab_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive().optional(),
  head_dim: z.number().int().positive().optional(),
  rms_norm_eps: z.number().positive().optional(),
  rope_theta: z.number().positive().optional(),
  max_position_embeddings: z.number().int().positive().optional(),
  tie_word_embeddings: z.boolean().optional(),
  attention_bias: z.boolean().optional(),
  hidden_act: z.string().optional(),
  rope_scaling: z.unknown().optional(),
  bos_token_id: z.number().int().nullable().optional(),
  eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullable().optional(),
});

/** The model types whose architecture this engine implements. */
export const supportedModelTypes = ['llama', 'qwen2', 'mistral', 'smollm', 'smollm2', 'smollm3'] as const;

/** A config.json this engine cannot run, with the field at fault. */
export class UnsupportedConfigError extends Error {
  override name = 'UnsupportedConfigError';
}

/**
 * Reads a Hugging Face `config.json` object into a {@link ModelConfig}.
 *
 * @example
 * const config = parseModelConfig(JSON.parse(await readFile('model/config.json', 'utf8')));
 */
export function parseModelConfig(json: unknown): ModelConfig {
  const parsed = hfConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UnsupportedConfigError(`config.json: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const c = parsed.data;
  if (c.model_type !== undefined && !(supportedModelTypes as readonly string[]).includes(c.model_type)) {
    throw new UnsupportedConfigError(`config.json: model_type "${c.model_type}" is not a Llama-architecture decoder (supported: ${supportedModelTypes.join(', ')})`);
  }
  if (c.hidden_act !== undefined && c.hidden_act !== 'silu') {
    throw new UnsupportedConfigError(`config.json: hidden_act "${c.hidden_act}" is not supported (only silu / SwiGLU)`);
  }
  if (c.rope_scaling !== undefined && c.rope_scaling !== null) {
    throw new UnsupportedConfigError('config.json: rope_scaling is not supported yet');
  }
  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKvHeads !== 0) {
    throw new UnsupportedConfigError('config.json: num_attention_heads must be a multiple of num_key_value_heads');
  }
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new UnsupportedConfigError('config.json: head_dim must be an even integer');
  }
  const eos = Array.isArray(c.eos_token_id) ? c.eos_token_id[0] : c.eos_token_id;
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    maxPositions: c.max_position_embeddings ?? 2048,
    tieEmbeddings: c.tie_word_embeddings ?? false,
    attentionBias: c.attention_bias ?? c.model_type === 'qwen2',
    ...(c.bos_token_id != null ? { bosTokenId: c.bos_token_id } : {}),
    ...(eos != null ? { eosTokenId: eos } : {}),
  };
}

/**
 * Writes a {@link ModelConfig} as a Hugging Face `config.json` object (model_type "llama").
 *
 * @example
 * await writeFile('model/config.json', JSON.stringify(toHfConfig(config), null, 2));
 */
export function toHfConfig(config: ModelConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    max_position_embeddings: config.maxPositions,
    tie_word_embeddings: config.tieEmbeddings,
    attention_bias: config.attentionBias,
    hidden_act: 'silu',
    torch_dtype: 'float32',
    ...(config.bosTokenId !== undefined ? { bos_token_id: config.bosTokenId } : {}),
    ...(config.eosTokenId !== undefined ? { eos_token_id: config.eosTokenId } : {}),
  };
}

/** Hugging Face tensor names of one decoder layer's weights. */
export const layerWeightNames = {
  inputNorm: 'input_layernorm.weight',
  q: 'self_attn.q_proj.weight',
  k: 'self_attn.k_proj.weight',
  v: 'self_attn.v_proj.weight',
  o: 'self_attn.o_proj.weight',
  postNorm: 'post_attention_layernorm.weight',
  gate: 'mlp.gate_proj.weight',
  up: 'mlp.up_proj.weight',
  down: 'mlp.down_proj.weight',
} as const;

/** The projections LoRA can adapt, by their PEFT target-module names. */
export const loraTargets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof loraTargets)[number];

/** Input and output width of a LoRA target projection. */
export function projectionShape(config: ModelConfig, target: LoraTarget): { in: number; out: number } {
  const d = config.hiddenSize;
  const q = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  const f = config.intermediateSize;
  switch (target) {
    case 'q_proj': return { in: d, out: q };
    case 'k_proj': return { in: d, out: kv };
    case 'v_proj': return { in: d, out: kv };
    case 'o_proj': return { in: q, out: d };
    case 'gate_proj': return { in: d, out: f };
    case 'up_proj': return { in: d, out: f };
    case 'down_proj': return { in: f, out: d };
  }
}

/** The module path of a target inside layer `i` (`self_attn.q_proj` / `mlp.up_proj`). */
export function targetModulePath(target: LoraTarget): string {
  return target === 'gate_proj' || target === 'up_proj' || target === 'down_proj' ? `mlp.${target}` : `self_attn.${target}`;
}
