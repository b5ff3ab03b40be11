import { parseEther } from 'viem';
import { hyperparametersSchema, type Hyperparameters } from '../../../../src/factory/hyperparameters.ts';
import { defaultTemplate, promptTemplateSchema, renderTemplate, type PromptTemplate } from '../../../../src/factory/template.ts';
import { loraTargets, type LoraTarget } from '../../../../src/model/config.ts';
import type { Contribution, Snapshot } from '../datanet/types.ts';
import type { BaseModel } from './types.ts';

export { loraTargets, type LoraTarget };

/** The node's defaults for every hyperparameter (those of the shipped base model). */
export const defaultHyperparameters: Hyperparameters = hyperparametersSchema.parse({});

type NumericKey = Exclude<keyof Hyperparameters, 'targetModules'>;

/** The numeric hyperparameters the wizard edits: the usual ones first, then the advanced ones. `auto`: may be left as "auto" (sized from the training set when the job starts). */
export const numericFields: ReadonlyArray<{ key: NumericKey; label: string; hint: string; advanced?: true; auto?: true }> = [
  { key: 'epochs', label: 'Epochs', hint: 'passes over the training data ("auto": about 800 steps, 2–60 epochs)', auto: true },
  { key: 'rank', label: 'LoRA rank', hint: 'size of the low-rank update ("auto": 16, 32 above 2,000 examples)', auto: true },
  { key: 'alpha', label: 'LoRA alpha', hint: 'the update is scaled by alpha / rank ("auto": 2 × rank)', auto: true },
  { key: 'learningRate', label: 'Learning rate', hint: 'peak rate, after warm-up ("auto": 5e-3 at batch 8)', auto: true },
  { key: 'batchSize', label: 'Batch size', hint: 'examples per optimizer step' },
  { key: 'maxSequenceLength', label: 'Max length (tokens)', hint: 'longer examples are skipped' },
  { key: 'warmupSteps', label: 'Warm-up steps', hint: 'linear ramp to the peak rate', advanced: true },
  { key: 'minLrRatio', label: 'Min learning-rate ratio', hint: 'cosine decay ends at peak × this', advanced: true },
  { key: 'weightDecay', label: 'Weight decay', hint: 'AdamW decay', advanced: true },
  { key: 'maxGradNorm', label: 'Max gradient norm', hint: 'clipping (0 = off)', advanced: true },
  { key: 'heldOutFraction', label: 'Held-out fraction', hint: 'share of contributions kept for evaluation', advanced: true },
  { key: 'earlyStoppingPatience', label: 'Early-stopping patience', hint: 'epochs without a held-out improvement before stopping (0 = off)', advanced: true },
  { key: 'seed', label: 'Seed', hint: 'initialisation, data order and held-out split', advanced: true },
  { key: 'checkpointEvery', label: 'Checkpoint every (steps)', hint: 'a restart resumes from the last one', advanced: true },
  { key: 'sketchDimension', label: 'Gradient sketch dimension', hint: 'projected gradients kept for attribution', advanced: true },
];

/** What the wizard has gathered so far. Numbers are kept as typed and parsed when validated. */
export interface Draft {
  baseModel: string;
  snapshots: Snapshot[];
  template: PromptTemplate;
  numbers: Record<NumericKey, string>;
  targetModules: LoraTarget[];
  modelName: string;
  /** OPEN per 1,000 tokens, as typed. */
  price: string;
}

export const initialDraft: Draft = {
  baseModel: '',
  snapshots: [],
  template: { ...defaultTemplate },
  numbers: Object.fromEntries(numericFields.map((f) => [f.key, String(defaultHyperparameters[f.key])])) as Record<NumericKey, string>,
  targetModules: [...defaultHyperparameters.targetModules],
  modelName: '',
  price: '0',
};

/** A field name → its problem; empty when the step is valid. */
export type Errors = Record<string, string>;

/** Step 1: a base model the node knows. */
export function validateBase(draft: Draft, baseModels: readonly BaseModel[] | undefined): Errors {
  if (!draft.baseModel) return { baseModel: 'choose a base model' };
  if (baseModels && !baseModels.some((b) => b.name === draft.baseModel)) return { baseModel: `the node has no base model "${draft.baseModel}"` };
  return {};
}

/** Step 2: one to 32 snapshots, each recorded on chain and not empty. */
export function validateSnapshots(draft: Draft): Errors {
  if (draft.snapshots.length === 0) return { snapshots: 'choose at least one snapshot' };
  if (draft.snapshots.length > 32) return { snapshots: 'a job trains on at most 32 snapshots' };
  const building = draft.snapshots.find((s) => s.status !== 'recorded');
  if (building) return { snapshots: `snapshot ${building.id} is not recorded on chain yet; wait a few seconds` };
  const empty = draft.snapshots.find((s) => s.count === 0);
  if (empty) return { snapshots: `snapshot ${empty.id} holds no contributions` };
  return {};
}

/** The outcome of rendering the template on each sample record. */
export interface Rendered {
  sample: Contribution;
  text?: { prompt: string; response: string };
  error?: string;
}

/** Renders the template on each sample (a record lacking a field gets that error). */
export function renderSamples(template: PromptTemplate, samples: readonly Contribution[]): Rendered[] {
  return samples.map((sample) => {
    try {
      return { sample, text: renderTemplate(template, sample.record) };
    } catch (err) {
      return { sample, error: err instanceof Error ? err.message : String(err) };
    }
  });
}

/** Step 3: a well-formed template that renders at least one sample record of the snapshots. */
export function validateTemplate(draft: Draft, samples: readonly Contribution[]): Errors {
  const errors: Errors = {};
  const parsed = promptTemplateSchema.safeParse(draft.template);
  if (!parsed.success) for (const issue of parsed.error.issues) errors[`template.${String(issue.path[0] ?? 'prompt')}`] ??= issue.message;
  if (Object.keys(errors).length > 0 || samples.length === 0) return errors;
  const rendered = renderSamples(draft.template, samples);
  if (rendered.every((r) => r.error)) errors['template.response'] = `no sample record fits this template: ${rendered[0]!.error}`;
  return errors;
}

/** A limit of the hyperparameter schema in plain words. */
function inWords(issue: { code: string; message: string; minimum?: unknown; maximum?: unknown; inclusive?: boolean; expected?: unknown }): string {
  if (issue.code === 'too_small') return issue.inclusive === false ? `must be more than ${String(issue.minimum)}` : `must be at least ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return issue.inclusive === false ? `must be less than ${String(issue.maximum)}` : `must be at most ${String(issue.maximum)}`;
  if (issue.code === 'invalid_type' && issue.expected === 'int') return 'must be a whole number';
  return issue.message;
}

const amount = /^\d+(\.\d{1,18})?$/;

/** Step 4: hyperparameters within the node's limits, a free model name and a price. */
export function validateSettings(draft: Draft, takenNames: ReadonlySet<string>): { errors: Errors; hyperparameters?: Hyperparameters; priceWei?: string } {
  const errors: Errors = {};
  const numbers: Record<string, number | 'auto'> = {};
  for (const { key, auto } of numericFields) {
    const raw = draft.numbers[key].trim();
    if (auto && (raw === '' || raw.toLowerCase() === 'auto')) numbers[key] = 'auto';
    else if (raw === '') errors[key] = 'required';
    else if (!Number.isFinite(Number(raw))) errors[key] = 'must be a number';
    else numbers[key] = Number(raw);
  }
  if (draft.targetModules.length === 0) errors.targetModules = 'adapt at least one projection';
  // the node's own limits, on every field that is a number (a missing one takes its default here)
  const parsed = hyperparametersSchema.safeParse({ ...numbers, ...(draft.targetModules.length ? { targetModules: draft.targetModules } : {}) });
  if (!parsed.success) for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? 'hyperparameters')] ??= inWords(issue);
  const hyperparameters = parsed.success && Object.keys(errors).length === 0 ? parsed.data : undefined;
  const name = draft.modelName.trim();
  if (!name) errors.modelName = 'name the model';
  else if (!/^[\w.-]{1,64}$/.test(name)) errors.modelName = 'a model name is 1–64 letters, digits, ".", "-" or "_"';
  else if (takenNames.has(name)) errors.modelName = `a model called "${name}" already exists or is being trained`;
  const price = draft.price.trim();
  let priceWei: string | undefined;
  if (!amount.test(price)) errors.price = 'a price in OPEN, e.g. 0.001 (at most 18 decimals; 0 for free)';
  else priceWei = parseEther(price).toString();
  return { errors, ...(hyperparameters ? { hyperparameters } : {}), ...(priceWei !== undefined ? { priceWei } : {}) };
}
