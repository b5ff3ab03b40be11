import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { encodeDeployData, encodeFunctionData, getContract, keccak256, parseEther, toBytes, zeroAddress, type Abi, type Address, type Hex } from 'viem';
import {
  agentAccountAbi,
  agentAccountBytecode,
  agentRegistryAbi,
  agentRegistryBytecode,
  openTokenAbi,
  skillRegistryAbi,
  skillRegistryBytecode,
} from './generated/index.ts';
import { protocolAbis } from './protocol.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

// Agents list skills with a bond in OPEN; the bond unbonds after delisting and is paid to whoever
// owns the agent then; only SLASHER_ROLE slashes it. Accounts: 0 deployer/treasury/admin, 1 Alice
// (owns agent 1), 2 Bob (owns agent 2, later buys agent 1), 3 a stranger, 4 a slasher, 5 where
// slashed bonds go.
const ALICE = 1;
const BOB = 2;
const STRANGER = 3;
const SLASHER = 4;
const SINK = 5;
const SLASHER_ROLE = keccak256(toBytes('SLASHER_ROLE'));
const SKILL: Hex = keccak256(toBytes('skills/summarise: SKILL.md 412 0x…'));
const TERMS: Hex = keccak256(toBytes('flat 0.5 OPEN, royalty 10 %'));

let t: TestProtocol;
let restore: () => Promise<void>;
let minimum: bigint;
let delay: bigint;

const addr = (i: number): Address => t.accounts[i]!.address;
const balance = async (a: Address) => (await t.as(0)).openToken.read.balanceOf([a]);

async function now(): Promise<bigint> {
  return (await (await t.clients(0)).publicClient.getBlock()).timestamp;
}

/** `i` approves the registry for `bond` and lists `skillId` for `agentId`. */
async function list(i: number, agentId: bigint, skillId: Hex = SKILL, bond = minimum): Promise<Hex> {
  const p = await t.as(i);
  await t.mined(p.openToken.write.approve([t.addresses.skillRegistry, bond]));
  return p.skillRegistry.write.list([agentId, skillId, TERMS, 'ipfs://skill-folder', bond]);
}

before(async () => {
  t = await startTestProtocol();
  minimum = t.params.minimumListingBond;
  delay = t.params.listingUnbondingDelay;
  const treasury = await t.as(0);
  for (const i of [ALICE, BOB, STRANGER]) await t.mined(treasury.openToken.write.transfer([addr(i), parseEther('1000')]));
  await t.mined((await t.as(ALICE)).agentRegistry.write.register(['ipfs://alice-agent']));
  await t.mined((await t.as(BOB)).agentRegistry.write.register(['ipfs://bob-agent']));
  await t.mined(treasury.skillRegistry.write.grantRole([SLASHER_ROLE, addr(SLASHER)]));
  restore = await t.checkpoint();
});

after(async () => {
  await t?.stop();
});

afterEach(async () => {
  await restore();
});

test("the agent's owner lists a skill with a bond: the bond moves to the registry and the listing reads back", async () => {
  const before = await balance(addr(ALICE));
  await t.mined(list(ALICE, 1n, SKILL, minimum + 5n));
  assert.equal(await balance(addr(ALICE)), before - minimum - 5n);
  assert.equal(await balance(t.addresses.skillRegistry), minimum + 5n);
  const skills = (await t.as(0)).skillRegistry;
  const s = await skills.read.getSkill([SKILL]);
  assert.deepEqual(
    { agentId: s.agentId, termsHash: s.termsHash, uri: s.uri, bond: s.bond, delistedAt: s.delistedAt, bondUnlocksAt: s.bondUnlocksAt, active: s.active },
    { agentId: 1n, termsHash: TERMS, uri: 'ipfs://skill-folder', bond: minimum + 5n, delistedAt: 0n, bondUnlocksAt: 0n, active: true },
  );
  assert.equal(s.listedAt, await now());
  assert.equal(await skills.read.totalBonded(), minimum + 5n);
  await expectRevert(skills.read.getSkill([keccak256(toBytes('never listed'))]), 'SkillRegistryUnknownSkill');
});

test('listing is refused to a non-owner, twice for one skill id (by any agent), below the minimum bond, for an unknown agent, and without a skill id or terms', async () => {
  await expectRevert(list(STRANGER, 1n), 'SkillRegistryNotAgentOwner', [1n, addr(STRANGER)]);
  await expectRevert(list(BOB, 1n), 'SkillRegistryNotAgentOwner', [1n, addr(BOB)]);
  await expectRevert(list(ALICE, 1n, SKILL, minimum - 1n), 'SkillRegistryBondBelowMinimum', [minimum - 1n, minimum]);
  await expectRevert(list(ALICE, 9n), 'ERC721NonexistentToken', [9n]);
  const alice = (await t.as(ALICE)).skillRegistry;
  await expectRevert(alice.write.list([1n, `0x${'00'.repeat(32)}`, TERMS, '', minimum]), 'SkillRegistryInvalidSkill');
  await expectRevert(alice.write.list([1n, SKILL, `0x${'00'.repeat(32)}`, '', minimum]), 'SkillRegistryInvalidSkill');
  await expectRevert(alice.write.list([1n, SKILL, TERMS, 'x'.repeat(513), minimum]), 'SkillRegistryInvalidURI');
  await t.mined(list(ALICE, 1n));
  await expectRevert(list(ALICE, 1n), 'SkillRegistryAlreadyListed', [SKILL, 1n]);
  await expectRevert(list(BOB, 2n), 'SkillRegistryAlreadyListed', [SKILL, 1n]);
  // even once delisted and withdrawn, the id stays the first agent's
  await t.mined(alice.write.delist([SKILL]));
  await t.increaseTime(delay);
  await t.mined(alice.write.withdrawBond([SKILL]));
  await expectRevert(list(BOB, 2n), 'SkillRegistryAlreadyListed', [SKILL, 1n]);
});

test("an approved address and the agent's own wallet may list for it", async () => {
  const alice = await t.as(ALICE);
  await t.mined(alice.agentRegistry.write.approve([addr(STRANGER), 1n]));
  await t.mined(list(STRANGER, 1n));
  assert.equal((await alice.skillRegistry.read.getSkill([SKILL])).agentId, 1n);
  // the wallet bonds its own OPEN: Alice makes it approve and list
  const wallet = await alice.agentRegistry.read.getAgentWallet([1n]);
  await t.mined(alice.openToken.write.transfer([wallet, minimum]));
  const c = await t.clients(ALICE);
  const account = getContract({ address: wallet, abi: protocolAbis.agentAccountImplementation, client: { public: c.publicClient, wallet: c.walletClient } });
  const other = keccak256(toBytes('another skill'));
  await t.mined(account.write.execute([t.addresses.openToken, 0n, encodeFunctionData({ abi: openTokenAbi, functionName: 'approve', args: [t.addresses.skillRegistry, minimum] }), 0]));
  await t.mined(account.write.execute([t.addresses.skillRegistry, 0n, encodeFunctionData({ abi: skillRegistryAbi, functionName: 'list', args: [1n, other, TERMS, '', minimum] }), 0]));
  assert.equal(await balance(wallet), 0n);
  assert.equal((await alice.skillRegistry.read.getSkill([other])).bond, minimum);
});

test("the terms change only by the agent's owner, and only while listed", async () => {
  await t.mined(list(ALICE, 1n));
  const alice = (await t.as(ALICE)).skillRegistry;
  const newTerms = keccak256(toBytes('flat 0.7 OPEN'));
  await expectRevert((await t.as(STRANGER)).skillRegistry.write.updateTerms([SKILL, newTerms, 'ipfs://v2']), 'SkillRegistryNotAgentOwner', [1n, addr(STRANGER)]);
  await t.mined(alice.write.updateTerms([SKILL, newTerms, 'ipfs://v2']));
  const s = await alice.read.getSkill([SKILL]);
  assert.deepEqual([s.termsHash, s.uri], [newTerms, 'ipfs://v2']);
  await expectRevert((await t.as(STRANGER)).skillRegistry.write.delist([SKILL]), 'SkillRegistryNotAgentOwner', [1n, addr(STRANGER)]);
  await t.mined(alice.write.delist([SKILL]));
  await expectRevert(alice.write.updateTerms([SKILL, TERMS, '']), 'SkillRegistryNotListed', [SKILL]);
  await expectRevert(alice.write.delist([SKILL]), 'SkillRegistryNotListed', [SKILL]);
});

test('delist, then withdraw only after the unbonding delay, paid to whoever owns the agent then; a withdrawal while listed, too early, by the old owner or twice is refused', async () => {
  await t.mined(list(ALICE, 1n));
  const alice = await t.as(ALICE);
  await expectRevert(alice.skillRegistry.write.withdrawBond([SKILL]), 'SkillRegistryStillListed', [SKILL]);
  await t.mined(alice.skillRegistry.write.delist([SKILL]));
  const unlocksAt = (await now()) + delay;
  const s = await alice.skillRegistry.read.getSkill([SKILL]);
  assert.deepEqual([s.active, s.delistedAt, s.bondUnlocksAt], [false, await now(), unlocksAt]);
  await expectRevert(alice.skillRegistry.write.withdrawBond([SKILL]), 'SkillRegistryBondLocked', [SKILL, unlocksAt]);
  // the agent is sold while its bond unbonds: the bond follows the agent
  await t.mined(alice.agentRegistry.write.transferFrom([addr(ALICE), addr(BOB), 1n]));
  await t.increaseTime(delay);
  await expectRevert(alice.skillRegistry.write.withdrawBond([SKILL]), 'SkillRegistryNotAgentOwner', [1n, addr(ALICE)]);
  const [aliceBefore, bobBefore] = [await balance(addr(ALICE)), await balance(addr(BOB))];
  const bob = (await t.as(BOB)).skillRegistry;
  await t.mined(bob.write.withdrawBond([SKILL]));
  assert.equal(await balance(addr(BOB)), bobBefore + minimum);
  assert.equal(await balance(addr(ALICE)), aliceBefore);
  assert.equal((await bob.read.getSkill([SKILL])).bond, 0n);
  assert.equal(await bob.read.totalBonded(), 0n);
  await expectRevert(bob.write.withdrawBond([SKILL]), 'SkillRegistryNoBond', [SKILL]);
});

test('a bond is slashed only by SLASHER_ROLE, listed or unbonding, never beyond what is bonded', async () => {
  await t.mined(list(ALICE, 1n, SKILL, parseEther('30')));
  await expectRevert((await t.as(STRANGER)).skillRegistry.write.slashBond([SKILL, 1n, addr(STRANGER)]), 'AccessControlUnauthorizedAccount', [addr(STRANGER), SLASHER_ROLE]);
  await expectRevert((await t.as(ALICE)).skillRegistry.write.slashBond([SKILL, 1n, addr(ALICE)]), 'AccessControlUnauthorizedAccount', [addr(ALICE), SLASHER_ROLE]);
  const slasher = (await t.as(SLASHER)).skillRegistry;
  await expectRevert(slasher.write.slashBond([SKILL, parseEther('31'), addr(SINK)]), 'SkillRegistryInvalidSlashAmount', [parseEther('31'), parseEther('30')]);
  await expectRevert(slasher.write.slashBond([SKILL, 0n, addr(SINK)]), 'SkillRegistryInvalidSlashAmount', [0n, parseEther('30')]);
  await expectRevert(slasher.write.slashBond([SKILL, 1n, zeroAddress]), 'SkillRegistryInvalidSlashDestination', [zeroAddress]);
  await t.mined(slasher.write.slashBond([SKILL, parseEther('10'), addr(SINK)]));
  assert.equal(await balance(addr(SINK)), parseEther('10'));
  // while unbonding, too: the delay is there so a late slash still lands
  await t.mined((await t.as(ALICE)).skillRegistry.write.delist([SKILL]));
  await t.mined(slasher.write.slashBond([SKILL, parseEther('15'), addr(SINK)]));
  assert.equal(await balance(addr(SINK)), parseEther('25'));
  await t.increaseTime(delay);
  const before = await balance(addr(ALICE));
  await t.mined((await t.as(ALICE)).skillRegistry.write.withdrawBond([SKILL]));
  assert.equal(await balance(addr(ALICE)), before + parseEther('5'), 'what the slashes left');
  assert.equal(await balance(t.addresses.skillRegistry), 0n);
  // the deployment lets the settlement contract slash
  assert.equal(await slasher.read.hasRole([SLASHER_ROLE, t.addresses.attributionSettlement]), true);
});

test('the minimum bond and the unbonding delay are set by the admin only, and apply to later listings and delistings', async () => {
  const admin = (await t.as(0)).skillRegistry;
  await expectRevert((await t.as(STRANGER)).skillRegistry.write.setMinimumListingBond([0n]), 'AccessControlUnauthorizedAccount');
  await expectRevert((await t.as(STRANGER)).skillRegistry.write.setUnbondingDelay([0n]), 'AccessControlUnauthorizedAccount');
  await t.mined(list(ALICE, 1n));
  await t.mined(admin.write.setMinimumListingBond([minimum * 2n]));
  await t.mined(admin.write.setUnbondingDelay([5n]));
  assert.equal((await admin.read.getSkill([SKILL])).bond, minimum, 'a listing keeps its bond');
  await expectRevert(list(BOB, 2n, keccak256(toBytes('b'))), 'SkillRegistryBondBelowMinimum', [minimum, minimum * 2n]);
  await t.mined((await t.as(ALICE)).skillRegistry.write.delist([SKILL]));
  assert.equal((await admin.read.getSkill([SKILL])).bondUnlocksAt, (await now()) + 5n);
});

test('each zero address given to the constructors of the agent contracts is refused with its own error', async () => {
  const { publicClient } = await t.clients(1);
  const deploy = (abi: Abi, bytecode: Hex, args: readonly unknown[]) => publicClient.call({ data: encodeDeployData({ abi, bytecode, args } as never) });
  const a = t.addresses;
  const admin = addr(0);
  const skills = (token: Address, agents: Address, owner: Address) => deploy(skillRegistryAbi, skillRegistryBytecode, [token, agents, owner, 1n, 1n]);
  await expectRevert(skills(zeroAddress, a.agentRegistry, admin), 'SkillRegistryInvalidToken', [zeroAddress]);
  await expectRevert(skills(a.openToken, zeroAddress, admin), 'SkillRegistryInvalidAgentRegistry', [zeroAddress]);
  await expectRevert(skills(a.openToken, a.agentRegistry, zeroAddress), 'SkillRegistryInvalidAdmin', [zeroAddress]);
  await skills(a.openToken, a.agentRegistry, admin);
  await expectRevert(deploy(agentRegistryAbi, agentRegistryBytecode, [zeroAddress, a.agentAccountImplementation]), 'AgentRegistryInvalidERC6551Registry', [zeroAddress]);
  await expectRevert(deploy(agentRegistryAbi, agentRegistryBytecode, [a.erc6551Registry, admin]), 'AgentRegistryInvalidAccountImplementation', [admin]);
  await expectRevert(deploy(agentAccountAbi, agentAccountBytecode, [zeroAddress]), 'AgentAccountInvalidToken', [zeroAddress]);
});
