import { z } from 'zod';
import { hyperparametersSchema } from './hyperparameters.ts';
import { defaultTemplate, promptTemplateSchema } from './template.ts';

// What a model builder submits to start a fine-tuning job, as a schema: browser-safe so the API's
// contract and the web app's form check the fields the node does (jobs.ts creates the job).

/** What a model builder submits. */
export const jobRequestSchema = z.object({
  modelName: z.string().regex(/^[\w.-]{1,64}$/, 'a model name is 1–64 letters, digits, ".", "-" or "_"'),
  baseModel: z.string().min(1).max(100),
  snapshotIds: z.array(z.number().int().positive()).min(1).max(32),
  template: promptTemplateSchema.default(defaultTemplate),
  hyperparameters: hyperparametersSchema.default(hyperparametersSchema.parse({})),
  pricePer1kTokens: z.union([z.string().regex(/^\d{1,78}$/), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]).transform(String).refine((x) => BigInt(x) < 2n ** 256n, 'at most 2^256 - 1 wei').default('0'),
}).strict();
export type JobRequest = z.input<typeof jobRequestSchema>;
