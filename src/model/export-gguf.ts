/**
 * Exports a model (any architecture of `architectures.ts`) and its LoRA adapters as GGUF files
 * llama.cpp loads, under llama.cpp's architecture for it ({@link ggufArchitecture}).
 *
 * What llama.cpp needs beyond a plain copy of the weights:
 * - its `llama` and `smollm3` architectures apply RoPE to adjacent pairs (x[2i], x[2i+1]) while
 *   Hugging Face rotates halves (x[i], x[i + hd/2]); like llama.cpp's own converter, the rows of
 *   q_proj and k_proj (and their biases, and the B matrices of their LoRA adapters) are permuted
 *   within each head so both compute the same function ({@link permuteRopeRows}); `qwen3`,
 *   `gemma3` and `phi3` rotate halves and take the rows as they are;
 * - Phi-3's fused q/k/v and gate/up matrices, Gemma's norms under their own names (stored w + 1
 *   in GGUF as in the engine), rotary scaling as metadata or per-frequency factor tensors;
 * - the tokenizer as `tokenizer.ggml.*` keys: model "gpt2" (byte-level BPE), a pre-tokenizer name
 *   llama.cpp knows, tokens, token types, merges, special token ids and add-BOS/EOS flags;
 * - tensors renamed (`token_embd`, `blk.N.attn_q` …), norms and biases kept F32.
 */
import { layerWeightNames, loraTargets, optionalLayerWeightNames, projectionShape } from './config.ts';
import { rotaryOf } from './rotary.ts';
import type { LoraTarget, ModelConfig } from './config.ts';
import { GgufFormatError, gguf, writeGgufFile } from './gguf.ts';
import type { GgufContent, GgufMetadata, GgufTensorInput, GgufWriteType } from './gguf.ts';
import { QUANT_FORMATS, isQuantType, type QuantType } from './ggml-quants.ts';
import type { LoraAdapterWeights } from './lora-weights.ts';
import { peftTensors } from './peft.ts';
import { ShapeMismatchError } from './safetensors.ts';
import { elementCount } from './tensor-map.ts';
import type { TensorMap } from './tensor-map.ts';

/** A tokenizer.json this exporter cannot express as llama.cpp tokenizer keys. */
export class UnsupportedTokenizerError extends Error {
  override name = 'UnsupportedTokenizerError';
}

/** Model weights that do not match the config (missing, extra or misshapen tensors). */
export class ModelExportError extends Error {
  override name = 'ModelExportError';
}

/** How the large matrices are stored; norms and biases are always F32. */
export type GgufExportDtype = 'F32' | 'F16' | 'BF16' | QuantType;

/** llama.cpp's `general.file_type` (LLAMA_FTYPE_*) of each export type. */
const fileTypes: Record<GgufExportDtype, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K: 15, Q6_K: 18, BF16: 32 };

/**
 * The stored type of a matrix of `cols` columns: the export type, except that a quantised type
 * needs whole blocks per row — a row that is not falls back (as llama.cpp's converter does) to
 * Q8_0 when it can, else F16.
 */
function matrixType(dtype: GgufExportDtype, cols: number): GgufWriteType {
  if (!isQuantType(dtype) || cols % QUANT_FORMATS[dtype].block === 0) return dtype;
  return cols % QUANT_FORMATS.Q8_0.block === 0 ? 'Q8_0' : 'F16';
}

/** llama.cpp token types (`tokenizer.ggml.token_type`). */
export const ggmlTokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/**
 * Permutes the rows of a q or k projection (or its bias, or a LoRA B matrix) between Hugging
 * Face's rotate-half RoPE layout and llama.cpp's adjacent-pairs layout. `rows` = nHeads × headDim;
 * within each head, row `half · hd/2 + i` moves to `2i + half` (`'toGgml'`), or back (`'fromGgml'`).
 *
 * @example
 * const q = permuteRopeRows(weights.get('model.layers.0.self_attn.q_proj.weight')!.data, 4 * 8, 32, 4);
 */
export function permuteRopeRows(data: Float32Array, rows: number, cols: number, nHeads: number, direction: 'toGgml' | 'fromGgml' = 'toGgml'): Float32Array {
  if (data.length !== rows * cols) throw new ShapeMismatchError(`permuteRopeRows: ${data.length} values are not ${rows} × ${cols}`);
  const hd = rows / nHeads;
  if (!Number.isInteger(hd) || hd % 2 !== 0) throw new ShapeMismatchError(`permuteRopeRows: ${rows} rows are not ${nHeads} heads of an even width`);
  const half = hd / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < nHeads; h++) {
    for (let part = 0; part < 2; part++) {
      for (let i = 0; i < half; i++) {
        const hf = h * hd + part * half + i;
        const gg = h * hd + 2 * i + part;
        const [from, to] = direction === 'toGgml' ? [hf, gg] : [gg, hf];
        out.set(data.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/** llama.cpp's names of a layer's tensors (under `blk.N.`), by the engine's. */
export const ggufLayerNames: Record<keyof typeof layerWeightNames, string> = {
  inputNorm: 'attn_norm.weight',
  q: 'attn_q.weight',
  k: 'attn_k.weight',
  v: 'attn_v.weight',
  o: 'attn_output.weight',
  postNorm: 'ffn_norm.weight',
  gate: 'ffn_gate.weight',
  up: 'ffn_up.weight',
  down: 'ffn_down.weight',
};

/** llama.cpp's names of the layer tensors only some architectures have, by the engine's. */
export const ggufOptionalLayerNames: Record<keyof typeof optionalLayerWeightNames, string> = {
  qNorm: 'attn_q_norm.weight',
  kNorm: 'attn_k_norm.weight',
  attnOutputNorm: 'post_attention_norm.weight',
  mlpOutputNorm: 'post_ffw_norm.weight',
};

/** llama.cpp's name of each LoRA target's base weight (`blk.N.<name>.weight`). */
export const targetGgufNames: Record<LoraTarget, string> = {
  q_proj: 'attn_q', k_proj: 'attn_k', v_proj: 'attn_v', o_proj: 'attn_output', gate_proj: 'ffn_gate', up_proj: 'ffn_up', down_proj: 'ffn_down',
};

/** Phi-3's fused matrices in llama.cpp (`blk.N.<name>.weight`): the parts, in their row order. */
export const ggufFusedTargets: Readonly<Record<string, readonly LoraTarget[]>> = { attn_qkv: ['q_proj', 'k_proj', 'v_proj'], ffn_up: ['gate_proj', 'up_proj'] };

/**
 * The GGUF (llama.cpp) name of a LoRA target's base weight in layer `i`.
 *
 * @example
 * ggufTargetName(3, 'o_proj'); // 'blk.3.attn_output.weight'
 */
export function ggufTargetName(layer: number, target: LoraTarget): string {
  return `blk.${layer}.${targetGgufNames[target]}.weight`;
}

// ---------------------------------------------------------------------------------------------
// tokenizer

const gpt2Regex = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
/** Split patterns of well-known tokenizer.json files → llama.cpp pre-tokenizer names. */
const knownSplitPatterns: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'llama-bpe',
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'qwen2',
  [gpt2Regex]: 'gpt-2',
};

type Json = Record<string, unknown>;
function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The pre-tokenizer steps of a tokenizer.json (a Sequence flattened). */
function preTokenizerSteps(tok: Json): Json[] {
  const pre = tok['pre_tokenizer'];
  if (!isObject(pre)) return [];
  if (pre['type'] === 'Sequence' && Array.isArray(pre['pretokenizers'])) return pre['pretokenizers'].filter(isObject);
  return [pre];
}

/**
 * Which llama.cpp pre-tokenizer (`tokenizer.ggml.pre`) splits text like this tokenizer.json:
 * GPT-2's ByteLevel regex → "gpt-2"; Digits + ByteLevel → "smollm"; Llama 3's and Qwen2's split
 * patterns → "llama-bpe" / "qwen2".
 *
 * @example
 * detectPreTokenizer({ pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true } }); // 'gpt-2'
 */
export function detectPreTokenizer(tokenizerJson: unknown): string {
  if (!isObject(tokenizerJson)) throw new UnsupportedTokenizerError('tokenizer.json is not an object');
  const steps = preTokenizerSteps(tokenizerJson);
  const kinds = steps.map((s) => s['type']);
  const byteLevel = steps.find((s) => s['type'] === 'ByteLevel');
  if (!byteLevel) throw new UnsupportedTokenizerError(`tokenizer.json: pre_tokenizer (${kinds.join(', ') || 'none'}) is not byte-level; only byte-level BPE tokenizers are exported`);
  if (byteLevel['add_prefix_space'] === true) throw new UnsupportedTokenizerError('tokenizer.json: ByteLevel add_prefix_space is not supported by llama.cpp');
  const usesRegex = byteLevel['use_regex'] !== false;
  if (steps.length === 1 && usesRegex) return 'gpt-2';
  if (steps.length === 2 && kinds[0] === 'Digits' && steps[0]!['individual_digits'] === true && usesRegex) return 'smollm';
  if (steps.length === 2 && kinds[0] === 'Split' && !usesRegex) {
    const pattern = steps[0]!['pattern'];
    const regex = isObject(pattern) ? pattern['Regex'] : undefined;
    const name = typeof regex === 'string' ? knownSplitPatterns[regex] : undefined;
    if (name) return name;
  }
  throw new UnsupportedTokenizerError(`tokenizer.json: pre_tokenizer [${kinds.join(', ')}] matches no llama.cpp pre-tokenizer this exporter knows; pass preTokenizer explicitly`);
}

/** Options of {@link ggufTokenizerMetadata}. */
export interface GgufTokenizerOptions {
  /** Rows of the embedding matrix; the token list is padded to it with unused `[PAD{i}]` tokens. */
  vocabSize: number;
  bosTokenId?: number;
  eosTokenId?: number;
  /** llama.cpp pre-tokenizer name; detected from the tokenizer.json when absent. */
  preTokenizer?: string;
  /** A Jinja chat template (`tokenizer.chat_template`), from tokenizer_config.json. */
  chatTemplate?: string;
}

/** Special tokens a template-processing post-processor puts before and after a single sequence. */
function templateSpecials(tok: Json): { first?: string; last?: string } {
  const pp = tok['post_processor'];
  const processors = isObject(pp) ? (pp['type'] === 'Sequence' && Array.isArray(pp['processors']) ? pp['processors'].filter(isObject) : [pp]) : [];
  const template = processors.find((p) => p['type'] === 'TemplateProcessing');
  const single = template?.['single'];
  if (!Array.isArray(single) || single.length === 0) return {};
  const special = (item: unknown): string | undefined => (isObject(item) && isObject(item['SpecialToken']) && typeof item['SpecialToken']['id'] === 'string' ? item['SpecialToken']['id'] : undefined);
  const first = special(single[0]);
  const last = single.length > 1 ? special(single[single.length - 1]) : undefined;
  return { ...(first !== undefined ? { first } : {}), ...(last !== undefined ? { last } : {}) };
}

const eosNames = ['<|endoftext|>', '</s>', '<|end_of_text|>', '<|im_end|>', '<eos>'];

/**
 * llama.cpp `tokenizer.ggml.*` metadata for a byte-level BPE `tokenizer.json` (Hugging Face format):
 * model "gpt2", the pre-tokenizer, tokens by id (holes and the rows past the tokenizer padded as
 * unused `[PAD{i}]`), token types (added special tokens are control tokens, other added tokens
 * user-defined), merges, BOS/EOS ids and whether the tokenizer adds BOS/EOS itself.
 *
 * @example
 * const meta = ggufTokenizerMetadata(JSON.parse(await readFile('tokenizer.json', 'utf8')), { vocabSize: config.vocabSize, eosTokenId: 0 });
 */
export function ggufTokenizerMetadata(tokenizerJson: unknown, options: GgufTokenizerOptions): GgufMetadata {
  if (!isObject(tokenizerJson)) throw new UnsupportedTokenizerError('tokenizer.json is not an object');
  const model = tokenizerJson['model'];
  if (!isObject(model) || model['type'] !== 'BPE') throw new UnsupportedTokenizerError(`tokenizer.json: model type "${String(isObject(model) ? model['type'] : model)}" is not BPE`);
  const vocab = model['vocab'];
  if (!isObject(vocab)) throw new UnsupportedTokenizerError('tokenizer.json: model.vocab is not an object of token → id');
  const pre = options.preTokenizer ?? detectPreTokenizer(tokenizerJson);

  const tokens: Array<string | undefined> = [];
  const types: number[] = [];
  const place = (text: string, id: unknown, type: number): void => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new UnsupportedTokenizerError(`tokenizer.json: token ${JSON.stringify(text)} has id ${String(id)}`);
    if (id >= options.vocabSize) throw new UnsupportedTokenizerError(`tokenizer.json: token ${JSON.stringify(text)} has id ${id}, past the model's ${options.vocabSize} embedding rows`);
    if (tokens[id] !== undefined && tokens[id] !== text) throw new UnsupportedTokenizerError(`tokenizer.json: id ${id} is both ${JSON.stringify(tokens[id])} and ${JSON.stringify(text)}`);
    tokens[id] = text;
    types[id] = type;
  };
  for (const [text, id] of Object.entries(vocab)) place(text, id, ggmlTokenType.normal);
  const added = Array.isArray(tokenizerJson['added_tokens']) ? tokenizerJson['added_tokens'].filter(isObject) : [];
  for (const t of added) {
    if (typeof t['content'] !== 'string') throw new UnsupportedTokenizerError('tokenizer.json: an added token has no content');
    place(t['content'], t['id'], t['special'] === true ? ggmlTokenType.control : ggmlTokenType.userDefined);
  }
  const list: string[] = [];
  const typeList: number[] = [];
  const seen = new Map<string, number>();
  for (let id = 0; id < options.vocabSize; id++) {
    const text = tokens[id] ?? `[PAD${id}]`;
    if (seen.has(text)) throw new UnsupportedTokenizerError(`tokenizer.json: token ${JSON.stringify(text)} has ids ${seen.get(text)} and ${id}`);
    seen.set(text, id);
    list.push(text);
    typeList.push(tokens[id] === undefined ? ggmlTokenType.unused : types[id]!);
  }

  const rawMerges = model['merges'];
  if (!Array.isArray(rawMerges)) throw new UnsupportedTokenizerError('tokenizer.json: model.merges is missing');
  const merges = rawMerges.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return `${m[0]} ${m[1]}`;
    throw new UnsupportedTokenizerError(`tokenizer.json: merge ${i} is neither "a b" nor ["a", "b"]`);
  });

  const { first, last } = templateSpecials(tokenizerJson);
  const idOf = (text: string | undefined): number | undefined => (text === undefined ? undefined : seen.get(text));
  const bos = options.bosTokenId ?? idOf(first);
  const eos = options.eosTokenId ?? idOf(last) ?? eosNames.map((n) => seen.get(n)).find((id) => id !== undefined);
  const addBos = first !== undefined && idOf(first) !== undefined;
  const addEos = last !== undefined && idOf(last) !== undefined;
  for (const [what, id] of [['bos', bos], ['eos', eos]] as const) {
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id >= options.vocabSize)) throw new UnsupportedTokenizerError(`${what} token id ${id} is outside the vocabulary`);
  }
  if (addBos && options.bosTokenId !== undefined && options.bosTokenId !== idOf(first)) {
    throw new UnsupportedTokenizerError(`tokenizer.json adds ${JSON.stringify(first)} (id ${idOf(first)}) before every text, but the BOS id given is ${options.bosTokenId}`);
  }

  const meta: GgufMetadata = new Map();
  meta.set('tokenizer.ggml.model', gguf.str('gpt2'));
  meta.set('tokenizer.ggml.pre', gguf.str(pre));
  meta.set('tokenizer.ggml.tokens', gguf.strings(list));
  meta.set('tokenizer.ggml.token_type', gguf.i32s(typeList));
  meta.set('tokenizer.ggml.merges', gguf.strings(merges));
  if (bos !== undefined) meta.set('tokenizer.ggml.bos_token_id', gguf.u32(bos));
  if (eos !== undefined) meta.set('tokenizer.ggml.eos_token_id', gguf.u32(eos));
  const unk = model['unk_token'];
  if (typeof unk === 'string' && seen.has(unk)) meta.set('tokenizer.ggml.unknown_token_id', gguf.u32(seen.get(unk)!));
  meta.set('tokenizer.ggml.add_bos_token', gguf.bool(addBos));
  meta.set('tokenizer.ggml.add_eos_token', gguf.bool(addEos));
  if (options.chatTemplate !== undefined) meta.set('tokenizer.chat_template', gguf.str(options.chatTemplate));
  return meta;
}

// ---------------------------------------------------------------------------------------------
// base model

/** Options of {@link baseGgufContent} / {@link exportBaseGguf}. */
export interface BaseGgufOptions {
  config: ModelConfig;
  /** Weights by Hugging Face name (`model.layers.0.self_attn.q_proj.weight` …). */
  tensors: TensorMap;
  /** The model's Hugging Face `tokenizer.json`, parsed. */
  tokenizerJson: unknown;
  /** Storage of the matrices (default F16). */
  dtype?: GgufExportDtype;
  /** `general.name` (default "openledger"). */
  name?: string;
  /** llama.cpp pre-tokenizer name, when it cannot be detected. */
  preTokenizer?: string;
  chatTemplate?: string;
}

function expectShape(name: string, t: { shape: number[]; data: Float32Array } | undefined, shape: number[]): Float32Array {
  if (!t) throw new ModelExportError(`missing weight "${name}"`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new ModelExportError(`weight "${name}" is [${t.shape.join(', ')}], the config needs [${shape.join(', ')}]`);
  if (t.data.length !== elementCount(shape)) throw new ShapeMismatchError(`weight "${name}" has ${t.data.length} values for shape [${shape.join(', ')}]`);
  return t.data;
}

/**
 * llama.cpp's architecture for a config: its name (the metadata keys' prefix) and whether its
 * rotation pairs halves (x[i], x[i + n/2]) as Hugging Face does ("NEOX") or adjacent dimensions,
 * which needs q and k permuted. Qwen2 and Mistral export as `llama`, which has optional q/k/v biases.
 */
export function ggufArchitecture(config: ModelConfig): { name: string; neox: boolean } {
  switch (config.architecture ?? 'llama') {
    case 'qwen3': return { name: 'qwen3', neox: true };
    case 'gemma3': return { name: 'gemma3', neox: true };
    case 'phi3': return { name: 'phi3', neox: true };
    case 'smollm3': return { name: 'smollm3', neox: false };
    default: return { name: 'llama', neox: false };
  }
}

/** `<arch>.*` hyperparameter keys for a config, refusing what llama.cpp's architecture cannot express. */
function hyperparameters(config: ModelConfig, arch: string): GgufMetadata {
  const m: GgufMetadata = new Map();
  const L = config.numLayers;
  m.set(`${arch}.context_length`, gguf.u32(config.maxPositions));
  m.set(`${arch}.embedding_length`, gguf.u32(config.hiddenSize));
  m.set(`${arch}.block_count`, gguf.u32(L));
  m.set(`${arch}.feed_forward_length`, gguf.u32(config.intermediateSize));
  m.set(`${arch}.attention.head_count`, gguf.u32(config.numHeads));
  m.set(`${arch}.attention.head_count_kv`, gguf.u32(config.numKvHeads));
  m.set(`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(config.rmsNormEps));
  m.set(`${arch}.rope.freq_base`, gguf.f32(config.ropeTheta));
  m.set(`${arch}.rope.dimension_count`, gguf.u32(config.rotaryDim ?? config.headDim));
  m.set(`${arch}.vocab_size`, gguf.u32(config.vocabSize));
  if (config.headDim * config.numHeads !== config.hiddenSize || arch === 'gemma3') {
    m.set(`${arch}.attention.key_length`, gguf.u32(config.headDim));
    m.set(`${arch}.attention.value_length`, gguf.u32(config.headDim));
  }
  const s = config.ropeScaling;
  if (s?.type === 'linear') {
    m.set(`${arch}.rope.scaling.type`, gguf.str('linear'));
    m.set(`${arch}.rope.scaling.factor`, gguf.f32(s.factor));
  }
  if (s?.type === 'longrope') {
    if (arch !== 'phi3') throw new ModelExportError(`longrope scaling exports only for phi3, not ${arch}`);
    m.set(`${arch}.rope.scaling.attn_factor`, gguf.f32(s.attentionFactor));
    m.set(`${arch}.rope.scaling.original_context_length`, gguf.u32(s.originalMaxPositions));
  }
  // what llama.cpp fixes per architecture, checked rather than silently changed
  if (config.noRopeLayers) {
    const everyFourth = Array.from({ length: L }, (_, l) => l).filter((l) => (l + 1) % 4 === 0);
    if (arch !== 'smollm3' || config.noRopeLayers.join() !== everyFourth.join()) throw new ModelExportError('llama.cpp runs layers without rope only as SmolLM3 does (every fourth layer)');
  }
  if (config.layerAttention) {
    if (arch === 'gemma3') {
      const pattern = Array.from({ length: L }, (_, l) => ((l + 1) % 6 === 0 ? 'full' : 'sliding'));
      if (config.layerAttention.join() !== pattern.join()) throw new ModelExportError("llama.cpp's gemma3 needs five sliding-window layers per global one");
      m.set(`${arch}.rope.freq_base_swa`, gguf.f32(config.localRopeTheta ?? 10000));
    } else if (config.layerAttention.some((t) => t === 'full') || arch === 'llama') {
      throw new ModelExportError(`llama.cpp's ${arch} has no sliding-window layers`);
    }
    m.set(`${arch}.attention.sliding_window`, gguf.u32(config.slidingWindow!));
  }
  if (config.queryScale !== undefined && Math.abs(config.queryScale * Math.sqrt(config.headDim) - 1) > 1e-6) {
    throw new ModelExportError('llama.cpp scales attention by 1/√head_dim; this model\'s query scale differs');
  }
  return m;
}

/**
 * The GGUF content (metadata and tensors) of a base model, without writing it.
 *
 * @example
 * const { metadata, tensors } = baseGgufContent({ config, tensors: weights, tokenizerJson, dtype: 'F16' });
 */
export function baseGgufContent(options: BaseGgufOptions): GgufContent {
  const { config, tensors: hf } = options;
  const dtype = options.dtype ?? 'F16';
  const { hiddenSize: d, numHeads: nH, numKvHeads: nKV, headDim: hd, intermediateSize: f, vocabSize: V } = config;
  const { name: arch, neox } = ggufArchitecture(config);
  const metadata: GgufMetadata = new Map([
    ['general.architecture', gguf.str(arch)],
    ['general.type', gguf.str('model')],
    ['general.name', gguf.str(options.name ?? 'openledger')],
    ['general.file_type', gguf.u32(fileTypes[dtype])],
  ]);
  for (const [k, v] of hyperparameters(config, arch)) metadata.set(k, v);
  const tokenizer = ggufTokenizerMetadata(options.tokenizerJson, {
    vocabSize: V,
    ...(config.bosTokenId !== undefined ? { bosTokenId: config.bosTokenId } : {}),
    ...(config.eosTokenId !== undefined ? { eosTokenId: config.eosTokenId } : {}),
    ...(options.preTokenizer !== undefined ? { preTokenizer: options.preTokenizer } : {}),
    ...(options.chatTemplate !== undefined ? { chatTemplate: options.chatTemplate } : {}),
  });
  for (const [k, v] of tokenizer) metadata.set(k, v);

  const used = new Set<string>();
  const tensors: GgufTensorInput[] = [];
  const take = (hfName: string, shape: number[]): Float32Array => {
    used.add(hfName);
    return expectShape(hfName, hf.get(hfName), shape);
  };
  const put = (ggufName: string, shape: number[], data: Float32Array) => tensors.push({ name: ggufName, shape, type: shape.length === 1 ? 'F32' : matrixType(dtype, shape[1]!), data });
  const add = (hfName: string, ggufName: string, shape: number[], transform?: (data: Float32Array) => Float32Array): void => {
    const data = take(hfName, shape);
    put(ggufName, shape, transform ? transform(data) : data);
  };
  // llama.cpp's adjacent-pairs rotation needs q and k rows permuted; NEOX architectures take them as they are
  const rope = (heads: number, cols: number) => (w: Float32Array) => (neox ? w : permuteRopeRows(w, heads * hd, cols, heads));
  add('model.embed_tokens.weight', 'token_embd.weight', [V, d]);
  const rotaryFactors = ropeFactorTensors(config);
  for (const [name, data] of rotaryFactors) put(name, [data.length], data);
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}.`;
    const b = `blk.${i}.`;
    add(p + layerWeightNames.inputNorm, b + ggufLayerNames.inputNorm, [d]);
    if (arch === 'phi3') {
      // Phi-3 keeps q, k and v fused in one matrix, and gate and up in another (gate first)
      put(`${b}attn_qkv.weight`, [nH * hd + 2 * nKV * hd, d], concat(take(p + layerWeightNames.q, [nH * hd, d]), take(p + layerWeightNames.k, [nKV * hd, d]), take(p + layerWeightNames.v, [nKV * hd, d])));
    } else {
      add(p + layerWeightNames.q, b + ggufLayerNames.q, [nH * hd, d], rope(nH, d));
      add(p + layerWeightNames.k, b + ggufLayerNames.k, [nKV * hd, d], rope(nKV, d));
      add(p + layerWeightNames.v, b + ggufLayerNames.v, [nKV * hd, d]);
    }
    if (config.attentionBias) {
      add(p + 'self_attn.q_proj.bias', b + 'attn_q.bias', [nH * hd], rope(nH, 1));
      add(p + 'self_attn.k_proj.bias', b + 'attn_k.bias', [nKV * hd], rope(nKV, 1));
      add(p + 'self_attn.v_proj.bias', b + 'attn_v.bias', [nKV * hd]);
    }
    if (config.qkNorm) {
      add(p + optionalLayerWeightNames.qNorm, b + ggufOptionalLayerNames.qNorm, [hd]);
      add(p + optionalLayerWeightNames.kNorm, b + ggufOptionalLayerNames.kNorm, [hd]);
    }
    add(p + layerWeightNames.o, b + ggufLayerNames.o, [d, nH * hd]);
    if (config.outputNorms) add(p + optionalLayerWeightNames.attnOutputNorm, b + ggufOptionalLayerNames.attnOutputNorm, [d]);
    add(p + layerWeightNames.postNorm, b + ggufLayerNames.postNorm, [d]);
    if (arch === 'phi3') {
      put(b + ggufLayerNames.up, [2 * f, d], concat(take(p + layerWeightNames.gate, [f, d]), take(p + layerWeightNames.up, [f, d])));
    } else {
      add(p + layerWeightNames.gate, b + ggufLayerNames.gate, [f, d]);
      add(p + layerWeightNames.up, b + ggufLayerNames.up, [f, d]);
    }
    add(p + layerWeightNames.down, b + ggufLayerNames.down, [d, f]);
    if (config.outputNorms) add(p + optionalLayerWeightNames.mlpOutputNorm, b + ggufOptionalLayerNames.mlpOutputNorm, [d]);
  }
  add('model.norm.weight', 'output_norm.weight', [d]);
  if (!config.tieEmbeddings) add('lm_head.weight', 'output.weight', [V, d]);
  else if (hf.has('lm_head.weight')) used.add('lm_head.weight'); // a saved copy of the tied embedding
  const extra = [...hf.keys()].filter((n) => !used.has(n) && !n.endsWith('rotary_emb.inv_freq'));
  if (extra.length > 0) throw new ModelExportError(`weights the ${arch} architecture has no place for: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` (+${extra.length - 5})` : ''}`);
  return { metadata, tensors };
}

/**
 * llama.cpp's per-frequency divisors where scaling is not a single factor: Llama 3's
 * `rope_freqs` (the unscaled speed over the scaled one), Phi's `rope_factors_short`/`_long`.
 */
function ropeFactorTensors(config: ModelConfig): Array<[string, Float32Array]> {
  const s = config.ropeScaling;
  if (s?.type === 'longrope') return [['rope_factors_short.weight', Float32Array.from(s.shortFactor)], ['rope_factors_long.weight', Float32Array.from(s.longFactor)]];
  if (s?.type === 'frequencyFactors') return [['rope_freqs.weight', Float32Array.from(s.factors)]];
  if (s?.type !== 'llama3') return [];
  const scaled = rotaryOf(config, 0)!.invFreq;
  const plain = rotaryOf({ ...config, ropeScaling: undefined }, 0)!.invFreq;
  return [['rope_freqs.weight', Float32Array.from(plain, (f, i) => f / scaled[i]!)]];
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Writes a base model as a llama.cpp-loadable GGUF file (architecture {@link ggufArchitecture}).
 *
 * @example
 * await exportBaseGguf({ config, tensors: await readModelWeights(dir), tokenizerJson, path: 'model.gguf', dtype: 'F16' });
 */
export async function exportBaseGguf(options: BaseGgufOptions & { path: string }): Promise<void> {
  await writeGgufFile(options.path, baseGgufContent(options));
}

// ---------------------------------------------------------------------------------------------
// adapters

/** Options of {@link adapterGgufContent} / {@link exportAdapterGguf}. */
export interface AdapterGgufOptions {
  config: ModelConfig;
  adapter: LoraAdapterWeights;
  /** Storage of the LoRA matrices (default F32). */
  dtype?: GgufExportDtype;
  name?: string;
}

/**
 * The GGUF content of a LoRA adapter for llama.cpp: `general.type` "adapter", `adapter.type` "lora",
 * `adapter.lora.alpha`, and `<base tensor>.lora_a` ([r, in]) / `.lora_b` ([out, r]) tensors, the B
 * matrices of q and k permuted like their base weights.
 *
 * @example
 * adapterGgufContent({ config, adapter }).tensors[0]?.name; // 'blk.0.attn_q.weight.lora_a'
 */
export function adapterGgufContent(options: AdapterGgufOptions): GgufContent {
  const { config, adapter } = options;
  peftTensors(adapter, config); // validates ranks, layers and shapes against the config
  const { r, alpha } = adapter.config;
  const { name: arch, neox } = ggufArchitecture(config);
  const metadata: GgufMetadata = new Map([
    ['general.architecture', gguf.str(arch)],
    ['general.type', gguf.str('adapter')],
    ['general.name', gguf.str(options.name ?? 'openledger adapter')],
    ['adapter.type', gguf.str('lora')],
    ['adapter.lora.alpha', gguf.f32(alpha)],
  ]);
  const dtype = options.dtype ?? 'F32';
  const tensors: GgufTensorInput[] = [];
  const put = (base: string, a: Float32Array, b: Float32Array, rank: number, inDim: number, out: number) => {
    tensors.push({ name: `${base}.lora_a`, shape: [rank, inDim], type: dtype, data: a });
    tensors.push({ name: `${base}.lora_b`, shape: [out, rank], type: dtype, data: b });
  };
  adapter.layers.forEach((layer, i) => {
    const fused = arch === 'phi3' ? Object.entries(ggufFusedTargets) : [];
    for (const [name, parts] of fused) {
      const f = fuseLora(config, layer, parts, r);
      if (f) put(`blk.${i}.${name}.weight`, f.a, f.b, f.rank, f.inDim, f.out);
    }
    for (const target of loraTargets) {
      const pair = layer[target];
      if (!pair || fused.some(([, parts]) => parts.includes(target))) continue;
      const { in: inDim, out } = projectionShape(config, target);
      const heads = neox ? 0 : target === 'q_proj' ? config.numHeads : target === 'k_proj' ? config.numKvHeads : 0;
      put(ggufTargetName(i, target), pair.a, heads > 0 ? permuteRopeRows(pair.b, out, r, heads) : pair.b, r, inDim, out);
    }
  });
  if (tensors.length === 0) throw new GgufFormatError('the adapter has no LoRA weights');
  return { metadata, tensors };
}

/**
 * One LoRA pair on a fused matrix (Phi-3's q/k/v or gate/up) that computes exactly what the
 * adapter's pairs on its parts do: the A matrices stacked ([n·r, in]), the B matrices placed
 * block-diagonally ([Σout, n·r]) and multiplied by n, since llama.cpp scales by alpha over the
 * tensor's own rank (n·r). Parts the adapter does not adapt get zero rows; `null` when it adapts none.
 */
function fuseLora(config: ModelConfig, layer: LoraAdapterWeights['layers'][number], parts: readonly LoraTarget[], r: number): { a: Float32Array; b: Float32Array; rank: number; inDim: number; out: number } | null {
  const present = parts.filter((t) => layer[t]);
  if (present.length === 0) return null;
  const n = present.length, rank = n * r, inDim = projectionShape(config, parts[0]!).in;
  const out = parts.reduce((sum, t) => sum + projectionShape(config, t).out, 0);
  const a = new Float32Array(rank * inDim), b = new Float32Array(out * rank);
  let row = 0;
  for (const target of parts) {
    const rows = projectionShape(config, target).out;
    const k = present.indexOf(target);
    if (k >= 0) {
      const pair = layer[target]!;
      a.set(pair.a, k * r * inDim);
      for (let o = 0; o < rows; o++) for (let j = 0; j < r; j++) b[(row + o) * rank + k * r + j] = n * pair.b[o * r + j]!;
    }
    row += rows;
  }
  return { a, b, rank, inDim, out };
}

/**
 * Writes a LoRA adapter as a GGUF file llama.cpp attaches to the base exported by {@link exportBaseGguf}.
 *
 * @example
 * await exportAdapterGguf({ config, adapter, path: 'adapter.gguf' });
 */
export async function exportAdapterGguf(options: AdapterGgufOptions & { path: string }): Promise<void> {
  await writeGgufFile(options.path, adapterGgufContent(options));
}
