import { keccak256, toHex, type Hex } from 'viem';
import type { Snapshot } from '../datanet/datanet-types.ts';
import { snapshotContributions } from '../datanet/contributions.ts';
import type { Queryable } from '../store/database.ts';
import type { TrainingExample } from '../model/trainer.ts';
import { promptTokens, type TokenEncoder } from '../model/prompt-tokens.ts';
import { renderTemplate, TemplateError, type PromptTemplate } from './template.ts';

/** One contribution turned into a training sequence. */
export interface TrainingItem extends TrainingExample {
  contributionId: Hex;
  datanetId: number;
  /** Tokens of the prompt part (no loss is taken on them). */
  promptTokens: number;
  /**
   * When the contribution came, as a rank among the job's contributions (0 first): by anchored
   * batch, then acceptance time, then id. Attribution credits a group of contributions that say
   * the same thing through its earliest member.
   */
  order: number;
}

export interface TrainingData {
  train: TrainingItem[];
  heldOut: TrainingItem[];
  skipped: Array<{ contributionId: Hex; reason: string }>;
}

/**
 * Tokenises one rendered record: `[bos] prompt response [eos]`, inputs are all but the last token
 * and targets all but the first, with the prompt's targets masked (−1). A response longer than the
 * sequence limit is cut; a prompt that leaves no room for any response token returns null.
 *
 * @example
 * const ex = encodeExample(tokenizer, { prompt: 'Q: hi\nA: ', response: 'hello\n' }, 256);
 */
export function encodeExample(tokenizer: TokenEncoder, text: { prompt: string; response: string }, maxSequenceLength: number): { ids: Int32Array; targets: Int32Array; promptTokens: number } | null {
  const prompt = promptTokens(tokenizer, text.prompt);
  const response = [...tokenizer.encode(text.response, { addSpecialTokens: false }), ...(tokenizer.eosId !== undefined ? [tokenizer.eosId] : [])];
  const seq = [...prompt, ...response].slice(0, maxSequenceLength + 1);
  if (seq.length <= prompt.length || seq.length < 2) return null;
  const n = seq.length - 1;
  const ids = Int32Array.from(seq.slice(0, n));
  const targets = Int32Array.from(seq.slice(1), (t, i) => (i + 1 < prompt.length ? -1 : t));
  return { ids, targets, promptTokens: prompt.length };
}

/** Whether a contribution goes to the held-out set: a deterministic draw from its id and the seed. */
export function isHeldOut(contributionId: Hex, fraction: number, seed: number): boolean {
  if (fraction <= 0) return false;
  const h = keccak256(`${contributionId}${toHex(seed, { size: 4 }).slice(2)}` as Hex);
  return Number.parseInt(h.slice(2, 10), 16) / 2 ** 32 < fraction;
}

/**
 * Reads the snapshots' contributions, renders them with the template, tokenises them and splits
 * them into training and held-out sets (by a seeded hash of the contribution id, so the split is
 * the same on every run). A contribution in two snapshots is used once. Records that do not fit
 * the template or the length limit are listed in `skipped` with the reason.
 *
 * @example
 * const data = await buildTrainingData(db, tokenizer, [snapshot], defaultTemplate, { maxSequenceLength: 256, heldOutFraction: 0.1, seed: 0 });
 */
export async function buildTrainingData(
  db: Queryable,
  tokenizer: TokenEncoder,
  snapshots: readonly Snapshot[],
  template: PromptTemplate,
  o: { maxSequenceLength: number; heldOutFraction: number; seed: number },
): Promise<TrainingData> {
  const data: TrainingData = { train: [], heldOut: [], skipped: [] };
  const seen = new Set<string>();
  const arrival = new Map<Hex, [number, string]>();
  for (const snapshot of snapshots) {
    for await (const c of snapshotContributions(db, snapshot.id)) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      let text: { prompt: string; response: string };
      try {
        text = renderTemplate(template, c.record);
      } catch (err) {
        if (err instanceof TemplateError) {
          data.skipped.push({ contributionId: c.id, reason: err.message });
          continue;
        }
        throw err;
      }
      const encoded = encodeExample(tokenizer, text, o.maxSequenceLength);
      if (!encoded) {
        data.skipped.push({ contributionId: c.id, reason: `the prompt leaves no room for the response within ${o.maxSequenceLength} tokens` });
        continue;
      }
      arrival.set(c.id, [c.batchId ?? Number.MAX_SAFE_INTEGER, c.createdAt]);
      const item: TrainingItem = { contributionId: c.id, datanetId: c.datanetId, ...encoded, order: 0 };
      (isHeldOut(c.id, o.heldOutFraction, o.seed) ? data.heldOut : data.train).push(item);
    }
  }
  // keep at least one example on each side when there are two or more
  if (o.heldOutFraction > 0 && data.heldOut.length === 0 && data.train.length > 1) data.heldOut.push(data.train.pop()!);
  if (data.train.length === 0 && data.heldOut.length > 1) data.train.push(data.heldOut.pop()!);
  const key = (id: Hex) => arrival.get(id)!;
  const ranked = [...data.train, ...data.heldOut].sort((a, b) => {
    const [ba, ta] = key(a.contributionId), [bb, tb] = key(b.contributionId);
    return ba - bb || (ta < tb ? -1 : ta > tb ? 1 : 0) || (a.contributionId < b.contributionId ? -1 : 1);
  });
  ranked.forEach((item, rank) => (item.order = rank));
  return data;
}
