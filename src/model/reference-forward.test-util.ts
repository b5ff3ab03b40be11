/**
 * A deliberately plain reference forward pass of a Llama-architecture decoder, for tests only:
 * float64 loops over Hugging Face-named f32 weights, with Hugging Face's semantics — RMSNorm
 * (`x · rsqrt(mean(x²) + eps) · w`), rotate-half RoPE, grouped-query causal attention, SwiGLU MLP,
 * optional q/k/v biases, tied or separate output head, and LoRA updates `(scale · alpha / r) · B · A · x`
 * on the adapted projections. It shares no code with the engine, so it can check it (and llama.cpp).
 */
import { layerWeightNames, loraTargets } from './config.ts';
import type { LoraTarget, ModelConfig } from './config.ts';
import type { LoraAdapterWeights } from './lora-weights.ts';
import type { TensorMap } from './tensor-map.ts';

function weight(weights: TensorMap, name: string): Float32Array {
  const t = weights.get(name);
  if (!t) throw new Error(`reference forward: missing weight "${name}"`);
  return t.data;
}

/** y = W x for W [out, in] row-major. */
function matvec(w: Float32Array, x: Float64Array, out: number, inDim: number): Float64Array {
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    const row = o * inDim;
    for (let i = 0; i < inDim; i++) s += w[row + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

function rmsNorm(x: Float64Array, w: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * w[i]!);
}

/** Rotate-half RoPE in place on each head of `v` (nHeads × hd). */
function rope(v: Float64Array, nHeads: number, hd: number, pos: number, theta: number): void {
  const half = hd / 2;
  for (let h = 0; h < nHeads; h++) {
    const base = h * hd;
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(theta, (-2 * i) / hd);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const a = v[base + i]!;
      const b = v[base + half + i]!;
      v[base + i] = a * c - b * s;
      v[base + half + i] = b * c + a * s;
    }
  }
}

/**
 * Logits at every position of `tokens` (one Float64Array of vocabSize per token).
 *
 * @example
 * const logits = referenceForward(config, weights, [1, 5, 9], adapter);
 * logits[2]; // next-token logits after the third token
 */
export function referenceForward(config: ModelConfig, weights: TensorMap, tokens: readonly number[], adapter?: LoraAdapterWeights, adapterScale = 1): Float64Array[] {
  const { hiddenSize: d, numHeads: nH, numKvHeads: nKV, headDim: hd, intermediateSize: f, vocabSize: V } = config;
  const embed = weight(weights, 'model.embed_tokens.weight');
  const loraScale = adapter ? (adapterScale * adapter.config.alpha) / adapter.config.r : 0;
  const T = tokens.length;
  let h: Float64Array[] = tokens.map((t) => Float64Array.from(embed.subarray(t * d, (t + 1) * d)));

  /** W x (+ bias) (+ LoRA) for layer `l`'s projection. */
  const project = (l: number, target: LoraTarget, name: string, x: Float64Array, out: number, inDim: number, biasName?: string): Float64Array => {
    const y = matvec(weight(weights, `model.layers.${l}.${name}`), x, out, inDim);
    if (biasName && config.attentionBias) {
      const b = weight(weights, `model.layers.${l}.${biasName}`);
      for (let o = 0; o < out; o++) y[o]! += b[o]!;
    }
    const pair = adapter?.layers[l]?.[target];
    if (pair) {
      const r = adapter!.config.r;
      const ax = matvec(pair.a, x, r, inDim);
      const bax = matvec(pair.b, ax, out, r);
      for (let o = 0; o < out; o++) y[o]! += loraScale * bax[o]!;
    }
    return y;
  };

  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const xs = h.map((x) => rmsNorm(x, weight(weights, p + layerWeightNames.inputNorm), config.rmsNormEps));
    const qs = xs.map((x, t) => {
      const q = project(l, 'q_proj', layerWeightNames.q, x, nH * hd, d, 'self_attn.q_proj.bias');
      rope(q, nH, hd, t, config.ropeTheta);
      return q;
    });
    const ks = xs.map((x, t) => {
      const k = project(l, 'k_proj', layerWeightNames.k, x, nKV * hd, d, 'self_attn.k_proj.bias');
      rope(k, nKV, hd, t, config.ropeTheta);
      return k;
    });
    const vs = xs.map((x) => project(l, 'v_proj', layerWeightNames.v, x, nKV * hd, d, 'self_attn.v_proj.bias'));
    const group = nH / nKV;
    h = h.map((resid, t) => {
      const attn = new Float64Array(nH * hd);
      for (let head = 0; head < nH; head++) {
        const kvHead = Math.floor(head / group);
        const scores = new Float64Array(t + 1);
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += qs[t]![head * hd + i]! * ks[s]![kvHead * hd + i]!;
          scores[s] = dot / Math.sqrt(hd);
          max = Math.max(max, scores[s]!);
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += scores[s] = Math.exp(scores[s]! - max);
        for (let s = 0; s <= t; s++) {
          const w = scores[s]! / sum;
          for (let i = 0; i < hd; i++) attn[head * hd + i]! += w * vs[s]![kvHead * hd + i]!;
        }
      }
      const o = project(l, 'o_proj', layerWeightNames.o, attn, d, nH * hd);
      return resid.map((v, i) => v + o[i]!);
    });
    h = h.map((resid) => {
      const x = rmsNorm(resid, weight(weights, p + layerWeightNames.postNorm), config.rmsNormEps);
      const gate = project(l, 'gate_proj', layerWeightNames.gate, x, f, d);
      const up = project(l, 'up_proj', layerWeightNames.up, x, f, d);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
      const down = project(l, 'down_proj', layerWeightNames.down, act, d, f);
      return resid.map((v, i) => v + down[i]!);
    });
  }
  const head = config.tieEmbeddings ? embed : weight(weights, 'lm_head.weight');
  return h.map((x) => matvec(head, rmsNorm(x, weight(weights, 'model.norm.weight'), config.rmsNormEps), V, d));
}

/** Every LoRA target, for tests that adapt all projections. */
export const allLoraTargets: LoraTarget[] = [...loraTargets];
