import type { FinishReason } from '../model/generate.ts';
import type { LoraAdapter } from '../model/llama.ts';
import { seededRandom } from '../model/random.ts';
import type { Decoder, DecodeRow } from '../model/decoder.ts';
import { ContextLengthError } from './engine.ts';
import { KvCacheFullError } from '../model/kv-cache.ts';

export interface GenerationRequest {
  adapter: LoraAdapter | null;
  prompt: readonly number[];
  maxTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stopTokens?: readonly number[];
  /** Each token as chosen; returning true ends the sequence (e.g. a stop string). */
  onToken?: (token: number) => boolean | void;
  signal?: AbortSignal;
}

export interface GenerationResult {
  tokens: number[];
  finishReason: FinishReason;
}

interface Sequence {
  id: string;
  request: GenerationRequest;
  /** Tokens whose keys and values are in the cache. */
  cached: number;
  /** Prompt followed by the generated tokens. */
  tokens: number[];
  generated: number[];
  next: () => number;
  /** The draw for the next token, kept until the token is taken (a step that fails must not consume it). */
  draw: number | null;
  resolve: (r: GenerationResult) => void;
  reject: (err: unknown) => void;
}

export interface SchedulerOptions {
  /** Most sequences decoding at once. */
  maxSequences: number;
  /** Most rows (prompt tokens being prefilled + one per decoding sequence) in one step. */
  maxBatchTokens: number;
}

/**
 * Continuous batching over one decoder: every step runs one token of each running sequence plus
 * as much of the waiting prompts as the token budget allows (chunked prefill); a sequence that
 * finishes (end token, stop, length, cancelled) leaves at once and frees its KV blocks, and a new
 * one joins at the next step. Sequences with different adapters share every step.
 *
 * @example
 * const scheduler = new Scheduler(decoder, { maxSequences: 64, maxBatchTokens: 512 });
 * const { tokens } = await scheduler.generate({ adapter, prompt, maxTokens: 32 });
 */
export class Scheduler {
  readonly decoder: Decoder;
  readonly options: SchedulerOptions;
  private readonly waiting: Sequence[] = [];
  private readonly running: Sequence[] = [];
  private loop: Promise<void> | null = null;
  private counter = 0;
  private readonly adapterIds = new WeakMap<LoraAdapter, string>();

  /** What a sequence's keys and values depend on besides its tokens: its adapter. */
  private prefixKey(adapter: LoraAdapter | null): string {
    if (!adapter) return 'base';
    let id = this.adapterIds.get(adapter);
    if (!id) this.adapterIds.set(adapter, (id = `adapter-${++this.counter}`));
    return id;
  }

  constructor(decoder: Decoder, options: SchedulerOptions) {
    this.decoder = decoder;
    this.options = options;
  }

  /** Sequences decoding and waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.running.length, waiting: this.waiting.length };
  }

  /** Queues a generation; it joins the running batch at the next step with room. */
  generate(request: GenerationRequest): Promise<GenerationResult> {
    if (request.prompt.length === 0) return Promise.reject(new RangeError('the prompt is empty'));
    // checked before it joins: past the model's positions it would fail the whole step
    const context = this.decoder.model.config.maxPositions;
    if (request.prompt.length > context) return Promise.reject(new ContextLengthError(request.prompt.length, context));
    return new Promise((resolve, reject) => {
      const rng = seededRandom(request.seed ?? 0);
      this.waiting.push({ id: `seq-${++this.counter}`, request, cached: 0, tokens: [...request.prompt], generated: [], next: rng.next, draw: null, resolve, reject });
      this.loop ??= this.run().finally(() => (this.loop = null));
    });
  }

  /** A running sequence stops decoding: its KV blocks are freed and it leaves the batch. */
  private leave(s: Sequence): void {
    this.decoder.cache.release(s.id);
    const i = this.running.indexOf(s);
    if (i >= 0) this.running.splice(i, 1);
  }

  private finish(s: Sequence, finishReason: FinishReason): void {
    this.leave(s);
    s.resolve({ tokens: s.generated, finishReason });
  }

  /** A sequence that cannot go on leaves with its error, freeing its blocks. */
  private fail(s: Sequence, err: unknown): void {
    this.leave(s);
    s.reject(err);
  }

  /** A running sequence goes back to the front of the queue, its keys and values dropped (recomputed when it rejoins). */
  private preempt(s: Sequence): void {
    this.leave(s);
    s.cached = 0;
    this.waiting.unshift(s);
  }

  private async run(): Promise<void> {
    while (this.running.length > 0 || this.waiting.length > 0) {
      // leave: cancelled sequences free their slot and blocks before the step
      for (const s of [...this.running]) if (s.request.signal?.aborted) this.finish(s, 'cancelled');
      for (const s of [...this.waiting]) {
        if (s.request.signal?.aborted) {
          this.waiting.splice(this.waiting.indexOf(s), 1);
          s.resolve({ tokens: [], finishReason: 'cancelled' });
        }
      }
      // join: waiting sequences move in while there is room
      while (this.waiting.length > 0 && this.running.length < this.options.maxSequences) {
        const s = this.waiting.shift()!;
        s.cached = this.decoder.cache.adoptPrefix(s.id, this.prefixKey(s.request.adapter), s.tokens);
        this.running.push(s);
      }
      if (this.running.length === 0) break;

      // one row per decoding sequence, then prompt chunks within the token budget
      let budget = this.options.maxBatchTokens;
      const rows: DecodeRow[] = [];
      const picks = new Map<Sequence, number>(); // where each sequence's next token is among the step's sampled ids
      const fed = new Map<Sequence, number>();
      for (const s of this.running) {
        const todo = s.tokens.length - s.cached;
        if (budget <= 0) break;
        const take = Math.min(todo, budget);
        for (let p = s.cached; p < s.cached + take; p++) rows.push({ sequence: s.id, token: s.tokens[p]!, position: p, adapter: s.request.adapter });
        budget -= take;
        fed.set(s, take);
        if (s.cached + take === s.tokens.length) {
          // the sequence's last row asks for its next token: sampled on the backend, only the id comes back
          const { temperature = 0, topP = 1 } = s.request;
          s.draw ??= temperature > 0 ? s.next() : 0;
          rows[rows.length - 1]!.sample = { temperature, topP, uniform: s.draw };
          picks.set(s, picks.size);
        }
      }
      let picked: Int32Array;
      try {
        picked = await this.decoder.step(rows);
      } catch (err) {
        if (this.running.length === 1) {
          this.fail(this.running[0]!, err);
          continue;
        }
        if (err instanceof KvCacheFullError) {
          // out of KV blocks: the newest sequence goes back to the queue (recomputed later)
          this.preempt(this.running[this.running.length - 1]!);
          continue;
        }
        // isolate the failure: each sequence's rows again on their own; one that fails alone
        // leaves with its error, the others go on
        picked = new Int32Array(picks.size);
        for (const s of [...this.running]) {
          if (!fed.has(s)) continue;
          try {
            const own = await this.decoder.step(rows.filter((r) => r.sequence === s.id));
            if (picks.has(s)) picked[picks.get(s)!] = own[0]!;
          } catch (e) {
            if (e instanceof KvCacheFullError) this.preempt(s);
            else this.fail(s, e);
          }
        }
      }
      for (const s of [...this.running]) {
        s.cached += fed.get(s) ?? 0;
        if (fed.get(s)) this.decoder.cache.publishPrefix(s.id, this.prefixKey(s.request.adapter), s.tokens, s.cached);
        const index = picks.get(s);
        if (index === undefined) continue; // its prompt is still being prefilled
        const token = picked[index]!;
        s.draw = null;
        if (s.request.stopTokens?.includes(token)) {
          this.finish(s, 'stop');
          continue;
        }
        s.generated.push(token);
        s.tokens.push(token);
        if (s.request.onToken?.(token)) this.finish(s, 'stop');
        else if (s.generated.length >= s.request.maxTokens || s.tokens.length >= this.decoder.model.config.maxPositions) this.finish(s, 'length');
      }
      await new Promise((r) => setImmediate(r)); // let the server breathe between steps
    }
  }
}
