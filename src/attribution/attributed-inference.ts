import type { Address, LocalAccount } from 'viem';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { promptTokens } from '../factory/training-data.ts';
import type { FinishReason } from '../model/generate.ts';
import type { Database } from '../store/database.ts';
import { attributeInference } from './attribute-inference.ts';
import type { AttributedSpan } from './attribute.ts';
import type { Admission } from '../serve/admission.ts';
import type { ModelLoader } from './published-models.ts';
import { storeReceipt, type Receipt } from './receipts.ts';

export interface InferenceRequest {
  model: string;
  /** The prompt text exactly as the model sees it (after any chat template). */
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  /** Strings that end the output (not included in it). */
  stop?: readonly string[];
  consumer: Address | null;
  /** Receives the output as it is produced, in pieces (for streaming). */
  onText?: (delta: string) => void;
  signal?: AbortSignal;
}

export interface InferenceResult {
  output: string;
  finishReason: FinishReason;
  receipt: Receipt;
  spans: AttributedSpan[];
}

/**
 * Metering: asked before every inference whether the consumer may spend on it (throws, e.g. a 402
 * CodedError, when not), told its receipt after. Settlement plugs its escrow check in here; a node
 * without a meter serves without charging.
 */
export interface Meter {
  authorize(consumer: Address | null, model: string, maxTokens: number): Promise<void>;
  record(receipt: Receipt): Promise<void>;
}

export interface InferenceNode {
  account: LocalAccount;
  chainId: number;
  contracts: ProtocolContracts;
  db: Database;
  models: ModelLoader;
  meter?: Meter;
  /** Back-pressure: bounded concurrency and queue (429 beyond). */
  admission?: Admission;
}

/** The longest suffix of `text` that is a proper prefix of one of `stops` (held back while streaming). */
function pendingStopPrefix(text: string, stops: readonly string[]): number {
  let keep = 0;
  for (const s of stops) for (let k = Math.min(s.length - 1, text.length); k > keep; k--) if (text.endsWith(s.slice(0, k))) keep = k;
  return keep;
}

/**
 * One inference with Proof of Attribution: generates with a published model in its base's
 * continuous batch (stopping at its end-of-text token, a stop string, `maxTokens` or
 * cancellation), streams the text as it comes, attributes the output (alone on the base: the
 * attribution buffers are shared), signs the receipt and stores it before returning.
 *
 * @example
 * const { output, receipt } = await runAttributedInference(node, { model: 'zorvania-qa', prompt, maxTokens: 64, temperature: 0, topP: 1, seed: 0, consumer });
 */
export async function runAttributedInference(node: InferenceNode, r: InferenceRequest): Promise<InferenceResult> {
  return node.admission ? node.admission.run(() => attributedInference(node, r), r.signal) : attributedInference(node, r);
}

async function attributedInference(node: InferenceNode, r: InferenceRequest): Promise<InferenceResult> {
  const m = await node.models.load(r.model);
  await node.meter?.authorize(r.consumer, r.model, r.maxTokens);
  const stops = (r.stop ?? []).filter((s) => s.length > 0);
  const promptIds = promptTokens(m.tokenizer, r.prompt);
  const tokens: number[] = [];
  let text = '', emitted = 0, stoppedAt = -1;
  // generation joins the base model's continuous batch (other requests, other adapters), its
  // adapter pinned in the engine tier meanwhile
  const adapter = await m.adapters.acquire(m.adapterKey);
  const generated = await m.scheduler.generate({
    adapter, prompt: promptIds, maxTokens: r.maxTokens, temperature: r.temperature, topP: r.topP, seed: r.seed,
    stopTokens: m.tokenizer.eosId !== undefined ? [m.tokenizer.eosId] : [],
    ...(r.signal ? { signal: r.signal } : {}),
    onToken: (t) => {
      tokens.push(t);
      text = m.tokenizer.decode(tokens, { skipSpecialTokens: true });
      for (const s of stops) {
        const at = text.indexOf(s);
        if (at >= 0 && (stoppedAt < 0 || at < stoppedAt)) stoppedAt = at;
      }
      if (stoppedAt >= 0) return true;
      // hold back an unfinished character and what could still become a stop string
      let ready = text.length - pendingStopPrefix(text, stops);
      while (ready > emitted && text.charCodeAt(ready - 1) === 0xfffd) ready--;
      if (ready > emitted) {
        r.onText?.(text.slice(emitted, ready));
        emitted = ready;
      }
    },
  }).finally(() => m.adapters.release(m.adapterKey));
  const output = stoppedAt >= 0 ? text.slice(0, stoppedAt) : text;
  if (output.length > emitted) r.onText?.(output.slice(emitted));
  // attribution uses the model's training buffers: one at a time per base model
  const { receipt, spans } = await m.exclusive(() => attributeInference(node, m, r.prompt, output, { consumer: r.consumer }));
  const result = { output, finishReason: generated.finishReason, receipt, spans };
  await storeReceipt(node.db, result.receipt, { prompt: r.prompt, output: result.output, consumer: r.consumer });
  await node.meter?.record(result.receipt);
  return result;
}
