import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { getContract, parseEther, zeroHash, type Address, type Hash, type Hex } from 'viem';
import { governanceOpenAbi, governanceOpenBytecode, wrappedOpenAbi } from './generated/index.ts';
import { isNativeOpen, openBalanceOf, payOpen, sendOpen } from './open-payment.ts';
import { chainProfile, chainProfileOf, WRAPPED_OPEN_ADDRESS } from './profiles.ts';
import { signSpendAuthorization, type SpendAuthorization } from './spend-authorization.ts';
import { StakingRole } from './staking-role.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';
import { verifyProtocol } from './verify-protocol.ts';

// OPEN as the chain's native coin (OpenLedger's L2, and the development chain of `openledger up`):
// contracts hold it as WOPEN at the WETH predeploy, take it sent with a call, and governance votes
// with GOPEN on a timestamp clock. Exact balances, gas included, at every step.

let t: TestProtocol;
let erc20: TestProtocol;
const [OPERATOR, CONSUMER, PAYEE, VOTER, OTHER_OPERATOR] = [1, 2, 3, 4, 5];
const addr = (i: number): Address => t.accounts[i]!.address;

/** What `hash` cost its sender in gas (native OPEN). */
async function gasOf(hash: Hash): Promise<bigint> {
  const r = await t.mined(hash);
  return r.gasUsed * r.effectiveGasPrice;
}

async function native(i: number): Promise<bigint> {
  return (await t.clients(0)).publicClient.getBalance({ address: addr(i) });
}

before(async () => {
  t = await startTestProtocol({ nativeOpen: true });
  erc20 = await startTestProtocol();
});

after(async () => {
  await Promise.all([t?.stop(), erc20?.stop()]);
});

test('profiles: OpenLedger mainnet 1612 and testnet 161201 have OPEN as native coin; the development id differs from both', () => {
  assert.equal(chainProfile('openledger').chainId, 1612);
  assert.equal(chainProfile('openledger-testnet').chainId, 161201);
  assert.equal(chainProfile('openledger-testnet').nativeCurrency.symbol, 'OPN');
  const dev = chainProfile('development').chainId;
  assert.ok(dev !== 1612 && dev !== 161201);
  for (const name of ['openledger', 'openledger-testnet', 'development']) assert.equal(chainProfile(name).predeploys.wrappedOpen, WRAPPED_OPEN_ADDRESS);
  assert.equal(chainProfileOf(1), undefined, 'any other chain: OPEN is an ERC-20 there');
  assert.throws(() => chainProfile('mainnet'), /no chain profile "mainnet": one of openledger, openledger-testnet, development/);
});

test('deployment: WOPEN at the predeploy is what the contracts hold, GOPEN is the governor\'s token, and verifyProtocol accepts it', async () => {
  const p = await t.as(0);
  assert.equal(t.addresses.openToken, WRAPPED_OPEN_ADDRESS);
  assert.ok(isNativeOpen(p));
  assert.equal(isNativeOpen(await erc20.as(0)), false);
  assert.equal(await p.staking.read.token(), WRAPPED_OPEN_ADDRESS);
  assert.equal(await p.inferenceEscrow.read.token(), WRAPPED_OPEN_ADDRESS);
  assert.equal(await p.governor.read.token(), t.addresses.governanceToken);
  assert.equal(await p.governanceToken.read.CLOCK_MODE(), 'mode=timestamp');
  assert.equal(await p.governor.read.CLOCK_MODE(), 'mode=timestamp');
  // the development params' block counts become seconds on a timestamp clock (1-second blocks here)
  assert.equal(await p.governor.read.votingPeriod(), BigInt(t.params.votingPeriod * t.params.blockSeconds));
  const client = (await t.clients(0)).publicClient;
  await verifyProtocol(client, t.addresses);
  // mixing the two forms is refused
  await assert.rejects(verifyProtocol(client, { ...t.addresses, governanceToken: t.addresses.openToken }), /governanceToken 0x4200000000000000000000000000000000000006: its code is not this version of openledger's governanceToken/);
  const e = await erc20.clients(0);
  const deployed = await erc20.mined(e.walletClient.deployContract({ abi: governanceOpenAbi, bytecode: governanceOpenBytecode }));
  await assert.rejects(verifyProtocol(e.publicClient, { ...erc20.addresses, governanceToken: deployed.contractAddress! }), /not the OPEN token/);
});

test('WOPEN: WETH9\'s interface (deposit, a plain transfer, withdraw), 1:1 with the native OPEN it holds', async () => {
  const c = await t.clients(PAYEE);
  const wopen = getContract({ address: WRAPPED_OPEN_ADDRESS, abi: wrappedOpenAbi, client: { public: c.publicClient, wallet: c.walletClient } });
  assert.equal(await wopen.read.name(), 'Wrapped OPEN');
  assert.equal(await wopen.read.symbol(), 'WOPEN');
  const before = await native(PAYEE);
  let gas = await gasOf(await wopen.write.deposit({ value: parseEther('3') }));
  gas += await gasOf(await c.walletClient.sendTransaction({ to: WRAPPED_OPEN_ADDRESS, value: parseEther('2') }));
  assert.equal(await wopen.read.balanceOf([addr(PAYEE)]), parseEther('5'));
  gas += await gasOf(await wopen.write.withdraw([parseEther('5')]));
  assert.equal(await wopen.read.balanceOf([addr(PAYEE)]), 0n);
  assert.equal(await native(PAYEE), before - gas);
  await expectRevert(wopen.write.withdraw([1n]), 'ERC20InsufficientBalance');
});

test('the lifecycle in native OPEN: stake, escrow deposit, an epoch drawing it, a claim unwrapped to native OPEN — exact balances', async () => {
  const op = await t.as(OPERATOR);
  const consumer = await t.as(CONSUMER);
  const payee = await t.as(PAYEE);
  const wopen = (await t.as(0)).openToken;

  // the operator stakes the minimum with native OPEN sent with the call (no approval)
  const stake = t.params.minimumOperatorStake;
  const opBefore = await native(OPERATOR);
  const wait = (hash: Hash) => t.mined(hash);
  const stakeTx = await op.staking.write.stake([StakingRole.Operator, 0n, stake], await payOpen(op, op.staking.address, stake, wait));
  const stakeGas = await gasOf(stakeTx); // mined before the balance is read
  assert.equal(await native(OPERATOR), opBefore - stake - stakeGas);
  assert.equal((await op.staking.read.positionOf([addr(OPERATOR), StakingRole.Operator, 0n])).bonded, stake);
  assert.equal(await wopen.read.balanceOf([t.addresses.staking]), stake);

  // the consumer deposits native OPEN into the escrow and authorises the operator
  const deposit = parseEther('40');
  const cBefore = await native(CONSUMER);
  const depositGas = await gasOf(await consumer.inferenceEscrow.write.deposit([addr(CONSUMER), deposit], { value: deposit }));
  assert.equal(await native(CONSUMER), cBefore - deposit - depositGas);
  assert.equal(await consumer.inferenceEscrow.read.balanceOf([addr(CONSUMER)]), deposit);
  const now = (await (await t.clients(0)).publicClient.getBlock()).timestamp;
  const fee = parseEther('25');
  const auth: SpendAuthorization = { consumer: addr(CONSUMER), operator: addr(OPERATOR), cumulativeAmount: fee, nonce: 1n, expiry: now + 3600n };
  const signature = await signSpendAuthorization(t.accounts[CONSUMER]!, { chainId: (await t.clients(0)).chain.id, escrow: t.addresses.inferenceEscrow }, auth);

  // the epoch draws the fee into the settlement and pays it out by a Merkle root
  const owed = parseEther('25');
  const tree = StandardMerkleTree.of([[addr(PAYEE), owed]], ['address', 'uint256']);
  await t.mined(op.attributionSettlement.write.postEpoch([1n, tree.root as Hex, owed, zeroHash, 'ipfs://inputs', [{ auth, signature, drawTo: fee }]]));
  assert.equal(await wopen.read.balanceOf([t.addresses.attributionSettlement]), fee);
  assert.equal(await consumer.inferenceEscrow.read.balanceOf([addr(CONSUMER)]), deposit - fee);
  await t.increaseTime(t.params.challengeWindow + 1n);

  // the payee claims WOPEN and unwraps it: its native balance rises by exactly the payout, less gas
  const pBefore = await native(PAYEE);
  let gas = await gasOf(await payee.attributionSettlement.write.claim([addr(OPERATOR), addr(PAYEE), owed, tree.getProof(0) as Hex[]]));
  assert.equal(await wopen.read.balanceOf([addr(PAYEE)]), owed);
  const c = await t.clients(PAYEE);
  const unwrap = getContract({ address: WRAPPED_OPEN_ADDRESS, abi: wrappedOpenAbi, client: { public: c.publicClient, wallet: c.walletClient } });
  gas += await gasOf(await unwrap.write.withdraw([owed]));
  assert.equal(await native(PAYEE), pBefore + owed - gas);

  // WOPEN held by the contracts is backed 1:1: what was staked, what is left in escrow, what is unclaimed
  assert.equal(await (await t.clients(0)).publicClient.getBalance({ address: WRAPPED_OPEN_ADDRESS }), await wopen.read.totalSupply());
});

test('a dispute bond in native OPEN; value that is not the amount is refused; so is native OPEN where OPEN is an ERC-20', async () => {
  const op = await t.as(OPERATOR);
  const consumer = await t.as(CONSUMER);
  await expectRevert(consumer.inferenceEscrow.write.deposit([addr(CONSUMER), parseEther('2')], { value: parseEther('1') }), 'OpenPaymentsValueMismatch', [parseEther('1'), parseEther('2')]);
  await expectRevert(op.staking.write.stake([StakingRole.Validator, 0n, parseEther('2')], { value: parseEther('3') }), 'OpenPaymentsValueMismatch', [parseEther('3'), parseEther('2')]);

  // epoch 2, disputed by the consumer with the bond as native OPEN
  const tree = StandardMerkleTree.of([[addr(PAYEE), parseEther('25')]], ['address', 'uint256']);
  await t.mined(op.attributionSettlement.write.postEpoch([2n, tree.root as Hex, parseEther('25'), zeroHash, 'ipfs://inputs', []]));
  const bond = await consumer.attributionSettlement.read.disputeBond();
  await expectRevert(consumer.attributionSettlement.write.dispute([addr(OPERATOR), 2n, zeroHash, 'data:,'], { value: bond - 1n }), 'OpenPaymentsValueMismatch', [bond - 1n, bond]);
  const held = await op.openToken.read.balanceOf([t.addresses.attributionSettlement]);
  await t.mined(consumer.attributionSettlement.write.dispute([addr(OPERATOR), 2n, zeroHash, 'data:,'], { value: bond }));
  assert.equal(await op.openToken.read.balanceOf([t.addresses.attributionSettlement]), held + bond);

  // where OPEN is an ERC-20 the same payable call refuses native coin by name
  const other = await erc20.as(CONSUMER);
  await expectRevert(other.inferenceEscrow.write.deposit([erc20.accounts[CONSUMER]!.address, parseEther('1')], { value: parseEther('1') }), 'OpenPaymentsNativeUnsupported', [erc20.addresses.openToken]);
});

test('GOPEN: deposit native OPEN, delegate, vote weight by timestamp, withdraw it back', async () => {
  const c = await t.clients(VOTER);
  const gopen = getContract({ address: t.addresses.governanceToken, abi: governanceOpenAbi, client: { public: c.publicClient, wallet: c.walletClient } });
  const before = await native(VOTER);
  let gas = await gasOf(await gopen.write.deposit({ value: parseEther('100') }));
  gas += await gasOf(await gopen.write.delegate([addr(VOTER)]));
  const at = await gopen.read.clock();
  await t.increaseTime(2);
  assert.equal(await gopen.read.getPastVotes([addr(VOTER), BigInt(at)]), parseEther('100'));
  assert.equal(await gopen.read.balanceOf([addr(VOTER)]), parseEther('100'));
  await expectRevert(gopen.write.deposit({ value: 0n }), 'GovernanceOpenZeroAmount');
  gas += await gasOf(await gopen.write.withdraw([parseEther('40')]));
  assert.equal(await native(VOTER), before - parseEther('60') - gas);
  assert.equal(await gopen.read.getVotes([addr(VOTER)]), parseEther('60'));
  await expectRevert(gopen.write.withdraw([parseEther('61')]), 'ERC20InsufficientBalance');
});

test('signatures do not cross profiles: an authorisation signed for the testnet (161201) is refused on the development chain at the same address', async () => {
  const testnet = await startTestProtocol({ nativeOpen: true }, { chainId: chainProfile('openledger-testnet').chainId });
  try {
    // same deployer, same nonces: the same contract addresses on both chains
    assert.equal(testnet.addresses.inferenceEscrow, t.addresses.inferenceEscrow);
    const consumer = t.accounts[CONSUMER]!;
    const now = (await (await t.clients(0)).publicClient.getBlock()).timestamp;
    const auth: SpendAuthorization = { consumer: consumer.address, operator: addr(OPERATOR), cumulativeAmount: parseEther('30'), nonce: 2n, expiry: now + 3600n };
    // a fresh operator (the first one's epoch is disputed above) tries to draw it here
    const op = await t.as(OTHER_OPERATOR);
    await t.mined(op.staking.write.stake([StakingRole.Operator, 0n, t.params.minimumOperatorStake], { value: t.params.minimumOperatorStake }));
    auth.operator = addr(OTHER_OPERATOR);
    const forTestnet = await signSpendAuthorization(consumer, { chainId: 161201, escrow: testnet.addresses.inferenceEscrow }, auth);
    await expectRevert(op.attributionSettlement.write.postEpoch([1n, `0x${'11'.repeat(32)}`, 0n, zeroHash, 'ipfs://inputs', [{ auth, signature: forTestnet, drawTo: auth.cumulativeAmount }]]), 'InferenceEscrowInvalidSignature', [consumer.address]);
  } finally {
    await testnet.stop();
  }
});

test('the node\'s helpers: balance, payment and transfer in native OPEN, and through approvals where OPEN is an ERC-20', async () => {
  const c = await t.clients(VOTER);
  const p = await t.as(VOTER);
  assert.equal(await openBalanceOf({ contracts: p, publicClient: c.publicClient }, addr(VOTER)), await native(VOTER));
  const before = await native(PAYEE);
  await t.mined(sendOpen({ contracts: p, walletClient: c.walletClient }, addr(PAYEE), parseEther('7')));
  assert.equal(await native(PAYEE), before + parseEther('7'));

  const e = await erc20.as(0);
  const ec = await erc20.clients(0);
  const to = erc20.accounts[PAYEE]!.address;
  await erc20.mined(sendOpen({ contracts: e, walletClient: ec.walletClient }, to, parseEther('7')));
  assert.equal(await openBalanceOf({ contracts: e, publicClient: ec.publicClient }, to), parseEther('7'));
  const wait = (hash: Hash) => erc20.mined(hash);
  assert.deepEqual(await payOpen(e, e.inferenceEscrow.address, parseEther('5'), wait), {});
  assert.equal(await e.openToken.read.allowance([erc20.accounts[0]!.address, e.inferenceEscrow.address]), parseEther('5'));
  assert.deepEqual(await payOpen(p, p.inferenceEscrow.address, parseEther('5'), wait), { value: parseEther('5') });
});
