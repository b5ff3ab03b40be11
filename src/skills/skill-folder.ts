import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import canonicalize from 'canonicalize';
import { keccak256, parseEther, stringToBytes, type Hex } from 'viem';
import { parse as parseYaml } from 'yaml';
import { CodedError } from '../util/coded-error.ts';
import { parseWorkflow, type Workflow } from './skill-workflow.ts';

/**
 * What a skill's seller offers, from our keys under the SKILL.md `metadata` map (the open format
 * has no price, owner or models; its metadata is a map of strings, so every value is a string):
 *
 * | key | value |
 * | --- | --- |
 * | `openledger-pricing` | `flat` (per call), `per-1k-tokens` (of the answers it runs), or `upto` (metered, at most the price) |
 * | `openledger-price` | OPEN, decimal (`0.01`) |
 * | `openledger-models` | published models it runs, comma-separated |
 * | `openledger-datanets` | datanet ids behind them, comma-separated |
 * | `openledger-data-royalty-bps` | part of the margin paid to the data behind its answers (0–10000) |
 * | `openledger-derived-from` | upstream skills, comma-separated `<skill id>:<bps>:<cap in OPEN>` |
 */
export interface SkillOffer {
  pricing: 'flat' | 'per-1k-tokens' | 'upto';
  /** wei */
  price: bigint;
  models: string[];
  datanets: number[];
  dataRoyaltyBps: number;
  derivedFrom: Array<{ skill: Hex; bps: number; cap: bigint }>;
}

/** A skill folder in the open Agent Skills format, read and checked. */
export interface SkillFolder {
  /** keccak256 of the folder's canonical file list (each path with its size and keccak256): what the SkillRegistry lists. */
  id: Hex;
  name: string;
  description: string;
  license: string | null;
  compatibility: string | null;
  allowedTools: string[];
  metadata: Record<string, string>;
  /** SKILL.md's Markdown body. */
  instructions: string;
  files: Array<{ path: string; size: number; hash: Hex }>;
  offer: SkillOffer;
  /** What a call runs: `workflow.json`, or one prompt of the instructions to its first model. */
  workflow: Workflow;
  /** `tool.json`, when the folder has one: the MCP tool's JSON Schemas of its input and output. */
  tool: { inputSchema: Record<string, unknown>; outputSchema?: Record<string, unknown> } | null;
}

/** A skill folder that cannot be listed as it is; `code` names the fault. */
export class SkillFolderError extends CodedError {
  override name = 'SkillFolderError';
}

/** The most a skill folder may hold. */
export const SKILL_FOLDER_LIMITS = { files: 1000, bytes: 16 * 1024 * 1024 } as const;

const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const bad = (message: string) => new SkillFolderError('invalid_skill', message);

/**
 * Reads a skill folder: every file (no links, nothing outside the folder, within
 * {@link SKILL_FOLDER_LIMITS}), `SKILL.md`'s YAML frontmatter checked as the Agent Skills
 * specification says (name: 1–64 lowercase letters, digits and single hyphens, the folder's own
 * name; description: 1–1024 characters; compatibility: at most 500; metadata: strings to strings;
 * allowed-tools: space-separated), our offer read from its metadata ({@link SkillOffer}), and the
 * optional `tool.json`. Throws a {@link SkillFolderError} naming the first fault.
 *
 * @example
 * const skill = await readSkillFolder('skills/summarise-trials');
 */
export async function readSkillFolder(dir: string): Promise<SkillFolder> {
  const files: SkillFile[] = [];
  let total = 0;
  const walk = async (at: string): Promise<void> => {
    for (const entry of (await readdir(at, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(at, entry.name);
      const rel = relative(dir, path).split(sep).join('/');
      const stat = await lstat(path);
      if (stat.isSymbolicLink()) throw bad(`${rel} is a link: a skill folder holds its own files only`);
      if (stat.isDirectory()) {
        await walk(path);
        continue;
      }
      if (!stat.isFile()) throw bad(`${rel} is not a regular file`);
      total += stat.size;
      if (files.length + 1 > SKILL_FOLDER_LIMITS.files || total > SKILL_FOLDER_LIMITS.bytes) throw bad(`the folder holds more than ${SKILL_FOLDER_LIMITS.files} files or ${SKILL_FOLDER_LIMITS.bytes} bytes`);
      const bytes = new Uint8Array(await readFile(path));
      files.push({ path: rel, bytes });
    }
  };
  await walk(dir).catch((err: Error & { code?: string }) => {
    if (err instanceof SkillFolderError) throw err;
    throw bad(`cannot read the folder ${dir}: ${err.message}`);
  });
  return parseSkillFiles(basename(dir), files);
}

/** One file of a skill folder: its path inside the folder ('/'-separated) and its bytes. */
export interface SkillFile {
  path: string;
  bytes: Uint8Array;
}

const SAFE_PATH = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[^\0\\]{1,512}$/;

/**
 * Checks a skill folder given as its files (as a node receives one to list): the same checks and
 * result as {@link readSkillFolder}, with paths that stay inside the folder.
 *
 * @example
 * const skill = parseSkillFiles('summarise-trials', [{ path: 'SKILL.md', bytes }]);
 */
export function parseSkillFiles(folderName: string, given: readonly SkillFile[]): SkillFolder {
  let total = 0;
  const seen = new Set<string>();
  for (const f of given) {
    if (!SAFE_PATH.test(f.path) || seen.has(f.path)) throw bad(`"${f.path}" is not a path inside the folder, or is given twice`);
    seen.add(f.path);
    total += f.bytes.length;
  }
  if (given.length > SKILL_FOLDER_LIMITS.files || total > SKILL_FOLDER_LIMITS.bytes) throw bad(`the folder holds more than ${SKILL_FOLDER_LIMITS.files} files or ${SKILL_FOLDER_LIMITS.bytes} bytes`);
  const files = [...given].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => ({ ...f, size: f.bytes.length, hash: keccak256(f.bytes) }));
  const dir = folderName;
  const text = (path: string) => {
    const f = files.find((x) => x.path === path);
    return f && new TextDecoder('utf-8', { fatal: true }).decode(f.bytes);
  };
  const skillMd = text('SKILL.md');
  if (skillMd === undefined) throw bad('the folder has no SKILL.md');
  const m = /^---\r?\n([\s\S]*?)\r?\n---(?:\r?\n|$)([\s\S]*)$/.exec(skillMd);
  if (!m) throw bad('SKILL.md does not begin with YAML frontmatter between --- lines');
  let front: unknown;
  try {
    front = parseYaml(m[1]!, { maxAliasCount: 0 });
  } catch (err) {
    throw bad(`SKILL.md's frontmatter is not YAML: ${(err as Error).message}`);
  }
  if (typeof front !== 'object' || front === null || Array.isArray(front)) throw bad("SKILL.md's frontmatter is not a map");
  const f = front as Record<string, unknown>;
  const str = (key: string, max: number, required: boolean): string | null => {
    const v = f[key];
    if (v === undefined || v === null) {
      if (required) throw bad(`SKILL.md needs a ${key}`);
      return null;
    }
    if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(`${key} must be a string of 1 to ${max} characters`);
    return v;
  };
  const name = str('name', 64, true)!;
  if (!NAME.test(name)) throw bad(`name "${name}" must be lowercase letters, digits and single hyphens, not starting or ending with one`);
  if (name !== dir) throw bad(`name "${name}" must be the folder's name ("${dir}")`);
  const description = str('description', 1024, true)!;
  const license = str('license', 1024, false);
  const compatibility = str('compatibility', 500, false);
  const tools = str('allowed-tools', 4096, false);
  const metadata = f.metadata ?? {};
  if (typeof metadata !== 'object' || Array.isArray(metadata) || Object.values(metadata).some((v) => typeof v !== 'string')) throw bad('metadata must map strings to strings');
  const meta = metadata as Record<string, string>;
  let tool: SkillFolder['tool'] = null;
  const toolJson = text('tool.json');
  if (toolJson !== undefined) {
    let t: unknown;
    try {
      t = JSON.parse(toolJson);
    } catch {
      throw bad('tool.json is not JSON');
    }
    const o = t as { inputSchema?: unknown; outputSchema?: unknown };
    const schema = (s: unknown) => typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'object';
    if (!schema(o.inputSchema) || (o.outputSchema !== undefined && !schema(o.outputSchema))) throw bad('tool.json must give an inputSchema (and may give an outputSchema), each a JSON Schema of type "object"');
    tool = { inputSchema: o.inputSchema as Record<string, unknown>, ...(o.outputSchema ? { outputSchema: o.outputSchema as Record<string, unknown> } : {}) };
  }
  const listing = files.map(({ path, size, hash }) => ({ path, size, hash }));
  const instructions = m[2]!.trim();
  const offer = readOffer(meta);
  let workflow: Workflow;
  try {
    workflow = parseWorkflow(text('workflow.json') ?? null, { instructions, models: offer.models });
  } catch (err) {
    throw bad((err as Error).message);
  }
  return {
    id: keccak256(stringToBytes(canonicalize(listing)!)),
    name, description, license, compatibility, allowedTools: tools ? tools.split(/\s+/).filter(Boolean) : [],
    metadata: meta, instructions, files: listing, offer, workflow, tool,
  };
}

/** Our offer from a SKILL.md metadata map (see {@link SkillOffer}). */
function readOffer(meta: Record<string, string>): SkillOffer {
  const pricing = meta['openledger-pricing'] ?? 'flat';
  if (pricing !== 'flat' && pricing !== 'per-1k-tokens' && pricing !== 'upto') throw bad(`openledger-pricing must be flat, per-1k-tokens or upto, not "${pricing}"`);
  const open = (key: string, v: string | undefined) => {
    if (v === undefined || !/^\d+(\.\d{1,18})?$/.test(v.trim())) throw bad(`${key} must be an amount of OPEN ("0.01"), not ${JSON.stringify(v)}`);
    return parseEther(v.trim());
  };
  const list = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const bps = (key: string, v: string | undefined) => {
    const n = Number(v ?? '0');
    if (!Number.isInteger(n) || n < 0 || n > 10_000) throw bad(`${key} must be basis points, 0 to 10000, not ${JSON.stringify(v)}`);
    return n;
  };
  const datanets = list(meta['openledger-datanets']).map((d) => {
    if (!/^\d+$/.test(d)) throw bad(`openledger-datanets must list datanet ids, not "${d}"`);
    return Number(d);
  });
  const derivedFrom = list(meta['openledger-derived-from']).map((entry) => {
    const [skill, b, cap] = entry.split(':');
    if (!skill || !/^0x[0-9a-fA-F]{64}$/.test(skill)) throw bad(`openledger-derived-from entries are <skill id>:<bps>:<cap in OPEN>, not "${entry}"`);
    return { skill: skill.toLowerCase() as Hex, bps: bps('openledger-derived-from bps', b), cap: open('openledger-derived-from cap', cap) };
  });
  const dataRoyaltyBps = bps('openledger-data-royalty-bps', meta['openledger-data-royalty-bps']);
  if (dataRoyaltyBps + derivedFrom.reduce((s, d) => s + d.bps, 0) > 10_000) throw bad('the data royalty and the upstream royalties give away more than the whole margin');
  return { pricing, price: open('openledger-price', meta['openledger-price']), models: list(meta['openledger-models']), datanets, dataRoyaltyBps, derivedFrom };
}
