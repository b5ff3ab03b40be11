import { mkdir, readdir, readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { basename, join } from 'node:path';
import canonicalize from 'canonicalize';
import { keccak256, stringToBytes, type Hex } from 'viem';
import { hashBlob } from '../store/blobs.ts';
import { fromHfTensors, toHfTensors } from './architectures.ts';
import type { QuantizedMatrix } from './backend.ts';
import { parseModelConfig, toHfConfig, type ModelConfig } from './config.ts';
import { ggufModelConfig, readGgufModel } from './import-gguf.ts';
import { readGgufHeader } from './gguf.ts';
import { readModelWeights, writeSafetensorsFile } from './safetensors.ts';
import type { TensorMap } from './tensor-map.ts';
import { Tokenizer } from './tokenizer.ts';

/** A model folder as Hugging Face writes it: config.json, tokenizer.json, safetensors weights. */
export interface ModelFiles {
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** The weights under the engine's names (`architectures.ts`: Phi-3's fused projections split, Gemma's norms shifted). */
  tensors: TensorMap;
  /** Matrices a GGUF file stores quantised, kept as blocks (they are not in `tensors`). */
  quantized?: Map<string, QuantizedMatrix>;
}

/** A folder that is not a loadable model. */
export class ModelDirError extends Error {
  override name = 'ModelDirError';
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ModelDirError(err.code === 'ENOENT' ? `${path} is missing` : `${path}: ${err.message}`);
  });
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelDirError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Whether a base model path is a GGUF file (else a Hugging Face folder). */
export function isGgufModel(path: string): boolean {
  return path.toLowerCase().endsWith('.gguf');
}

/**
 * Reads a model folder of any architecture `config.ts` lists (single or sharded safetensors), or
 * a GGUF model file (`import-gguf.ts`).
 *
 * @example
 * const { config, tokenizer, tensors } = await readModelDir('models/openledger-tiny');
 */
export async function readModelDir(dir: string): Promise<ModelFiles> {
  if (isGgufModel(dir)) return readGgufModel(dir);
  const config = parseModelConfig(await readJson(join(dir, 'config.json')));
  const tokenizer = await Tokenizer.fromDir(dir);
  const tensors = fromHfTensors(config, await readModelWeights(dir));
  return { config, tokenizer, tensors };
}

/** Reads only a model folder's config.json (or a GGUF file's metadata). */
export async function readModelConfig(dir: string): Promise<ModelConfig> {
  if (isGgufModel(dir)) {
    const { bytes, file } = await readGgufHeader(dir).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new ModelDirError(`${dir} is missing`) : err;
    });
    return ggufModelConfig(file, bytes);
  }
  return parseModelConfig(await readJson(join(dir, 'config.json')));
}

/** Reads only a model's tokenizer (folder or GGUF file). */
export async function readModelTokenizer(dir: string): Promise<Tokenizer> {
  return isGgufModel(dir) ? (await readGgufModel(dir)).tokenizer : Tokenizer.fromDir(dir);
}

/**
 * The content hash of a model folder: keccak256 of the canonical JSON list of the keccak256 of
 * config.json, tokenizer.json, tokenizer_config.json (when present) and every safetensors file
 * (of a GGUF model: of its one file).
 * Two folders with the same files hash the same wherever they live.
 *
 * @example
 * const baseModelHash = await hashModelDir('models/openledger-tiny');
 */
export async function hashModelDir(dir: string): Promise<Hex> {
  if (isGgufModel(dir)) return keccak256(stringToBytes(canonicalize({ [basename(dir)]: await hashBlob(await readFile(dir)) })!));
  const names = (await readdir(dir)).filter((f) => f === 'config.json' || f === 'tokenizer.json' || f === 'tokenizer_config.json' || f.endsWith('.safetensors')).sort();
  if (!names.includes('config.json')) throw new ModelDirError(`${join(dir, 'config.json')} is missing`);
  const files: Record<string, string> = {};
  for (const name of names) files[name] = await hashBlob(await readFile(join(dir, name)));
  return keccak256(stringToBytes(canonicalize(files)!));
}

/**
 * Writes a model folder that Hugging Face transformers (and this engine) load: config.json,
 * tokenizer.json, tokenizer_config.json and model.safetensors (float32).
 *
 * @example
 * await writeModelDir('models/openledger-tiny', { config, tokenizer, tensors: await model.toTensors() });
 */
export async function writeModelDir(dir: string, files: ModelFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(toHfConfig(files.config), null, 2) + '\n');
  await writeFileAtomic(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer.toJson()));
  await writeFileAtomic(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizer.toConfig(), null, 2) + '\n');
  await writeSafetensorsFile(join(dir, 'model.safetensors'), toHfTensors(files.config, files.tensors));
}
