import type { Address, Hex, LocalAccount } from 'viem';
import { z } from 'zod';
import type { ProtocolContracts } from '../chain/protocol.ts';
import type { Queryable } from '../store/database.ts';
import { promptTokens } from '../model/prompt-tokens.ts';
import { attribute, type AttributionParameters } from './attribute.ts';
import { governanceParameters, type GovernanceParameters } from './governance-parameters.ts';
import { influenceMethods } from './influence.ts';
import type { AttributedSpan } from './span-signal.ts';
import type { LoadedModel } from './model-loader.ts';
import { ReceiptError, signReceipt, textHash } from './receipts.ts';
import type { Receipt, ReceiptBody, ReceiptContribution } from './receipt-types.ts';

/** Node-level attribution settings (the span weight and the thresholds come from governance, on chain). */
export type AttributionSettings = Omit<AttributionParameters, keyof GovernanceParameters>;

/** The node's defaults (decision 0013: each measured by `npm run eval:attribution`). */
export const defaultAttributionSettings: AttributionSettings = { groupThreshold: 0.6, influence: 'relatif', damping: 1, nullZ: 3 };


/**
 * The token ids attribution works on: `[bos] prompt` and the output, both encoded from their
 * text, so anyone holding the texts recomputes the same attribution.
 */
export function attributionTokens(m: LoadedModel, prompt: string, output: string): { promptIds: number[]; outputIds: number[] } {
  return { promptIds: promptTokens(m.tokenizer, prompt), outputIds: m.tokenizer.encode(output, { addSpecialTokens: false }) };
}

const capped = (fee: bigint, cap: bigint | undefined) => (cap !== undefined && fee > cap ? cap : fee);

/** The fee of an inference: the model's price per 1,000 tokens times the tokens used, rounded up. */
export function inferenceFee(pricePer1kTokens: string, tokens: number): bigint {
  return (BigInt(pricePer1kTokens) * BigInt(tokens) + 999n) / 1000n;
}

/**
 * Attributes one inference and signs its receipt: the model and its version, hashes and token
 * counts of the prompt and the output, the fee (never above `maxFee`, what was reserved for the
 * request: re-encoding the output can count a token or two more than were generated), the
 * parameters in force and every credited contribution with its share and evidence. The caller
 * stores it before answering.
 *
 * @example
 * const { receipt, spans } = await attributeInference(node, loaded, prompt, output, { consumer });
 */
export async function attributeInference(
  node: { account: LocalAccount; chainId: number; contracts: ProtocolContracts; db?: Queryable; settings?: AttributionSettings },
  m: LoadedModel,
  prompt: string,
  output: string,
  o: { consumer: Address | null; createdAt?: Date; maxFee?: bigint; call?: Hex },
): Promise<{ receipt: Receipt; spans: AttributedSpan[] }> {
  const { feeSplit, ...governance } = await governanceParameters(node);
  const settings = node.settings ?? defaultAttributionSettings;
  const { promptIds, outputIds } = attributionTokens(m, prompt, output);
  const parameters: AttributionParameters = { ...governance, ...settings };
  const result = await attribute(m.attribution, promptIds, outputIds, parameters);
  const p = m.published;
  const body: ReceiptBody = {
    version: 2,
    node: node.account.address,
    chainId: node.chainId,
    model: { id: p.modelId, name: p.name, version: 1, baseModel: p.baseModelId, adapter: p.adapterHash, trace: p.traceBlob },
    input: { hash: textHash(prompt), tokens: promptIds.length },
    output: { hash: textHash(output), tokens: outputIds.length },
    fee: { pricePer1kTokens: p.pricePer1kTokens, amount: capped(inferenceFee(p.pricePer1kTokens, promptIds.length + outputIds.length), o.maxFee).toString(), split: feeSplit },
    parameters,
    contributions: result.contributions,
    pools: result.pools,
    evidence: result.evidence,
    createdAt: (o.createdAt ?? new Date()).toISOString(),
    ...(o.call ? { call: o.call } : {}),
  };
  return { receipt: await signReceipt(node.account, body), spans: result.spans };
}

/** The attribution parameters a receipt may name (what a verifier recomputes with). */
const receiptParametersSchema = z.object({
  spanWeightBps: z.number().int().min(0).max(10_000),
  thresholdPpm: z.number().int().min(0).max(1_000_000),
  evidenceThresholdPpm: z.number().int().min(0).max(1_000_000),
  groupThreshold: z.number().gt(0).max(1),
  influence: z.enum(influenceMethods),
  damping: z.number().gt(0).max(1e6),
  nullZ: z.number().min(0).max(1e3),
}).strict();

/** One way a recomputed attribution differs from a receipt. */
export interface ReceiptDifference {
  contributionId: string;
  receiptPpm: number;
  recomputedPpm: number;
}

/**
 * Recomputes a receipt's attribution from its prompt and output with the parameters it names, and
 * lists every contribution whose share differs by more than `tolerancePpm` (floating-point results
 * may differ in the last bits between machines; the default tolerance is 0.1 %).
 *
 * @example
 * const diffs = await recomputeReceipt(loaded, stored);
 * if (diffs.length) console.log('the receipt does not match its recomputation');
 */
export async function recomputeReceipt(m: LoadedModel, r: { body: ReceiptBody; prompt: string; output: string }, tolerancePpm = 1000): Promise<ReceiptDifference[]> {
  const b = r.body;
  if (b.model.adapter !== m.published.adapterHash || b.model.trace !== m.published.traceBlob) {
    throw new ReceiptError('model_mismatch', `the receipt names adapter ${b.model.adapter} and trace ${b.model.trace}; the loaded model has ${m.published.adapterHash} and ${m.published.traceBlob}`);
  }
  if ((b.version as number) !== 2) throw new ReceiptError('receipt_version', `receipt version ${String(b.version)} was computed by an earlier attribution than this node runs (version 2); it cannot be recomputed here`);
  const parsed = receiptParametersSchema.safeParse(b.parameters);
  if (!parsed.success) throw new ReceiptError('bad_receipt', `the receipt's attribution parameters are not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const { promptIds, outputIds } = attributionTokens(m, r.prompt, r.output);
  const mismatch: ReceiptDifference[] = [];
  if (textHash(r.prompt) !== b.input.hash || textHash(r.output) !== b.output.hash) mismatch.push({ contributionId: '(texts do not match the receipt hashes)', receiptPpm: 0, recomputedPpm: 0 });
  const fresh = await m.exclusive(() => attribute(m.attribution, promptIds, outputIds, parsed.data));
  if (fresh.evidence.abstained !== b.evidence.abstained) {
    mismatch.push({ contributionId: `(evidence: the receipt ${b.evidence.abstained ? 'abstains' : 'credits contributions'} at ${b.evidence.scorePpm} ppm; recomputed ${fresh.evidence.scorePpm} ppm)`, receiptPpm: b.evidence.scorePpm, recomputedPpm: fresh.evidence.scorePpm });
  }
  const compare = (label: (k: string) => string, theirs: Map<string, number>, mine: Map<string, number>) => {
    for (const k of new Set([...mine.keys(), ...theirs.keys()])) {
      const a = theirs.get(k) ?? 0, c = mine.get(k) ?? 0;
      if (Math.abs(a - c) > tolerancePpm) mismatch.push({ contributionId: label(k), receiptPpm: a, recomputedPpm: c });
    }
  };
  compare((k) => k, new Map(b.contributions.map((c: ReceiptContribution) => [c.contributionId, c.sharePpm])), new Map(fresh.contributions.map((c) => [c.contributionId, c.sharePpm])));
  compare((k) => `(pool of datanet ${k})`, new Map(b.pools.map((x) => [String(x.datanetId), x.sharePpm])), new Map(fresh.pools.map((x) => [String(x.datanetId), x.sharePpm])));
  return mismatch;
}
