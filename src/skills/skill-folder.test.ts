import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentSkill } from '@a2a-js/sdk';
import { ToolSchema } from '@modelcontextprotocol/sdk/types.js';
import { parseEther } from 'viem';
import { readSkillFolder, SkillFolderError } from './skill-folder.ts';
import { a2aSkill, mcpTool, MCP_META } from './skill-listings.ts';

const root = mkdtempSync(join(tmpdir(), 'openledger-skills-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A skill folder named `name` with `files` (SKILL.md's frontmatter from `front`, body after). */
function folder(name: string, front: string, files: Record<string, string> = {}): string {
  const dir = join(root, String(n++), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'SKILL.md'), `---\n${front}\n---\n# ${name}\n\nSummarise the trial in three lines.\n`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
const FRONT = [
  'name: summarise-trials',
  'description: Summarises a clinical trial report, citing the records it used.',
  'license: Apache-2.0',
  'allowed-tools: Read Grep',
  'metadata:',
  '  openledger-pricing: upto',
  '  openledger-price: "0.05"',
  '  openledger-models: trials-qa, med-lex',
  '  openledger-datanets: "1, 4"',
  '  openledger-data-royalty-bps: "1500"',
  `  openledger-derived-from: "0x${'ab'.repeat(32)}:500:0.001"`,
].join('\n');
const TOOL = JSON.stringify({ inputSchema: { type: 'object', properties: { report: { type: 'string' } }, required: ['report'] }, outputSchema: { type: 'object', properties: { summary: { type: 'string' } } } });
const refused = (pattern: RegExp) => (e: unknown) => e instanceof SkillFolderError && e.code === 'invalid_skill' && pattern.test(e.message);

test('a skill folder in the open format is read with our offer from its metadata, and named by the hash of its files', async () => {
  const dir = folder('summarise-trials', FRONT, { 'tool.json': TOOL, 'scripts/clean.py': 'print(1)\n' });
  const skill = await readSkillFolder(dir);
  assert.equal(skill.name, 'summarise-trials');
  assert.deepEqual(skill.allowedTools, ['Read', 'Grep']);
  assert.deepEqual(skill.files.map((f) => f.path), ['SKILL.md', 'scripts/clean.py', 'tool.json']);
  assert.match(skill.instructions, /^# summarise-trials/);
  assert.deepEqual(skill.offer, { pricing: 'upto', price: parseEther('0.05'), models: ['trials-qa', 'med-lex'], datanets: [1, 4], dataRoyaltyBps: 1500, derivedFrom: [{ skill: `0x${'ab'.repeat(32)}`, bps: 500, cap: parseEther('0.001') }] });
  // the id is the files' hash: the same files give the same id, one changed byte another
  assert.equal((await readSkillFolder(folder('summarise-trials', FRONT, { 'scripts/clean.py': 'print(1)\n', 'tool.json': TOOL }))).id, skill.id);
  assert.notEqual((await readSkillFolder(folder('summarise-trials', FRONT, { 'tool.json': TOOL, 'scripts/clean.py': 'print(2)\n' }))).id, skill.id);

  // the MCP tool validates against the MCP SDK's own schema; the A2A skill survives the A2A SDK's codec
  const tool = ToolSchema.parse(mcpTool(skill));
  assert.equal(tool.name, 'summarise-trials');
  assert.deepEqual(tool.inputSchema.required, ['report']);
  assert.equal(tool._meta?.[MCP_META.skill], skill.id);
  assert.equal((tool._meta?.[MCP_META.offer] as { price: string }).price, '0.05');
  const card = a2aSkill(skill);
  assert.deepEqual(AgentSkill.fromJSON(AgentSkill.toJSON(card)), card);
  assert.ok(card.tags.includes('model:trials-qa') && card.tags.includes('pricing:upto'));
});

test('what the format and the offer do not allow is refused, naming what is wrong', async () => {
  const cases: Array<[string, string, Record<string, string>, RegExp]> = [
    ['Bad-Name', 'name: Bad-Name\ndescription: x', {}, /lowercase letters, digits and single hyphens/],
    ['a--b', 'name: a--b\ndescription: x', {}, /single hyphens/],
    ['other', 'name: not-the-folder\ndescription: x', {}, /must be the folder's name/],
    ['no-description', 'name: no-description', {}, /needs a description/],
    ['long', `name: long\ndescription: ${'x'.repeat(1025)}`, {}, /description must be a string of 1 to 1024/],
    ['meta', 'name: meta\ndescription: x\nmetadata:\n  openledger-price: 5', {}, /metadata must map strings to strings/],
    ['pricing', 'name: pricing\ndescription: x\nmetadata:\n  openledger-pricing: free\n  openledger-price: "1"', {}, /openledger-pricing must be/],
    ['price', 'name: price\ndescription: x\nmetadata:\n  openledger-price: "-1"', {}, /openledger-price must be an amount of OPEN/],
    ['greedy', 'name: greedy\ndescription: x\nmetadata:\n  openledger-price: "1"\n  openledger-data-royalty-bps: "9000"\n  openledger-derived-from: "0x' + 'cd'.repeat(32) + ':2000:1"', {}, /more than the whole margin/],
    ['tool', 'name: tool\ndescription: x\nmetadata:\n  openledger-price: "1"', { 'tool.json': '{"inputSchema":{"type":"string"}}' }, /tool\.json must give an inputSchema/],
    ['yaml', 'name: [unclosed', {}, /frontmatter is not YAML/],
  ];
  for (const [name, front, files, pattern] of cases) await assert.rejects(readSkillFolder(folder(name, front, files)), refused(pattern), name);
  const noSkill = join(root, 'empty', 'empty');
  mkdirSync(noSkill, { recursive: true });
  await assert.rejects(readSkillFolder(noSkill), refused(/no SKILL\.md/));
  // a link out of the folder (to a secret on the seller's machine) is never read into the listing
  const linked = folder('linked', 'name: linked\ndescription: x\nmetadata:\n  openledger-price: "1"');
  symlinkSync('/etc/hostname', join(linked, 'secret.txt'));
  await assert.rejects(readSkillFolder(linked), refused(/secret\.txt is a link/));
});
