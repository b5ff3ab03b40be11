/**
 * Tiny seeded models for tests: random Llama weights (Hugging Face names), random LoRA adapters and
 * a ~300-token byte-level BPE tokenizer.json (GPT-2 byte alphabet, a few merges, a "▁" token,
 * special and non-special added tokens, unused ids left as holes).
 */
import { optionalLayerWeightNames, projectionShape } from './config.ts';
import type { LoraTarget, ModelConfig } from './config.ts';
import type { LoraAdapterWeights, LoraPair } from './lora-weights.ts';
import { seededRandom } from './random.ts';
import type { TensorMap } from './tensor-map.ts';

/**
 * Random weights for `config` under the engine's names, every tensor its architecture has (biases
 * when `attentionBias`, q/k norms, output norms, `lm_head.weight` unless tied), scaled so
 * activations and logits stay of order one.
 *
 * @example
 * const weights = tinyRandomWeights(config, 1);
 */
export function tinyRandomWeights(config: ModelConfig, seed: number): TensorMap {
  const normal = ((rng) => () => rng.normal())(seededRandom(seed));
  const { hiddenSize: d, numHeads: nH, numKvHeads: nKV, headDim: hd, intermediateSize: f, vocabSize: V } = config;
  const weights: TensorMap = new Map();
  const add = (name: string, shape: number[], make: () => number) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = make();
    weights.set(name, { shape, data });
  };
  const linear = (name: string, out: number, inDim: number) => add(name, [out, inDim], () => normal() / Math.sqrt(inDim));
  const norm = (name: string, width = d) => add(name, [width], () => 1 + 0.1 * normal());
  add('model.embed_tokens.weight', [V, d], normal);
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}.`;
    norm(p + 'input_layernorm.weight');
    linear(p + 'self_attn.q_proj.weight', nH * hd, d);
    linear(p + 'self_attn.k_proj.weight', nKV * hd, d);
    linear(p + 'self_attn.v_proj.weight', nKV * hd, d);
    if (config.attentionBias) {
      add(p + 'self_attn.q_proj.bias', [nH * hd], () => 0.2 * normal());
      add(p + 'self_attn.k_proj.bias', [nKV * hd], () => 0.2 * normal());
      add(p + 'self_attn.v_proj.bias', [nKV * hd], () => 0.2 * normal());
    }
    linear(p + 'self_attn.o_proj.weight', d, nH * hd);
    norm(p + 'post_attention_layernorm.weight');
    linear(p + 'mlp.gate_proj.weight', f, d);
    linear(p + 'mlp.up_proj.weight', f, d);
    linear(p + 'mlp.down_proj.weight', d, f);
    if (config.qkNorm) {
      norm(p + optionalLayerWeightNames.qNorm, hd);
      norm(p + optionalLayerWeightNames.kNorm, hd);
    }
    if (config.outputNorms) {
      norm(p + optionalLayerWeightNames.attnOutputNorm);
      norm(p + optionalLayerWeightNames.mlpOutputNorm);
    }
  }
  norm('model.norm.weight');
  if (!config.tieEmbeddings) linear('lm_head.weight', V, d);
  return weights;
}

/**
 * A random LoRA adapter on `targets` of every layer (A and B both non-zero, so it changes outputs).
 *
 * @example
 * const adapter = tinyRandomAdapter(config, { r: 4, alpha: 8, targets: ['q_proj', 'v_proj'], seed: 2 });
 */
export function tinyRandomAdapter(config: ModelConfig, options: { r: number; alpha: number; targets: LoraTarget[]; seed: number }): LoraAdapterWeights {
  const normal = ((rng) => () => rng.normal())(seededRandom(options.seed));
  const { r } = options;
  const layers = Array.from({ length: config.numLayers }, () => {
    const layer: Partial<Record<LoraTarget, LoraPair>> = {};
    for (const target of options.targets) {
      const { in: inDim, out } = projectionShape(config, target);
      layer[target] = {
        a: Float32Array.from({ length: r * inDim }, () => normal() / Math.sqrt(inDim)),
        b: Float32Array.from({ length: out * r }, () => 0.3 * normal()),
      };
    }
    return layer;
  });
  return { config: { r, alpha: options.alpha, targetModules: [...options.targets], baseModel: 'tiny-random' }, layers };
}

/** GPT-2's byte → printable character table (printable bytes map to themselves, the rest above U+0100). */
export function byteLevelAlphabet(): string[] {
  const table: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCodePoint(printable ? b : next++);
  }
  return table;
}

/** The shape of the tokenizer.json made by {@link tinyByteLevelTokenizer}. */
export interface TinyTokenizerJson {
  version: string;
  added_tokens: Array<{ id: number; content: string; special: boolean; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean }>;
  normalizer: null;
  pre_tokenizer: Record<string, unknown>;
  post_processor: Record<string, unknown>;
  decoder: Record<string, unknown>;
  model: { type: 'BPE'; vocab: Record<string, number>; merges: string[]; unk_token: null; byte_fallback: false; ignore_merges: false };
}

const tinyMerges: Array<[string, string]> = [
  ['t', 'h'], ['th', 'e'], ['Ġ', 'the'], ['a', 't'], ['Ġ', 'c'], ['Ġc', 'at'], ['Ġ', 's'], ['Ġs', 'at'], ['o', 'n'], ['Ġ', 'on'],
  ['Ġ', 'm'], ['Ġm', 'at'], ['Ġthe', 'n'], ['a', 'n'], ['Ġ', 'r'], ['Ġr', 'an'], ['i', 'n'], ['Ġ', 'in'], ['e', 'r'], ['Ġ', 'a'],
  ['Ġ', 'an'], ['Ġan', 'd'], ['o', 'r'], ['Ġ', 'f'], ['Ġf', 'or'], ['i', 's'], ['Ġ', 'is'], ['h', 'e'], ['Ġ', 'w'], ['Ġw', 'he'],
  ['Ġwhe', 'n'], ['e', 's'], ['Ġ', 'o'], ['Ġo', 'f'], ['Ġ', 'b'], ['Ġb', 'e'], ['Ċ', 'Ċ'], ['.', 'Ċ'], ['Ġ', 't'], ['Ġt', 'o'],
];

/**
 * A byte-level BPE tokenizer.json (Hugging Face format): ids 0–255 the byte alphabet, then 40 merges,
 * "▁" (296), holes at 297–299, "<|endoftext|>" (300), "<|im_start|>" (301), "<|im_end|>" (302) as
 * special tokens and "<tool>" (303) as a non-special added token — 304 ids in all.
 *
 * @example
 * const tokenizerJson = tinyByteLevelTokenizer(); // pair with vocabSize 304
 */
export function tinyByteLevelTokenizer(): TinyTokenizerJson {
  const vocab: Record<string, number> = {};
  byteLevelAlphabet().forEach((ch, i) => (vocab[ch] = i));
  let id = 256;
  for (const [a, b] of tinyMerges) vocab[a + b] ??= id++;
  vocab['▁'] = id++;
  const added = (tokenId: number, content: string, special: boolean) => ({ id: tokenId, content, special, single_word: false, lstrip: false, rstrip: false, normalized: !special });
  return {
    version: '1.0',
    added_tokens: [added(300, '<|endoftext|>', true), added(301, '<|im_start|>', true), added(302, '<|im_end|>', true), added(303, '<tool>', false)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', vocab, merges: tinyMerges.map(([a, b]) => `${a} ${b}`), unk_token: null, byte_fallback: false, ignore_merges: false },
  };
}
