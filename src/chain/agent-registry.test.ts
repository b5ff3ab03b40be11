import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import {
  encodeFunctionData,
  getContract,
  keccak256,
  parseEther,
  toBytes,
  toHex,
  zeroAddress,
  type Address,
  type Hex,
} from 'viem';
import { tokenBoundAccountAddress, tokenBoundAccountCode } from './erc6551.ts';
import { openTokenAbi } from './generated/index.ts';
import { protocolAbis } from './protocol.ts';
import { signSpendAuthorization, verifySpendAuthorization, type SpendAuthorization } from './spend-authorization.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

// An agent is an ERC-8004 identity (an ERC-721 token) whose wallet is its ERC-6551 account; the
// holder of the token controls the account and grants it session keys that may spend OPEN within
// limits enforced on chain, and sign for it. Accounts: 0 deployer/treasury/escrow admin, 1 Alice
// (registers the agent), 2 Bob (buys it), 3 a stranger, 4 an allowed payee, 5 and 6 session keys,
// 7 a payee no key may pay, 8 an operator drawing from the escrow.
const ALICE = 1;
const BOB = 2;
const STRANGER = 3;
const PAYEE = 4;
const KEY = 5;
const OTHER_KEY = 6;
const NOT_ALLOWED = 7;
const OPERATOR = 8;
const MAGIC_1271 = '0x1626ba7e';
const INVALID_1271 = '0xffffffff';
const FUNDED = parseEther('1000');

let t: TestProtocol;
let restore: () => Promise<void>;
let agentId: bigint;
let wallet: Address;

const addr = (i: number): Address => t.accounts[i]!.address;

/** The agent's account, as signed by dev account `i`. */
async function accountAs(i: number) {
  const c = await t.clients(i);
  return getContract({ address: wallet, abi: protocolAbis.agentAccountImplementation, client: { public: c.publicClient, wallet: c.walletClient } });
}

async function now(): Promise<bigint> {
  return (await (await t.clients(0)).publicClient.getBlock()).timestamp;
}

const transfer = (to: Address, amount: bigint) => encodeFunctionData({ abi: openTokenAbi, functionName: 'transfer', args: [to, amount] });
const approve = (to: Address, amount: bigint) => encodeFunctionData({ abi: openTokenAbi, functionName: 'approve', args: [to, amount] });

interface Limits {
  perCallCap: bigint;
  periodCap: bigint;
  periodSeconds: bigint;
  expiry: bigint;
  canSign: boolean;
  allowedTargets: Address[];
}

/** The limits the tests grant: 10 OPEN a call, 25 OPEN an hour, an hour's life, Alice's payee only. */
async function limits(overrides: Partial<Limits> = {}): Promise<Limits> {
  return { perCallCap: parseEther('10'), periodCap: parseEther('25'), periodSeconds: 3600n, expiry: (await now()) + 7n * 86_400n, canSign: true, allowedTargets: [addr(PAYEE)], ...overrides };
}

async function grant(holder: number, key: number, overrides: Partial<Limits> = {}): Promise<void> {
  await t.mined((await accountAs(holder)).write.grantSessionKey([addr(key), await limits(overrides)]));
}

/** Session key `key` asks the account to transfer `amount` OPEN to `payee`. */
async function spend(key: number, payee: Address, amount: bigint): Promise<Hex> {
  return (await accountAs(key)).write.executeAsSession([t.addresses.openToken, 0n, transfer(payee, amount)]);
}

const balance = async (a: Address) => (await t.as(0)).openToken.read.balanceOf([a]);

before(async () => {
  t = await startTestProtocol();
  const alice = await t.as(ALICE);
  await t.mined(alice.agentRegistry.write.register(['ipfs://agent-card', [{ metadataKey: 'agentName', metadataValue: toHex('summariser.eth') }]]));
  agentId = await alice.agentRegistry.read.agentCount();
  wallet = await alice.agentRegistry.read.getAgentWallet([agentId]);
  await t.mined((await t.as(0)).openToken.write.transfer([wallet, FUNDED]));
  restore = await t.checkpoint();
});

after(async () => {
  await t?.stop();
});

afterEach(async () => {
  await restore();
});

test('an agent registers with its URI and metadata; ids start at 1; its wallet is the ERC-6551 account at the address the registry computes, bound to its token', async () => {
  const alice = await t.as(ALICE);
  const chainId = (await t.clients(0)).chain.id;
  assert.equal(agentId, 1n);
  assert.equal(await alice.agentRegistry.read.ownerOf([agentId]), addr(ALICE));
  assert.equal(await alice.agentRegistry.read.tokenURI([agentId]), 'ipfs://agent-card');
  assert.equal(await alice.agentRegistry.read.getMetadata([agentId, 'agentName']), toHex('summariser.eth'));
  assert.equal(await alice.agentRegistry.read.getMetadata([agentId, 'unset']), '0x');

  const a = { registry: t.addresses.erc6551Registry, implementation: t.addresses.agentAccountImplementation, chainId, tokenContract: t.addresses.agentRegistry, tokenId: agentId };
  assert.equal(wallet, tokenBoundAccountAddress(a), 'EIP-6551 CREATE2 of the proxy with its footer, salt 0');
  assert.equal(wallet, await alice.erc6551Registry.read.account([a.implementation, `0x${'00'.repeat(32)}`, BigInt(chainId), a.tokenContract, agentId]));
  assert.equal(await (await t.clients(0)).publicClient.getCode({ address: wallet }), tokenBoundAccountCode(a));
  assert.equal((await alice.agentRegistry.read.getMetadata([agentId, 'agentWallet'])).toLowerCase(), wallet.toLowerCase(), 'ERC-8004 agentWallet reads the account');
  assert.equal(await alice.agentRegistry.read.agentOfWallet([wallet]), agentId);

  const account = await accountAs(ALICE);
  assert.deepEqual(await account.read.token(), [BigInt(chainId), t.addresses.agentRegistry, agentId]);
  assert.equal(await account.read.owner(), addr(ALICE));
  assert.equal(await account.read.isValidSigner([addr(ALICE), '0x']), '0x523e3260');
  assert.equal(await account.read.isValidSigner([addr(STRANGER), '0x']), '0x00000000');
  for (const id of ['0x6faff5f1', '0x51945447', MAGIC_1271, '0x01ffc9a7'] as const) assert.equal(await account.read.supportsInterface([id]), true, id);

  // a second agent gets the next id and its own account; creating an account twice changes nothing
  const bob = await t.as(BOB);
  const receipt = await t.mined(bob.agentRegistry.write.register(['ipfs://second']));
  assert.equal(await bob.agentRegistry.read.agentCount(), 2n);
  const second = await bob.agentRegistry.read.getAgentWallet([2n]);
  assert.notEqual(second, wallet);
  assert.ok(receipt.logs.some((l) => l.address.toLowerCase() === t.addresses.erc6551Registry.toLowerCase()), 'ERC6551AccountCreated');
  await t.mined(bob.erc6551Registry.write.createAccount([a.implementation, `0x${'00'.repeat(32)}`, BigInt(chainId), a.tokenContract, 2n]));
  assert.equal(await bob.agentRegistry.read.getAgentWallet([2n]), second);
  await expectRevert(bob.agentRegistry.read.getAgentWallet([3n]), 'ERC721NonexistentToken', [3n]);
});

test('the URI and metadata change only by the owner or an approved address; a stranger is refused, and the agentWallet key is reserved', async () => {
  const alice = await t.as(ALICE);
  const stranger = await t.as(STRANGER);
  await expectRevert(stranger.agentRegistry.write.setAgentURI([agentId, 'ipfs://hijacked']), 'AgentRegistryNotAuthorized', [agentId, addr(STRANGER)]);
  await expectRevert(stranger.agentRegistry.write.setMetadata([agentId, 'agentName', '0x01']), 'AgentRegistryNotAuthorized', [agentId, addr(STRANGER)]);
  await expectRevert(alice.agentRegistry.write.setMetadata([agentId, 'agentWallet', addr(ALICE)]), 'AgentRegistryReservedMetadataKey', ['agentWallet']);
  await expectRevert(alice.agentRegistry.write.register(['x', [{ metadataKey: 'agentWallet', metadataValue: addr(ALICE) }]]), 'AgentRegistryReservedMetadataKey', ['agentWallet']);
  await t.mined(alice.agentRegistry.write.setAgentURI([agentId, 'ipfs://v2']));
  assert.equal(await alice.agentRegistry.read.tokenURI([agentId]), 'ipfs://v2');
  await t.mined(alice.agentRegistry.write.approve([addr(STRANGER), agentId]));
  await t.mined(stranger.agentRegistry.write.setMetadata([agentId, 'agentName', '0x02']));
  assert.equal(await alice.agentRegistry.read.getMetadata([agentId, 'agentName']), '0x02');
});

test('the owner executes from the account; a stranger, and an operation other than CALL, are refused; a failed call reverts with its reason', async () => {
  const account = await accountAs(ALICE);
  await t.mined(account.write.execute([t.addresses.openToken, 0n, transfer(addr(PAYEE), parseEther('100')), 0]));
  assert.equal(await balance(addr(PAYEE)), parseEther('100'));
  assert.equal(await balance(wallet), FUNDED - parseEther('100'));
  await expectRevert((await accountAs(STRANGER)).write.execute([t.addresses.openToken, 0n, transfer(addr(STRANGER), 1n), 0]), 'AgentAccountNotOwner', [addr(STRANGER)]);
  await expectRevert(account.write.execute([t.addresses.openToken, 0n, transfer(addr(PAYEE), 1n), 1]), 'AgentAccountUnsupportedOperation', [1]);
  await expectRevert(account.write.execute([t.addresses.openToken, 0n, transfer(addr(PAYEE), FUNDED), 0]), 'ERC20InsufficientBalance');
  // a session key cannot execute arbitrary calls
  await grant(ALICE, KEY);
  await expectRevert((await accountAs(KEY)).write.execute([t.addresses.openToken, 0n, transfer(addr(KEY), 1n), 0]), 'AgentAccountNotOwner', [addr(KEY)]);
});

test('a session key spends OPEN within its caps; over the per-call cap, over the period cap and to a payee not allowed it is refused; a new window spends again', async () => {
  await grant(ALICE, KEY);
  await t.mined(spend(KEY, addr(PAYEE), parseEther('10')));
  await t.mined(spend(KEY, addr(PAYEE), parseEther('10')));
  assert.equal(await balance(addr(PAYEE)), parseEther('20'));
  await expectRevert(spend(KEY, addr(PAYEE), parseEther('11')), 'AgentAccountPerCallCapExceeded', [parseEther('11'), parseEther('10')]);
  await expectRevert(spend(KEY, addr(PAYEE), parseEther('6')), 'AgentAccountPeriodCapExceeded', [parseEther('20'), parseEther('6'), parseEther('25')]);
  await expectRevert(spend(KEY, addr(NOT_ALLOWED), parseEther('1')), 'AgentAccountPayeeNotAllowed', [addr(KEY), addr(NOT_ALLOWED)]);
  await expectRevert(spend(KEY, addr(PAYEE), 0n), 'AgentAccountSessionZeroAmount', [addr(KEY)]);
  await t.mined(spend(KEY, addr(PAYEE), parseEther('5')));
  const record = await (await accountAs(KEY)).read.sessionKey([addr(KEY)]);
  assert.equal(record.spentInWindow, parseEther('25'));
  // an approve counts like a transfer
  await expectRevert((await accountAs(KEY)).write.executeAsSession([t.addresses.openToken, 0n, approve(addr(PAYEE), 1n)]), 'AgentAccountPeriodCapExceeded');
  await t.increaseTime(3600);
  await t.mined((await accountAs(KEY)).write.executeAsSession([t.addresses.openToken, 0n, approve(addr(PAYEE), parseEther('10'))]));
  assert.equal(await (await t.as(0)).openToken.read.allowance([wallet, addr(PAYEE)]), parseEther('10'));
  await t.mined(spend(KEY, addr(PAYEE), parseEther('10')));
  await expectRevert(spend(KEY, addr(PAYEE), parseEther('10')), 'AgentAccountPeriodCapExceeded', [parseEther('20'), parseEther('10'), parseEther('25')]);
  // an empty payee list lets a key pay anyone; a lifetime cap (no period) never refills
  await grant(ALICE, OTHER_KEY, { allowedTargets: [], periodSeconds: 0n, periodCap: parseEther('15') });
  await t.mined(spend(OTHER_KEY, addr(NOT_ALLOWED), parseEther('10')));
  await t.increaseTime(3000);
  await expectRevert(spend(OTHER_KEY, addr(NOT_ALLOWED), parseEther('6')), 'AgentAccountPeriodCapExceeded', [parseEther('10'), parseEther('6'), parseEther('15')]);
});

test('a session key may only transfer or approve OPEN: another contract, another function, ether, or a key never granted is refused', async () => {
  await grant(ALICE, KEY, { allowedTargets: [] });
  const key = await accountAs(KEY);
  const transferFrom = encodeFunctionData({ abi: openTokenAbi, functionName: 'transferFrom', args: [addr(ALICE), addr(KEY), 1n] });
  await expectRevert(key.write.executeAsSession([t.addresses.inferenceEscrow, 0n, transfer(addr(KEY), 1n)]), 'AgentAccountSessionCallNotAllowed', [t.addresses.inferenceEscrow, 0n, transfer(addr(KEY), 1n).slice(0, 10)]);
  await expectRevert(key.write.executeAsSession([t.addresses.openToken, 0n, transferFrom]), 'AgentAccountSessionCallNotAllowed', [t.addresses.openToken, 0n, transferFrom.slice(0, 10)]);
  await expectRevert(key.write.executeAsSession([t.addresses.openToken, 1n, transfer(addr(KEY), 1n)]), 'AgentAccountSessionCallNotAllowed');
  await expectRevert(key.write.executeAsSession([t.addresses.openToken, 0n, '0x']), 'AgentAccountSessionCallNotAllowed', [t.addresses.openToken, 0n, '0x00000000']);
  await expectRevert(spend(OTHER_KEY, addr(PAYEE), 1n), 'AgentAccountUnknownSessionKey', [addr(OTHER_KEY)]);
  // and only the holder grants
  await expectRevert((await accountAs(STRANGER)).write.grantSessionKey([addr(STRANGER), await limits()]), 'AgentAccountNotOwner', [addr(STRANGER)]);
  await expectRevert((await accountAs(ALICE)).write.grantSessionKey([zeroAddress, await limits()]), 'AgentAccountInvalidSessionKey', [zeroAddress]);
  await expectRevert((await accountAs(ALICE)).write.grantSessionKey([addr(OTHER_KEY), await limits({ expiry: await now() })]), 'AgentAccountInvalidExpiry');
  await expectRevert((await accountAs(ALICE)).write.grantSessionKey([addr(OTHER_KEY), await limits({ allowedTargets: Array.from({ length: 17 }, () => addr(PAYEE)) })]), 'AgentAccountTooManyTargets', [17n, 16n]);
});

test('a session key is refused after its expiry, while the account is paused, and after it is revoked', async () => {
  const expiry = (await now()) + 600n;
  await grant(ALICE, KEY, { expiry });
  await grant(ALICE, OTHER_KEY);
  const account = await accountAs(ALICE);
  // paused: every key stops, and starts again when unpaused
  await t.mined(account.write.setPaused([true]));
  await expectRevert(spend(KEY, addr(PAYEE), 1n), 'AgentAccountPaused');
  await expectRevert(spend(OTHER_KEY, addr(PAYEE), 1n), 'AgentAccountPaused');
  await expectRevert((await accountAs(KEY)).write.setPaused([false]), 'AgentAccountNotOwner', [addr(KEY)]);
  await t.mined(account.write.setPaused([false]));
  await t.mined(spend(KEY, addr(PAYEE), 1n));
  // revoked: by the holder (or the key itself)
  await t.mined(account.write.revokeSessionKey([addr(OTHER_KEY)]));
  await expectRevert(spend(OTHER_KEY, addr(PAYEE), 1n), 'AgentAccountSessionKeyRevoked', [addr(OTHER_KEY)]);
  await expectRevert((await accountAs(STRANGER)).write.revokeSessionKey([addr(KEY)]), 'AgentAccountNotOwner', [addr(STRANGER)]);
  // expired
  await t.increaseTime(601);
  await expectRevert(spend(KEY, addr(PAYEE), 1n), 'AgentAccountSessionKeyExpired', [addr(KEY), expiry]);
  assert.equal(await account.read.isSessionKeyActive([addr(KEY)]), false);
});

test('transferring the agent: the new owner controls the account, every old session key is refused, and when it comes back the keys granted before stay void', async () => {
  await grant(ALICE, KEY);
  await grant(ALICE, OTHER_KEY, { allowedTargets: [] });
  const alice = await t.as(ALICE);
  const stateBefore = await (await accountAs(ALICE)).read.state();
  await t.mined(alice.agentRegistry.write.transferFrom([addr(ALICE), addr(BOB), agentId]));
  assert.equal(await alice.agentRegistry.read.ownerEpoch([agentId]), 1n);
  assert.notEqual(await (await accountAs(BOB)).read.state(), stateBefore);
  assert.equal(await (await accountAs(BOB)).read.owner(), addr(BOB));
  await expectRevert(spend(KEY, addr(PAYEE), 1n), 'AgentAccountSessionKeyStale', [addr(KEY), 0n, 1n]);
  await expectRevert(spend(OTHER_KEY, addr(BOB), 1n), 'AgentAccountSessionKeyStale', [addr(OTHER_KEY), 0n, 1n]);
  // the old owner controls nothing
  await expectRevert((await accountAs(ALICE)).write.execute([t.addresses.openToken, 0n, transfer(addr(ALICE), 1n), 0]), 'AgentAccountNotOwner', [addr(ALICE)]);
  await expectRevert((await accountAs(ALICE)).write.grantSessionKey([addr(KEY), await limits()]), 'AgentAccountNotOwner', [addr(ALICE)]);
  // the new owner does, and its own keys work
  await t.mined((await accountAs(BOB)).write.execute([t.addresses.openToken, 0n, transfer(addr(BOB), parseEther('1')), 0]));
  await grant(BOB, OTHER_KEY);
  await t.mined(spend(OTHER_KEY, addr(PAYEE), 1n));
  // back to Alice: Bob's keys stop, and Alice's keys of before stay void (another epoch, same owner)
  await t.mined((await t.as(BOB)).agentRegistry.write.transferFrom([addr(BOB), addr(ALICE), agentId]));
  await expectRevert(spend(OTHER_KEY, addr(PAYEE), 1n), 'AgentAccountSessionKeyStale', [addr(OTHER_KEY), 1n, 2n]);
  await expectRevert(spend(KEY, addr(PAYEE), 1n), 'AgentAccountSessionKeyStale', [addr(KEY), 0n, 2n]);
});

test('the agent token cannot be sent to its own account (it could never leave)', async () => {
  const alice = await t.as(ALICE);
  await expectRevert(alice.agentRegistry.write.transferFrom([addr(ALICE), wallet, agentId]), 'AgentRegistryOwnershipCycle', [agentId, wallet]);
});

test('ERC-1271: the owner and a signing session key are valid signers; a key without the right, a stranger, a paused account and, after a transfer, the old owner and keys are refused', async () => {
  await grant(ALICE, KEY);
  await grant(ALICE, OTHER_KEY, { canSign: false });
  const hash = keccak256(toBytes('an authorization'));
  const sig = (i: number) => t.accounts[i]!.sign({ hash });
  const account = await accountAs(STRANGER);
  const check = async (i: number) => account.read.isValidSignature([hash, await sig(i)]);
  assert.equal(await check(ALICE), MAGIC_1271);
  assert.equal(await check(KEY), MAGIC_1271);
  assert.equal(await check(OTHER_KEY), INVALID_1271, 'a key granted without canSign');
  assert.equal(await check(STRANGER), INVALID_1271);
  assert.equal(await account.read.isValidSignature([hash, '0x1234']), INVALID_1271, 'a malformed signature');
  await t.mined((await accountAs(ALICE)).write.setPaused([true]));
  assert.equal(await check(KEY), INVALID_1271, 'paused');
  assert.equal(await check(ALICE), MAGIC_1271, 'the pause stops keys, not the owner');
  await t.mined((await accountAs(ALICE)).write.setPaused([false]));
  await t.mined((await t.as(ALICE)).agentRegistry.write.safeTransferFrom([addr(ALICE), addr(BOB), agentId]));
  assert.equal(await check(ALICE), INVALID_1271, 'the old owner after the transfer');
  assert.equal(await check(KEY), INVALID_1271, 'the old owner\'s key after the transfer');
  assert.equal(await check(BOB), MAGIC_1271);
});

test('a session key signs an escrow spend authorization for the account: the escrow accepts it (ERC-1271) until the agent changes hands', async () => {
  const chainId = (await t.clients(0)).chain.id;
  const deployment = { chainId, escrow: t.addresses.inferenceEscrow };
  // Alice deposits for the agent's account; the settlement role is lent to the operator for the test
  const alice = await t.as(ALICE);
  await t.mined((await t.as(0)).openToken.write.transfer([addr(ALICE), parseEther('50')]));
  await t.mined(alice.openToken.write.approve([t.addresses.inferenceEscrow, parseEther('50')]));
  await t.mined(alice.inferenceEscrow.write.deposit([wallet, parseEther('50')]));
  await t.mined((await t.as(0)).inferenceEscrow.write.grantRole([keccak256(toBytes('SETTLEMENT_ROLE')), addr(OPERATOR)]));
  await grant(ALICE, KEY);

  const auth = (cumulativeAmount: bigint, nonce: bigint, expiry: bigint): SpendAuthorization => ({ consumer: wallet, operator: addr(OPERATOR), cumulativeAmount, nonce, expiry });
  const first = auth(parseEther('3'), 1n, (await now()) + 3600n);
  const signature = await signSpendAuthorization(t.accounts[KEY]!, deployment, first);
  const { publicClient } = await t.clients(0);
  assert.equal(await verifySpendAuthorization(publicClient, deployment, first, signature), true);
  const escrow = (await t.as(OPERATOR)).inferenceEscrow;
  await t.mined(escrow.write.draw([[{ auth: first, signature, drawTo: parseEther('3') }], addr(OPERATOR)]));
  assert.equal(await escrow.read.drawn([wallet, addr(OPERATOR)]), parseEther('3'));

  // a stranger's signature is not the account's
  const forged = auth(parseEther('5'), 2n, (await now()) + 3600n);
  const forgedSig = await signSpendAuthorization(t.accounts[STRANGER]!, deployment, forged);
  assert.equal(await verifySpendAuthorization(publicClient, deployment, forged, forgedSig), false);
  await expectRevert(escrow.write.draw([[{ auth: forged, signature: forgedSig, drawTo: parseEther('5') }], addr(OPERATOR)]), 'InferenceEscrowInvalidSignature', [wallet]);

  // after the agent is sold, the old key's authorization is refused
  const second = auth(parseEther('5'), 2n, (await now()) + 3600n);
  const secondSig = await signSpendAuthorization(t.accounts[KEY]!, deployment, second);
  await t.mined(alice.agentRegistry.write.transferFrom([addr(ALICE), addr(BOB), agentId]));
  assert.equal(await verifySpendAuthorization(publicClient, deployment, second, secondSig), false);
  await expectRevert(escrow.write.draw([[{ auth: second, signature: secondSig, drawTo: parseEther('5') }], addr(OPERATOR)]), 'InferenceEscrowInvalidSignature', [wallet]);
});
