/**
 * One transformer block, forward and hand-written backward, read top to bottom (llm.c style):
 * pre-norm RMSNorm, q/k/v projections (optional biases), per-head q/k RMSNorm (Qwen3, Gemma 3),
 * rotary embeddings (per layer: scaled, partial or none), grouped-query attention (full or a
 * sliding window), output projection (RMS-normed before the residual in Gemma's sandwich), residual;
 * RMSNorm, SwiGLU or GeGLU MLP (its output likewise), residual; LoRA on any of the seven
 * projections. Each architecture's differences are fields of the config (`config.ts`). The full
 * forward pass (`Llama`: training, loss, logits) and the serving decoder (`Decoder`) both run
 * every layer through {@link blockForward}, so an architecture feature is written here once;
 * {@link outputHead} is the shared step after the last block.
 *
 * What differs between the two callers is passed as data:
 * - the attention: {@link CausalAttention} (B sequences of S rows at positions 0…S−1, each row
 *   over the rows before it; each row's log-sum-exp kept for the backward pass) or {@link PagedAttention}
 *   (rows of many sequences, each at its own position; keys and values go to the paged KV cache
 *   and each row attends over its own sequence's cached positions);
 * - the LoRA: none, {@link SingleLora} (one adapter for every row, through the matrix products;
 *   x·Aᵀ kept for the backward pass) or {@link RowLora} (each row its own adapter or none: BGMV).
 * Only causal attention with one adapter (or none) has a backward pass: that is training.
 *
 * Shapes in the comments: T rows (tokens), d = hiddenSize, qd = numHeads·headDim,
 * kvd = numKvHeads·headDim, f = intermediateSize, r = the adapter's rank, V = vocabSize.
 */
import type { Backend, Tensor } from './backend.ts';
import type { LoraTarget, ModelConfig } from './config.ts';
import { attentionScale, rotaryOf } from './rotary.ts';
import type { PagedKvCache } from './kv-cache.ts';
import type { LlamaWeights, LoraAdapter } from './llama.ts';

/** One decoder layer's weights, Hugging Face layout (a projection's weight is [out, in]). */
export interface LayerWeights {
  inputNorm: Tensor; // [d]
  q: Tensor; // [qd, d]
  k: Tensor; // [kvd, d]
  v: Tensor; // [kvd, d]
  o: Tensor; // [d, qd]
  qBias: Tensor | null; // [qd]
  kBias: Tensor | null; // [kvd]
  vBias: Tensor | null; // [kvd]
  postNorm: Tensor; // [d]
  gate: Tensor; // [f, d]
  up: Tensor; // [f, d]
  down: Tensor; // [d, f]
  qNorm: Tensor | null; // [hd] (config.qkNorm)
  kNorm: Tensor | null; // [hd]
  attnOutputNorm: Tensor | null; // [d] (config.outputNorms)
  mlpOutputNorm: Tensor | null; // [d]
}

/**
 * One block's activations over T rows. Training keeps one set per layer (the backward pass reads
 * them), layer l's `output` being layer l+1's `input`. A forward-only pass may reuse one set for
 * every layer, with `output` the same tensor as `input` (the residual stream updated in place),
 * `h2` as `h1` and `rstd2` as `rstd1`.
 */
export interface BlockActivations {
  /** [T, d] the residual stream into the block. */
  input: Tensor;
  /** [T, d] rmsnorm(input). */
  h1: Tensor;
  /** [T] 1/rms of each input row. */
  rstd1: Tensor;
  /** [T, qd] queries, rotated in place. */
  q: Tensor;
  /** [T, kvd] keys, rotated in place. */
  k: Tensor;
  /** [T, kvd] values. */
  v: Tensor;
  /** [T, qd] attention output, heads side by side. */
  att: Tensor;
  /** [T, d] input + o_proj(att). */
  x2: Tensor;
  /** [T, d] rmsnorm(x2). */
  h2: Tensor;
  /** [T] */
  rstd2: Tensor;
  /** [T, f] gate_proj(h2). */
  gate: Tensor;
  /** [T, f] up_proj(h2). */
  up: Tensor;
  /** [T, f] silu(gate) · up. */
  act: Tensor;
  /** [T, d] x2 + down_proj(act): the residual stream out of the block. */
  output: Tensor;
  /** With config.qkNorm: [T, qd] and [T, kvd] the projections before their per-head norm, [T·nH] and [T·nKV] their 1/rms. */
  qRaw?: Tensor;
  kRaw?: Tensor;
  rstdQ?: Tensor;
  rstdK?: Tensor;
  /** With config.outputNorms: [T, d] o_proj(att) and down_proj(act) before their norms, [T] their 1/rms. */
  attnOut?: Tensor;
  rstdAttnOut?: Tensor;
  mlpOut?: Tensor;
  rstdMlpOut?: Tensor;
}

/**
 * The activations an architecture adds to {@link BlockActivations} for T rows, allocated with `z`
 * (none for Llama).
 *
 * @example
 * const a: BlockActivations = { ...base, ...optionalActivations(config, T, (n) => be.zeros(n)) };
 */
export function optionalActivations(c: ModelConfig, T: number, z: (n: number) => Tensor): Partial<BlockActivations> {
  const qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim;
  return {
    ...(c.qkNorm ? { qRaw: z(T * qd), kRaw: z(T * kvd), rstdQ: z(T * c.numHeads), rstdK: z(T * c.numKvHeads) } : {}),
    ...(c.outputNorms ? { attnOut: z(T * c.hiddenSize), rstdAttnOut: z(T), mlpOut: z(T * c.hiddenSize), rstdMlpOut: z(T) } : {}),
  };
}

/** B sequences of S rows each (T = B·S), row (b, s) at position s, attending to rows 0…s of its sequence. */
export interface CausalAttention {
  kind: 'causal';
  B: number;
  S: number;
  /** Per layer [B, nH, S]: each row's log-sum-exp of its scores, kept for the backward pass (flash attention). */
  lse: readonly Tensor[];
}

/** Rows of many sequences, each at its own position; keys and values live in a paged KV cache. */
export interface PagedAttention {
  kind: 'paged';
  cache: PagedKvCache;
  /** [T] i32: each row's position in its sequence. */
  positions: Tensor;
  /** [T] i32: the cache slot each row's key and value are written to. */
  slots: Tensor;
  /** [T, maxBlocks] i32: each row's sequence's block table. */
  blockTables: Tensor;
  /** [T] i32: how many positions each row attends to (its position + 1). */
  lengths: Tensor;
  maxBlocks: number;
}

export type Attention = CausalAttention | PagedAttention;

/** One adapter for every row, through the matrix products (training, evaluation, full passes). */
export interface SingleLora {
  kind: 'single';
  adapter: LoraAdapter;
  /** Per layer, per adapted projection, [T, r]: u = x·Aᵀ, kept for the backward pass. */
  u: ReadonlyArray<ReadonlyMap<LoraTarget, Tensor>>;
}

/** Each row its own adapter, or none (serving; the backend's per-row kernel, BGMV). */
export interface RowLora {
  kind: 'rows';
  /** [T]: row i's adapter. */
  adapters: ReadonlyArray<LoraAdapter | null>;
}

/** The low-rank updates of a pass: `null` runs the base model alone. */
export type BlockLora = SingleLora | RowLora | null;

/**
 * Layer `l` over T rows: reads `a.input`, writes every other activation, `a.output` last.
 *
 * @example
 * blockForward(be, config, weights.layers[l], l, acts[l], B * S, { kind: 'causal', B, S, lse }, null);
 */
export function blockForward(be: Backend, c: ModelConfig, w: LayerWeights, l: number, a: BlockActivations, T: number, attention: Attention, lora: BlockLora): void {
  const d = c.hiddenSize, f = c.intermediateSize, qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim;
  const linear = (y: Tensor, x: Tensor, W: Tensor, bias: Tensor | null, target: LoraTarget, inDim: number, outDim: number) =>
    projection(be, y, x, W, bias, T, inDim, outDim, lora, l, target);

  const eps = c.rmsNormEps, hd = c.headDim;
  // attention: x2 = input + [norm](o_proj(attention(rope([norm] q), rope([norm] k), v)))
  be.rmsnorm(a.h1, a.rstd1, a.input, w.inputNorm, T, d, eps); // h1 [T, d]
  linear(a.qRaw ?? a.q, a.h1, w.q, w.qBias, 'q_proj', d, qd); // q [T, qd]
  linear(a.kRaw ?? a.k, a.h1, w.k, w.kBias, 'k_proj', d, kvd); // k [T, kvd]
  linear(a.v, a.h1, w.v, w.vBias, 'v_proj', d, kvd); // v [T, kvd]
  if (c.qkNorm) {
    be.rmsnorm(a.q, a.rstdQ!, a.qRaw!, w.qNorm!, T * c.numHeads, hd, eps); // each head's query [hd] normed
    be.rmsnorm(a.k, a.rstdK!, a.kRaw!, w.kNorm!, T * c.numKvHeads, hd, eps);
  }
  attend(be, c, l, a, T, attention); // att [T, qd]
  if (c.outputNorms) {
    linear(a.attnOut!, a.att, w.o, null, 'o_proj', qd, d); // attnOut [T, d]
    be.rmsnorm(a.x2, a.rstdAttnOut!, a.attnOut!, w.attnOutputNorm!, T, d, eps); // x2 [T, d]
  } else {
    linear(a.x2, a.att, w.o, null, 'o_proj', qd, d); // x2 [T, d]
  }
  be.axpy(a.x2, a.input, 1, T * d);
  // MLP: output = x2 + [norm](down(act(gate(h2)) · up(h2))), act = silu or gelu
  be.rmsnorm(a.h2, a.rstd2, a.x2, w.postNorm, T, d, eps); // h2 [T, d]
  linear(a.gate, a.h2, w.gate, null, 'gate_proj', d, f); // gate [T, f]
  linear(a.up, a.h2, w.up, null, 'up_proj', d, f); // up [T, f]
  if (c.activation === 'gelu_tanh') be.geglu(a.act, a.gate, a.up, T * f); // act [T, f]
  else be.swiglu(a.act, a.gate, a.up, T * f);
  if (c.outputNorms) {
    linear(a.mlpOut!, a.act, w.down, null, 'down_proj', f, d); // mlpOut [T, d]
    be.rmsnorm(a.output, a.rstdMlpOut!, a.mlpOut!, w.mlpOutputNorm!, T, d, eps); // output [T, d]
  } else {
    linear(a.output, a.act, w.down, null, 'down_proj', f, d); // output [T, d]
  }
  be.axpy(a.output, a.x2, 1, T * d);
}

/** y[T, out] = x[T, in]·Wᵀ (+ bias) (+ the adapter's low-rank update s·(x·Aᵀ)·Bᵀ, per row or for all). */
function projection(be: Backend, y: Tensor, x: Tensor, W: Tensor, bias: Tensor | null, T: number, inDim: number, outDim: number, lora: BlockLora, l: number, target: LoraTarget): void {
  const adapters = lora?.kind === 'rows' ? lora.adapters.map((adapter) => {
    const pair = adapter?.layers[l]?.[target];
    return pair && adapter ? { a: pair.a, b: pair.b, serving: pair.serving ?? null, r: adapter.config.r, scale: adapter.scale } : null;
  }) : null;
  const rowsLora = adapters?.some((p) => p) ? adapters : null;
  if (rowsLora) be.loraPrefetch?.(rowsLora, inDim, outDim); // the factors read while the base product computes
  be.matmul(y, x, W, T, inDim, outDim, 'nt');
  if (bias) be.addBias(y, bias, T, outDim);
  if (lora?.kind === 'single') {
    const pair = lora.adapter.layers[l]?.[target];
    if (!pair) return;
    const r = lora.adapter.config.r, u = lora.u[l]!.get(target)!; // u [T, r]
    be.matmul(u, x, pair.a, T, inDim, r, 'nt'); // u = x·Aᵀ
    be.matmul(y, u, pair.b, T, r, outDim, 'nt', true, lora.adapter.scale); // y += s·u·Bᵀ
  } else if (rowsLora) {
    be.loraRows(y, x, rowsLora, inDim, outDim); // y[i] += s_i·B_i·(A_i·x[i])
  }
}

/**
 * Layer `l`'s attention score scale (`attentionScale`: 1/√hd, or the architecture's) and sliding
 * window (0: full causal; `slidingWindow` on the layers `layerAttention` marks sliding).
 */
function attentionParams(c: ModelConfig, l: number): { scale: number; window: number } {
  return { scale: attentionScale(c), window: c.layerAttention?.[l] === 'sliding' ? (c.slidingWindow ?? 0) : 0 };
}

/** Rotates q and k to their positions (where the layer has a rotary), then att [T, qd] = softmax(scale·q·kᵀ)·v over each row's visible keys. */
function attend(be: Backend, c: ModelConfig, l: number, a: BlockActivations, T: number, attention: Attention): void {
  const { numHeads: nH, numKvHeads: nKV, headDim: hd } = c;
  const rotary = rotaryOf(c, l), { scale, window } = attentionParams(c, l);
  if (attention.kind === 'causal') {
    const { B, S } = attention;
    if (rotary) {
      be.rope(a.q, B, S, nH, hd, rotary, 0, false);
      be.rope(a.k, B, S, nKV, hd, rotary, 0, false);
    }
    be.attention(a.att, attention.lse[l]!, a.q, a.k, a.v, B, S, nH, nKV, hd, scale, window); // lse [B, nH, S]
  } else {
    const { cache } = attention;
    if (rotary) {
      be.ropeRows(a.q, attention.positions, T, nH, hd, rotary);
      be.ropeRows(a.k, attention.positions, T, nKV, hd, rotary);
    }
    be.kvWrite(cache.k[l]!, cache.v[l]!, a.k, a.v, attention.slots, T, nKV * hd); // this step's keys and values join the cache
    be.pagedAttention(a.att, a.q, cache.k[l]!, cache.v[l]!, attention.blockTables, attention.lengths, T, nH, nKV, hd, cache.blockSize, attention.maxBlocks, scale, window);
  }
}

/** Scratch of the backward pass, shared by every layer. */
export interface BlockGradients {
  /** [T, d] in: d(output); out: d(input). */
  dres: Tensor;
  /** [T, d] */
  dh: Tensor;
  /** [T, qd] */
  dq: Tensor;
  /** [T, kvd] */
  dk: Tensor;
  /** [T, kvd] */
  dv: Tensor;
  /** [T, qd] */
  datt: Tensor;
  /** [T, f] */
  dgate: Tensor;
  /** [T, f] */
  dup: Tensor;
  /** [T, f] */
  dact: Tensor;
  /** [T, r] */
  dloraU: Tensor;
}

/**
 * The backward of {@link blockForward} (causal attention, one adapter or none), from the
 * activations the forward pass kept: turns `s.dres` from d(output) into d(input) and adds the
 * gradients of the adapter's matrices (when they have some) and, when `g` is given, of every weight.
 *
 * @example
 * for (let l = L - 1; l >= 0; l--) blockBackward(be, config, w.layers[l], l, acts[l], null, scratch, T, attention, lora);
 */
export function blockBackward(be: Backend, c: ModelConfig, w: LayerWeights, l: number, a: BlockActivations, g: LayerWeights | null, s: BlockGradients, T: number, attention: CausalAttention, lora: SingleLora | null): void {
  const d = c.hiddenSize, f = c.intermediateSize, qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim;
  const linear = (dx: Tensor, accumulate: boolean, dy: Tensor, x: Tensor, W: Tensor, dW: Tensor | undefined, dBias: Tensor | null | undefined, target: LoraTarget, inDim: number, outDim: number) =>
    projectionBackward(be, dx, accumulate, dy, x, W, dW, dBias, T, inDim, outDim, lora, l, target, s.dloraU);

  // through an output norm (Gemma's sandwich): s.dh [T, d] := d(the norm's input) from s.dres
  const throughOutputNorm = (x: Tensor, weight: Tensor, dWeight: Tensor | null, rstd: Tensor): Tensor => {
    be.fill(s.dh, 0);
    be.rmsnormBackward(s.dh, dWeight, s.dres, x, weight, rstd, T, d);
    return s.dh;
  };
  // s.dres holds d(output). MLP:
  const dDown = c.outputNorms ? throughOutputNorm(a.mlpOut!, w.mlpOutputNorm!, g?.mlpOutputNorm ?? null, a.rstdMlpOut!) : s.dres; // d(down_proj's output) [T, d]
  linear(s.dact, false, dDown, a.act, w.down, g?.down, null, 'down_proj', f, d); // dact [T, f]
  if (c.activation === 'gelu_tanh') be.gegluBackward(s.dgate, s.dup, s.dact, a.gate, a.up, T * f); // dgate, dup [T, f]
  else be.swigluBackward(s.dgate, s.dup, s.dact, a.gate, a.up, T * f);
  linear(s.dh, false, s.dgate, a.h2, w.gate, g?.gate, null, 'gate_proj', d, f); // dh [T, d]
  linear(s.dh, true, s.dup, a.h2, w.up, g?.up, null, 'up_proj', d, f);
  be.rmsnormBackward(s.dres, g?.postNorm ?? null, s.dh, a.x2, w.postNorm, a.rstd2, T, d);
  // s.dres now holds d(x2): the residual's share plus the MLP's. Attention:
  const dO = c.outputNorms ? throughOutputNorm(a.attnOut!, w.attnOutputNorm!, g?.attnOutputNorm ?? null, a.rstdAttnOut!) : s.dres; // d(o_proj's output) [T, d]
  linear(s.datt, false, dO, a.att, w.o, g?.o, null, 'o_proj', qd, d); // datt [T, qd]
  const { B, S } = attention, { numHeads: nH, numKvHeads: nKV, headDim: hd } = c, { scale, window } = attentionParams(c, l);
  be.attentionBackward(s.dq, s.dk, s.dv, s.datt, a.att, a.q, a.k, a.v, attention.lse[l]!, B, S, nH, nKV, hd, scale, window); // dq [T, qd], dk, dv [T, kvd]
  const rotary = rotaryOf(c, l);
  if (rotary) {
    be.rope(s.dq, B, S, nH, hd, rotary, 0, true); // the rotation's backward is the inverse rotation
    be.rope(s.dk, B, S, nKV, hd, rotary, 0, true);
  }
  // through the per-head q/k norms (s.datt, free now, holds the gradient before each norm in turn)
  const unnorm = (dNormed: Tensor, x: Tensor, weight: Tensor, dWeight: Tensor | null, rstd: Tensor, heads: number): Tensor => {
    be.fill(s.datt, 0);
    be.rmsnormBackward(s.datt, dWeight, dNormed, x, weight, rstd, T * heads, hd);
    return s.datt;
  };
  const dq = c.qkNorm ? unnorm(s.dq, a.qRaw!, w.qNorm!, g?.qNorm ?? null, a.rstdQ!, nH) : s.dq;
  linear(s.dh, false, dq, a.h1, w.q, g?.q, g?.qBias, 'q_proj', d, qd); // dh [T, d]
  const dk = c.qkNorm ? unnorm(s.dk, a.kRaw!, w.kNorm!, g?.kNorm ?? null, a.rstdK!, nKV) : s.dk;
  linear(s.dh, true, dk, a.h1, w.k, g?.k, g?.kBias, 'k_proj', d, kvd);
  linear(s.dh, true, s.dv, a.h1, w.v, g?.v, g?.vBias, 'v_proj', d, kvd);
  be.rmsnormBackward(s.dres, g?.inputNorm ?? null, s.dh, a.input, w.inputNorm, a.rstd1, T, d);
  // s.dres now holds d(input)
}

/**
 * Backward of {@link projection} with one adapter: dx (+)= dy·W + s·(dy·B)·A; adds dW, dBias and
 * the adapter's dA, dB where given. `dU` [T, r] is scratch.
 */
function projectionBackward(be: Backend, dx: Tensor, accumulate: boolean, dy: Tensor, x: Tensor, W: Tensor, dW: Tensor | undefined, dBias: Tensor | null | undefined, T: number, inDim: number, outDim: number, lora: SingleLora | null, l: number, target: LoraTarget, dU: Tensor): void {
  be.matmul(dx, dy, W, T, outDim, inDim, 'nn', accumulate); // dx [T, in]
  if (dW) be.matmul(dW, dy, x, outDim, T, inDim, 'tn', true); // dW [out, in] += dyᵀ·x
  if (dBias) be.biasBackward(dBias, dy, T, outDim);
  const pair = lora?.adapter.layers[l]?.[target];
  if (!pair || !lora) return;
  const r = lora.adapter.config.r, scale = lora.adapter.scale, u = lora.u[l]!.get(target)!;
  if (pair.gradB) be.matmul(pair.gradB, dy, u, outDim, T, r, 'tn', true, scale); // dB [out, r] += s·dyᵀ·u
  be.matmul(dU, dy, pair.b, T, outDim, r, 'nn', false, scale); // dU [T, r] = s·dy·B
  if (pair.gradA) be.matmul(pair.gradA, dU, x, r, T, inDim, 'tn', true); // dA [r, in] += dUᵀ·x
  be.matmul(dx, dU, pair.a, T, r, inDim, 'nn', true); // dx += dU·A
}

/**
 * The step before the first block: x [T, d] = the embedding rows of `ids` (× √d where the
 * architecture scales them: Gemma).
 *
 * @example
 * embedTokens(be, config, weights, x, ids, T);
 */
export function embedTokens(be: Backend, c: ModelConfig, w: Pick<LlamaWeights, 'embed'>, x: Tensor, ids: Tensor, T: number): void {
  be.embed(x, ids, w.embed, T, c.hiddenSize); // x [T, d]
  if (c.scaleEmbeddings) be.scale(x, Math.sqrt(c.hiddenSize));
}

/** Backward of {@link embedTokens}: adds d(x) [T, d] (scaled in place where the forward scaled) to the embedding's gradient. */
export function embedTokensBackward(be: Backend, c: ModelConfig, g: Pick<LlamaWeights, 'embed'>, ids: Tensor, dx: Tensor, T: number): void {
  if (c.scaleEmbeddings) be.scale(dx, Math.sqrt(c.hiddenSize));
  be.embedBackward(g.embed, ids, dx, T, c.hiddenSize);
}

/**
 * The step after the last block, over n rows: hf [n, d] = rmsnorm(x), logits [n, V] = hf·lmHeadᵀ.
 *
 * @example
 * outputHead(be, config, weights, last, hf, rstd, logits, T);
 */
export function outputHead(be: Backend, c: ModelConfig, w: Pick<LlamaWeights, 'finalNorm' | 'lmHead'>, x: Tensor, hf: Tensor, rstd: Tensor, logits: Tensor, n: number): void {
  be.rmsnorm(hf, rstd, x, w.finalNorm, n, c.hiddenSize, c.rmsNormEps); // hf [n, d]
  be.matmul(logits, hf, w.lmHead, n, c.hiddenSize, c.vocabSize, 'nt'); // logits [n, V]
}

/**
 * Backward of {@link outputHead} from dlogits [n, V]: writes dx [n, d] (the gradient entering the
 * last block's backward) using `dh` [n, d] as scratch; adds dFinalNorm and dLmHead when `g` is given.
 */
export function outputHeadBackward(be: Backend, c: ModelConfig, w: Pick<LlamaWeights, 'finalNorm' | 'lmHead'>, g: Pick<LlamaWeights, 'finalNorm' | 'lmHead'> | null, x: Tensor, hf: Tensor, rstd: Tensor, dlogits: Tensor, dh: Tensor, dx: Tensor, n: number): void {
  const d = c.hiddenSize, V = c.vocabSize;
  be.matmul(dh, dlogits, w.lmHead, n, V, d, 'nn'); // dhf [n, d] = dlogits·lmHead
  if (g) be.matmul(g.lmHead, dlogits, hf, V, n, d, 'tn', true); // dLmHead [V, d] += dlogitsᵀ·hf
  be.fill(dx, 0);
  be.rmsnormBackward(dx, g?.finalNorm ?? null, dh, x, w.finalNorm, rstd, n, d); // dx [n, d]
}
