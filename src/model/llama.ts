/**
 * A Llama-architecture decoder: RMSNorm, rotary embeddings, grouped-query causal attention,
 * SwiGLU, tied or untied embeddings, optional q/k/v biases (Qwen2), and LoRA on any of the q, k, v,
 * o, gate, up and down projections. This file holds the weights, adapters and the full pass over
 * B sequences (logits, loss, gradients): embedding, the layers, output head; each layer is the
 * one transformer block of `transformer-block.ts`, which the serving decoder (`decoder.ts`) runs too.
 *
 * The forward pass keeps every activation the backward pass needs; the backward pass is written
 * out by hand (no autograd), layer by layer in reverse. Gradients flow to the LoRA matrices and,
 * for pre-training, to every base weight. All compute goes through a {@link Backend}.
 */
import type { Backend, QuantizedMatrix, Tensor } from './backend.ts';
import { layerWeightNames, optionalLayerWeightNames, loraTargets, projectionShape, targetModulePath, type LoraTarget, type ModelConfig } from './config.ts';
import type { LoraAdapterWeights, LoraConfig, LoraPair } from './lora-weights.ts';
import { halfMatrixValues, toHalfMatrix } from './half-matrix.ts';
import { seededRandom } from './random.ts';
import { elementCount, type HostTensor, type TensorMap } from './tensor-map.ts';
import {
  blockBackward, blockForward, embedTokens, embedTokensBackward, optionalActivations, outputHead, outputHeadBackward,
  type BlockActivations, type BlockGradients, type CausalAttention, type LayerWeights, type SingleLora,
} from './transformer-block.ts';

export type { LayerWeights };

export interface LlamaWeights {
  embed: Tensor;
  layers: LayerWeights[];
  finalNorm: Tensor;
  /** The output projection; the same tensor as `embed` when embeddings are tied. */
  lmHead: Tensor;
}

/** A trainable tensor with its gradient; `decay` says whether AdamW's weight decay applies. */
export interface Parameter {
  name: string;
  value: Tensor;
  grad: Tensor;
  decay: boolean;
}

/**
 * What an adapter on the backend is for: `frozen` (read as given: evaluation, attribution),
 * `trainable` (with gradients), `serving` (the serving engine's: rounded to half precision, and
 * kept in the backend's serving form too).
 */
export type LoraUse = 'frozen' | 'trainable' | 'serving';

/** A LoRA adapter living on a backend, with gradients when it is being trained. */
export interface LoraAdapter {
  config: LoraConfig;
  /** `alpha / r`. */
  scale: number;
  /** Each layer's factors; `serving`: a frozen adapter's in the backend's serving form ({@link Backend.loraServingFactors}). */
  layers: Array<Partial<Record<LoraTarget, { a: Tensor; b: Tensor; gradA: Tensor | null; gradB: Tensor | null; serving?: Tensor | null }>>>;
}

/** Weights that do not fit the config: a missing tensor or a wrong shape. */
export class WeightShapeError extends Error {
  override name = 'WeightShapeError';
}

/** What a forward (and optionally backward) pass over a batch returns. */
export interface LossResult {
  /** Sum of the token losses (nats) over the targets that are not −1. */
  lossSum: number;
  /** Number of targets that are not −1. */
  tokens: number;
  /** Each row's loss (nats; 0 where the target is −1), [B·S]. */
  tokenLosses: Float32Array;
}

export interface PassOptions {
  lora?: LoraAdapter | null;
  /** Multiplies every gradient (default 1 / tokens: the mean loss). */
  gradScale?: number;
}

interface Activations {
  rows: number;
  loraRank: number;
  ids: Tensor; // [T] i32
  targets: Tensor; // [T] i32
  /** One block's activations per layer; layer l's `output` is layer l+1's `input`, the last layer's is `last`. */
  layers: BlockActivations[];
  /** Per layer [B, nH, S]: each attention row's log-sum-exp. */
  lse: Tensor[];
  /** Per layer, per projection, [T, r]: x·Aᵀ of the adapter (empty without one). */
  loraU: Array<Map<LoraTarget, Tensor>>;
  last: Tensor; // [T, d]
  hf: Tensor; // [T, d]
  rstdf: Tensor; // [T]
  logits: Tensor; // [T, V]; the backward pass turns it into dlogits
  losses: Tensor; // [T]
  /** Backward scratch. */
  scratch: BlockGradients;
}

/**
 * The decoder. Build one with {@link Llama.fromTensors} (a checkpoint) or {@link Llama.random}
 * (pre-training from scratch).
 *
 * @example
 * const model = Llama.fromTensors(backend, config, await readModelWeights(dir));
 * const logits = await model.logits(Int32Array.from(ids), 1, ids.length);
 */
export class Llama {
  readonly backend: Backend;
  readonly config: ModelConfig;
  readonly weights: LlamaWeights;
  /** Gradients of every base weight, once {@link enableFullGradients} was called. */
  grads: LlamaWeights | null = null;
  private acts: Activations | null = null;

  private constructor(backend: Backend, config: ModelConfig, weights: LlamaWeights) {
    this.backend = backend;
    this.config = config;
    this.weights = weights;
  }

  /** Shapes of every weight by its Hugging Face name. */
  static weightShapes(config: ModelConfig): Map<string, number[]> {
    const { hiddenSize: d, vocabSize: V, intermediateSize: f, numHeads, numKvHeads, headDim } = config;
    const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [V, d]], ['model.norm.weight', [d]]]);
    if (!config.tieEmbeddings) shapes.set('lm_head.weight', [V, d]);
    for (let l = 0; l < config.numLayers; l++) {
      const p = `model.layers.${l}.`;
      shapes.set(p + layerWeightNames.inputNorm, [d]);
      shapes.set(p + layerWeightNames.q, [numHeads * headDim, d]);
      shapes.set(p + layerWeightNames.k, [numKvHeads * headDim, d]);
      shapes.set(p + layerWeightNames.v, [numKvHeads * headDim, d]);
      shapes.set(p + layerWeightNames.o, [d, numHeads * headDim]);
      if (config.attentionBias) {
        shapes.set(p + 'self_attn.q_proj.bias', [numHeads * headDim]);
        shapes.set(p + 'self_attn.k_proj.bias', [numKvHeads * headDim]);
        shapes.set(p + 'self_attn.v_proj.bias', [numKvHeads * headDim]);
      }
      shapes.set(p + layerWeightNames.postNorm, [d]);
      shapes.set(p + layerWeightNames.gate, [f, d]);
      shapes.set(p + layerWeightNames.up, [f, d]);
      shapes.set(p + layerWeightNames.down, [d, f]);
      if (config.qkNorm) {
        shapes.set(p + optionalLayerWeightNames.qNorm, [headDim]);
        shapes.set(p + optionalLayerWeightNames.kNorm, [headDim]);
      }
      if (config.outputNorms) {
        shapes.set(p + optionalLayerWeightNames.attnOutputNorm, [d]);
        shapes.set(p + optionalLayerWeightNames.mlpOutputNorm, [d]);
      }
    }
    return shapes;
  }

  /**
   * Loads weights named as in a Hugging Face checkpoint, checking every shape; matrices in
   * `quantized` (a GGUF file's Q8_0/Q4_0/Q4_K/Q6_K, `ModelFiles.quantized`) stay ggml blocks on
   * the backend: the model then trains adapters on a frozen quantised base (QLoRA-style).
   *
   * @example
   * const model = Llama.fromTensors(backend, parseModelConfig(configJson), readSafetensors(bytes));
   */
  static fromTensors(backend: Backend, config: ModelConfig, tensors: TensorMap, quantized?: ReadonlyMap<string, QuantizedMatrix>): Llama {
    const shapes = Llama.weightShapes(config);
    const get = (name: string): Tensor => {
      const shape = shapes.get(name)!;
      const q = quantized?.get(name);
      if (q) {
        // a matrix kept as ggml blocks: the products read it as it is, the embedding row by row
        if (shape.length !== 2 || q.rows !== shape[0] || q.cols !== shape[1]) throw new WeightShapeError(`weight ${name} is ${q.rows}×${q.cols} ${q.type}, the config needs [${shape}]`);
        return backend.uploadQuantized(q);
      }
      const t = tensors.get(name);
      if (!t) throw new WeightShapeError(`weight ${name} is missing`);
      if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i])) {
        throw new WeightShapeError(`weight ${name} has shape [${t.shape}], the config needs [${shape}]`);
      }
      return backend.upload(t.data);
    };
    return new Llama(backend, config, Llama.buildWeights(config, get));
  }

  /**
   * A freshly initialised model for pre-training: normal(0, 0.02) weights, the residual output
   * projections scaled by 1/√(2·layers), norms at one.
   *
   * @example
   * const model = Llama.random(backend, config, 1);
   */
  static random(backend: Backend, config: ModelConfig, seed: number): Llama {
    const rng = seededRandom(seed);
    const shapes = Llama.weightShapes(config);
    const residualScale = 1 / Math.sqrt(2 * config.numLayers);
    const get = (name: string): Tensor => {
      const shape = shapes.get(name)!;
      const data = new Float32Array(elementCount(shape));
      if (name.endsWith('norm.weight')) data.fill(1);
      else if (!name.endsWith('.bias')) {
        const std = 0.02 * (name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight') ? residualScale : 1);
        for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
      }
      return backend.upload(data);
    };
    return new Llama(backend, config, Llama.buildWeights(config, get));
  }

  private static buildWeights(config: ModelConfig, get: (name: string) => Tensor): LlamaWeights {
    const embed = get('model.embed_tokens.weight');
    const layers: LayerWeights[] = [];
    for (let l = 0; l < config.numLayers; l++) {
      const p = `model.layers.${l}.`;
      layers.push({
        inputNorm: get(p + layerWeightNames.inputNorm),
        q: get(p + layerWeightNames.q),
        k: get(p + layerWeightNames.k),
        v: get(p + layerWeightNames.v),
        o: get(p + layerWeightNames.o),
        qBias: config.attentionBias ? get(p + 'self_attn.q_proj.bias') : null,
        kBias: config.attentionBias ? get(p + 'self_attn.k_proj.bias') : null,
        vBias: config.attentionBias ? get(p + 'self_attn.v_proj.bias') : null,
        postNorm: get(p + layerWeightNames.postNorm),
        gate: get(p + layerWeightNames.gate),
        up: get(p + layerWeightNames.up),
        down: get(p + layerWeightNames.down),
        qNorm: config.qkNorm ? get(p + optionalLayerWeightNames.qNorm) : null,
        kNorm: config.qkNorm ? get(p + optionalLayerWeightNames.kNorm) : null,
        attnOutputNorm: config.outputNorms ? get(p + optionalLayerWeightNames.attnOutputNorm) : null,
        mlpOutputNorm: config.outputNorms ? get(p + optionalLayerWeightNames.mlpOutputNorm) : null,
      });
    }
    const finalNorm = get('model.norm.weight');
    const lmHead = config.tieEmbeddings ? embed : get('lm_head.weight');
    return { embed, layers, finalNorm, lmHead };
  }

  /** Every weight tensor with its Hugging Face name (the tied head appears once, as the embedding). */
  namedWeights(weights: LlamaWeights = this.weights): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [['model.embed_tokens.weight', weights.embed]];
    weights.layers.forEach((w, l) => {
      const p = `model.layers.${l}.`;
      out.push(
        [p + layerWeightNames.inputNorm, w.inputNorm],
        [p + layerWeightNames.q, w.q],
        [p + layerWeightNames.k, w.k],
        [p + layerWeightNames.v, w.v],
        [p + layerWeightNames.o, w.o],
        [p + layerWeightNames.postNorm, w.postNorm],
        [p + layerWeightNames.gate, w.gate],
        [p + layerWeightNames.up, w.up],
        [p + layerWeightNames.down, w.down],
      );
      if (w.qBias && w.kBias && w.vBias) {
        out.push([p + 'self_attn.q_proj.bias', w.qBias], [p + 'self_attn.k_proj.bias', w.kBias], [p + 'self_attn.v_proj.bias', w.vBias]);
      }
      if (w.qNorm && w.kNorm) out.push([p + optionalLayerWeightNames.qNorm, w.qNorm], [p + optionalLayerWeightNames.kNorm, w.kNorm]);
      if (w.attnOutputNorm && w.mlpOutputNorm) out.push([p + optionalLayerWeightNames.attnOutputNorm, w.attnOutputNorm], [p + optionalLayerWeightNames.mlpOutputNorm, w.mlpOutputNorm]);
    });
    out.push(['model.norm.weight', weights.finalNorm]);
    if (!this.config.tieEmbeddings) out.push(['lm_head.weight', weights.lmHead]);
    return out;
  }

  /**
   * Copies the weights back to host memory, named as in a Hugging Face checkpoint.
   *
   * @example
   * await writeFile('model.safetensors', writeSafetensors(await model.toTensors()));
   */
  async toTensors(): Promise<TensorMap> {
    const shapes = Llama.weightShapes(this.config);
    const out: TensorMap = new Map();
    for (const [name, t] of this.namedWeights()) out.set(name, { shape: shapes.get(name)!, data: await this.backend.read(t) });
    return out;
  }

  /** Allocates a gradient for every base weight (pre-training); returns them as parameters. */
  enableFullGradients(): Parameter[] {
    const frozen = this.namedWeights().find(([, t]) => t.dtype !== 'f32');
    if (frozen) throw new WeightShapeError(`weight ${frozen[0]} is ${frozen[1].dtype}: a quantised base trains adapters only`);
    if (!this.grads) {
      const zerosLike = (t: Tensor) => this.backend.zeros(t.length);
      const w = this.weights;
      const embed = zerosLike(w.embed);
      this.grads = {
        embed,
        layers: w.layers.map((l) => ({
          inputNorm: zerosLike(l.inputNorm),
          q: zerosLike(l.q),
          k: zerosLike(l.k),
          v: zerosLike(l.v),
          o: zerosLike(l.o),
          qBias: l.qBias && zerosLike(l.qBias),
          kBias: l.kBias && zerosLike(l.kBias),
          vBias: l.vBias && zerosLike(l.vBias),
          postNorm: zerosLike(l.postNorm),
          gate: zerosLike(l.gate),
          up: zerosLike(l.up),
          down: zerosLike(l.down),
          qNorm: l.qNorm && zerosLike(l.qNorm),
          kNorm: l.kNorm && zerosLike(l.kNorm),
          attnOutputNorm: l.attnOutputNorm && zerosLike(l.attnOutputNorm),
          mlpOutputNorm: l.mlpOutputNorm && zerosLike(l.mlpOutputNorm),
        })),
        finalNorm: zerosLike(w.finalNorm),
        lmHead: this.config.tieEmbeddings ? embed : zerosLike(w.lmHead),
      };
    }
    const grads = new Map(this.namedWeights(this.grads));
    return this.namedWeights().map(([name, value]) => ({
      name,
      value,
      grad: grads.get(name)!,
      decay: !name.endsWith('norm.weight') && !name.endsWith('.bias'),
    }));
  }

  /**
   * A new trainable LoRA adapter: A from PEFT's default (uniform ±1/√in), B zero, so training
   * starts from the base model's exact outputs.
   *
   * @example
   * const lora = model.createLora({ r: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'], baseModel: '0x…' }, 7);
   */
  createLora(config: LoraConfig, seed: number): LoraAdapter {
    const rng = seededRandom(seed);
    const layers: LoraAdapterWeights['layers'] = [];
    for (let l = 0; l < this.config.numLayers; l++) {
      const layer: Partial<Record<LoraTarget, LoraPair>> = {};
      for (const target of config.targetModules) {
        const shape = projectionShape(this.config, target);
        const bound = 1 / Math.sqrt(shape.in);
        const a = new Float32Array(config.r * shape.in);
        for (let i = 0; i < a.length; i++) a[i] = (rng.next() * 2 - 1) * bound;
        layer[target] = { a, b: new Float32Array(shape.out * config.r) };
      }
      layers.push(layer);
    }
    return this.loadLora({ config, layers }, 'trainable');
  }

  /**
   * Puts an adapter's weights on the backend, checking shapes, for a {@link LoraUse}: `trainable`
   * allocates gradients; `serving` rounds the factors to half precision, each under a power-of-two
   * scale of its own ({@link toHalfMatrix}, decision 0034), so that every serving path and
   * backend computes with the same values, and keeps the backend's serving form of them beside.
   *
   * @example
   * const lora = model.loadLora(await loadPeftAdapter(dir, model.config), 'serving');
   */
  loadLora(weights: LoraAdapterWeights, use: LoraUse = 'frozen'): LoraAdapter {
    const trainable = use === 'trainable', serving = use === 'serving';
    const { r, alpha } = weights.config;
    if (weights.layers.length !== this.config.numLayers) {
      throw new WeightShapeError(`adapter has ${weights.layers.length} layers, the model ${this.config.numLayers}`);
    }
    const layers = weights.layers.map((layer, l) => {
      const out: LoraAdapter['layers'][number] = {};
      for (const [target, pair] of Object.entries(layer) as Array<[LoraTarget, LoraPair]>) {
        const shape = projectionShape(this.config, target);
        if (pair.a.length !== r * shape.in || pair.b.length !== shape.out * r) {
          throw new WeightShapeError(`adapter layer ${l} ${target}: A must be [${r}, ${shape.in}] and B [${shape.out}, ${r}]`);
        }
        // served: rounded once to half precision; A and B hold exactly the values the halves hold
        const half = serving ? { a: toHalfMatrix(pair.a), b: toHalfMatrix(pair.b) } : null;
        const a = half ? halfMatrixValues(half.a) : pair.a, b = half ? halfMatrixValues(half.b) : pair.b;
        out[target] = {
          a: this.backend.upload(a),
          b: this.backend.upload(b),
          gradA: trainable ? this.backend.zeros(a.length) : null,
          gradB: trainable ? this.backend.zeros(b.length) : null,
          // a served adapter's factors as the backend's per-row LoRA reads them
          serving: half ? (this.backend.loraServingFactors?.(half.a, half.b, r, shape.in, shape.out) ?? null) : null,
        };
      }
      return out;
    });
    return { config: weights.config, scale: alpha / r, layers };
  }

  /**
   * The bytes a `serving` adapter of these weights holds on this model's backend: A and B as f32,
   * and the backend's serving form of them.
   *
   * @example
   * cache.makeRoom(model.loraBytes(weights));
   */
  loraBytes(weights: LoraAdapterWeights): number {
    let bytes = 0;
    for (const layer of weights.layers) {
      for (const [target, pair] of Object.entries(layer) as Array<[LoraTarget, LoraPair | undefined]>) {
        if (!pair) continue;
        const shape = projectionShape(this.config, target);
        bytes += 4 * (pair.a.length + pair.b.length) + (this.backend.loraServingBytes?.(weights.config.r, shape.in, shape.out) ?? 0);
      }
    }
    return bytes;
  }

  /** The adapter's trainable tensors as optimizer parameters (PEFT names), layer by layer in the order q, k, v, o, gate, up, down. */
  loraParameters(lora: LoraAdapter): Parameter[] {
    const params: Parameter[] = [];
    lora.layers.forEach((layer, l) => {
      // canonical order (q, k, v, o, gate, up, down), whatever order the adapter was built or read in
      for (const target of loraTargets) {
        const t = layer[target];
        if (!t) continue;
        if (!t.gradA || !t.gradB) throw new WeightShapeError("adapter was loaded without gradients (not 'trainable')");
        const p = `base_model.model.model.layers.${l}.${targetModulePath(target)}`;
        params.push({ name: `${p}.lora_A.weight`, value: t.a, grad: t.gradA, decay: true });
        params.push({ name: `${p}.lora_B.weight`, value: t.b, grad: t.gradB, decay: true });
      }
    });
    return params;
  }

  /**
   * Copies an adapter back to host memory.
   *
   * @example
   * await savePeftAdapter(dir, await model.readLora(lora));
   */
  async readLora(lora: LoraAdapter): Promise<LoraAdapterWeights> {
    const layers: LoraAdapterWeights['layers'] = [];
    for (const layer of lora.layers) {
      const out: Partial<Record<LoraTarget, LoraPair>> = {};
      for (const [target, t] of Object.entries(layer) as Array<[LoraTarget, { a: Tensor; b: Tensor }]>) {
        out[target] = { a: await this.backend.read(t.a), b: await this.backend.read(t.b) };
      }
      layers.push(out);
    }
    return { config: lora.config, layers };
  }

  /** Frees an adapter's tensors. */
  freeLora(lora: LoraAdapter): void {
    for (const layer of lora.layers) {
      for (const t of Object.values(layer)) {
        if (!t) continue;
        for (const x of [t.a, t.b, t.gradA, t.gradB, t.serving]) if (x) this.backend.free(x);
      }
    }
  }

  /**
   * Next-token logits for B sequences of S tokens each ([B·S, vocab], row-major).
   *
   * @example
   * const logits = await model.logits(Int32Array.from([1, 2, 3]), 1, 3);
   */
  async logits(ids: Int32Array, B: number, S: number, lora: LoraAdapter | null = null): Promise<Float32Array> {
    const a = this.forward(ids, B, S, lora);
    const logits = await this.backend.read(a.logits);
    return logits.subarray(0, B * S * this.config.vocabSize);
  }

  /**
   * Mean-able cross-entropy of `targets` (−1 = ignore) given `ids`, both [B·S].
   *
   * @example
   * const { lossSum, tokens } = await model.loss(ids, targets, 1, ids.length);
   */
  async loss(ids: Int32Array, targets: Int32Array, B: number, S: number, lora: LoraAdapter | null = null): Promise<LossResult> {
    const a = this.forward(ids, B, S, lora);
    const tokens = this.setTargets(a, targets, B * S);
    this.backend.crossEntropy(a.losses, null, a.logits, a.targets, B * S, this.config.vocabSize, 0);
    const losses = (await this.backend.read(a.losses)).slice(0, B * S);
    return { lossSum: sumPrefix(losses, B * S), tokens, tokenLosses: losses };
  }

  /**
   * Forward and backward: returns the loss and adds `gradScale ·` its gradient to the LoRA
   * gradients (when `lora` is given) or to every base weight's gradient (after
   * {@link enableFullGradients}, when no adapter is given).
   *
   * @example
   * const { lossSum, tokens } = await model.lossAndGradients(ids, targets, 1, ids.length, { lora });
   */
  async lossAndGradients(ids: Int32Array, targets: Int32Array, B: number, S: number, options: PassOptions = {}): Promise<LossResult> {
    const lora = options.lora ?? null;
    if (!lora && !this.grads) throw new Error('no adapter given and full gradients are not enabled');
    const a = this.forward(ids, B, S, lora);
    const T = B * S;
    const tokens = this.setTargets(a, targets, T);
    const gradScale = options.gradScale ?? (tokens > 0 ? 1 / tokens : 0);
    this.backend.crossEntropy(a.losses, a.logits, a.logits, a.targets, T, this.config.vocabSize, gradScale);
    this.backward(a, B, S, lora);
    const losses = (await this.backend.read(a.losses)).slice(0, T);
    return { lossSum: sumPrefix(losses, T), tokens, tokenLosses: losses };
  }

  private setTargets(a: Activations, targets: Int32Array, T: number): number {
    if (targets.length !== T) throw new RangeError(`targets has ${targets.length} entries, expected ${T}`);
    this.backend.write(a.targets, targets);
    let tokens = 0;
    for (const t of targets) if (t >= 0) tokens++;
    return tokens;
  }

  private forward(ids: Int32Array, B: number, S: number, lora: LoraAdapter | null): Activations {
    const { backend: be, config: c, weights: w } = this;
    const T = B * S;
    if (ids.length !== T) throw new RangeError(`ids has ${ids.length} entries, expected B·S = ${T}`);
    if (S > c.maxPositions) throw new RangeError(`sequence of ${S} tokens exceeds the model's ${c.maxPositions} positions`);
    const a = this.activations(T, lora?.config.r ?? 0);
    be.write(a.ids, ids);
    embedTokens(be, c, w, a.layers[0]!.input, a.ids, T); // x [T, d]
    const attention = this.causal(a, B, S), adapter = this.single(a, lora);
    for (let l = 0; l < c.numLayers; l++) blockForward(be, c, w.layers[l]!, l, a.layers[l]!, T, attention, adapter);
    outputHead(be, c, w, a.last, a.hf, a.rstdf, a.logits, T); // logits [T, V]
    return a;
  }

  /** `a.logits` holds dlogits [T, V]: every gradient flows back from there. */
  private backward(a: Activations, B: number, S: number, lora: LoraAdapter | null): void {
    const { backend: be, config: c, weights: w } = this;
    const g = lora ? null : this.grads;
    const T = B * S;
    outputHeadBackward(be, c, w, g, a.last, a.hf, a.rstdf, a.logits, a.scratch.dh, a.scratch.dres, T); // dres [T, d] = d(last)
    const attention = this.causal(a, B, S), adapter = this.single(a, lora);
    for (let l = c.numLayers - 1; l >= 0; l--) blockBackward(be, c, w.layers[l]!, l, a.layers[l]!, g?.layers[l] ?? null, a.scratch, T, attention, adapter);
    if (g) embedTokensBackward(be, c, g, a.ids, a.scratch.dres, T);
  }

  private causal(a: Activations, B: number, S: number): CausalAttention {
    return { kind: 'causal', B, S, lse: a.lse };
  }

  private single(a: Activations, lora: LoraAdapter | null): SingleLora | null {
    return lora && { kind: 'single', adapter: lora, u: a.loraU };
  }

  /**
   * Activation buffers for at least T rows: kept while batches fit (every operation is given its
   * row count, so rows beyond T are never read), grown with headroom when one does not.
   */
  private activations(needRows: number, loraRank: number): Activations {
    const cur = this.acts;
    // a pass without an adapter leaves the adapter buffers alone, so any rank's serve it
    if (cur && cur.rows >= needRows && (cur.loraRank === loraRank || loraRank === 0)) return cur;
    if (cur) this.freeActivations(cur);
    // grow geometrically only when more rows are needed, not when the rank changes
    const T = cur && cur.rows >= needRows ? cur.rows : Math.max(needRows, Math.ceil((cur?.rows ?? 0) * 1.25), 64);
    const be = this.backend, c = this.config;
    const d = c.hiddenSize, f = c.intermediateSize, qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim;
    const z = (n: number) => be.zeros(n);
    const residual = Array.from({ length: c.numLayers + 1 }, () => z(T * d)); // [T, d] into each layer, then `last`
    const layers: BlockActivations[] = [];
    const lse: Tensor[] = [];
    const loraU: Array<Map<LoraTarget, Tensor>> = [];
    for (let l = 0; l < c.numLayers; l++) {
      layers.push({
        input: residual[l]!, h1: z(T * d), rstd1: z(T), q: z(T * qd), k: z(T * kvd), v: z(T * kvd), att: z(T * qd),
        x2: z(T * d), h2: z(T * d), rstd2: z(T), gate: z(T * f), up: z(T * f), act: z(T * f), output: residual[l + 1]!,
        ...optionalActivations(c, T, z),
      });
      lse.push(z(T * c.numHeads)); // [B, nH, S] for any B·S ≤ T
      loraU.push(new Map(loraRank > 0 ? loraTargets.map((target) => [target, z(T * loraRank)]) : []));
    }
    this.acts = {
      rows: T, loraRank,
      ids: be.upload(new Int32Array(T)), targets: be.upload(new Int32Array(T)),
      layers, lse, loraU, last: residual[c.numLayers]!, hf: z(T * d), rstdf: z(T), logits: z(T * c.vocabSize), losses: z(T),
      scratch: {
        dres: z(T * d), dh: z(T * d), dq: z(T * qd), dk: z(T * kvd), dv: z(T * kvd), datt: z(T * qd),
        dgate: z(T * f), dup: z(T * f), dact: z(T * f), dloraU: z(T * Math.max(loraRank, 1)),
      },
    };
    return this.acts;
  }

  private freeActivations(a: Activations): void {
    const free = (t: Tensor) => this.backend.free(t);
    // each layer frees its input but not its output (the next layer's input, or `last`)
    for (const la of a.layers) for (const [key, t] of Object.entries(la)) if (key !== 'output') free(t);
    for (const t of a.lse) free(t);
    for (const m of a.loraU) for (const t of m.values()) free(t);
    for (const t of Object.values(a.scratch)) free(t);
    for (const t of [a.ids, a.targets, a.last, a.hf, a.rstdf, a.logits, a.losses]) free(t);
  }

  /** Releases the model's activation buffers (weights stay). */
  releaseActivations(): void {
    if (this.acts) this.freeActivations(this.acts);
    this.acts = null;
  }
}

function sumPrefix(x: Float32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]!;
  return s;
}

export type { HostTensor };
