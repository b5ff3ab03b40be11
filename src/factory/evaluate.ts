import { generate } from '../model/generate.ts';
import { words } from '../util/words.ts';
import type { Llama, LoraAdapter } from '../model/llama.ts';
import type { TrainingExample } from '../model/trainer.ts';
import type { AnswerAccuracy, Evaluation } from './factory-types.ts';

/**
 * Mean loss of a set of examples (over their target tokens), with or without an adapter.
 *
 * @example
 * const { loss, tokens } = await meanLoss(model, heldOut, lora);
 */
export async function meanLoss(model: Llama, examples: readonly TrainingExample[], lora: LoraAdapter | null): Promise<{ loss: number; tokens: number }> {
  let lossSum = 0, tokens = 0;
  for (const e of examples) {
    const r = await model.loss(e.ids, e.targets, 1, e.ids.length, lora);
    lossSum += r.lossSum;
    tokens += r.tokens;
  }
  return { loss: tokens > 0 ? lossSum / tokens : Number.NaN, tokens };
}

/** Examples whose answers are generated, per set (evenly spaced over it): generation is the slow part. */
const MAX_ANSWERS = 64;

/** A training example as evaluation reads it: inputs, targets and how many of them are prompt. */
type Example = TrainingExample & { promptTokens: number };

/**
 * The model's greedy answer to an example's prompt, against the example's response: whether it is
 * exactly the response (token for token, up to and including its end-of-text token: an answer
 * that runs on is wrong), and the share of the response's words it contains (`decode` turns
 * tokens into text).
 */
async function answer(model: Llama, lora: LoraAdapter, e: Example, eosId: number | null, decode: (ids: number[]) => string): Promise<{ exact: boolean; recall: number }> {
  const seq = [...e.ids, e.targets[e.targets.length - 1]!];
  const prompt = seq.slice(0, e.promptTokens);
  let reference = seq.slice(e.promptTokens);
  const endsWithEos = eosId !== null && reference.at(-1) === eosId;
  if (endsWithEos) reference = reference.slice(0, -1);
  // a little room past the reference, so an answer that says more is seen to
  const out = await generate(model, lora, prompt, { maxTokens: reference.length + 8, ...(eosId !== null ? { stopTokens: [eosId] } : {}) });
  const exact = out.tokens.length === reference.length && out.tokens.every((t, i) => t === reference[i]) && (!endsWithEos || out.finishReason === 'stop');
  const wanted = new Set(words(decode(reference)).map((w) => w.word));
  const said = new Set(words(decode(out.tokens)).map((w) => w.word));
  return { exact, recall: wanted.size > 0 ? [...wanted].filter((w) => said.has(w)).length / wanted.size : 1 };
}

async function accuracy(model: Llama, lora: LoraAdapter, examples: readonly Example[], eosId: number | null, decode: (ids: number[]) => string, tick: () => void): Promise<AnswerAccuracy> {
  const picked = examples.length <= MAX_ANSWERS ? examples : Array.from({ length: MAX_ANSWERS }, (_, k) => examples[Math.floor((k * examples.length) / MAX_ANSWERS)]!);
  let exact = 0, recall = 0;
  for (const e of picked) {
    const a = await answer(model, lora, e, eosId, decode);
    if (a.exact) exact++;
    recall += a.recall;
    tick();
  }
  return { checked: picked.length, exact, rate: picked.length > 0 ? exact / picked.length : Number.NaN, wordRecall: picked.length > 0 ? recall / picked.length : Number.NaN };
}

/**
 * A fine-tuned adapter's evaluation: the held-out loss (and perplexity) of the base model and of
 * the adapter, and answer accuracy — for held-out records (contributions the adapter never saw)
 * and training records (what it was taught), the share whose response it generates exactly and
 * the mean share of the response's words its answer contains.
 *
 * @example
 * const evaluation = await evaluate(model, lora, { heldOut, train, eosId: tokenizer.eosId ?? null, decode: (ids) => tokenizer.decode(ids) });
 */
export async function evaluate(model: Llama, lora: LoraAdapter, o: { heldOut: readonly Example[]; train: readonly Example[]; eosId: number | null; decode: (ids: number[]) => string; report?: (done: number, total: number) => void }): Promise<Evaluation> {
  const baseLoss = await meanLoss(model, o.heldOut, null);
  const tunedLoss = await meanLoss(model, o.heldOut, lora);
  const total = Math.min(o.heldOut.length, MAX_ANSWERS) + Math.min(o.train.length, MAX_ANSWERS);
  let done = 0;
  const tick = () => o.report?.(++done, total);
  return {
    examples: o.heldOut.length,
    tokens: baseLoss.tokens,
    base: { loss: baseLoss.loss, perplexity: Math.exp(baseLoss.loss) },
    tuned: { loss: tunedLoss.loss, perplexity: Math.exp(tunedLoss.loss) },
    answers: { heldOut: await accuracy(model, lora, o.heldOut, o.eosId, o.decode, tick), trained: await accuracy(model, lora, o.train, o.eosId, o.decode, tick) },
  };
}
