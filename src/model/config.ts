import { z } from 'zod';

/**
 * The architectures this engine runs: each a Llama-style decoder with a few differences, all of
 * them data in {@link ModelConfig} (the notes beside each parse step in {@link parseModelConfig};
 * the tensor names in `architectures.ts`).
 */
export const architectures = ['llama', 'mistral', 'qwen2', 'qwen3', 'smollm3', 'gemma3', 'phi3'] as const;
export type Architecture = (typeof architectures)[number];

/**
 * How the rotary frequencies are stretched for contexts longer than pre-training's
 * (Hugging Face `rope_scaling`, by its `rope_type`).
 */
export type RopeScaling =
  /** every frequency divided by `factor` (Gemma 3 4B+ global layers). */
  | { type: 'linear'; factor: number }
  /** Llama 3.1+: low frequencies divided by `factor`, high ones kept, a smooth ramp between. */
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  /**
   * Phi-3.5 / Phi-4-mini: frequency i divided by `shortFactor[i]` (this engine serves up to
   * `originalMaxPositions`, where Hugging Face and llama.cpp both use the short factors), and
   * attention logits scaled by `attentionFactor`².
   */
  | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number }
  /**
   * Frequency i divided by `factors[i]`: how a GGUF file carries Llama 3's scaling (its
   * `rope_freqs` tensor, the parameters folded in); no config.json field holds it.
   */
  | { type: 'frequencyFactors'; factors: number[] };

/** Which positions a layer's queries see: every earlier one, or the last `slidingWindow` only. */
export type LayerAttention = 'full' | 'sliding';

/**
 * The shape of a decoder, read from a Hugging Face `config.json`. The fields after `eosTokenId`
 * are the architectures' differences from Llama; absent means Llama's behaviour.
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
  bosTokenId?: number;
  eosTokenId?: number;
  /** Tensor names and file metadata follow this architecture (default llama). */
  architecture?: Architecture;
  ropeScaling?: RopeScaling;
  /** The first `rotaryDim` of each head's `headDim` dimensions are rotated, the rest pass (Phi-4-mini: 0.75·headDim). */
  rotaryDim?: number;
  /** Layers without rotary embeddings (SmolLM3: every fourth). */
  noRopeLayers?: number[];
  /** RMSNorm of each query and key head before the rotation (Qwen3, Gemma 3). */
  qkNorm?: boolean;
  /** Per layer: full causal attention or a sliding window (Gemma 3, Mistral). */
  layerAttention?: LayerAttention[];
  /**
   * The sliding layers' window: each position sees its last `slidingWindow` positions, itself
   * included (Hugging Face semantics, `attention-window.ts`).
   */
  slidingWindow?: number;
  /** The rotary base of sliding-window layers (Gemma 3: 10,000 while global layers use `ropeTheta`). */
  localRopeTheta?: number;
  /** Attention logits are q·k·queryScale (default 1/√headDim; Gemma 3: query_pre_attn_scalar^−½). */
  queryScale?: number;
  /** The MLP's gate activation: SiLU (SwiGLU) or tanh-approximated GELU (GeGLU, Gemma). */
  activation?: 'silu' | 'gelu_tanh';
  /** The embedding rows are multiplied by √hiddenSize (Gemma). */
  scaleEmbeddings?: boolean;
  /** Gemma's sandwich norms: the attention's and the MLP's outputs are RMS-normed before their residual adds. */
  outputNorms?: boolean;
}

const ropeScalingSchema = z.looseObject({
  rope_type: z.string().optional(),
  type: z.string().optional(),
  factor: z.number().positive().optional(),
  low_freq_factor: z.number().positive().optional(),
  high_freq_factor: z.number().positive().optional(),
  original_max_position_embeddings: z.number().int().positive().optional(),
  short_factor: z.array(z.number().positive()).optional(),
  long_factor: z.array(z.number().positive()).optional(),
  attention_factor: z.number().positive().optional(),
});

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
  original_max_position_embeddings: z.number().int().positive().optional(),
  tie_word_embeddings: z.boolean().optional(),
  attention_bias: z.boolean().optional(),
  mlp_bias: z.boolean().optional(),
  hidden_act: z.string().optional(),
  hidden_activation: z.string().optional(),
  rope_scaling: ropeScalingSchema.nullable().optional(),
  partial_rotary_factor: z.number().positive().max(1).optional(),
  no_rope_layers: z.array(z.number().int()).optional(),
  sliding_window: z.number().int().positive().nullable().optional(),
  use_sliding_window: z.boolean().optional(),
  layer_types: z.array(z.string()).optional(),
  sliding_window_pattern: z.number().int().positive().optional(),
  rope_local_base_freq: z.number().positive().optional(),
  query_pre_attn_scalar: z.number().positive().optional(),
  final_logit_softcapping: z.number().nullable().optional(),
  attn_logit_softcapping: z.number().nullable().optional(),
  bos_token_id: z.number().int().nullable().optional(),
  eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullable().optional(),
});

/** Hugging Face `model_type` → architecture (SmolLM and SmolLM2 are Llama checkpoints). */
const modelTypes: Record<string, Architecture> = {
  llama: 'llama', smollm: 'llama', smollm2: 'llama', mistral: 'mistral', qwen2: 'qwen2', qwen3: 'qwen3',
  smollm3: 'smollm3', gemma3_text: 'gemma3', gemma3: 'gemma3', phi3: 'phi3',
};

/** The Hugging Face model types this engine reads. */
export const supportedModelTypes = Object.keys(modelTypes);

/** A config.json this engine cannot run, with the field at fault. */
export class UnsupportedConfigError extends Error {
  override name = 'UnsupportedConfigError';
}

/**
 * Reads a Hugging Face `config.json` object into a {@link ModelConfig}. A multimodal Gemma 3
 * config is read through its `text_config`.
 *
 * @example
 * const config = parseModelConfig(JSON.parse(await readFile('model/config.json', 'utf8')));
 */
export function parseModelConfig(json: unknown): ModelConfig {
  const top = json as { model_type?: unknown; text_config?: unknown } | null;
  if (top && top.model_type === 'gemma3' && typeof top.text_config === 'object' && top.text_config) {
    return parseModelConfig({ ...top.text_config, model_type: 'gemma3_text' });
  }
  const parsed = hfConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UnsupportedConfigError(`config.json: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const c = parsed.data;
  const fail = (message: string): never => {
    throw new UnsupportedConfigError(`config.json: ${message}`);
  };
  const architecture = c.model_type === undefined ? 'llama' : (Object.hasOwn(modelTypes, c.model_type) ? modelTypes[c.model_type] : undefined) ?? fail(`model_type "${c.model_type}" is not an architecture this engine runs (supported: ${supportedModelTypes.join(', ')})`);
  const gemma = architecture === 'gemma3';
  // Gemma names its activation hidden_activation; every other family hidden_act
  const act = gemma ? (c.hidden_activation ?? c.hidden_act ?? 'gelu_pytorch_tanh') : (c.hidden_act ?? 'silu');
  const activation = act === 'silu' ? 'silu' : act === 'gelu_pytorch_tanh' || act === 'gelu_tanh' ? 'gelu_tanh' : fail(`hidden_act "${act}" is not supported (silu / SwiGLU or gelu_pytorch_tanh / GeGLU)`);
  if (c.mlp_bias) fail('mlp_bias is not supported');
  if (c.final_logit_softcapping != null || c.attn_logit_softcapping != null) fail('logit soft-capping (Gemma 2) is not supported');
  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKvHeads !== 0) fail('num_attention_heads must be a multiple of num_key_value_heads');
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) fail('head_dim must be an even integer');
  const rotaryDim = Math.floor(headDim * (c.partial_rotary_factor ?? 1));
  if (rotaryDim % 2 !== 0 || rotaryDim === 0) fail('partial_rotary_factor must rotate an even, non-zero number of dimensions');
  let maxPositions = c.max_position_embeddings ?? 2048;
  const ropeScaling = parseRopeScaling(c.rope_scaling ?? null, rotaryDim, maxPositions, c.original_max_position_embeddings, fail);
  // longrope: the short factors hold up to the original context; the engine serves that far
  if (ropeScaling?.type === 'longrope') maxPositions = Math.min(maxPositions, ropeScaling.originalMaxPositions);
  const eos = Array.isArray(c.eos_token_id) ? c.eos_token_id[0] : c.eos_token_id;
  const config: ModelConfig = {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    maxPositions,
    tieEmbeddings: c.tie_word_embeddings ?? gemma,
    attentionBias: c.attention_bias ?? architecture === 'qwen2',
    ...(c.bos_token_id != null ? { bosTokenId: c.bos_token_id } : {}),
    ...(eos != null ? { eosTokenId: eos } : {}),
  };
  if (architecture !== 'llama') config.architecture = architecture;
  if (ropeScaling) config.ropeScaling = ropeScaling;
  if (rotaryDim !== headDim) config.rotaryDim = rotaryDim;
  if (activation !== 'silu') config.activation = activation;
  // Qwen3 and Gemma 3 normalise each query and key head
  if (architecture === 'qwen3' || gemma) config.qkNorm = true;
  // SmolLM3: no_rope_layers[l] is 1 where layer l uses rope, 0 where it does not
  if (architecture === 'smollm3' && c.no_rope_layers) {
    if (c.no_rope_layers.length !== c.num_hidden_layers) fail(`no_rope_layers has ${c.no_rope_layers.length} entries for ${c.num_hidden_layers} layers`);
    const none = c.no_rope_layers.flatMap((use, l) => (use ? [] : [l]));
    if (none.length > 0) config.noRopeLayers = none;
  }
  const layerAttention = parseLayerAttention(c, architecture, fail);
  if (layerAttention) {
    config.layerAttention = layerAttention;
    config.slidingWindow = c.sliding_window!;
  }
  if (gemma) {
    // Gemma 3: √d-scaled embeddings, sandwich norms, local layers on their own rotary base,
    // the query scale from query_pre_attn_scalar; its RMSNorm weights are stored as w − 1 (see architectures.ts)
    config.scaleEmbeddings = true;
    config.outputNorms = true;
    config.localRopeTheta = c.rope_local_base_freq ?? 10000;
    config.queryScale = 1 / Math.sqrt(c.query_pre_attn_scalar ?? headDim);
  }
  return config;
}

function parseRopeScaling(s: z.infer<typeof ropeScalingSchema> | null, rotaryDim: number, maxPositions: number, originalTop: number | undefined, fail: (m: string) => never): RopeScaling | undefined {
  if (!s) return undefined;
  const type = s.rope_type ?? s.type;
  if (type === undefined || type === 'default') return undefined;
  const original = s.original_max_position_embeddings ?? originalTop;
  switch (type) {
    case 'linear':
      return { type, factor: s.factor ?? fail('rope_scaling.factor is required for linear scaling') };
    case 'llama3':
      return {
        type,
        factor: s.factor ?? fail('rope_scaling.factor is required for llama3 scaling'),
        lowFreqFactor: s.low_freq_factor ?? fail('rope_scaling.low_freq_factor is required for llama3 scaling'),
        highFreqFactor: s.high_freq_factor ?? fail('rope_scaling.high_freq_factor is required for llama3 scaling'),
        originalMaxPositions: original ?? fail('rope_scaling.original_max_position_embeddings is required for llama3 scaling'),
      };
    case 'longrope':
    case 'su': {
      const shortFactor = s.short_factor ?? fail('rope_scaling.short_factor is required for longrope');
      const longFactor = s.long_factor ?? fail('rope_scaling.long_factor is required for longrope');
      if (shortFactor.length !== rotaryDim / 2 || longFactor.length !== rotaryDim / 2) fail(`rope_scaling short_factor and long_factor need ${rotaryDim / 2} entries (half the rotated dimensions)`);
      const originalMaxPositions = original ?? fail('original_max_position_embeddings is required for longrope');
      // Hugging Face's default: √(1 + ln(scale) / ln(original)) where the context is stretched
      const scale = maxPositions / originalMaxPositions;
      const attentionFactor = s.attention_factor ?? (scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(originalMaxPositions)));
      return { type: 'longrope', shortFactor, longFactor, originalMaxPositions, attentionFactor };
    }
    default:
      return fail(`rope_scaling type "${type}" is not supported (linear, llama3, longrope)`);
  }
}

function parseLayerAttention(c: z.infer<typeof hfConfigSchema>, architecture: Architecture, fail: (m: string) => never): LayerAttention[] | undefined {
  const L = c.num_hidden_layers;
  if (architecture === 'gemma3') {
    if (c.sliding_window == null) return undefined;
    if (c.layer_types) {
      if (c.layer_types.length !== L) fail(`layer_types has ${c.layer_types.length} entries for ${L} layers`);
      return c.layer_types.map((t) => (t === 'sliding_attention' ? 'sliding' : t === 'full_attention' ? 'full' : fail(`layer_types: "${t}" is not sliding_attention or full_attention`)));
    }
    // older Gemma 3 configs: every sliding_window_pattern-th layer is global
    const pattern = c.sliding_window_pattern ?? 6;
    return Array.from({ length: L }, (_, l) => ((l + 1) % pattern === 0 ? 'full' : 'sliding'));
  }
  // Mistral and Phi-3 slide on every layer; Qwen2/3 only when use_sliding_window says so
  const slides = c.sliding_window != null && (architecture === 'mistral' || architecture === 'phi3' || c.use_sliding_window === true);
  if (!slides) return undefined;
  if (c.layer_types) return c.layer_types.map((t) => (t === 'sliding_attention' ? 'sliding' : 'full'));
  return Array.from({ length: L }, () => 'sliding');
}

/**
 * Writes a {@link ModelConfig} as a Hugging Face `config.json` object of its architecture.
 *
 * @example
 * await writeFile('model/config.json', JSON.stringify(toHfConfig(config), null, 2));
 */
export function toHfConfig(config: ModelConfig): Record<string, unknown> {
  const arch = config.architecture ?? 'llama';
  const names: Record<Architecture, [string, string]> = {
    llama: ['LlamaForCausalLM', 'llama'], mistral: ['MistralForCausalLM', 'mistral'], qwen2: ['Qwen2ForCausalLM', 'qwen2'],
    qwen3: ['Qwen3ForCausalLM', 'qwen3'], smollm3: ['SmolLM3ForCausalLM', 'smollm3'], gemma3: ['Gemma3ForCausalLM', 'gemma3_text'],
    phi3: ['Phi3ForCausalLM', 'phi3'],
  };
  const [className, modelType] = names[arch];
  const out: Record<string, unknown> = {
    architectures: [className],
    model_type: modelType,
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
    [arch === 'gemma3' ? 'hidden_activation' : 'hidden_act']: config.activation === 'gelu_tanh' ? 'gelu_pytorch_tanh' : 'silu',
    torch_dtype: 'float32',
    ...(config.bosTokenId !== undefined ? { bos_token_id: config.bosTokenId } : {}),
    ...(config.eosTokenId !== undefined ? { eos_token_id: config.eosTokenId } : {}),
  };
  const s = config.ropeScaling;
  if (s?.type === 'linear') out['rope_scaling'] = { rope_type: 'linear', factor: s.factor };
  if (s?.type === 'llama3') out['rope_scaling'] = { rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalMaxPositions };
  if (s?.type === 'longrope') {
    out['rope_scaling'] = { rope_type: 'longrope', short_factor: s.shortFactor, long_factor: s.longFactor, attention_factor: s.attentionFactor };
    out['original_max_position_embeddings'] = s.originalMaxPositions;
  }
  if (s?.type === 'frequencyFactors') throw new UnsupportedConfigError('rotary frequency factors (a GGUF Llama 3 file\'s rope_freqs) have no config.json field; keep such a model as GGUF');
  if (config.rotaryDim !== undefined) out['partial_rotary_factor'] = config.rotaryDim / config.headDim;
  if (config.noRopeLayers) out['no_rope_layers'] = Array.from({ length: config.numLayers }, (_, l) => (config.noRopeLayers!.includes(l) ? 0 : 1));
  if (config.layerAttention) {
    out['sliding_window'] = config.slidingWindow;
    out['layer_types'] = config.layerAttention.map((t) => (t === 'sliding' ? 'sliding_attention' : 'full_attention'));
    if (arch === 'qwen2' || arch === 'qwen3') out['use_sliding_window'] = true;
  }
  if (arch === 'gemma3') {
    out['rope_local_base_freq'] = config.localRopeTheta;
    out['query_pre_attn_scalar'] = 1 / (config.queryScale ?? 1 / Math.sqrt(config.headDim)) ** 2;
  }
  return out;
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

/**
 * Names of the layer weights only some architectures have (Qwen3's and Gemma 3's q/k norms as
 * Hugging Face names them; Gemma's sandwich norms under names of our own, since Gemma's file
 * calls the attention's output norm `post_attention_layernorm`, Llama's name for the MLP's input
 * norm: `architectures.ts` renames them).
 */
export const optionalLayerWeightNames = {
  qNorm: 'self_attn.q_norm.weight',
  kNorm: 'self_attn.k_norm.weight',
  attnOutputNorm: 'self_attn.output_norm.weight',
  mlpOutputNorm: 'mlp.output_norm.weight',
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
