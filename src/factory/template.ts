import { z } from 'zod';

/**
 * How a contribution record becomes a training example: a prompt (no loss is taken on it) and
 * the response the model learns to produce. `{{field}}` inserts a field of an object record;
 * `{{text}}` is the whole record when it is plain text.
 */
export interface PromptTemplate {
  prompt: string;
  response: string;
}

/** The question/answer layout the shipped base model was pre-trained on. */
export const defaultTemplate: PromptTemplate = {
  prompt: '### Question: {{prompt}}\n### Answer:',
  response: ' {{response}}\n',
};

const placeholder = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;

export const promptTemplateSchema = z.object({
  prompt: z.string().max(4000).refine((s) => s.length > 0, 'the prompt template is empty'),
  response: z.string().max(4000).refine((s) => /\{\{\s*[A-Za-z_][\w.]*\s*\}\}/.test(s), 'the response template must insert at least one field, e.g. {{response}}'),
});

/** A record that lacks a field its template inserts. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

function lookup(record: unknown, path: string): unknown {
  if (typeof record === 'string') return path === 'text' ? record : undefined;
  let value: unknown = record;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function fill(template: string, record: unknown): string {
  return template.replace(placeholder, (_, path: string) => {
    const value = lookup(record, path);
    if (value === undefined || value === null) throw new TemplateError(`the record has no field "${path}"`);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

/**
 * The prompt and response texts of one record.
 *
 * @example
 * renderTemplate(defaultTemplate, { prompt: 'Capital of Zorvania?', response: 'Quillmere.' });
 * // { prompt: '### Question: Capital of Zorvania?\n### Answer:', response: ' Quillmere.\n' }
 */
export function renderTemplate(template: PromptTemplate, record: unknown): { prompt: string; response: string } {
  return { prompt: fill(template.prompt, record), response: fill(template.response, record) };
}

/** The fields a template reads (to check them against a datanet's schema before a job starts). */
export function templateFields(template: PromptTemplate): string[] {
  return [...new Set([...`${template.prompt}${template.response}`.matchAll(placeholder)].map((m) => m[1]!))];
}
