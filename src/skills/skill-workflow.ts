import { parseEther, type Hex } from 'viem';
import { CodedError } from '../util/coded-error.ts';

/**
 * What a skill does when called, fixed when it is listed (`workflow.json` in its folder): steps run
 * in order, each a prompt to one of the skill's models or a paid call of another skill, and the
 * output. Texts are templates over `{{input}}` and `{{steps.<id>}}`, filled in one pass: what a
 * step answers is only ever text in a later template, never a step, a skill or an amount — a
 * deliverable cannot make the agent call or spend anything its workflow does not.
 */
export interface Workflow {
  steps: WorkflowStep[];
  /** The call's output (default: the last step's). */
  output: string;
}

export type WorkflowStep =
  | { id: string; kind: 'prompt'; model: string; prompt: string; maxTokens: number }
  /** A paid call of another skill, paying it at most `maxPrice` wei out of this call's budget. */
  | { id: string; kind: 'call'; skill: Hex; input: string; maxPrice: bigint };

/** A workflow.json that cannot be run. */
export class WorkflowError extends CodedError {
  override name = 'WorkflowError';
}

const ID = /^[a-z][a-z0-9_-]{0,31}$/;
const MAX_STEPS = 16;
const bad = (message: string) => new WorkflowError('invalid_workflow', message);

/**
 * Reads `workflow.json` (null: the skill's default, one prompt of its instructions and the input
 * to its first model). Prompts use only the skill's declared models; every step has a unique id;
 * templates name only the input and earlier steps; at most 16 steps.
 *
 * @example
 * const w = parseWorkflow(text, { instructions, models: ['qa'] });
 */
export function parseWorkflow(json: string | null, skill: { instructions: string; models: readonly string[] }): Workflow {
  if (json === null) {
    const model = skill.models[0];
    if (!model) throw bad('the skill names no model (openledger-models) and has no workflow.json');
    return { steps: [{ id: 'answer', kind: 'prompt', model, prompt: `${skill.instructions}\n\n{{input}}`, maxTokens: 64 }], output: '{{steps.answer}}' };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw bad('workflow.json is not JSON');
  }
  const o = raw as { steps?: unknown; output?: unknown };
  if (!Array.isArray(o.steps) || o.steps.length === 0 || o.steps.length > MAX_STEPS) throw bad(`workflow.json needs 1 to ${MAX_STEPS} steps`);
  const seen: string[] = [];
  const template = (t: unknown, where: string): string => {
    if (typeof t !== 'string' || t.length === 0 || t.length > 16_384) throw bad(`${where} must be a text of 1 to 16384 characters`);
    for (const [, name] of t.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
      if (name === 'input') continue;
      const step = /^steps\.([a-z][a-z0-9_-]*)$/.exec(name!)?.[1];
      if (!step || !seen.includes(step)) throw bad(`${where} names {{${name}}}: only {{input}} and earlier steps ({{steps.<id>}}) can be used`);
    }
    return t;
  };
  const steps = o.steps.map((s: Record<string, unknown>, i): WorkflowStep => {
    const where = `step ${i + 1}`;
    if (typeof s !== 'object' || s === null) throw bad(`${where} is not an object`);
    const id = s.id;
    if (typeof id !== 'string' || !ID.test(id) || seen.includes(id)) throw bad(`${where}'s id must be unique, lowercase letters, digits, - and _`);
    let step: WorkflowStep;
    if (typeof s.prompt === 'string') {
      const model = s.model ?? skill.models[0];
      if (typeof model !== 'string' || !skill.models.includes(model)) throw bad(`${where} prompts ${JSON.stringify(model)}, which is not one of the skill's models (${skill.models.join(', ') || 'none'})`);
      const maxTokens = s.maxTokens ?? 64;
      if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1 || (maxTokens as number) > 4096) throw bad(`${where}'s maxTokens must be 1 to 4096`);
      step = { id, kind: 'prompt', model, prompt: template(s.prompt, `${where}'s prompt`), maxTokens: maxTokens as number };
    } else if (typeof s.call === 'string') {
      if (!/^0x[0-9a-fA-F]{64}$/.test(s.call)) throw bad(`${where} calls "${s.call}", not a skill id`);
      if (typeof s.maxPrice !== 'string' || !/^\d+(\.\d{1,18})?$/.test(s.maxPrice)) throw bad(`${where} needs a maxPrice in OPEN ("0.01")`);
      step = { id, kind: 'call', skill: s.call.toLowerCase() as Hex, input: template(s.input ?? '{{input}}', `${where}'s input`), maxPrice: parseEther(s.maxPrice) };
    } else throw bad(`${where} has neither a prompt nor a call`);
    seen.push(id);
    return step;
  });
  return { steps, output: o.output === undefined ? `{{steps.${seen.at(-1)}}}` : template(o.output, 'output') };
}

/**
 * Fills a template in one pass: `{{input}}` and `{{steps.<id>}}` by their texts; what is filled in
 * is not read again.
 *
 * @example
 * fill('Q: {{input}}', { input: 'why?', steps: {} }); // 'Q: why?'
 */
export function fill(template: string, v: { input: string; steps: Record<string, string> }): string {
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, name: string) => (name === 'input' ? v.input : v.steps[name.slice('steps.'.length)] ?? ''));
}
