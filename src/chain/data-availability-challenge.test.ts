import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BaseError, ContractFunctionRevertedError, concatHex, decodeErrorResult, keccak256, parseEther, toHex, zeroAddress, type Address, type Hex, type TransactionReceipt } from 'viem';
import {
  CHALLENGE_STATUS,
  dataAvailabilityChallengeContract,
  deployDataAvailabilityChallenge,
  type DataAvailabilityChallengeContract,
  type DataAvailabilityChallengeParams,
} from './data-availability-challenge.ts';
import { dataAvailabilityChallengeAbi } from './generated/index.ts';
import { startTestProtocol, type TestProtocol } from './test-chain.ts';

const TREASURY = 0;
const SUBMITTER = 1; // owns the datanet and anchors its batches
const CHALLENGER = 3;
const RESOLVER = 4; // anyone holding the data may answer
const SLASH_SINK = 9;
const CHALLENGE_WINDOW = 10n;
const RESOLVE_WINDOW = 5n;
const BOND = parseEther('10');
const SLASH = parseEther('100');
const SUBMITTER_BOND = parseEther('150');
const FIXED_COST = 108_000n;
const VARIABLE_COST = 40_000n;

let t: TestProtocol;
let params: DataAvailabilityChallengeParams;
let dacAddress: Address;
let reset: () => Promise<void>;
const addr = (i: number): Address => t.accounts[i]!.address;
const dac = async (i: number): Promise<DataAvailabilityChallengeContract> => dataAvailabilityChallengeContract(await t.clients(i), dacAddress);
const tokenOf = async (i: number) => (await t.as(i)).openToken;
const openBalance = async (a: Address) => (await tokenOf(TREASURY)).read.balanceOf([a]);
const commitmentOf = (payload: Hex): Hex => concatHex(['0x00', keccak256(payload)]);
const payloadA = toHex('records of batch A: '.repeat(20));

/** Asserts that `promise` reverts with the DataAvailabilityChallenge (or OPEN) error `name`, and `args` if given. */
async function expectDacRevert(promise: Promise<unknown>, name: string, args?: readonly unknown[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    const reverted = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : null;
    assert.ok(reverted instanceof ContractFunctionRevertedError, `expected a revert with ${name}, got ${String(err)}`);
    assert.equal(reverted.data?.errorName, name);
    if (args) assert.deepEqual(reverted.data?.args, args);
    return true;
  });
}

/** Anchors a batch of `payload` in datanet 1 as the submitter; returns its index and receipt. */
async function anchor(payload: Hex, root = keccak256(toHex(`root of ${payload}`))): Promise<{ batchIndex: bigint; receipt: TransactionReceipt }> {
  const registry = (await t.as(SUBMITTER)).datanetRegistry;
  const batchIndex = BigInt((await registry.read.getDatanet([1n])).batchCount);
  const receipt = await t.mined(registry.write.anchorBatch([1n, root, 1n, `altda:${commitmentOf(payload)}`, keccak256(payload)]));
  return { batchIndex, receipt };
}

async function status(batchIndex: bigint): Promise<string> {
  return CHALLENGE_STATUS[await (await dac(0)).read.getChallengeStatus([1n, batchIndex])]!;
}

before(async () => {
  t = await startTestProtocol();
  const admin = await t.as(TREASURY);
  params = {
    openToken: t.addresses.openToken,
    datanetRegistry: t.addresses.datanetRegistry,
    challengeWindow: CHALLENGE_WINDOW,
    resolveWindow: RESOLVE_WINDOW,
    bondSize: BOND,
    submitterSlash: SLASH,
    resolverRefundPercentage: 50n,
    challengerRewardPercentage: 50n,
    slashDestination: addr(SLASH_SINK),
  };
  dacAddress = await deployDataAvailabilityChallenge(await t.clients(TREASURY), params);
  for (const i of [SUBMITTER, CHALLENGER, RESOLVER]) {
    await t.mined(admin.openToken.write.transfer([addr(i), parseEther('1000')]));
    await t.mined((await tokenOf(i)).write.approve([dacAddress, parseEther('1000')]));
  }
  await t.mined((await t.as(SUBMITTER)).datanetRegistry.write.createDatanet(['altda:meta', 'CC-BY-4.0', 0n, []]));
  await t.mined((await dac(SUBMITTER)).write.bond([SUBMITTER_BOND]));
  await t.mined((await dac(CHALLENGER)).write.deposit([BOND * 3n]));
  reset = await t.checkpoint();
});
after(() => t?.stop());

describe('DataAvailabilityChallenge', () => {
  test('a challenge answered in time: Resolved; the challenger pays the estimated resolution cost, half refunded to the resolver', async () => {
    await reset();
    const { batchIndex } = await anchor(payloadA);
    assert.equal(await status(batchIndex), 'Uninitialized');
    await t.mined((await dac(CHALLENGER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]));
    assert.equal(await status(batchIndex), 'Active');
    assert.equal(await (await dac(0)).read.balances([addr(CHALLENGER)]), BOND * 2n);

    const sinkBefore = await openBalance(addr(SLASH_SINK));
    const receipt = await t.mined((await dac(RESOLVER)).write.resolve([1n, batchIndex, commitmentOf(payloadA), payloadA]));
    const { baseFeePerGas } = await (await t.clients(0)).publicClient.getBlock({ blockNumber: receipt.blockNumber });
    const length = BigInt((payloadA.length - 2) / 2);
    const cost = (FIXED_COST + (length * VARIABLE_COST) / 1000n) * baseFeePerGas!;
    assert.ok(cost > 0n && cost < BOND, `cost ${cost} within the bond`);
    const read = await dac(0);
    assert.equal(await status(batchIndex), 'Resolved');
    assert.equal(await read.read.isVoided([1n, batchIndex]), false);
    assert.equal(await read.read.balances([addr(CHALLENGER)]), BOND * 2n + (BOND - cost));
    assert.equal(await read.read.balances([addr(RESOLVER)]), cost / 2n);
    assert.equal(await openBalance(addr(SLASH_SINK)), sinkBefore + (cost - cost / 2n));
    assert.deepEqual(await read.read.submitterBondOf([addr(SUBMITTER)]), { bonded: SUBMITTER_BOND, unbonding: 0n, unlockBlock: 0n });
    const c = await read.read.getChallenge([1n, batchIndex]);
    assert.equal(c.challenger, addr(CHALLENGER));
    assert.equal(c.resolvedBlock, receipt.blockNumber);
    assert.equal(c.lockedBond, 0n);
    // Resolved stays resolved: no second resolve, no expiry, no new challenge.
    await t.mine(Number(RESOLVE_WINDOW) + 1);
    await expectDacRevert((await dac(RESOLVER)).write.resolve([1n, batchIndex, commitmentOf(payloadA), payloadA]), 'DataAvailabilityChallengeNotActive', [1n, batchIndex, 2]);
    await expectDacRevert((await dac(CHALLENGER)).write.expire([1n, batchIndex]), 'DataAvailabilityChallengeNotExpired', [1n, batchIndex, 2]);
    assert.equal(await read.read.isVoided([1n, batchIndex]), false);

    // The resolver's refund is withdrawable OPEN.
    const before = await openBalance(addr(RESOLVER));
    await t.mined((await dac(RESOLVER)).write.withdraw());
    assert.equal(await openBalance(addr(RESOLVER)), before + cost / 2n);
    assert.equal(await read.read.balances([addr(RESOLVER)]), 0n);
  });

  test('a challenge left unanswered: the batch is voided, the challenger gets its bond and half the slash, the submitter is slashed', async () => {
    await reset();
    const { batchIndex } = await anchor(payloadA);
    const challenge = await t.mined((await dac(CHALLENGER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]));
    const read = await dac(0);
    // Active through the last block of the resolve window (startBlock + resolveWindow), expired after it.
    const { publicClient } = await t.clients(0);
    await t.mine(Number(challenge.blockNumber + RESOLVE_WINDOW - (await publicClient.getBlockNumber({ cacheTime: 0 }))));
    assert.equal(await status(batchIndex), 'Active');
    assert.equal(await read.read.isVoided([1n, batchIndex]), false);
    await t.mine(1);
    assert.equal(await status(batchIndex), 'Expired');
    assert.equal(await read.read.isVoided([1n, batchIndex]), true, 'voided as soon as it expired, before anyone calls expire');
    await expectDacRevert((await dac(SUBMITTER)).write.resolve([1n, batchIndex, commitmentOf(payloadA), payloadA]), 'DataAvailabilityChallengeNotActive', [1n, batchIndex, 3]);

    const sinkBefore = await openBalance(addr(SLASH_SINK));
    await t.mined((await dac(RESOLVER)).write.expire([1n, batchIndex])); // anyone may call it
    assert.equal(await read.read.balances([addr(CHALLENGER)]), BOND * 3n + SLASH / 2n, 'bond back plus half the slash');
    assert.equal(await read.read.balances([addr(RESOLVER)]), 0n);
    assert.equal(await openBalance(addr(SLASH_SINK)), sinkBefore + SLASH / 2n);
    assert.deepEqual(await read.read.submitterBondOf([addr(SUBMITTER)]), { bonded: SUBMITTER_BOND - SLASH, unbonding: 0n, unlockBlock: 0n });
    assert.equal(await read.read.isVoided([1n, batchIndex]), true);
    assert.equal((await read.read.getChallenge([1n, batchIndex])).settled, true);
    await expectDacRevert((await dac(CHALLENGER)).write.expire([1n, batchIndex]), 'DataAvailabilityChallengeAlreadySettled', [1n, batchIndex]);

    // A second voided batch takes what is left of the bond (50 of the 100), bonded first.
    const second = await anchor(toHex('batch B'));
    await t.mined((await dac(CHALLENGER)).write.challenge([1n, second.batchIndex, commitmentOf(toHex('batch B'))]));
    await t.mine(Number(RESOLVE_WINDOW) + 1);
    await t.mined((await dac(CHALLENGER)).write.expire([1n, second.batchIndex]));
    assert.deepEqual(await read.read.submitterBondOf([addr(SUBMITTER)]), { bonded: 0n, unbonding: 0n, unlockBlock: 0n });
    assert.equal(await read.read.balances([addr(CHALLENGER)]), BOND * 3n + SLASH / 2n + parseEther('25'));
    assert.equal(await openBalance(addr(SLASH_SINK)), sinkBefore + SLASH / 2n + parseEther('25'));

    // The challenger's balance leaves as OPEN.
    const before = await openBalance(addr(CHALLENGER));
    await t.mined((await dac(CHALLENGER)).write.withdraw());
    assert.equal(await openBalance(addr(CHALLENGER)), before + BOND * 3n + SLASH / 2n + parseEther('25'));
  });

  test('a challenge outside the challenge window is refused (the window counts blocks from the anchoring)', async () => {
    await reset();
    const { batchIndex, receipt } = await anchor(payloadA);
    const closedAt = receipt.blockNumber + CHALLENGE_WINDOW;
    const { publicClient } = await t.clients(0);
    await t.mine(Number(closedAt - (await publicClient.getBlockNumber({ cacheTime: 0 }))));
    // The next block is past the window.
    await expectDacRevert((await dac(CHALLENGER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]), 'DataAvailabilityChallengeWindowClosed', [1n, batchIndex, closedAt]);
    // The last block inside the window still takes a challenge.
    const late = await anchor(toHex('late batch'));
    await t.mine(Number(CHALLENGE_WINDOW) - 1);
    const accepted = await t.mined((await dac(CHALLENGER)).write.challenge([1n, late.batchIndex, commitmentOf(toHex('late batch'))]));
    assert.equal(accepted.blockNumber, late.receipt.blockNumber + CHALLENGE_WINDOW);
  });

  test('a resolve with the wrong data is refused; the challenge stays active and then resolves with the right data', async () => {
    await reset();
    const { batchIndex } = await anchor(payloadA);
    await t.mined((await dac(CHALLENGER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]));
    const wrong = toHex('records of batch A: '.repeat(19));
    await expectDacRevert((await dac(SUBMITTER)).write.resolve([1n, batchIndex, commitmentOf(payloadA), wrong]), 'DataAvailabilityChallengeInvalidInputData', [keccak256(wrong), keccak256(payloadA)]);
    // Another commitment than the batch's is refused before the data is looked at.
    await expectDacRevert((await dac(SUBMITTER)).write.resolve([1n, batchIndex, commitmentOf(wrong), wrong]), 'DataAvailabilityChallengeCommitmentMismatch', [1n, batchIndex, keccak256(payloadA), keccak256(wrong)]);
    assert.equal(await status(batchIndex), 'Active');
    await t.mined((await dac(SUBMITTER)).write.resolve([1n, batchIndex, commitmentOf(payloadA), payloadA]));
    assert.equal(await status(batchIndex), 'Resolved');
  });

  test('a second challenge of a batch is refused, resolved or not', async () => {
    await reset();
    const { batchIndex } = await anchor(payloadA);
    await t.mined((await dac(CHALLENGER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]));
    await expectDacRevert((await dac(CHALLENGER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]), 'DataAvailabilityChallengeExists', [1n, batchIndex]);
    await expectDacRevert((await dac(RESOLVER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]), 'DataAvailabilityChallengeExists', [1n, batchIndex]);
    await t.mined((await dac(SUBMITTER)).write.resolve([1n, batchIndex, commitmentOf(payloadA), payloadA]));
    await expectDacRevert((await dac(CHALLENGER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]), 'DataAvailabilityChallengeExists', [1n, batchIndex]);
  });

  test('challenges need a known commitment type and length, the batch\'s own commitment, an anchored batch and the bond', async () => {
    await reset();
    const { batchIndex } = await anchor(payloadA);
    const c = await dac(CHALLENGER);
    await expectDacRevert(c.write.challenge([1n, batchIndex, concatHex(['0x01', keccak256(payloadA)])]), 'DataAvailabilityChallengeUnknownCommitmentType', [1]);
    await expectDacRevert(c.write.challenge([1n, batchIndex, commitmentOf(payloadA).slice(0, -2) as Hex]), 'DataAvailabilityChallengeInvalidCommitmentLength', [0, 33n, 32n]);
    await expectDacRevert(c.write.challenge([1n, batchIndex, '0x']), 'DataAvailabilityChallengeInvalidCommitmentLength', [0, 33n, 0n]);
    await expectDacRevert(c.write.challenge([1n, batchIndex, commitmentOf(toHex('other'))]), 'DataAvailabilityChallengeCommitmentMismatch', [1n, batchIndex, keccak256(payloadA), keccak256(toHex('other'))]);
    await expectDacRevert(c.write.challenge([1n, batchIndex + 1n, commitmentOf(payloadA)]), 'DataAvailabilityChallengeUnknownBatch', [1n, batchIndex + 1n]);
    await expectDacRevert(c.write.challenge([2n, 0n, commitmentOf(payloadA)]), 'DataAvailabilityChallengeUnknownBatch', [2n, 0n]);
    await expectDacRevert((await dac(RESOLVER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]), 'DataAvailabilityChallengeBondTooLow', [0n, BOND]);
    assert.equal(await (await dac(0)).read.computeCommitmentKeccak256([payloadA]), commitmentOf(payloadA));
  });

  test('the submitter bond: unbonding stays slashable and waits challengeWindow + resolveWindow blocks', async () => {
    await reset();
    const { batchIndex } = await anchor(payloadA);
    await t.mined((await dac(CHALLENGER)).write.challenge([1n, batchIndex, commitmentOf(payloadA)]));
    const s = await dac(SUBMITTER);
    await expectDacRevert(s.write.requestUnbond([SUBMITTER_BOND + 1n]), 'DataAvailabilityChallengeInvalidAmount', [SUBMITTER_BOND + 1n, SUBMITTER_BOND]);
    const request = await t.mined(s.write.requestUnbond([parseEther('120')]));
    const unlockBlock = request.blockNumber + CHALLENGE_WINDOW + RESOLVE_WINDOW;
    assert.deepEqual(await s.read.submitterBondOf([addr(SUBMITTER)]), { bonded: parseEther('30'), unbonding: parseEther('120'), unlockBlock });
    await expectDacRevert(s.write.withdrawUnbonded(), 'DataAvailabilityChallengeBondLocked', [unlockBlock]);
    // The challenge expires while the bond unbonds: 30 bonded, then 70 of the unbonding.
    await t.mine(Number(RESOLVE_WINDOW) + 1);
    await t.mined((await dac(CHALLENGER)).write.expire([1n, batchIndex]));
    assert.deepEqual(await s.read.submitterBondOf([addr(SUBMITTER)]), { bonded: 0n, unbonding: parseEther('50'), unlockBlock });
    const { publicClient } = await t.clients(0);
    await t.mine(Number(unlockBlock - (await publicClient.getBlockNumber({ cacheTime: 0 }))) - 1);
    const before = await openBalance(addr(SUBMITTER));
    await t.mined(s.write.withdrawUnbonded());
    assert.equal(await openBalance(addr(SUBMITTER)), before + parseEther('50'));
    await expectDacRevert(s.write.withdrawUnbonded(), 'DataAvailabilityChallengeInvalidAmount', [0n, 0n]);
  });

  test('constructor: a zero token, registry or slash destination, a zero window, a percentage above 100 are refused', async () => {
    const clients = await t.clients(TREASURY);
    const refused = async (override: Partial<DataAvailabilityChallengeParams>, name: string, args: readonly unknown[]) => {
      await assert.rejects(deployDataAvailabilityChallenge(clients, { ...params, ...override }), (err: unknown) => {
        // A constructor's revert comes back as raw data (no function ABI to decode it with).
        const raw = err instanceof BaseError ? (err.walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data?: Hex } | null) : null;
        assert.ok(raw?.data, `expected ${name}, got ${String(err)}`);
        const decoded = decodeErrorResult({ abi: dataAvailabilityChallengeAbi, data: raw.data });
        assert.equal(decoded.errorName, name);
        assert.deepEqual(decoded.args, args);
        return true;
      });
    };
    await refused({ openToken: zeroAddress }, 'DataAvailabilityChallengeInvalidToken', [zeroAddress]);
    await refused({ datanetRegistry: zeroAddress }, 'DataAvailabilityChallengeInvalidRegistry', [zeroAddress]);
    await refused({ slashDestination: zeroAddress }, 'DataAvailabilityChallengeInvalidSlashDestination', [zeroAddress]);
    await refused({ challengeWindow: 0n }, 'DataAvailabilityChallengeInvalidWindow', [0n, RESOLVE_WINDOW]);
    await refused({ resolveWindow: 0n }, 'DataAvailabilityChallengeInvalidWindow', [CHALLENGE_WINDOW, 0n]);
    await refused({ resolverRefundPercentage: 101n }, 'DataAvailabilityChallengeInvalidPercentage', [101n]);
    await refused({ challengerRewardPercentage: 101n }, 'DataAvailabilityChallengeInvalidPercentage', [101n]);
  });
});
