import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

/**
 * Tokenizers from Hugging Face `tokenizer.json` files: byte-level BPE (GPT-2, SmolLM, Qwen,
 * Llama-3) and SentencePiece-style BPE with byte fallback (Llama-2, Mistral). Encoding and decoding
 * are done by `@huggingface/tokenizers` (a JavaScript port of the Rust library); this wrapper adds
 * special-token ids, id checks, exporting and character offsets of each token's text.
 */

/** A `tokenizer.json` or `tokenizer_config.json` could not be read or is not usable. */
export class TokenizerLoadError extends Error {
  override name = 'TokenizerLoadError';
}

/** A token id given to {@link Tokenizer.decode} or {@link Tokenizer.pieceOffsets} is not in the vocabulary. */
export class TokenIdError extends Error {
  override name = 'TokenIdError';
}

/** The parts of a Hugging Face `tokenizer.json` this module reads; the rest is kept as it is. */
export interface TokenizerJson {
  version?: string;
  added_tokens?: AddedTokenJson[];
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
  decoder?: unknown;
  model: { type?: string; vocab?: unknown; merges?: unknown; [key: string]: unknown };
  [key: string]: unknown;
}

/** One entry of `added_tokens` in a `tokenizer.json`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/**
 * The parts of a Hugging Face `tokenizer_config.json` this module reads. Special tokens may be
 * written as a string or as an object with `content` (older files).
 */
export interface TokenizerConfigJson {
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  unk_token?: string | { content: string } | null;
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

export interface EncodeOptions {
  /** Add the special tokens the tokenizer's post-processor adds (e.g. Llama's `<s>`). Default true, as in Hugging Face. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens (bos, eos, pad, …). Default false, as in Hugging Face. */
  skipSpecialTokens?: boolean;
}

/** Token names tried, in order, when no `tokenizer_config.json` says which tokens are special. */
const GUESSED_SPECIALS = {
  bos: ['<|begin_of_text|>', '<s>', '<|endoftext|>'],
  eos: ['<|end_of_text|>', '</s>', '<|endoftext|>'],
  pad: ['<|pad|>', '<pad>', '[PAD]'],
} as const;

const REPLACEMENT_CHAR = '\uFFFD';

/**
 * A loaded tokenizer. Create it with {@link Tokenizer.fromDir} or {@link Tokenizer.fromJson}.
 *
 * @example
 * const tok = await Tokenizer.fromDir('models/base');
 * const ids = tok.encode('Hello world', { addSpecialTokens: false });
 * tok.decode(ids); // 'Hello world'
 */
export class Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  readonly #hf: HfTokenizer;
  readonly #json: TokenizerJson;
  readonly #config: TokenizerConfigJson | undefined;
  readonly #vocab: ReadonlyArray<string | undefined>;

  private constructor(json: TokenizerJson, config: TokenizerConfigJson | undefined) {
    this.#json = json;
    this.#config = config;
    const libConfig: Record<string, unknown> = { ...config, clean_up_tokenization_spaces: config?.clean_up_tokenization_spaces ?? false };
    for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token'] as const) {
      const name = specialName(config?.[key]);
      if (name === undefined) delete libConfig[key];
      else libConfig[key] = name;
    }
    const libJson = {
      ...json,
      added_tokens: json.added_tokens ?? [],
      normalizer: json.normalizer ?? null,
      pre_tokenizer: json.pre_tokenizer ?? null,
      post_processor: json.post_processor ?? null,
      decoder: json.decoder ?? null,
    };
    try {
      // The library keeps references into the object but does not change it.
      this.#hf = new HfTokenizer(libJson, libConfig);
    } catch (err) {
      throw new TokenizerLoadError(`tokenizer.json is not usable: ${(err as Error).message}`, { cause: err });
    }
    const vocab = this.#hf.model?.vocab ?? [];
    this.#vocab = vocab;
    this.vocabSize = vocab.length;
    const pick = (key: 'bos_token' | 'eos_token' | 'pad_token', guesses: readonly string[]): number | undefined => {
      if (config !== undefined && key in config) {
        const name = specialName(config[key]);
        return name === undefined ? undefined : this.idOf(name);
      }
      for (const name of guesses) {
        const id = this.idOf(name);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    this.bosId = pick('bos_token', GUESSED_SPECIALS.bos);
    this.eosId = pick('eos_token', GUESSED_SPECIALS.eos);
    this.padId = pick('pad_token', GUESSED_SPECIALS.pad);
  }

  /**
   * Loads `tokenizer.json` (and `tokenizer_config.json` and `special_tokens_map.json` when present)
   * from a model folder.
   *
   * @example
   * const tok = await Tokenizer.fromDir('/models/SmolLM2-135M');
   */
  static async fromDir(dir: string): Promise<Tokenizer> {
    const json = await readJsonFile(join(dir, 'tokenizer.json'));
    if (json === undefined) throw new TokenizerLoadError(`no tokenizer.json in ${dir}`);
    const config = (await readJsonFile(join(dir, 'tokenizer_config.json'))) as TokenizerConfigJson | undefined;
    const map = (await readJsonFile(join(dir, 'special_tokens_map.json'))) as TokenizerConfigJson | undefined;
    let merged = config;
    if (map !== undefined && typeof map === 'object' && map !== null) {
      merged = { ...config };
      for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token'] as const) {
        if (!(key in merged) && key in map) merged[key] = map[key];
      }
    }
    return Tokenizer.fromJson(json, merged);
  }

  /**
   * Builds a tokenizer from the parsed contents of `tokenizer.json` and, optionally,
   * `tokenizer_config.json`. Without a config, bos/eos/pad are guessed from well-known token names
   * (`<|endoftext|>`, `<s>`/`</s>`, `<|begin_of_text|>`/`<|end_of_text|>`, `<|pad|>`, `<pad>`).
   *
   * @example
   * const tok = Tokenizer.fromJson(JSON.parse(readFileSync('tokenizer.json', 'utf8')));
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig?: unknown): Tokenizer {
    if (!isObject(tokenizerJson)) throw new TokenizerLoadError('tokenizer.json must be a JSON object');
    if (!isObject(tokenizerJson.model)) throw new TokenizerLoadError('tokenizer.json has no "model" object');
    if (tokenizerJson.added_tokens !== undefined && !Array.isArray(tokenizerJson.added_tokens)) {
      throw new TokenizerLoadError('tokenizer.json "added_tokens" must be an array');
    }
    if (tokenizerConfig !== undefined && tokenizerConfig !== null && !isObject(tokenizerConfig)) {
      throw new TokenizerLoadError('tokenizer_config.json must be a JSON object');
    }
    const config = tokenizerConfig === null ? undefined : (tokenizerConfig as TokenizerConfigJson | undefined);
    return new Tokenizer(structuredClone(tokenizerJson) as TokenizerJson, config === undefined ? undefined : structuredClone(config));
  }

  /**
   * Token ids of `text`.
   *
   * @example
   * tok.encode('Hi there', { addSpecialTokens: false }); // e.g. [301, 622]
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TypeError('encode: text must be a string');
    return this.#hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /**
   * The text of token ids. Incomplete UTF-8 byte sequences become U+FFFD.
   *
   * @example
   * tok.decode(tok.encode('héllo', { addSpecialTokens: false })); // 'héllo'
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    this.#checkIds(ids);
    return this.#decodeUnchecked(ids, options);
  }

  /**
   * The id of a token string (a vocabulary entry such as `'Ġthe'` or `'<|endoftext|>'`), or
   * undefined when it is not in the vocabulary.
   *
   * @example
   * tok.idOf('<|endoftext|>'); // 0
   */
  idOf(token: string): number | undefined {
    return this.#hf.token_to_id(token);
  }

  /**
   * The token string of an id, or undefined when the id is not in the vocabulary.
   *
   * @example
   * tok.tokenOf(tok.eosId!); // '<|endoftext|>'
   */
  tokenOf(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.#vocab[id] : undefined;
  }

  /**
   * The `tokenizer.json` object this tokenizer was built from (a copy), for saving or exporting.
   *
   * @example
   * await writeFile('out/tokenizer.json', JSON.stringify(tok.toJson()));
   */
  toJson(): TokenizerJson {
    return structuredClone(this.#json);
  }

  /**
   * A `tokenizer_config.json` object: the one loaded (a copy), or a minimal one naming the bos,
   * eos and pad tokens when none was loaded.
   *
   * @example
   * await writeFile('out/tokenizer_config.json', JSON.stringify(tok.toConfig()));
   */
  toConfig(): TokenizerConfigJson {
    if (this.#config !== undefined) return structuredClone(this.#config);
    const name = (id: number | undefined) => (id === undefined ? null : (this.tokenOf(id) ?? null));
    return {
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: name(this.bosId),
      eos_token: name(this.eosId),
      pad_token: name(this.padId),
      clean_up_tokenization_spaces: false,
    };
  }

  /**
   * Character offsets `[start, end)` of each token's text within `decode(ids, options)`, so that
   * `text.slice(start, end)` is the text token `i` produced. A token holding only part of a UTF-8
   * character gets an empty range where that character starts; the token that completes the
   * character gets the whole character. Tokens that produce no text (skipped special tokens,
   * stripped spaces) get empty ranges. Ranges are contiguous and cover the decoded text.
   *
   * @example
   * const ids = tok.encode('a cat', { addSpecialTokens: false });
   * const text = tok.decode(ids);
   * tok.pieceOffsets(ids).map(([s, e]) => text.slice(s, e)); // ['a', ' cat']
   */
  pieceOffsets(ids: readonly number[], options: DecodeOptions = {}): Array<[number, number]> {
    this.#checkIds(ids);
    const full = this.#decodeUnchecked(ids, options);
    return streamOffsets(ids, full, (part) => this.#decodeUnchecked(part, options)) ?? exactOffsets(ids, full, (part) => this.#decodeUnchecked(part, options));
  }

  #decodeUnchecked(ids: readonly number[], options: DecodeOptions): string {
    if (ids.length === 0) return '';
    return this.#hf.decode(ids as number[], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  #checkIds(ids: readonly number[]): void {
    if (!Array.isArray(ids)) throw new TypeError('token ids must be an array of integers');
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.#vocab[id] === undefined) {
        throw new TokenIdError(`token id ${String(id)} at position ${i} is not in the vocabulary (size ${this.vocabSize})`);
      }
    }
  }
}

/**
 * Offsets found by decoding small windows, the way streaming detokenisers do: each window starts at
 * the last settled group of tokens (context for decoders that treat a first token differently)
 * and a token settles once its window's text grows without ending in U+FFFD. Returns undefined when
 * the pieces do not add up to `full` (decoders whose output depends on more context, such as the
 * clean-up of spaces before punctuation), so that the caller can use {@link exactOffsets}.
 */
function streamOffsets(ids: readonly number[], full: string, decode: (ids: readonly number[]) => string): Array<[number, number]> | undefined {
  const offsets: Array<[number, number]> = [];
  let prefixStart = 0;
  let readIndex = 0;
  let prefixText = '';
  let pos = 0;
  // Text each unsettled token's window produced beyond prefixText.
  const provisional: string[] = [];
  // Ranges get their starts in fixStarts; here only ends are known.
  const settle = (upTo: number, piece: string) => {
    let end = 0;
    for (let j = readIndex; j < upTo; j++) {
      end = Math.max(end, commonPrefixLength(piece, provisional[j - readIndex]!));
      offsets.push([0, pos + end]);
    }
    offsets.push([0, pos + piece.length]);
    pos += piece.length;
  };
  for (let i = 0; i < ids.length; i++) {
    const text = decode(ids.slice(prefixStart, i + 1));
    if (!text.startsWith(prefixText)) return undefined;
    const added = text.slice(prefixText.length);
    if (added.length > 0 && !text.endsWith(REPLACEMENT_CHAR)) {
      if (full.slice(pos, pos + added.length) !== added) return undefined;
      settle(i, added);
      prefixStart = readIndex;
      readIndex = i + 1;
      prefixText = decode(ids.slice(prefixStart, readIndex));
      provisional.length = 0;
    } else {
      provisional.push(added);
    }
  }
  if (readIndex < ids.length) {
    const text = decode(ids.slice(prefixStart));
    if (!text.startsWith(prefixText)) return undefined;
    const piece = text.slice(prefixText.length);
    if (full.slice(pos, pos + piece.length) !== piece) return undefined;
    provisional.pop();
    settle(ids.length - 1, piece);
  }
  if (pos !== full.length) return undefined;
  return fixStarts(offsets);
}

/** Ranges from exact prefix decodes: token i ends where decode(ids[0..i]) stops agreeing with `full`. Quadratic; a fallback. */
function exactOffsets(ids: readonly number[], full: string, decode: (ids: readonly number[]) => string): Array<[number, number]> {
  const offsets: Array<[number, number]> = [];
  let prev = 0;
  for (let i = 0; i < ids.length; i++) {
    const end = i === ids.length - 1 ? full.length : Math.max(prev, commonPrefixLength(full, decode(ids.slice(0, i + 1))));
    offsets.push([prev, end]);
    prev = end;
  }
  return offsets;
}

/** Makes each range start where the previous one ended (ranges are contiguous by construction). */
function fixStarts(offsets: Array<[number, number]>): Array<[number, number]> {
  let prev = 0;
  for (const range of offsets) {
    range[0] = prev;
    if (range[1] < prev) range[1] = prev;
    prev = range[1];
  }
  return offsets;
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // Never split a surrogate pair.
  if (i > 0 && i < a.length && isHighSurrogate(a.charCodeAt(i - 1))) i--;
  return i;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function specialName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parsed file, or undefined when it does not exist. */
async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TokenizerLoadError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TokenizerLoadError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
