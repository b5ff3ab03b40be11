/**
 * A GGUF file (llama.cpp's model format, the way most small models are shared) as a base model:
 * the config from its `<arch>.*` metadata, the tokenizer from its `tokenizer.ggml.*` keys (as a
 * Hugging Face tokenizer.json), the weights renamed to the engine's names — the inverse of
 * `export-gguf.ts`, so a file this project exports reads back to the same model, and a file
 * llama.cpp's converter wrote reads as the same function.
 */
import type { Architecture, LoraTarget, ModelConfig } from './config.ts';
import { layerWeightNames, loraTargets, optionalLayerWeightNames, projectionShape } from './config.ts';
import type { LoraAdapterWeights } from './lora-weights.ts';
import { ggufArchitecture, ggufFusedTargets, ggufLayerNames, ggufOptionalLayerNames, permuteRopeRows, targetGgufNames } from './export-gguf.ts';
import type { QuantizedMatrix } from './backend.ts';
import { isQuantType } from './ggml-quants.ts';
import { ggufTensorBytes, ggufTensorData, ggufValue, readGgufHeader, type GgufFile } from './gguf.ts';
import type { TensorMap } from './tensor-map.ts';
import { Tokenizer } from './tokenizer.ts';

/** A GGUF file that is not a model this engine runs (an adapter, an unknown architecture, a missing key). */
export class GgufModelError extends Error {
  override name = 'GgufModelError';
}

/** llama.cpp architecture → the engine's (llama.cpp's `llama` also carries Mistral and biased Qwen2-style models). */
const fromGgufArchitecture: Record<string, Architecture> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3', smollm3: 'smollm3', gemma3: 'gemma3', phi3: 'phi3' };

/** llama.cpp pre-tokenizer names → the tokenizer.json pre_tokenizer that splits text the same way. */
const preTokenizers: Record<string, unknown> = {
  'gpt-2': { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  smollm: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }] },
  'llama-bpe': splitThenBytes("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
  qwen2: splitThenBytes("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
};

function splitThenBytes(regex: string): unknown {
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}

/**
 * Reads a GGUF model file into the engine's config, tokenizer and weights (quantised matrices kept as blocks).
 *
 * @example
 * const { config, tokenizer, tensors } = await readGgufModel('SmolLM2-135M.F16.gguf');
 */
export async function readGgufModel(path: string): Promise<{ config: ModelConfig; tokenizer: Tokenizer } & GgufModelWeights> {
  const { bytes, file } = await readGgufHeader(path);
  const config = ggufModelConfig(file, bytes);
  return { config, tokenizer: ggufTokenizer(file), ...ggufModelWeights(file, bytes, config) };
}

/**
 * The {@link ModelConfig} of a GGUF model from its metadata (and which optional tensors it has).
 *
 * @example
 * const config = ggufModelConfig(parseGguf(bytes), bytes);
 */
export function ggufModelConfig(file: GgufFile, bytes: Uint8Array): ModelConfig {
  const meta = (key: string) => ggufValue(file.metadata, key);
  if (meta('general.type') === 'adapter') throw new GgufModelError('this GGUF file is a LoRA adapter, not a base model');
  const name = String(meta('general.architecture'));
  const architecture = Object.hasOwn(fromGgufArchitecture, name) ? fromGgufArchitecture[name] : undefined;
  if (!architecture) throw new GgufModelError(`GGUF architecture "${name}" is not one this engine runs (${Object.keys(fromGgufArchitecture).join(', ')})`);
  const num = (key: string, fallback?: number): number => {
    const v = meta(`${name}.${key}`);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (fallback !== undefined) return fallback;
    throw new GgufModelError(`GGUF metadata ${name}.${key} is missing`);
  };
  const has = (tensor: string) => file.tensors.some((t) => t.name === tensor);
  const tensor = (tensor: string) => file.tensors.find((t) => t.name === tensor);
  const numHeads = num('attention.head_count'), hiddenSize = num('embedding_length');
  const headDim = num('attention.key_length', hiddenSize / numHeads);
  const numLayers = num('block_count');
  const tokens = meta('tokenizer.ggml.tokens');
  const bos = meta('tokenizer.ggml.bos_token_id'), eos = meta('tokenizer.ggml.eos_token_id');
  const config: ModelConfig = {
    vocabSize: num('vocab_size', Array.isArray(tokens) ? tokens.length : undefined),
    hiddenSize,
    intermediateSize: num('feed_forward_length'),
    numLayers,
    numHeads,
    numKvHeads: num('attention.head_count_kv', numHeads),
    headDim,
    rmsNormEps: num('attention.layer_norm_rms_epsilon'),
    ropeTheta: num('rope.freq_base', 10000),
    maxPositions: num('context_length'),
    tieEmbeddings: !has('output.weight'),
    attentionBias: has('blk.0.attn_q.bias'),
    ...(typeof bos === 'number' ? { bosTokenId: bos } : {}),
    ...(typeof eos === 'number' ? { eosTokenId: eos } : {}),
  };
  if (architecture !== 'llama') config.architecture = architecture;
  const rotaryDim = num('rope.dimension_count', headDim);
  if (rotaryDim !== headDim) config.rotaryDim = rotaryDim;
  const scalingType = meta(`${name}.rope.scaling.type`);
  if (scalingType === 'linear') config.ropeScaling = { type: 'linear', factor: num('rope.scaling.factor') };
  else if (scalingType !== undefined && scalingType !== 'none') throw new GgufModelError(`rope scaling "${String(scalingType)}" is not supported`);
  if (has('rope_factors_short.weight')) {
    config.ropeScaling = {
      type: 'longrope',
      shortFactor: [...ggufTensorData(bytes, tensor('rope_factors_short.weight')!)],
      longFactor: [...ggufTensorData(bytes, tensor('rope_factors_long.weight') ?? tensor('rope_factors_short.weight')!)],
      originalMaxPositions: num('rope.scaling.original_context_length', config.maxPositions),
      attentionFactor: num('rope.scaling.attn_factor', 1),
    };
    // as from config.json: the short factors hold up to the original context, and the engine serves that far
    config.maxPositions = Math.min(config.maxPositions, config.ropeScaling.originalMaxPositions);
  } else if (has('rope_freqs.weight')) {
    config.ropeScaling = { type: 'frequencyFactors', factors: [...ggufTensorData(bytes, tensor('rope_freqs.weight')!)] };
  }
  if (architecture === 'qwen3' || architecture === 'gemma3') config.qkNorm = true;
  if (architecture === 'smollm3') config.noRopeLayers = Array.from({ length: numLayers }, (_, l) => l).filter((l) => (l + 1) % 4 === 0);
  if (architecture === 'gemma3') {
    config.activation = 'gelu_tanh';
    config.scaleEmbeddings = true;
    config.outputNorms = true;
    config.localRopeTheta = num('rope.freq_base_swa', 10000);
    config.slidingWindow = num('attention.sliding_window');
    config.layerAttention = Array.from({ length: numLayers }, (_, l) => ((l + 1) % 6 === 0 ? 'full' : 'sliding'));
  }
  if (architecture === 'phi3' && meta(`${name}.attention.sliding_window`) !== undefined) {
    config.slidingWindow = num('attention.sliding_window');
    config.layerAttention = Array.from({ length: numLayers }, () => 'sliding');
  }
  return config;
}

/** A GGUF model's weights under the engine's names: f32, and the matrices kept as ggml blocks. */
export interface GgufModelWeights {
  tensors: TensorMap;
  /** Matrices stored quantised in the file (Q8_0, Q4_0, Q4_K, Q6_K), kept so (`Backend.uploadQuantized`). */
  quantized: Map<string, QuantizedMatrix>;
}

/**
 * The weights of a GGUF model under the engine's names: F32/F16/BF16 decoded to f32, quantised
 * matrices kept as their blocks; q and k rows permuted back where llama.cpp's architecture
 * rotates adjacent pairs, Phi-3's fused matrices split (both on whole rows, so on blocks too).
 *
 * @example
 * const { tensors, quantized } = ggufModelWeights(file, bytes, config);
 */
export function ggufModelWeights(file: GgufFile, bytes: Uint8Array, config: ModelConfig): GgufModelWeights {
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const { neox } = ggufArchitecture(config);
  const { numHeads: nH, numKvHeads: nKV, headDim: hd, intermediateSize: f } = config;
  const tensors: TensorMap = new Map();
  const quantized = new Map<string, QuantizedMatrix>();
  const info = (name: string) => byName.get(name) ?? missing(name);
  /** Rows [from, to) of a GGUF matrix, in `order` (source row of each row) when given, under the engine's name `ours`. */
  const put = (ours: string, gg: string, o: { from?: number; to?: number; ropeHeads?: number } = {}) => {
    const t = info(gg);
    // a vector (norm, bias) is rows of one element, so a bias permutes like its matrix's rows
    const oneD = t.shape.length === 1, cols = oneD ? 1 : t.shape[1]!, allRows = t.shape[0]!;
    const from = o.from ?? 0, to = o.to ?? allRows, rows = to - from;
    const order = o.ropeHeads && !neox ? ropeRowSources(rows, o.ropeHeads) : null;
    const shape = oneD ? [rows] : [rows, cols];
    if (isQuantType(t.type)) {
      const q = ggufTensorBytes(bytes, t), rowBytes = q.bytes.length / allRows;
      const out = new Uint8Array(rows * rowBytes);
      for (let r = 0; r < rows; r++) {
        const src = from + (order ? order[r]! : r);
        out.set(q.bytes.subarray(src * rowBytes, (src + 1) * rowBytes), r * rowBytes);
      }
      quantized.set(ours, { type: q.type, rows, cols, bytes: out });
      return;
    }
    const all = ggufTensorData(bytes, t);
    const data = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const src = from + (order ? order[r]! : r);
      data.set(all.subarray(src * cols, (src + 1) * cols), r * cols);
    }
    tensors.set(ours, { shape, data });
  };
  put('model.embed_tokens.weight', 'token_embd.weight');
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}.`, b = `blk.${i}.`;
    put(p + layerWeightNames.inputNorm, b + ggufLayerNames.inputNorm);
    const qkv = `${b}attn_qkv.weight`;
    if (byName.has(qkv)) {
      const qd = nH * hd, kvd = nKV * hd; // Phi-3: q, k and v fused, in that order
      put(p + layerWeightNames.q, qkv, { from: 0, to: qd });
      put(p + layerWeightNames.k, qkv, { from: qd, to: qd + kvd });
      put(p + layerWeightNames.v, qkv, { from: qd + kvd, to: qd + 2 * kvd });
    } else {
      put(p + layerWeightNames.q, b + ggufLayerNames.q, { ropeHeads: nH });
      put(p + layerWeightNames.k, b + ggufLayerNames.k, { ropeHeads: nKV });
      put(p + layerWeightNames.v, b + ggufLayerNames.v);
    }
    if (config.attentionBias) {
      put(p + 'self_attn.q_proj.bias', b + 'attn_q.bias', { ropeHeads: nH });
      put(p + 'self_attn.k_proj.bias', b + 'attn_k.bias', { ropeHeads: nKV });
      put(p + 'self_attn.v_proj.bias', b + 'attn_v.bias');
    }
    if (config.qkNorm) {
      put(p + optionalLayerWeightNames.qNorm, b + ggufOptionalLayerNames.qNorm);
      put(p + optionalLayerWeightNames.kNorm, b + ggufOptionalLayerNames.kNorm);
    }
    put(p + layerWeightNames.o, b + ggufLayerNames.o);
    if (config.outputNorms) {
      put(p + optionalLayerWeightNames.attnOutputNorm, b + ggufOptionalLayerNames.attnOutputNorm);
      put(p + optionalLayerWeightNames.mlpOutputNorm, b + ggufOptionalLayerNames.mlpOutputNorm);
    }
    put(p + layerWeightNames.postNorm, b + ggufLayerNames.postNorm);
    if (byName.has(b + ggufLayerNames.gate)) {
      put(p + layerWeightNames.gate, b + ggufLayerNames.gate);
      put(p + layerWeightNames.up, b + ggufLayerNames.up);
    } else {
      put(p + layerWeightNames.gate, b + ggufLayerNames.up, { from: 0, to: f }); // Phi-3: gate and up fused in ffn_up, gate first
      put(p + layerWeightNames.up, b + ggufLayerNames.up, { from: f, to: 2 * f });
    }
    put(p + layerWeightNames.down, b + ggufLayerNames.down);
  }
  put('model.norm.weight', 'output_norm.weight');
  if (!config.tieEmbeddings) put('lm_head.weight', 'output.weight');
  return { tensors, quantized };
}

/**
 * For each row of a q or k projection (or bias) in Hugging Face's rotate-half order, the row of
 * llama.cpp's adjacent-pairs order it comes from (`permuteRopeRows(…, 'fromGgml')` as an index).
 */
function ropeRowSources(rows: number, nHeads: number): Int32Array {
  const index = Float32Array.from({ length: rows }, (_, r) => r);
  return Int32Array.from(permuteRopeRows(index, rows, 1, nHeads, 'fromGgml'));
}

function missing(name: string): never {
  throw new GgufModelError(`GGUF tensor ${name} is missing`);
}

/**
 * The tokenizer of a GGUF model (`tokenizer.ggml.model` "gpt2": byte-level BPE) as a Hugging Face
 * tokenizer: vocabulary and merges, control and user-defined tokens as added tokens, the
 * pre-tokenizer llama.cpp names, BOS prepended where the file says so.
 *
 * @example
 * const tokenizer = ggufTokenizer(parseGguf(await readFile('model.gguf')));
 */
export function ggufTokenizer(file: GgufFile): Tokenizer {
  const meta = (key: string) => ggufValue(file.metadata, key);
  const model = meta('tokenizer.ggml.model');
  if (model !== 'gpt2') throw new GgufModelError(`GGUF tokenizer "${String(model)}" is not supported (byte-level BPE, "gpt2", only)`);
  const tokens = meta('tokenizer.ggml.tokens') as string[] | undefined;
  const merges = meta('tokenizer.ggml.merges') as string[] | undefined;
  if (!tokens || !merges) throw new GgufModelError('GGUF tokenizer tokens or merges are missing');
  const types = (meta('tokenizer.ggml.token_type') as number[] | undefined) ?? [];
  const pre = String(meta('tokenizer.ggml.pre') ?? 'gpt-2');
  const preTokenizer = Object.hasOwn(preTokenizers, pre) ? preTokenizers[pre] : undefined;
  if (!preTokenizer) throw new GgufModelError(`GGUF pre-tokenizer "${pre}" is not one this engine knows (${Object.keys(preTokenizers).join(', ')})`);
  const vocab: Record<string, number> = {};
  const added: unknown[] = [];
  tokens.forEach((text, id) => {
    vocab[text] = id;
    const type = types[id] ?? 1;
    // control (3) and user-defined (4) tokens are matched whole, before the BPE
    if (type === 3 || type === 4) added.push({ id, content: text, single_word: false, lstrip: false, rstrip: false, normalized: false, special: type === 3 });
  });
  const bos = meta('tokenizer.ggml.bos_token_id'), eos = meta('tokenizer.ggml.eos_token_id');
  const name = (id: unknown) => (typeof id === 'number' ? tokens[id] ?? null : null);
  const addBos = meta('tokenizer.ggml.add_bos_token') === true && typeof bos === 'number';
  const json = {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: addBos
      ? { type: 'TemplateProcessing', single: [{ SpecialToken: { id: tokens[bos as number], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [{ SpecialToken: { id: tokens[bos as number], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }], special_tokens: { [tokens[bos as number]!]: { id: tokens[bos as number], ids: [bos], tokens: [tokens[bos as number]] } } }
      : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
  const chatTemplate = meta('tokenizer.chat_template');
  return Tokenizer.fromJson(json, {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: name(bos),
    eos_token: name(eos),
    pad_token: name(meta('tokenizer.ggml.padding_token_id')),
    ...(typeof chatTemplate === 'string' ? { chat_template: chatTemplate } : {}),
  });
}

/** The LoRA target of each llama.cpp base-weight name (`blk.N.<name>.weight.lora_a`). */
const ggufTargets = new Map(Object.entries(targetGgufNames).map(([target, name]) => [name, target as LoraTarget]));

/**
 * A GGUF LoRA adapter (llama.cpp's `general.type` "adapter") for a base of `config`, as the
 * engine's adapter — the inverse of `adapterGgufContent`: B rows of q and k permuted back where
 * llama.cpp's architecture rotates adjacent pairs, Phi-3's pairs on the fused `attn_qkv` and
 * `ffn_up` split into exact pairs on their parts (each part's rows of B; the block-diagonal parts
 * this project writes are taken back to rank r), alpha from `adapter.lora.alpha`.
 *
 * @example
 * const adapter = ggufLoraAdapter(parseGguf(bytes), bytes, config);
 */
export function ggufLoraAdapter(file: GgufFile, bytes: Uint8Array, config: ModelConfig): LoraAdapterWeights {
  const meta = (key: string) => ggufValue(file.metadata, key);
  if (meta('general.type') !== 'adapter' || meta('adapter.type') !== 'lora') throw new GgufModelError('this GGUF file is not a LoRA adapter (general.type "adapter", adapter.type "lora")');
  const { name: arch, neox } = ggufArchitecture(config);
  if (meta('general.architecture') !== arch) throw new GgufModelError(`the adapter is for "${String(meta('general.architecture'))}", the base model is "${arch}"`);
  const pairs = new Map<string, { a?: GgufFile['tensors'][number]; b?: GgufFile['tensors'][number] }>();
  for (const t of file.tensors) {
    const m = /^blk\.(\d+)\.([a-z_]+)\.weight\.lora_(a|b)$/.exec(t.name);
    if (!m) throw new GgufModelError(`GGUF adapter tensor "${t.name}" is not a LoRA matrix of a layer's projection`);
    const entry = pairs.get(`${m[1]}.${m[2]}`) ?? {};
    entry[m[3] as 'a' | 'b'] = t;
    pairs.set(`${m[1]}.${m[2]}`, entry);
  }
  const layers: LoraAdapterWeights['layers'] = Array.from({ length: config.numLayers }, () => ({}));
  let rank = 0;
  const targets = new Set<LoraTarget>();
  const place = (layer: number, target: LoraTarget, a: Float32Array, b: Float32Array, r: number) => {
    if (rank !== 0 && r !== rank) throw new GgufModelError(`GGUF adapter: layer ${layer} ${target} has rank ${r}, others ${rank}`);
    rank = r;
    targets.add(target);
    layers[layer]![target] = { a, b };
  };
  for (const [key, { a, b }] of pairs) {
    const [layerText, name] = key.split('.') as [string, string];
    const layer = Number(layerText);
    if (!a || !b) throw new GgufModelError(`GGUF adapter: layer ${layer} ${name} lacks lora_${a ? 'b' : 'a'}`);
    if (layer >= config.numLayers) throw new GgufModelError(`GGUF adapter: layer ${layer}; the model has ${config.numLayers}`);
    const A = ggufTensorData(bytes, a), B = ggufTensorData(bytes, b);
    const r = a.shape[0]!;
    const fused = arch === 'phi3' && Object.hasOwn(ggufFusedTargets, name) ? ggufFusedTargets[name] : undefined;
    if (fused) {
      // this project's fused pairs are block-diagonal (part k uses A's rows k·r' … and B × n); others share one A
      const outs = fused.map((t) => projectionShape(config, t).out);
      const blockDiagonal = r % fused.length === 0 && isBlockDiagonal(B, outs, r, fused.length);
      const partRank = blockDiagonal ? r / fused.length : r;
      let row = 0;
      fused.forEach((target, k) => {
        const out = outs[k]!, inDim = projectionShape(config, target).in;
        const aPart = blockDiagonal ? A.slice(k * partRank * inDim, (k + 1) * partRank * inDim) : A.slice();
        const bPart = new Float32Array(out * partRank);
        for (let o = 0; o < out; o++) for (let j = 0; j < partRank; j++) bPart[o * partRank + j] = B[(row + o) * r + (blockDiagonal ? k * partRank : 0) + j]! / (blockDiagonal ? fused.length : 1);
        place(layer, target, aPart, bPart, partRank);
        row += out;
      });
      continue;
    }
    const target = ggufTargets.get(name);
    if (!target) throw new GgufModelError(`GGUF adapter: "${name}" is not a projection LoRA adapts`);
    const { out } = projectionShape(config, target);
    const heads = neox ? 0 : target === 'q_proj' ? config.numHeads : target === 'k_proj' ? config.numKvHeads : 0;
    place(layer, target, A, heads > 0 ? permuteRopeRows(B, out, r, heads, 'fromGgml') : B, r);
  }
  if (rank === 0) throw new GgufModelError('the GGUF adapter has no LoRA matrices');
  const alpha = meta('adapter.lora.alpha');
  return {
    config: { r: rank, alpha: typeof alpha === 'number' && alpha !== 0 ? alpha : rank, targetModules: loraTargets.filter((t) => targets.has(t)), baseModel: String(meta('general.name') ?? '') },
    layers,
  };
}

/** Whether B [Σouts, n·r'] has non-zero entries only in part k's rows × columns k·r' … (k+1)·r'. */
function isBlockDiagonal(B: Float32Array, outs: number[], r: number, n: number): boolean {
  const partRank = r / n;
  let row = 0;
  for (let k = 0; k < n; k++) {
    for (let o = 0; o < outs[k]!; o++) {
      for (let j = 0; j < r; j++) if (Math.floor(j / partRank) !== k && B[(row + o) * r + j] !== 0) return false;
    }
    row += outs[k]!;
  }
  return true;
}
