import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  encodeDeployData,
  getAddress,
  keccak256,
  parseEther,
  parseEventLogs,
  toBytes,
  toHex,
  zeroAddress,
  zeroHash,
  type Address,
  type TransactionReceipt,
} from 'viem';
import { callJsonRpc } from './json-rpc.ts';
import { datanetRegistryAbi, datanetRegistryBytecode, stakingAbi, stakingBytecode } from './generated/index.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

const OPERATOR = 0;
const VALIDATOR = 1;
const CONTRIBUTOR = 2;
const SLASHER_ROLE = keccak256(toBytes('SLASHER_ROLE'));
const ADMIN_ROLE = zeroHash;

let t: TestProtocol;
const addr = (i: number): Address => t.accounts[i]!.address;

async function blockTime(receipt: TransactionReceipt): Promise<bigint> {
  const { publicClient } = await t.clients(0);
  return (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
}

const balance = async (a: Address) => (await t.as(0)).openToken.read.balanceOf([a]);

/** Sends `amount` OPEN from the treasury to account `i` and lets the staking contract pull it. */
async function fund(i: number, amount: bigint): Promise<void> {
  const p0 = await t.as(0);
  await t.mined(p0.openToken.write.transfer([addr(i), amount]));
  const pi = await t.as(i);
  const allowance = await pi.openToken.read.allowance([addr(i), t.addresses.staking]);
  await t.mined(pi.openToken.write.approve([t.addresses.staking, allowance + amount]));
}

let fresh: () => Promise<void>;
before(async () => {
  t = await startTestProtocol();
  fresh = await t.checkpoint();
});
after(() => t.stop());


describe('Staking: deployment', () => {
  test('is wired to OPEN, the treasury, the test delays and the settlement slasher', async () => {
    await fresh();
    const p = await t.as(1);
    assert.equal(await p.staking.read.token(), getAddress(t.addresses.openToken));
    assert.equal(await p.staking.read.unbondingDelay([OPERATOR]), t.params.unbondingDelay);
    assert.equal(await p.staking.read.unbondingDelay([VALIDATOR]), t.params.unbondingDelay);
    assert.equal(await p.staking.read.unbondingDelay([CONTRIBUTOR]), t.params.contributorUnbondingDelay);
    assert.equal(await p.staking.read.datanetRegistry(), getAddress(t.addresses.datanetRegistry));
    assert.equal(await p.staking.read.slashDestination(), t.params.treasury);
    assert.equal(await p.staking.read.minimumStake([OPERATOR]), t.params.minimumOperatorStake);
    assert.equal(await p.staking.read.minimumStake([VALIDATOR]), 0n);
    assert.equal(await p.staking.read.SLASHER_ROLE(), SLASHER_ROLE);
    assert.equal(await p.staking.read.hasRole([SLASHER_ROLE, t.addresses.attributionSettlement]), true);
    assert.equal(await p.staking.read.hasRole([ADMIN_ROLE, addr(0)]), true);
  });
});

describe('Staking: constructor', () => {
  test('each zero address is refused with its own error', async () => {
    const { publicClient } = await t.clients(1);
    const deploy = (args: readonly [Address, Address, bigint, bigint, Address]) =>
      publicClient.call({ data: encodeDeployData({ abi: stakingAbi, bytecode: stakingBytecode, args }) });
    const [token, admin, treasury] = [t.addresses.openToken, addr(0), t.params.treasury];
    await expectRevert(deploy([zeroAddress, admin, 1n, 1n, treasury]), 'StakingInvalidToken', [zeroAddress]);
    await expectRevert(deploy([token, zeroAddress, 1n, 1n, treasury]), 'StakingInvalidAdmin', [zeroAddress]);
    await expectRevert(deploy([token, admin, 1n, 1n, zeroAddress]), 'StakingInvalidSlashDestination', [zeroAddress]);
    await publicClient.call({ data: encodeDeployData({ abi: stakingAbi, bytecode: stakingBytecode, args: [token, admin, 1n, 1n, treasury] }) });
    const registry = (staking: Address) => publicClient.call({ data: encodeDeployData({ abi: datanetRegistryAbi, bytecode: datanetRegistryBytecode, args: [staking] }) });
    await expectRevert(registry(zeroAddress), 'DatanetRegistryInvalidStaking', [zeroAddress]);
    await registry(t.addresses.staking);
  });
});

describe('Staking: stake, unbond, withdraw', () => {
  test('stake bonds per role, moves the OPEN into the contract and emits Staked', async () => {
    await fresh();
    await fund(1, parseEther('300'));
    const p = await t.as(1);
    await expectRevert(p.staking.write.stake([OPERATOR, 0n, 0n]), 'StakingZeroAmount');
    await expectRevert(p.staking.write.stake([OPERATOR, 1n, 1n]), 'StakingInvalidScope', [OPERATOR, 1n]);
    await expectRevert(p.staking.write.stake([VALIDATOR, 7n, 1n]), 'StakingInvalidScope', [VALIDATOR, 7n]);

    const receipt = await t.mined(p.staking.write.stake([OPERATOR, 0n, parseEther('200')]));
    const [ev] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'Staked' });
    assert.deepEqual(ev?.args, { staker: addr(1), role: OPERATOR, scope: 0n, amount: parseEther('200') });
    await t.mined(p.staking.write.stake([VALIDATOR, 0n, parseEther('60')]));
    await t.mined(p.staking.write.stake([OPERATOR, 0n, parseEther('40')]));

    assert.deepEqual(await p.staking.read.positionOf([addr(1), OPERATOR, 0n]), { bonded: parseEther('240'), unbonding: 0n, releaseAt: 0n, perSlash: 0n });
    assert.deepEqual(await p.staking.read.positionOf([addr(1), VALIDATOR, 0n]), { bonded: parseEther('60'), unbonding: 0n, releaseAt: 0n, perSlash: 0n });
    assert.equal(await p.staking.read.totalStaked([OPERATOR]), parseEther('240'));
    assert.equal(await p.staking.read.totalStaked([VALIDATOR]), parseEther('60'));
    assert.equal(await balance(addr(1)), 0n);
    assert.equal(await balance(t.addresses.staking), parseEther('300'));
  });

  test('stake without enough allowance or balance fails and changes nothing', async () => {
    await fresh();
    const p0 = await t.as(0);
    await t.mined(p0.openToken.write.transfer([addr(2), 100n]));
    const p = await t.as(2);
    // The token's errors bubble up through the staking contract.
    await expectRevert(p.staking.write.stake([OPERATOR, 0n, 100n]), 'ERC20InsufficientAllowance', [getAddress(t.addresses.staking), 0n, 100n]);
    await t.mined(p.openToken.write.approve([t.addresses.staking, 1000n]));
    await expectRevert(p.staking.write.stake([OPERATOR, 0n, 101n]), 'ERC20InsufficientBalance', [addr(2), 100n, 101n]);
    assert.deepEqual(await p.staking.read.positionOf([addr(2), OPERATOR, 0n]), { bonded: 0n, unbonding: 0n, releaseAt: 0n, perSlash: 0n });
    assert.equal(await p.staking.read.totalStaked([OPERATOR]), 0n);
  });

  test('requestUnbond moves bonded to unbonding and starts the delay; more than bonded is InsufficientBonded', async () => {
    await fresh();
    await fund(1, 1000n);
    const p = await t.as(1);
    await t.mined(p.staking.write.stake([OPERATOR, 0n, 1000n]));
    await expectRevert(p.staking.write.requestUnbond([OPERATOR, 0n, 0n]), 'StakingZeroAmount');
    await expectRevert(p.staking.write.requestUnbond([OPERATOR, 0n, 1001n]), 'StakingInsufficientBonded', [1000n, 1001n]);
    await expectRevert(p.staking.write.requestUnbond([VALIDATOR, 0n, 1n]), 'StakingInsufficientBonded', [0n, 1n]);

    const receipt = await t.mined(p.staking.write.requestUnbond([OPERATOR, 0n, 400n]));
    const releaseAt = (await blockTime(receipt)) + t.params.unbondingDelay;
    const [ev] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'UnbondRequested' });
    assert.deepEqual(ev?.args, { staker: addr(1), role: OPERATOR, scope: 0n, amount: 400n, releaseAt });
    assert.deepEqual(await p.staking.read.positionOf([addr(1), OPERATOR, 0n]), { bonded: 600n, unbonding: 400n, releaseAt, perSlash: 0n });
    // Unbonding stake is still staked (and slashable) until withdrawn.
    assert.equal(await p.staking.read.totalStaked([OPERATOR]), 1000n);
    await expectRevert(p.staking.write.requestUnbond([OPERATOR, 0n, 601n]), 'StakingInsufficientBonded', [600n, 601n]);
  });

  test('withdraw: NothingToWithdraw, StillUnbonding before the delay, everything from releaseAt on', async () => {
    await fresh();
    await fund(1, 1000n);
    const p = await t.as(1);
    await expectRevert(p.staking.write.withdraw([OPERATOR, 0n]), 'StakingNothingToWithdraw', [addr(1), OPERATOR, 0n]);
    await t.mined(p.staking.write.stake([OPERATOR, 0n, 1000n]));
    await expectRevert(p.staking.write.withdraw([OPERATOR, 0n]), 'StakingNothingToWithdraw');

    const receipt = await t.mined(p.staking.write.requestUnbond([OPERATOR, 0n, 300n]));
    const releaseAt = (await blockTime(receipt)) + t.params.unbondingDelay;
    await expectRevert(p.staking.write.withdraw([OPERATOR, 0n]), 'StakingStillUnbonding', [releaseAt]);
    await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(releaseAt - 1n)]);
    await expectRevert(p.staking.write.withdraw([OPERATOR, 0n]), 'StakingStillUnbonding', [releaseAt]);

    await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(releaseAt)]);
    const done = await t.mined(p.staking.write.withdraw([OPERATOR, 0n]));
    const [ev] = parseEventLogs({ abi: stakingAbi, logs: done.logs, eventName: 'Withdrawn' });
    assert.deepEqual(ev?.args, { staker: addr(1), role: OPERATOR, scope: 0n, amount: 300n });
    assert.equal(await balance(addr(1)), 300n);
    assert.deepEqual(await p.staking.read.positionOf([addr(1), OPERATOR, 0n]), { bonded: 700n, unbonding: 0n, releaseAt, perSlash: 0n });
    assert.equal(await p.staking.read.totalStaked([OPERATOR]), 700n);
    assert.equal(await balance(t.addresses.staking), 700n);
    await expectRevert(p.staking.write.withdraw([OPERATOR, 0n]), 'StakingNothingToWithdraw');
  });

  test('a second unbond request restarts the delay for everything unbonding in that role only', async () => {
    await fresh();
    await fund(1, 1000n);
    const p = await t.as(1);
    await t.mined(p.staking.write.stake([OPERATOR, 0n, 500n]));
    await t.mined(p.staking.write.stake([VALIDATOR, 0n, 500n]));
    await t.mined(p.staking.write.requestUnbond([OPERATOR, 0n, 100n]));
    const validatorUnbond = await t.mined(p.staking.write.requestUnbond([VALIDATOR, 0n, 50n]));
    const validatorRelease = (await blockTime(validatorUnbond)) + t.params.unbondingDelay;
    await t.increaseTime(60);
    const second = await t.mined(p.staking.write.requestUnbond([OPERATOR, 0n, 100n]));
    const releaseAt = (await blockTime(second)) + t.params.unbondingDelay;
    assert.deepEqual(await p.staking.read.positionOf([addr(1), OPERATOR, 0n]), { bonded: 300n, unbonding: 200n, releaseAt, perSlash: 0n });
    await t.increaseTime(t.params.unbondingDelay - 50n); // past the first request's delay, not the second's
    await expectRevert(p.staking.write.withdraw([OPERATOR, 0n]), 'StakingStillUnbonding', [releaseAt]);
    // The validator position kept its own clock.
    await t.mined(p.staking.write.withdraw([VALIDATOR, 0n]));
    assert.equal(await balance(addr(1)), 50n);
    assert.ok(validatorRelease < releaseAt);
    await t.increaseTime(t.params.unbondingDelay);
    await t.mined(p.staking.write.withdraw([OPERATOR, 0n]));
    assert.equal(await balance(addr(1)), 250n);
  });
});

describe('Staking: slashing', () => {
  test('only SLASHER_ROLE slashes; the admin can grant the role', async () => {
    await fresh();
    await fund(1, 1000n);
    await t.mined((await t.as(1)).staking.write.stake([OPERATOR, 0n, 1000n]));
    for (const i of [0, 1, 5]) {
      const p = await t.as(i);
      await expectRevert(p.staking.write.slash([addr(1), OPERATOR, 0n, 1n, zeroHash]), 'AccessControlUnauthorizedAccount', [addr(i), SLASHER_ROLE]);
    }
    // A non-admin cannot grant it.
    await expectRevert((await t.as(5)).staking.write.grantRole([SLASHER_ROLE, addr(5)]), 'AccessControlUnauthorizedAccount', [addr(5), ADMIN_ROLE]);
    await t.mined((await t.as(0)).staking.write.grantRole([SLASHER_ROLE, addr(5)]));
    assert.equal(await (await t.as(0)).staking.read.hasRole([SLASHER_ROLE, addr(5)]), true);
    await t.mined((await t.as(5)).staking.write.slash([addr(1), OPERATOR, 0n, 1n, zeroHash]));
    // And revoke it.
    await t.mined((await t.as(0)).staking.write.revokeRole([SLASHER_ROLE, addr(5)]));
    await expectRevert((await t.as(5)).staking.write.slash([addr(1), OPERATOR, 0n, 1n, zeroHash]), 'AccessControlUnauthorizedAccount', [addr(5), SLASHER_ROLE]);
  });

  test('slash takes bonded first, then unbonding, and sends the OPEN to slashDestination', async () => {
    await fresh();
    await fund(1, 1000n);
    const p = await t.as(1);
    await t.mined(p.staking.write.stake([OPERATOR, 0n, 1000n]));
    const unbond = await t.mined(p.staking.write.requestUnbond([OPERATOR, 0n, 400n]));
    const releaseAt = (await blockTime(unbond)) + t.params.unbondingDelay;
    await t.mined((await t.as(0)).staking.write.grantRole([SLASHER_ROLE, addr(5)]));
    const slasher = await t.as(5);
    const treasuryBefore = await balance(t.params.treasury);
    const reason = toHex('epoch 7', { size: 32 });

    await expectRevert(slasher.staking.write.slash([addr(1), OPERATOR, 0n, 0n, reason]), 'StakingZeroAmount');

    // 600 bonded + 400 unbonding: 250 comes out of bonded only.
    const first = await t.mined(slasher.staking.write.slash([addr(1), OPERATOR, 0n, 250n, reason]));
    const [ev] = parseEventLogs({ abi: stakingAbi, logs: first.logs, eventName: 'Slashed' });
    assert.deepEqual(ev?.args, { staker: addr(1), role: OPERATOR, scope: 0n, amount: 250n, destination: t.params.treasury, reason });
    assert.deepEqual(await p.staking.read.positionOf([addr(1), OPERATOR, 0n]), { bonded: 350n, unbonding: 400n, releaseAt, perSlash: 0n });

    // 350 bonded + 400 unbonding: 500 empties bonded and takes 150 of unbonding.
    await t.mined(slasher.staking.write.slash([addr(1), OPERATOR, 0n, 500n, reason]));
    assert.deepEqual(await p.staking.read.positionOf([addr(1), OPERATOR, 0n]), { bonded: 0n, unbonding: 250n, releaseAt, perSlash: 0n });
    assert.equal(await p.staking.read.totalStaked([OPERATOR]), 250n);
    assert.equal(await balance(t.params.treasury), treasuryBefore + 750n);
    assert.equal(await balance(t.addresses.staking), 250n);

    await expectRevert(slasher.staking.write.slash([addr(1), OPERATOR, 0n, 251n, reason]), 'StakingSlashExceedsStake', [250n, 251n]);
    await expectRevert(slasher.staking.write.slash([addr(1), VALIDATOR, 0n, 1n, reason]), 'StakingSlashExceedsStake', [0n, 1n]);

    // What is left still withdraws after the delay.
    await t.increaseTime(t.params.unbondingDelay);
    await t.mined(p.staking.write.withdraw([OPERATOR, 0n]));
    assert.equal(await balance(addr(1)), 250n);
    assert.equal(await p.staking.read.totalStaked([OPERATOR]), 0n);
  });

  test('slashing the whole stake, unbonding included, leaves nothing to withdraw', async () => {
    await fresh();
    await fund(2, 100n);
    const p = await t.as(2);
    await t.mined(p.staking.write.stake([VALIDATOR, 0n, 100n]));
    await t.mined(p.staking.write.requestUnbond([VALIDATOR, 0n, 100n]));
    await t.mined((await t.as(0)).staking.write.grantRole([SLASHER_ROLE, addr(5)]));
    await expectRevert((await t.as(5)).staking.write.slash([addr(2), VALIDATOR, 0n, 101n, zeroHash]), 'StakingSlashExceedsStake', [100n, 101n]);
    await t.mined((await t.as(5)).staking.write.slash([addr(2), VALIDATOR, 0n, 100n, zeroHash]));
    await t.increaseTime(t.params.unbondingDelay);
    await expectRevert(p.staking.write.withdraw([VALIDATOR, 0n]), 'StakingNothingToWithdraw');
    assert.equal(await p.staking.read.totalStaked([VALIDATOR]), 0n);
    assert.equal(await balance(t.addresses.staking), 0n);
  });

  test('slashed OPEN follows a new slashDestination', async () => {
    await fresh();
    await fund(1, 1000n);
    await t.mined((await t.as(1)).staking.write.stake([OPERATOR, 0n, 1000n]));
    const admin = await t.as(0);
    await t.mined(admin.staking.write.grantRole([SLASHER_ROLE, addr(5)]));
    await t.mined(admin.staking.write.setSlashDestination([addr(7)]));
    const treasuryBefore = await balance(t.params.treasury);
    const receipt = await t.mined((await t.as(5)).staking.write.slash([addr(1), OPERATOR, 0n, 123n, zeroHash]));
    const [ev] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'Slashed' });
    assert.equal(ev?.args.destination, addr(7));
    assert.equal(await balance(addr(7)), 123n);
    assert.equal(await balance(t.params.treasury), treasuryBefore);
  });
});

describe('Staking: isActive', () => {
  test('active means a non-zero bonded stake at or above the role minimum; unbonding does not count', async () => {
    await fresh();
    const min = t.params.minimumOperatorStake;
    await fund(1, min + 10n);
    const p = await t.as(1);
    assert.equal(await p.staking.read.isActive([addr(1), OPERATOR]), false);
    await t.mined(p.staking.write.stake([OPERATOR, 0n, min - 1n]));
    assert.equal(await p.staking.read.isActive([addr(1), OPERATOR]), false);
    await t.mined(p.staking.write.stake([OPERATOR, 0n, 1n]));
    assert.equal(await p.staking.read.isActive([addr(1), OPERATOR]), true);
    await t.mined(p.staking.write.requestUnbond([OPERATOR, 0n, 1n]));
    assert.equal(await p.staking.read.isActive([addr(1), OPERATOR]), false, 'unbonding stake does not count');

    // The validator minimum is 0: any non-zero bonded stake is active, zero is not.
    assert.equal(await p.staking.read.isActive([addr(1), VALIDATOR]), false);
    await t.mined(p.staking.write.stake([VALIDATOR, 0n, 1n]));
    assert.equal(await p.staking.read.isActive([addr(1), VALIDATOR]), true);

    // Raising the minimum deactivates; lowering reactivates.
    const admin = await t.as(0);
    await t.mined(admin.staking.write.setMinimumStake([VALIDATOR, 2n]));
    assert.equal(await p.staking.read.isActive([addr(1), VALIDATOR]), false);
    await t.mined(admin.staking.write.setMinimumStake([OPERATOR, min - 1n]));
    assert.equal(await p.staking.read.isActive([addr(1), OPERATOR]), true);

    // Slashing below the minimum deactivates.
    await t.mined(admin.staking.write.grantRole([SLASHER_ROLE, addr(5)]));
    await t.mined((await t.as(5)).staking.write.slash([addr(1), OPERATOR, 0n, 1n, zeroHash]));
    assert.equal(await p.staking.read.isActive([addr(1), OPERATOR]), false);
  });
});

describe('Staking: governance', () => {
  test('setters are admin-only, validated and emit their events', async () => {
    await fresh();
    const outsider = await t.as(3);
    await expectRevert(outsider.staking.write.setUnbondingDelay([OPERATOR, 1n]), 'AccessControlUnauthorizedAccount', [addr(3), ADMIN_ROLE]);
    await expectRevert(outsider.staking.write.setDatanetRegistry([addr(3)]), 'AccessControlUnauthorizedAccount', [addr(3), ADMIN_ROLE]);
    await expectRevert(outsider.staking.write.setSlashDestination([addr(3)]), 'AccessControlUnauthorizedAccount', [addr(3), ADMIN_ROLE]);
    await expectRevert(outsider.staking.write.setMinimumStake([OPERATOR, 0n]), 'AccessControlUnauthorizedAccount', [addr(3), ADMIN_ROLE]);
    // Even the slasher is not an admin.
    const settlementSlasher = await t.as(0);
    await t.mined(settlementSlasher.staking.write.grantRole([SLASHER_ROLE, addr(3)]));
    await expectRevert(outsider.staking.write.setUnbondingDelay([OPERATOR, 1n]), 'AccessControlUnauthorizedAccount', [addr(3), ADMIN_ROLE]);

    const admin = await t.as(0);
    let r = await t.mined(admin.staking.write.setUnbondingDelay([OPERATOR, 42n]));
    assert.deepEqual(parseEventLogs({ abi: stakingAbi, logs: r.logs, eventName: 'UnbondingDelaySet' })[0]?.args, { role: OPERATOR, delay: 42n });
    assert.equal(await admin.staking.read.unbondingDelay([OPERATOR]), 42n);
    assert.equal(await admin.staking.read.unbondingDelay([VALIDATOR]), t.params.unbondingDelay, 'delays are per role');
    assert.equal(await admin.staking.read.unbondingDelay([CONTRIBUTOR]), t.params.contributorUnbondingDelay);

    await expectRevert(admin.staking.write.setSlashDestination([zeroAddress]), 'StakingInvalidSlashDestination', [zeroAddress]);
    r = await t.mined(admin.staking.write.setSlashDestination([addr(8)]));
    assert.deepEqual(parseEventLogs({ abi: stakingAbi, logs: r.logs, eventName: 'SlashDestinationSet' })[0]?.args, { destination: addr(8) });
    assert.equal(await admin.staking.read.slashDestination(), addr(8));

    r = await t.mined(admin.staking.write.setMinimumStake([VALIDATOR, 5n]));
    assert.deepEqual(parseEventLogs({ abi: stakingAbi, logs: r.logs, eventName: 'MinimumStakeSet' })[0]?.args, { role: VALIDATOR, amount: 5n });
    assert.equal(await admin.staking.read.minimumStake([VALIDATOR]), 5n);
    await expectRevert(admin.staking.write.setMinimumStake([CONTRIBUTOR, 5n]), 'StakingInvalidRole', [CONTRIBUTOR]);

    // The datanet registry is named once, at deployment: not even the admin can swap it.
    await expectRevert(admin.staking.write.setDatanetRegistry([zeroAddress]), 'StakingInvalidDatanetRegistry', [zeroAddress]);
    await expectRevert(admin.staking.write.setDatanetRegistry([addr(3)]), 'StakingDatanetRegistryAlreadySet', [getAddress(t.addresses.datanetRegistry)]);

    // A new delay applies to the next unbond request.
    await fund(1, 10n);
    const p = await t.as(1);
    await t.mined(p.staking.write.stake([OPERATOR, 0n, 10n]));
    const unbond = await t.mined(p.staking.write.requestUnbond([OPERATOR, 0n, 10n]));
    assert.equal((await p.staking.read.positionOf([addr(1), OPERATOR, 0n])).releaseAt, (await blockTime(unbond)) + 42n);

    // An admin who hands the role over loses the setters.
    await t.mined(admin.staking.write.grantRole([ADMIN_ROLE, addr(4)]));
    await t.mined(admin.staking.write.renounceRole([ADMIN_ROLE, addr(0)]));
    await expectRevert(admin.staking.write.setUnbondingDelay([OPERATOR, 1n]), 'AccessControlUnauthorizedAccount', [addr(0), ADMIN_ROLE]);
    await t.mined((await t.as(4)).staking.write.setUnbondingDelay([OPERATOR, 1n]));
  });
});
