/**
 * LoRA adapters as PEFT folders (`adapter_config.json` + `adapter_model.safetensors`), the layout
 * Python PEFT, transformers and vLLM read and write. Tensor names are
 * `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight` ([r, in]) and `….lora_B.weight`
 * ([out, r]); MLP projections sit under `mlp.` instead of `self_attn.`.
 *
 * Writing is deterministic (sorted config keys, sorted tensors), so the files' hashes identify the
 * adapter's content.
 */
import { readFile, mkdir, access } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { loraTargets, projectionShape, targetModulePath } from './config.ts';
import type { LoraTarget, ModelConfig } from './config.ts';
import type { LoraAdapterWeights, LoraPair } from './lora-weights.ts';
import { parseSafetensors, serializeSafetensors, writeChunksAtomically } from './safetensors.ts';
import type { SafetensorsWriteDtype } from './safetensors.ts';
import type { TensorMap } from './tensor-map.ts';

/** The two files of a PEFT adapter folder, by file name. */
export interface PeftAdapterFiles {
  'adapter_config.json': Uint8Array;
  'adapter_model.safetensors': Uint8Array;
}

/** A PEFT folder or file this module cannot read: bad JSON, unexpected tensors, wrong shapes. */
export class PeftFormatError extends Error {
  override name = 'PeftFormatError';
}

/** A valid PEFT adapter using a feature this engine does not implement (DoRA, rsLoRA, per-layer ranks …). */
export class UnsupportedAdapterError extends Error {
  override name = 'UnsupportedAdapterError';
}

/** Options for writing an adapter. */
export interface PeftWriteOptions {
  /** Stored element type of the weights (default F32). */
  dtype?: SafetensorsWriteDtype;
}

/** Options for reading an adapter. */
export interface PeftReadOptions {
  /** Check every tensor's shape and layer against this base model. */
  config?: ModelConfig;
}

/**
 * PEFT's state-dict name of one LoRA matrix.
 *
 * @example
 * peftTensorName(3, 'up_proj', 'A'); // 'base_model.model.model.layers.3.mlp.up_proj.lora_A.weight'
 */
export function peftTensorName(layer: number, target: LoraTarget, matrix: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${targetModulePath(target)}.lora_${matrix}.weight`;
}

/** Phi-3's fused projections (module path → the parts, in their row order). */
const fusedModules: Record<string, readonly LoraTarget[]> = { 'self_attn.qkv_proj': ['q_proj', 'k_proj', 'v_proj'], 'mlp.gate_up_proj': ['gate_proj', 'up_proj'] };

/** Accepts `[base_model.model.]model.layers.{i}.{self_attn|mlp}.{target}.lora_{A|B}[.default].weight`. */
const tensorNamePattern = /^(?:base_model\.model\.)?(?:model\.)?layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_(A|B)(?:\.[A-Za-z0-9_-]+)?\.weight$/;

/** The shapes an adapter's pair must have when the base model is not known: in/out inferred from lengths. */
function pairShapes(adapter: LoraAdapterWeights, layer: number, target: LoraTarget, pair: LoraPair, config: ModelConfig | undefined): { a: number[]; b: number[] } {
  const r = adapter.config.r;
  if (config) {
    const { in: inDim, out } = projectionShape(config, target);
    if (pair.a.length !== r * inDim || pair.b.length !== out * r) {
      throw new PeftFormatError(`layer ${layer} ${target}: A has ${pair.a.length} values and B ${pair.b.length}; r=${r} needs ${r * inDim} ([${r}, ${inDim}]) and ${out * r} ([${out}, ${r}])`);
    }
    return { a: [r, inDim], b: [out, r] };
  }
  if (pair.a.length % r !== 0 || pair.b.length % r !== 0 || pair.a.length === 0 || pair.b.length === 0) {
    throw new PeftFormatError(`layer ${layer} ${target}: A (${pair.a.length} values) and B (${pair.b.length}) are not whole multiples of r=${r}`);
  }
  return { a: [r, pair.a.length / r], b: [pair.b.length / r, r] };
}

function sortedTargets(targets: Iterable<LoraTarget>): LoraTarget[] {
  const set = new Set(targets);
  return loraTargets.filter((t) => set.has(t));
}

/** JSON with keys sorted at every level and 2-space indentation (what PEFT writes). */
function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value), null, 2);
}

/**
 * The PEFT `adapter_config.json` object for an adapter (keys as PEFT writes them).
 *
 * @example
 * peftAdapterConfig(adapter).lora_alpha; // adapter.config.alpha
 */
export function peftAdapterConfig(adapter: LoraAdapterWeights): Record<string, unknown> {
  const c = adapter.config;
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: c.baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: c.alpha,
    lora_dropout: 0,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: c.r,
    rank_pattern: {},
    revision: null,
    target_modules: sortedTargets(c.targetModules),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
}

/**
 * An adapter's weights as PEFT state-dict tensors (names from {@link peftTensorName}).
 *
 * @example
 * peftTensors(adapter).get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape; // [r, hidden]
 */
export function peftTensors(adapter: LoraAdapterWeights, config?: ModelConfig): TensorMap {
  const { r, alpha, targetModules } = adapter.config;
  if (!Number.isInteger(r) || r <= 0) throw new PeftFormatError(`adapter rank r=${r} is not a positive integer`);
  if (!Number.isFinite(alpha)) throw new PeftFormatError(`adapter alpha ${alpha} is not a finite number`);
  if (config && adapter.layers.length > config.numLayers) throw new PeftFormatError(`adapter has ${adapter.layers.length} layers; the model has ${config.numLayers}`);
  const declared = new Set(targetModules);
  const tensors: TensorMap = new Map();
  adapter.layers.forEach((layer, i) => {
    for (const target of loraTargets) {
      const pair = layer[target];
      if (!pair) continue;
      if (!declared.has(target)) throw new PeftFormatError(`layer ${i} has weights for ${target}, which is not in the adapter's targetModules`);
      const shapes = pairShapes(adapter, i, target, pair, config);
      tensors.set(peftTensorName(i, target, 'A'), { shape: shapes.a, data: pair.a });
      tensors.set(peftTensorName(i, target, 'B'), { shape: shapes.b, data: pair.b });
    }
  });
  return tensors;
}

/**
 * The two files of a PEFT adapter folder as bytes, for hashing and the blob store. Deterministic:
 * the same adapter always gives the same bytes.
 *
 * @example
 * const files = peftAdapterFiles(adapter);
 * await blobs.put(files['adapter_model.safetensors']);
 */
export function peftAdapterFiles(adapter: LoraAdapterWeights, options: PeftWriteOptions & PeftReadOptions = {}): PeftAdapterFiles {
  const tensors = peftTensors(adapter, options.config);
  return {
    'adapter_config.json': new TextEncoder().encode(sortedJson(peftAdapterConfig(adapter))),
    'adapter_model.safetensors': serializeSafetensors(tensors, { dtype: options.dtype ?? 'F32', metadata: { format: 'pt' } }),
  };
}

/**
 * Writes an adapter as a PEFT folder (created if missing), each file atomically.
 *
 * @example
 * await savePeftAdapter('adapters/legal-v1', adapter);
 */
export async function savePeftAdapter(dir: string, adapter: LoraAdapterWeights, options: PeftWriteOptions & PeftReadOptions = {}): Promise<void> {
  const files = peftAdapterFiles(adapter, options);
  await mkdir(dir, { recursive: true });
  await writeChunksAtomically(join(dir, 'adapter_model.safetensors'), [files['adapter_model.safetensors']]);
  await writeChunksAtomically(join(dir, 'adapter_config.json'), [files['adapter_config.json']]);
}

const peftConfigSchema = z.looseObject({
  peft_type: z.string().optional(),
  r: z.number().int().positive(),
  lora_alpha: z.number().optional(),
  target_modules: z.union([z.array(z.string()), z.string()]).nullable().optional(),
  base_model_name_or_path: z.string().nullable().optional(),
  bias: z.string().optional(),
  fan_in_fan_out: z.boolean().optional(),
  use_dora: z.boolean().optional(),
  use_rslora: z.boolean().optional(),
  rank_pattern: z.record(z.string(), z.unknown()).nullable().optional(),
  alpha_pattern: z.record(z.string(), z.unknown()).nullable().optional(),
  modules_to_save: z.array(z.string()).nullable().optional(),
  layer_replication: z.unknown().optional(),
});

/** Reads and checks `adapter_config.json`; returns r, alpha and the base model name. */
function parseConfig(bytes: Uint8Array | string): { r: number; alpha: number; baseModel: string } {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes));
  } catch (e) {
    throw new PeftFormatError(`adapter_config.json: bad JSON: ${(e as Error).message}`);
  }
  const parsed = peftConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PeftFormatError(`adapter_config.json: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const c = parsed.data;
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') throw new UnsupportedAdapterError(`adapter_config.json: peft_type "${c.peft_type}" is not LORA`);
  if (c.use_dora) throw new UnsupportedAdapterError('adapter_config.json: DoRA adapters (use_dora) are not supported');
  if (c.use_rslora) throw new UnsupportedAdapterError('adapter_config.json: rsLoRA scaling (use_rslora) is not supported');
  if (c.bias !== undefined && c.bias !== 'none') throw new UnsupportedAdapterError(`adapter_config.json: bias "${c.bias}" is not supported (only "none")`);
  if (c.fan_in_fan_out) throw new UnsupportedAdapterError('adapter_config.json: fan_in_fan_out (Conv1D layouts) is not supported');
  if (c.rank_pattern && Object.keys(c.rank_pattern).length > 0) throw new UnsupportedAdapterError('adapter_config.json: per-module ranks (rank_pattern) are not supported');
  if (c.alpha_pattern && Object.keys(c.alpha_pattern).length > 0) throw new UnsupportedAdapterError('adapter_config.json: per-module alphas (alpha_pattern) are not supported');
  if (c.modules_to_save && c.modules_to_save.length > 0) throw new UnsupportedAdapterError(`adapter_config.json: fully trained modules (modules_to_save: ${c.modules_to_save.join(', ')}) are not supported`);
  if (c.layer_replication != null) throw new UnsupportedAdapterError('adapter_config.json: layer_replication is not supported');
  return { r: c.r, alpha: c.lora_alpha ?? 8, baseModel: c.base_model_name_or_path ?? '' };
}

/**
 * Parses a PEFT adapter from its two files' bytes. Accepts what Python PEFT writes: names with or
 * without the `base_model.model.` prefix, with or without an adapter name (`lora_A.default.weight`),
 * any float dtype. With a `config`, every shape and layer index is checked against the base model;
 * a Phi-3 adapter's pairs on the fused `qkv_proj` / `gate_up_proj` become exact pairs on their parts
 * (the same A, B's rows of each part).
 *
 * @example
 * const adapter = parsePeftAdapter(files, { config });
 * adapter.layers[0]?.q_proj?.a; // Float32Array of r × hidden
 */
export function parsePeftAdapter(files: { 'adapter_config.json': Uint8Array | string; 'adapter_model.safetensors': Uint8Array }, options: PeftReadOptions = {}): LoraAdapterWeights {
  const { r, alpha, baseModel } = parseConfig(files['adapter_config.json']);
  const { tensors } = parseSafetensors(files['adapter_model.safetensors'], {}, 'adapter_model.safetensors');
  const config = options.config;
  const found = new Map<string, { layer: number; target: LoraTarget; a?: { shape: number[]; data: Float32Array }; b?: { shape: number[]; data: Float32Array } }>();
  const fusedFound = new Map<string, { layer: number; parts: readonly LoraTarget[]; a?: { shape: number[]; data: Float32Array }; b?: { shape: number[]; data: Float32Array } }>();
  for (const [name, t] of tensors) {
    const m = tensorNamePattern.exec(name);
    if (!m) {
      if (/lora_magnitude_vector/.test(name)) throw new UnsupportedAdapterError(`adapter_model.safetensors: "${name}" is a DoRA magnitude; DoRA is not supported`);
      throw new PeftFormatError(`adapter_model.safetensors: tensor "${name}" is not a LoRA matrix of a decoder layer's projection`);
    }
    const layer = Number(m[1]);
    const target = m[3] as LoraTarget;
    const fused = fusedModules[`${m[2]}.${m[3]}`];
    if (fused) {
      // Phi-3's fused projections: kept whole here, split into their parts below
      if (config?.architecture !== 'phi3') throw new PeftFormatError(`adapter_model.safetensors: tensor "${name}" adapts Phi-3's fused ${m[3]}; reading it needs the Phi-3 base model's config`);
      const key = `${layer}.${m[3]}`;
      const entry = fusedFound.get(key) ?? { layer, parts: fused };
      const slot = m[4] === 'A' ? 'a' : 'b';
      if (entry[slot]) throw new PeftFormatError(`adapter_model.safetensors: layer ${layer} ${m[3]} has two lora_${m[4]} tensors`);
      entry[slot] = t;
      fusedFound.set(key, entry);
      continue;
    }
    if (!(loraTargets as readonly string[]).includes(target) || targetModulePath(target) !== `${m[2]}.${target}`) {
      throw new PeftFormatError(`adapter_model.safetensors: tensor "${name}": ${m[2]}.${m[3]} is not an adaptable projection (${loraTargets.join(', ')})`);
    }
    if (config && layer >= config.numLayers) throw new PeftFormatError(`adapter_model.safetensors: tensor "${name}" is for layer ${layer}; the model has ${config.numLayers}`);
    const key = `${layer}.${target}`;
    const entry = found.get(key) ?? { layer, target };
    const slot = m[4] === 'A' ? 'a' : 'b';
    if (entry[slot]) throw new PeftFormatError(`adapter_model.safetensors: layer ${layer} ${target} has two lora_${m[4]} tensors`);
    entry[slot] = t;
    found.set(key, entry);
  }
  // a LoRA pair on a fused matrix is exactly one pair per part: the same A, B's rows of that part
  for (const { layer, parts, a, b } of fusedFound.values()) {
    if (!a || !b) throw new PeftFormatError(`adapter_model.safetensors: layer ${layer} ${parts.join('+')} has lora_${a ? 'A' : 'B'} but no lora_${a ? 'B' : 'A'}`);
    const outs = parts.map((part) => projectionShape(config!, part).out);
    if (b.shape[0] !== outs.reduce((x, y) => x + y, 0)) throw new PeftFormatError(`adapter_model.safetensors: layer ${layer} fused ${parts.join('+')}: lora_B has ${b.shape[0]} rows, the parts ${outs.join(' + ')}`);
    let row = 0;
    parts.forEach((part, i) => {
      if (found.has(`${layer}.${part}`)) throw new PeftFormatError(`adapter_model.safetensors: layer ${layer} adapts ${part} both alone and fused`);
      found.set(`${layer}.${part}`, { layer, target: part, a: { shape: a.shape, data: a.data.slice() }, b: { shape: [outs[i]!, r], data: b.data.slice(row * r, (row + outs[i]!) * r) } });
      row += outs[i]!;
    });
  }
  const numLayers = config?.numLayers ?? Math.max(0, ...[...found.values()].map((e) => e.layer + 1));
  const layers: LoraAdapterWeights['layers'] = Array.from({ length: numLayers }, () => ({}));
  const widths = new Map<LoraTarget, { in: number; out: number }>();
  for (const { layer, target, a, b } of found.values()) {
    if (!a || !b) throw new PeftFormatError(`adapter_model.safetensors: layer ${layer} ${target} has lora_${a ? 'A' : 'B'} but no lora_${a ? 'B' : 'A'}`);
    if (a.shape.length !== 2 || b.shape.length !== 2 || a.shape[0] !== r || b.shape[1] !== r) {
      throw new PeftFormatError(`adapter_model.safetensors: layer ${layer} ${target}: lora_A is [${a.shape.join(', ')}] and lora_B [${b.shape.join(', ')}]; r=${r} needs [${r}, in] and [out, ${r}]`);
    }
    const inDim = a.shape[1]!;
    const out = b.shape[0]!;
    const expected = config ? projectionShape(config, target) : widths.get(target);
    if (expected && (expected.in !== inDim || expected.out !== out)) {
      throw new PeftFormatError(`adapter_model.safetensors: layer ${layer} ${target} maps ${inDim} → ${out}; ${config ? 'the model' : 'other layers'} ${config ? 'has' : 'have'} ${expected.in} → ${expected.out}`);
    }
    widths.set(target, { in: inDim, out });
    layers[layer]![target] = { a: a.data, b: b.data };
  }
  return { config: { r, alpha, targetModules: sortedTargets([...found.values()].map((e) => e.target)), baseModel }, layers };
}

/**
 * Loads a PEFT adapter folder (see {@link parsePeftAdapter}).
 *
 * @example
 * const adapter = await loadPeftAdapter('adapters/legal-v1', { config });
 */
export async function loadPeftAdapter(dir: string, options: PeftReadOptions = {}): Promise<LoraAdapterWeights> {
  const modelPath = join(dir, 'adapter_model.safetensors');
  const exists = await access(modelPath).then(() => true, () => false);
  if (!exists) {
    const hasBin = await access(join(dir, 'adapter_model.bin')).then(() => true, () => false);
    throw new PeftFormatError(hasBin ? `${dir}: only adapter_model.bin (a pickle) is present; save the adapter with safe_serialization=True` : `${dir}: no adapter_model.safetensors`);
  }
  const [configBytes, modelBytes] = await Promise.all([readFile(join(dir, 'adapter_config.json')), readFile(modelPath)]);
  try {
    return parsePeftAdapter({ 'adapter_config.json': configBytes, 'adapter_model.safetensors': modelBytes }, options);
  } catch (e) {
    if (e instanceof Error) e.message = `${dir}: ${e.message}`;
    throw e;
  }
}
