/**
 * What differs between the architectures this engine runs, in one place. Every one is a Llama
 * decoder (pre-norm RMSNorm, rotary grouped-query attention, gated MLP) plus, as config fields
 * (`config.ts`) the one transformer block reads:
 *
 * | architecture | differences from Llama |
 * | --- | --- |
 * | llama (Llama 3.x, SmolLM2) | `rope_scaling` llama3: low rotary frequencies slowed by a factor, a ramp to the high ones |
 * | mistral | a sliding window on every layer when `sliding_window` is set |
 * | qwen2 (Qwen2.5) | biases on q, k and v |
 * | qwen3 | an RMSNorm over each query and key head (`q_norm`, `k_norm`, [head_dim]) before the rotation; no biases |
 * | smollm3 | every fourth layer has no rotary embedding (`no_rope_layers`) |
 * | gemma3 | embeddings × √d; GeGLU (tanh GELU); RMSNorm weights stored as w − 1 (the engine adds 1 on load); sandwich norms (attention and MLP outputs normed before their residual adds); q/k norms; five sliding-window layers (rotary base 10,000) per global layer (`rope_theta`, maybe linear scaling); query scale query_pre_attn_scalar^−½; tied embeddings |
 * | phi3 (Phi-3.5, Phi-4-mini) | fused `qkv_proj` and `gate_up_proj` (split on load); partial rotary (`partial_rotary_factor`); longrope scaling |
 *
 * This file holds the tensor side: a checkpoint's Hugging Face names and layouts ⇄ the engine's
 * (Llama's names plus `optionalLayerWeightNames`). The GGUF side is in `export-gguf.ts`.
 */
import { optionalLayerWeightNames, type ModelConfig } from './config.ts';
import type { HostTensor, TensorMap } from './tensor-map.ts';

/** A checkpoint whose tensors do not fit its architecture's layout. */
export class CheckpointLayoutError extends Error {
  override name = 'CheckpointLayoutError';
}

/** Gemma's norms (Hugging Face name under `model.layers.N.` → the engine's). */
const gemmaLayerNorms: Record<string, string> = {
  'input_layernorm.weight': 'input_layernorm.weight',
  'post_attention_layernorm.weight': optionalLayerWeightNames.attnOutputNorm,
  'pre_feedforward_layernorm.weight': 'post_attention_layernorm.weight',
  'post_feedforward_layernorm.weight': optionalLayerWeightNames.mlpOutputNorm,
  'self_attn.q_norm.weight': optionalLayerWeightNames.qNorm,
  'self_attn.k_norm.weight': optionalLayerWeightNames.kNorm,
};
const gemmaLayerNormsBack = Object.fromEntries(Object.entries(gemmaLayerNorms).map(([hf, ours]) => [ours, hf]));

function plusOne(t: HostTensor, delta: number): HostTensor {
  return { shape: t.shape, data: t.data.map((v) => v + delta) };
}

/** Rows [from, to) of a [rows, cols] tensor. */
function rowSlice(t: HostTensor, from: number, to: number): HostTensor {
  const cols = t.shape[1]!;
  return { shape: [to - from, cols], data: t.data.slice(from * cols, to * cols) };
}

/** Stacks [rᵢ, cols] tensors into [Σrᵢ, cols]. */
function stackRows(parts: HostTensor[]): HostTensor {
  const cols = parts[0]!.shape[1]!;
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p.data, o);
    o += p.data.length;
  }
  return { shape: [data.length / cols, cols], data };
}

/**
 * A checkpoint's tensors as the engine names and lays them out: Phi-3's fused projections split,
 * Gemma's norms renamed and shifted by one, a multimodal Gemma's text model taken (its vision
 * tower left out), rotary caches dropped.
 *
 * @example
 * const model = Llama.fromTensors(backend, config, fromHfTensors(config, await readModelWeights(dir)));
 */
export function fromHfTensors(config: ModelConfig, hf: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  const qd = config.numHeads * config.headDim, kvd = config.numKvHeads * config.headDim, f = config.intermediateSize;
  for (let [name, t] of hf) {
    if (name.endsWith('rotary_emb.inv_freq')) continue;
    if (config.architecture === 'gemma3') {
      if (name.startsWith('vision_tower.') || name.startsWith('multi_modal_projector.') || name.startsWith('model.vision_tower.') || name.startsWith('model.multi_modal_projector.')) continue;
      name = name.replace(/^(model\.)?language_model\.(model\.)?/, 'model.');
      const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
      const norm = m && Object.hasOwn(gemmaLayerNorms, m[2]!) ? gemmaLayerNorms[m[2]!] : undefined;
      if (m && norm) {
        out.set(`model.layers.${m[1]}.${norm}`, plusOne(t, 1));
        continue;
      }
      if (name === 'model.norm.weight') t = plusOne(t, 1);
    }
    if (config.architecture === 'phi3') {
      const m = /^model\.layers\.(\d+)\.(self_attn\.qkv_proj|mlp\.gate_up_proj)\.weight$/.exec(name);
      if (m) {
        const p = `model.layers.${m[1]}.`;
        if (m[2] === 'self_attn.qkv_proj') {
          if (t.shape[0] !== qd + 2 * kvd) throw new CheckpointLayoutError(`${name} has ${t.shape[0]} rows, q + k + v need ${qd + 2 * kvd}`);
          out.set(p + 'self_attn.q_proj.weight', rowSlice(t, 0, qd));
          out.set(p + 'self_attn.k_proj.weight', rowSlice(t, qd, qd + kvd));
          out.set(p + 'self_attn.v_proj.weight', rowSlice(t, qd + kvd, qd + 2 * kvd));
        } else {
          if (t.shape[0] !== 2 * f) throw new CheckpointLayoutError(`${name} has ${t.shape[0]} rows, gate + up need ${2 * f}`);
          out.set(p + 'mlp.gate_proj.weight', rowSlice(t, 0, f));
          out.set(p + 'mlp.up_proj.weight', rowSlice(t, f, 2 * f));
        }
        continue;
      }
    }
    out.set(name, t);
  }
  return out;
}

/**
 * The inverse of {@link fromHfTensors}: the engine's tensors named and laid out as the
 * architecture's Hugging Face checkpoints are (Phi-3's projections fused again, Gemma's norms as w − 1).
 *
 * @example
 * await writeSafetensorsFile(join(dir, 'model.safetensors'), toHfTensors(config, await model.toTensors()));
 */
export function toHfTensors(config: ModelConfig, tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of tensors) {
    if (config.architecture === 'gemma3') {
      const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
      const norm = m && Object.hasOwn(gemmaLayerNormsBack, m[2]!) ? gemmaLayerNormsBack[m[2]!] : undefined;
      if (m && norm) {
        out.set(`model.layers.${m[1]}.${norm}`, plusOne(t, -1));
        continue;
      }
      out.set(name, name === 'model.norm.weight' ? plusOne(t, -1) : t);
      continue;
    }
    if (config.architecture === 'phi3') {
      const m = /^model\.layers\.(\d+)\.(self_attn\.[qkv]_proj|mlp\.(gate|up)_proj)\.weight$/.exec(name);
      if (m) {
        const p = `model.layers.${m[1]}.`;
        const part = (n: string) => tensors.get(p + n) ?? missing(p + n);
        if (m[2] === 'self_attn.q_proj') out.set(p + 'self_attn.qkv_proj.weight', stackRows(['q', 'k', 'v'].map((x) => part(`self_attn.${x}_proj.weight`))));
        if (m[2] === 'mlp.gate_proj') out.set(p + 'mlp.gate_up_proj.weight', stackRows([part('mlp.gate_proj.weight'), part('mlp.up_proj.weight')]));
        continue;
      }
    }
    out.set(name, t);
  }
  return out;
}

function missing(name: string): never {
  throw new CheckpointLayoutError(`weight ${name} is missing`);
}
