import { formatEther, getAddress, isAddressEqual, type Address, type Hex } from 'viem';
import { protocolFeeOf } from '../settlement/call-tree.ts';
import { MAX_CALL_FEE_BPS } from '../settlement/skill-calls.ts';
import type { Agent } from './agents.ts';
import type { Queryable } from '../store/database.ts';
import { CodedError } from '../util/coded-error.ts';
import { parseSkillFiles, type SkillFile, type SkillFolder } from './skill-folder.ts';

/** A skill listed on this node: the checked folder and the agent that sells it. */
export interface ListedSkill {
  skill: SkillFolder;
  agent: Address;
  createdAt: string;
}

/** No such skill, or one listed already. */
export class SkillStoreError extends CodedError {
  override name = 'SkillStoreError';
}

/**
 * Lists a skill folder, given as its files, for an agent this node runs, asked by `signer`, who
 * must be the agent's owner: the folder is checked as {@link parseSkillFiles} checks it (the same id
 * a reader of the folder computes), and a skill id is listed once. Its declared models must be
 * served here (`known`), the skills its workflow calls listed here, and — priced flat — its calls'
 * `maxPrice`s within what its price leaves after the largest protocol fee.
 *
 * @example
 * const listed = await listSkill(db, { name: 'summarise', files, agent, signer, known });
 */
export async function listSkill(db: Queryable, o: { name: string; files: readonly SkillFile[]; agent: Pick<Agent, 'name' | 'account' | 'owner'>; signer: Address; known: { model(name: string): Promise<boolean> } }): Promise<ListedSkill> {
  if (!isAddressEqual(o.agent.owner, o.signer)) throw new SkillStoreError('forbidden', `agent ${o.agent.name} belongs to ${o.agent.owner}, not to ${o.signer}`);
  const skill = parseSkillFiles(o.name, o.files);
  for (const m of skill.offer.models) if (!(await o.known.model(m))) throw new SkillStoreError('unknown_model', `the skill uses model ${m}, which this node does not serve`);
  for (const s of skill.workflow.steps) if (s.kind === 'call' && !(await getSkill(db, s.skill))) throw new SkillStoreError('unknown_skill', `the skill calls ${s.skill}, which is not listed here`);
  if (skill.offer.pricing === 'flat') {
    // a flat price pays its calls out of what the largest protocol fee leaves of it
    const free = skill.offer.price - protocolFeeOf(skill.offer.price, MAX_CALL_FEE_BPS);
    const calls = skill.workflow.steps.reduce((n, s) => n + (s.kind === 'call' ? s.maxPrice : 0n), 0n);
    if (calls > free) throw new SkillStoreError('over_budget', `the skill's calls may cost ${formatEther(calls)} OPEN; its price, ${formatEther(skill.offer.price)} OPEN, leaves ${formatEther(free)} OPEN after the largest protocol fee (${MAX_CALL_FEE_BPS / 100} %)`);
  }
  const files = o.files.map((f) => ({ path: f.path, base64: Buffer.from(f.bytes).toString('base64') }));
  const [row] = await db.query<{ created_at: Date }>('insert into skills (skill_id, name, agent, files) values ($1, $2, $3, $4) on conflict (skill_id) do nothing returning created_at', [skill.id, skill.name, o.agent.account, JSON.stringify(files)]);
  if (!row) throw new SkillStoreError('skill_exists', `skill ${skill.id} (${skill.name}) is listed already`);
  return { skill, agent: o.agent.account, createdAt: row.created_at.toISOString() };
}

/** A listed skill by id (null: not listed here). */
export async function getSkill(db: Queryable, id: Hex): Promise<ListedSkill | null> {
  const [row] = await db.query<SkillRow>('select * from skills where skill_id = lower($1)', [id]);
  return row ? listedOf(row) : null;
}

/** Listed skills, newest first; `agent` limits them to one agent's, `query` to names and descriptions containing it. */
export async function listSkills(db: Queryable, o: { agent?: Address; query?: string } = {}): Promise<ListedSkill[]> {
  const rows = await db.query<SkillRow>(`select * from skills ${o.agent ? 'where lower(agent) = lower($1)' : ''} order by created_at desc, skill_id`, o.agent ? [o.agent] : []);
  const all = rows.map(listedOf);
  const q = o.query?.toLowerCase();
  return q ? all.filter((l) => l.skill.name.includes(q) || l.skill.description.toLowerCase().includes(q)) : all;
}

interface SkillRow { skill_id: Hex; name: string; agent: Address; files: Array<{ path: string; base64: string }>; created_at: Date }

const listedOf = (r: SkillRow): ListedSkill => ({
  skill: parseSkillFiles(r.name, r.files.map((f) => ({ path: f.path, bytes: new Uint8Array(Buffer.from(f.base64, 'base64')) }))),
  agent: getAddress(r.agent),
  createdAt: r.created_at.toISOString(),
});
