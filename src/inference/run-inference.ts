import { formatEther, type Address, type Hex, type LocalAccount } from 'viem';
import type { ProtocolContracts } from '../chain/protocol.ts';
import type { FinishReason } from '../model/generate.ts';
import type { Database } from '../store/database.ts';
import { attributeInference, inferenceFee } from '../attribution/receipt-attribution.ts';
import { promptTokens } from '../model/prompt-tokens.ts';
import type { AttributedSpan } from '../attribution/span-signal.ts';
import type { Admission } from './admission.ts';
import type { Meter } from './meter.ts';
import type { CompletionRequest, Engine } from '../serve/engine.ts';
import type { ModelLoader, ResolvedModel } from '../attribution/model-loader.ts';
import { getReceipt, storeReceipt } from '../attribution/receipts.ts';
import { answeredRequest, recordAnsweredRequest, RequestAnsweredError, requestHashOf, type AnsweredRequest } from './answered-requests.ts';
import type { Receipt } from '../attribution/receipt-types.ts';

/** One inference: a completion request (prompt, sampling, streaming) for a model, by a consumer. */
export interface InferenceRequest extends CompletionRequest {
  model: string;
  /** Who pays (null: a node without a meter serves without charging). */
  consumer: Address | null;
  /** The consumer's Idempotency-Key: a retry under it is answered with the first answer and its receipt, not generated or charged again. */
  requestKey?: string;
  /** The skill call this inference runs for: its receipt names the call, whose budget pays it (the node's meter is then the call's). */
  call?: Hex;
}

export interface InferenceResult {
  output: string;
  finishReason: FinishReason;
  /** null for a base model served alone: nothing to attribute, nothing to pay. */
  receipt: Receipt | null;
  spans: AttributedSpan[];
  usage: { promptTokens: number; completionTokens: number };
}

export interface InferenceNode {
  account: LocalAccount;
  chainId: number;
  contracts: ProtocolContracts;
  db: Database;
  models: ModelLoader;
  /** What generates the text (built-in, llama.cpp or remote). */
  engine: Engine;
  meter?: Meter;
  /** Back-pressure: bounded concurrency and queue (429 beyond). */
  admission?: Admission;
}

/**
 * One inference with Proof of Attribution: generates with a published model in its base's
 * continuous batch (stopping at its end-of-text token, a stop string, `maxTokens` or
 * cancellation), streams the text as it comes, attributes the output (alone on the base: the
 * attribution buffers are shared), signs the receipt and stores it before returning. A request
 * with a `requestKey` already answered for its consumer is answered again from the store (its text
 * streamed at once), with the same receipt: one key, one receipt, one charge.
 *
 * @example
 * const { output, receipt } = await runInference(node, { model: 'zorvania-qa', prompt, maxTokens: 64, temperature: 0, topP: 1, seed: 0, consumer });
 */
export async function runInference(node: InferenceNode, r: InferenceRequest): Promise<InferenceResult> {
  const m = await node.models.resolve(r.model);
  try {
    if (!node.admission) return await attributedInference(node, m, r);
    // a queued request's adapter is fetched while it waits
    if (node.admission.running >= node.admission.concurrency) node.engine.prefetch(m.served);
    return await node.admission.run(() => attributedInference(node, m, r), r.signal);
  } finally {
    // held from resolution to its stored receipt; then the loader may free it
    if (m.kind === 'published') m.loaded.release();
  }
}

async function attributedInference(node: InferenceNode, m: ResolvedModel, r: InferenceRequest): Promise<InferenceResult> {
  // the engine gets the completion request: the prompt, sampling and streaming, not who pays, the model's name or the key
  const { model: _name, consumer: _payer, requestKey: _key, call: _call, ...request } = r;
  if (m.kind === 'base') {
    // a base model alone: no datanet shaped it, so no attribution and no fee
    const c = await node.engine.complete(m.served, request);
    return { output: c.text, finishReason: c.finishReason, receipt: null, spans: [], usage: { promptTokens: c.promptTokens, completionTokens: c.completionTokens } };
  }
  const { published } = m.loaded;
  const key = r.requestKey && r.consumer ? { consumer: r.consumer, key: r.requestKey, hash: requestHashOf(r) } : undefined;
  const replay = async (a: AnsweredRequest, streamed = false): Promise<InferenceResult> => {
    if (!streamed) r.onText?.(a.output);
    return { output: a.output, finishReason: a.finishReason, receipt: await getReceipt(node.db, a.receiptId), spans: a.spans, usage: a.usage };
  };
  const earlier = key && (await answeredRequest(node.db, key.consumer, key.key, key.hash));
  if (earlier) return replay(earlier);
  const maxFee = inferenceFee(published.pricePer1kTokens, promptTokens(m.loaded.tokenizer, r.prompt).length + r.maxTokens);
  const reservation = await node.meter?.reserve(r.consumer, maxFee, `${published.name} costs ${formatEther(BigInt(published.pricePer1kTokens))} OPEN per 1,000 tokens`);
  try {
    // generation joins the engine's batches (other requests, other adapters)
    const c = await node.engine.complete(m.served, request);
    // attribution uses the model's training buffers: one at a time per base model
    const { receipt, spans } = await m.loaded.exclusive(() => attributeInference(node, m.loaded, r.prompt, c.text, { consumer: r.consumer, maxFee, call: r.call }));
    const usage = { promptTokens: receipt.body.input.tokens, completionTokens: receipt.body.output.tokens };
    try {
      await storeReceipt(node.db, receipt, { prompt: r.prompt, output: c.text, consumer: r.consumer }, async (tx) => {
        await reservation?.charge(tx, { id: receipt.id, fee: BigInt(receipt.body.fee.amount) });
        if (key) await recordAnsweredRequest(tx, key.consumer, key.key, key.hash, { receiptId: receipt.id, output: c.text, finishReason: c.finishReason, spans, usage });
      });
    } catch (err) {
      // a concurrent retry under the same key stored its receipt first: this one's rolled back, the
      // first is the answer (its text was streamed already as this one generated it)
      if (!(err instanceof RequestAnsweredError)) throw err;
      return replay((await answeredRequest(node.db, key!.consumer, key!.key, key!.hash))!, true);
    }
    return { output: c.text, finishReason: c.finishReason, receipt, spans, usage };
  } finally {
    await reservation?.release();
  }
}
