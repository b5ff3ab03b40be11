import type { FinishReason } from '../model/generate.ts';
import type { PeftAdapterFiles } from '../model/peft.ts';
import { CodedError } from '../util/coded-error.ts';

/**
 * The prompt does not fit the model's context (400, naming the limit). Every engine checks it
 * before the request joins a batch, so one long prompt never fails the others' generations.
 */
export class ContextLengthError extends CodedError {
  override name = 'ContextLengthError';
  constructor(promptTokens: number, contextTokens: number) {
    super('context_length_exceeded', `the prompt is ${promptTokens} tokens; this model's context is ${contextTokens} tokens`);
  }
}

/**
 * A model as an engine serves it: a base model folder and, for a published model, its LoRA adapter.
 * Adapters are never merged into the base: every engine attaches them at run time.
 */
export interface ServedModel {
  /** The name callers use (`model` in the OpenAI API). */
  name: string;
  base: {
    /** Content hash of the base model folder. */
    id: string;
    /** The folder on this machine (config.json, model.safetensors, tokenizer.json). */
    dir: string;
  };
  /** null: the base model alone. */
  adapter: {
    /** Stable identity of the adapter's bytes (its blob hashes). */
    key: string;
    /** The PEFT files, fetched on demand (from the blob store, a node, a disk). */
    files(): Promise<PeftAdapterFiles>;
  } | null;
}

/** How a completion is sampled: the same fields through every door (`/inference`, `/v1`, the engines). */
export interface Sampling {
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus sampling's probability mass (1 = all tokens). */
  topP: number;
  /** Seeds the draws, so the same request samples the same output. */
  seed: number;
  /** Strings that end the output (not included in it). */
  stop: readonly string[];
}

export interface CompletionRequest extends Sampling {
  /** The prompt text exactly as the model sees it (after any chat template); `[bos]` is added. */
  prompt: string;
  /** Receives the output in pieces as it is produced, never a piece of a stop string. */
  onText?: (delta: string) => void;
  signal?: AbortSignal;
}

export interface Completion {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

/**
 * What generates text: the built-in engine (CPU, optional GPU backend), llama.cpp through
 * node-llama-cpp, or a remote OpenAI-compatible server with LoRA support (vLLM). Every engine
 * takes the same requests and gives the same answers' shape; attribution and settlement do not
 * care which one ran.
 *
 * @example
 * const { text } = await engine.complete(served, { prompt: 'Q: Hi?\nA:', maxTokens: 32, temperature: 0, topP: 1, seed: 0, stop: [] });
 */
export interface Engine {
  /** `builtin`, `llama.cpp` or `remote`. */
  readonly kind: string;
  complete(model: ServedModel, request: CompletionRequest): Promise<Completion>;
  /** Starts fetching a model's adapter for a request still waiting in the queue (best effort). */
  prefetch(model: ServedModel): void;
  close(): Promise<void>;
}
