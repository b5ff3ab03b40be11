import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import {
  hashTypedData,
  keccak256,
  parseEther,
  parseSignature,
  toBytes,
  zeroHash,
  type Address,
  type Hex,
  zeroAddress,
} from 'viem';
import {
  signSpendAuthorization,
  spendAuthorizationDomain,
  spendAuthorizationTypes,
  type EscrowDeployment,
  type SpendAuthorization,
} from './spend-authorization.ts';
import { expectRevert, startTestProtocol, testProtocolParams, type TestProtocol } from './test-chain.ts';

// Accounts: 0 deployer/treasury/admin, 1 operator, 2 another operator, 3 and 4 consumers, 5 a stranger.
const OPERATOR = 1;
const OTHER_OPERATOR = 2;
const ALICE = 3;
const BOB = 4;
const STRANGER = 5;
const WINDOW = Number(testProtocolParams(zeroAddress).challengeWindow);
const DELAY = Number(testProtocolParams(zeroAddress).withdrawalDelay);
const ROOT: Hex = keccak256(toBytes('some epoch root'));

interface Signed {
  auth: SpendAuthorization;
  signature: Hex;
}

let t: TestProtocol;
let restore: () => Promise<void>;

const addr = (i: number): Address => t.accounts[i]!.address;

/** The deployed escrow on the test chain, or (to sign for the wrong one) another chain or contract. */
function escrowDeployment(overrides: Partial<EscrowDeployment> = {}): EscrowDeployment {
  return { chainId: 31337, escrow: t.addresses.inferenceEscrow, ...overrides };
}

async function now(): Promise<bigint> {
  return (await (await t.clients(0)).publicClient.getBlock()).timestamp;
}

/** `consumer` signs an authorization for `operator` (an account index) up to `cumulativeAmount`. */
async function authorize(
  consumer: number,
  operator: number,
  cumulativeAmount: bigint,
  nonce: bigint,
  options: { expiry?: bigint; signer?: number; domain?: Partial<EscrowDeployment> } = {},
): Promise<Signed> {
  const auth: SpendAuthorization = {
    consumer: addr(consumer),
    operator: addr(operator),
    cumulativeAmount,
    nonce,
    expiry: options.expiry ?? (await now()) + 3600n,
  };
  const signature = await signSpendAuthorization(t.accounts[options.signer ?? consumer]!, escrowDeployment(options.domain), auth);
  return { auth, signature };
}

/** `operator` posts its next epoch (waiting out its pending one first), drawing `signed`. */
async function postDraws(operator: number, signed: Signed[]): Promise<Hex> {
  const settlement = (await t.as(operator)).attributionSettlement;
  const ledger = await settlement.read.ledgerOf([addr(operator)]);
  if (ledger.pendingEpoch !== 0n) await t.increaseTime(WINDOW);
  const epoch = ledger.lastEpoch + 1n;
  return settlement.write.postEpoch([
    epoch,
    ROOT,
    0n,
    zeroHash,
    'ipfs://inputs',
    signed.map((s) => ({ auth: s.auth, signature: s.signature, drawTo: s.auth.cumulativeAmount })),
  ]);
}

async function deposit(consumer: number, amount: bigint): Promise<void> {
  const c = await t.as(consumer);
  await t.mined(c.openToken.write.approve([t.addresses.inferenceEscrow, amount]));
  await t.mined(c.inferenceEscrow.write.deposit([addr(consumer), amount]));
}

before(async () => {
  t = await startTestProtocol();
  const treasury = await t.as(0);
  for (const i of [OPERATOR, OTHER_OPERATOR, ALICE, BOB, STRANGER]) {
    await t.mined(treasury.openToken.write.transfer([addr(i), parseEther('10000')]));
  }
  for (const i of [OPERATOR, OTHER_OPERATOR]) {
    const op = await t.as(i);
    await t.mined(op.openToken.write.approve([t.addresses.staking, parseEther('1000')]));
    await t.mined(op.staking.write.stake([0, 0n, parseEther('1000')]));
  }
  restore = await t.checkpoint();
});

after(async () => {
  await t?.stop();
});

afterEach(async () => {
  await restore(); // every test starts from the state the before hook set up
});

test('deposit credits the named consumer, moves the tokens and rejects zero', async () => {
  const alice = await t.as(ALICE);
  const amount = parseEther('100');
  await t.mined(alice.openToken.write.approve([t.addresses.inferenceEscrow, amount * 2n]));
  await t.mined(alice.inferenceEscrow.write.deposit([addr(ALICE), amount]));
  // Anyone may top up someone else's deposit.
  await t.mined(alice.inferenceEscrow.write.deposit([addr(BOB), amount]));

  assert.equal(await alice.inferenceEscrow.read.balanceOf([addr(ALICE)]), amount);
  assert.equal(await alice.inferenceEscrow.read.balanceOf([addr(BOB)]), amount);
  assert.equal(await alice.inferenceEscrow.read.totalDeposits(), amount * 2n);
  assert.equal(await alice.openToken.read.balanceOf([t.addresses.inferenceEscrow]), amount * 2n);
  assert.equal(await alice.openToken.read.balanceOf([addr(ALICE)]), parseEther('10000') - amount * 2n);

  await expectRevert(alice.inferenceEscrow.write.deposit([addr(ALICE), 0n]), 'InferenceEscrowZeroAmount');
  await expectRevert(alice.inferenceEscrow.write.deposit([addr(ALICE), 1n]), 'ERC20InsufficientAllowance');
});

async function signPermit(owner: number, value: bigint, deadline: bigint) {
  const token = (await t.as(owner)).openToken;
  const nonce = await token.read.nonces([addr(owner)]);
  const signature = await t.accounts[owner]!.signTypedData({
    domain: { name: 'OpenLedger', version: '1', chainId: 31337, verifyingContract: t.addresses.openToken },
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    message: { owner: addr(owner), spender: t.addresses.inferenceEscrow, value, nonce, deadline },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return { r, s, v: Number(v ?? BigInt(yParity) + 27n) };
}

test('depositWithPermit deposits without a prior approval', async () => {
  const alice = await t.as(ALICE);
  const amount = parseEther('250');
  assert.equal(await alice.openToken.read.allowance([addr(ALICE), t.addresses.inferenceEscrow]), 0n);
  const deadline = (await now()) + 600n;
  const { r, s, v } = await signPermit(ALICE, amount, deadline);
  await t.mined(alice.inferenceEscrow.write.depositWithPermit([amount, deadline, v, r, s]));

  assert.equal(await alice.inferenceEscrow.read.balanceOf([addr(ALICE)]), amount);
  assert.equal(await alice.inferenceEscrow.read.totalDeposits(), amount);
  assert.equal(await alice.openToken.read.allowance([addr(ALICE), t.addresses.inferenceEscrow]), 0n, 'the permit is used up');
  assert.equal(await alice.openToken.read.nonces([addr(ALICE)]), 1n);
});

test('depositWithPermit survives a front-run permit, and fails without one or an allowance', async () => {
  const alice = await t.as(ALICE);
  const stranger = await t.as(STRANGER);
  const amount = parseEther('40');
  const deadline = (await now()) + 600n;
  const { r, s, v } = await signPermit(ALICE, amount, deadline);
  // Someone submits Alice's permit first; her deposit must still go through on the allowance it left.
  await t.mined(stranger.openToken.write.permit([addr(ALICE), t.addresses.inferenceEscrow, amount, deadline, v, r, s]));
  await t.mined(alice.inferenceEscrow.write.depositWithPermit([amount, deadline, v, r, s]));
  assert.equal(await alice.inferenceEscrow.read.balanceOf([addr(ALICE)]), amount);

  // The same (now used) permit with no allowance left: the deposit itself fails.
  await expectRevert(alice.inferenceEscrow.write.depositWithPermit([amount, deadline, v, r, s]), 'ERC20InsufficientAllowance');
  // Bob cannot ride on Alice's permit: it is checked against the caller.
  const fresh = await signPermit(ALICE, amount, deadline);
  await expectRevert(
    (await t.as(BOB)).inferenceEscrow.write.depositWithPermit([amount, deadline, fresh.v, fresh.r, fresh.s]),
    'ERC20InsufficientAllowance',
  );
});

test('withdrawals: NoWithdrawalPending, InsufficientDeposit, WithdrawalLocked before the delay, paid after it', async () => {
  const alice = (await t.as(ALICE)).inferenceEscrow;
  const token = (await t.as(ALICE)).openToken;
  await expectRevert(alice.write.withdraw(), 'InferenceEscrowNoWithdrawalPending');
  await expectRevert(alice.write.cancelWithdrawal(), 'InferenceEscrowNoWithdrawalPending');
  await deposit(ALICE, parseEther('100'));

  await expectRevert(alice.write.requestWithdrawal([parseEther('101')]), 'InferenceEscrowInsufficientDeposit', [parseEther('100'), parseEther('101')]);
  await expectRevert(alice.write.requestWithdrawal([0n]), 'InferenceEscrowZeroAmount');

  await t.mined(alice.write.requestWithdrawal([parseEther('30')]));
  const pending = await alice.read.withdrawalOf([addr(ALICE)]);
  assert.equal(pending.amount, parseEther('30'));
  assert.equal(BigInt(pending.unlockAt), (await now()) + BigInt(DELAY));
  await expectRevert(alice.write.withdraw(), 'InferenceEscrowWithdrawalLocked', [pending.unlockAt]);
  await t.increaseTime(DELAY / 2);
  await expectRevert(alice.write.withdraw(), 'InferenceEscrowWithdrawalLocked', [pending.unlockAt]);

  await t.increaseTime(DELAY / 2);
  const before = await token.read.balanceOf([addr(ALICE)]);
  await t.mined(alice.write.withdraw());
  assert.equal(await token.read.balanceOf([addr(ALICE)]), before + parseEther('30'));
  assert.equal(await alice.read.balanceOf([addr(ALICE)]), parseEther('70'));
  assert.equal(await alice.read.totalDeposits(), parseEther('70'));
  assert.equal(await token.read.balanceOf([t.addresses.inferenceEscrow]), parseEther('70'));
  assert.equal((await alice.read.withdrawalOf([addr(ALICE)])).amount, 0n);
  await expectRevert(alice.write.withdraw(), 'InferenceEscrowNoWithdrawalPending');
});

test('cancelWithdrawal drops the request; a new request replaces the old one and restarts the delay', async () => {
  const alice = (await t.as(ALICE)).inferenceEscrow;
  await deposit(ALICE, parseEther('100'));
  await t.mined(alice.write.requestWithdrawal([parseEther('10')]));
  await t.mined(alice.write.cancelWithdrawal());
  assert.equal((await alice.read.withdrawalOf([addr(ALICE)])).amount, 0n);
  await expectRevert(alice.write.cancelWithdrawal(), 'InferenceEscrowNoWithdrawalPending');
  await t.increaseTime(DELAY);
  await expectRevert(alice.write.withdraw(), 'InferenceEscrowNoWithdrawalPending');

  await t.mined(alice.write.requestWithdrawal([parseEther('10')]));
  await t.increaseTime(DELAY - 10);
  await t.mined(alice.write.requestWithdrawal([parseEther('20')]));
  const replaced = await alice.read.withdrawalOf([addr(ALICE)]);
  assert.equal(replaced.amount, parseEther('20'));
  await t.increaseTime(20);
  await expectRevert(alice.write.withdraw(), 'InferenceEscrowWithdrawalLocked', [replaced.unlockAt]);
  await t.increaseTime(DELAY);
  await t.mined(alice.write.withdraw());
  assert.equal(await alice.read.balanceOf([addr(ALICE)]), parseEther('80'));
});

test('hashAuthorization is the EIP-712 digest viem signs', async () => {
  const { auth } = await authorize(ALICE, OPERATOR, 123n, 7n);
  const escrow = (await t.as(0)).inferenceEscrow;
  const domain = spendAuthorizationDomain(31337, t.addresses.inferenceEscrow);
  const digest = hashTypedData({ domain, types: spendAuthorizationTypes, primaryType: 'SpendAuthorization', message: auth });
  assert.equal(await escrow.read.hashAuthorization([auth]), digest);
});

test('a consumer-signed authorization is drawn through postEpoch; a later one draws only the difference', async () => {
  await deposit(ALICE, parseEther('100'));
  const escrow = (await t.as(0)).inferenceEscrow;
  const token = (await t.as(0)).openToken;
  const settlement = (await t.as(0)).attributionSettlement;

  const first = await authorize(ALICE, OPERATOR, parseEther('30'), 1n);
  await t.mined(postDraws(OPERATOR, [first]));
  assert.equal(await escrow.read.balanceOf([addr(ALICE)]), parseEther('70'));
  assert.equal(await escrow.read.drawn([addr(ALICE), addr(OPERATOR)]), parseEther('30'));
  assert.equal(await escrow.read.lastNonce([addr(ALICE), addr(OPERATOR)]), 1n);
  assert.equal(await escrow.read.totalDeposits(), parseEther('70'));
  assert.equal(await token.read.balanceOf([t.addresses.attributionSettlement]), parseEther('30'));
  assert.equal(await settlement.read.totalFunded(), parseEther('30'));
  assert.equal((await settlement.read.getEpoch([addr(OPERATOR), 1n])).funded, parseEther('30'));

  // Nonces need only grow; they may skip.
  const second = await authorize(ALICE, OPERATOR, parseEther('45'), 5n);
  await t.mined(postDraws(OPERATOR, [second]));
  assert.equal(await escrow.read.balanceOf([addr(ALICE)]), parseEther('55'));
  assert.equal(await escrow.read.drawn([addr(ALICE), addr(OPERATOR)]), parseEther('45'));
  assert.equal(await escrow.read.lastNonce([addr(ALICE), addr(OPERATOR)]), 5n);
  assert.equal((await settlement.read.getEpoch([addr(OPERATOR), 2n])).funded, parseEther('15'));
  assert.equal(await token.read.balanceOf([t.addresses.attributionSettlement]), parseEther('45'));

  // Nonces and drawn amounts are per (consumer, operator): another operator starts from zero.
  const other = await authorize(ALICE, OTHER_OPERATOR, parseEther('5'), 1n);
  await t.mined(postDraws(OTHER_OPERATOR, [other]));
  assert.equal(await escrow.read.drawn([addr(ALICE), addr(OTHER_OPERATOR)]), parseEther('5'));
  assert.equal(await escrow.read.balanceOf([addr(ALICE)]), parseEther('50'));
  // Its draw funds its own ledger (its own epoch 1), not the first operator's.
  assert.equal((await settlement.read.getEpoch([addr(OTHER_OPERATOR), 1n])).funded, parseEther('5'));
  assert.equal((await settlement.read.ledgerOf([addr(OTHER_OPERATOR)])).funded, parseEther('5'));
  assert.equal((await settlement.read.ledgerOf([addr(OPERATOR)])).funded, parseEther('45'));
  assert.equal(await settlement.read.totalFunded(), parseEther('50'));
});

test('a replayed authorization is rejected (AuthorizationReplayed), as is an older nonce', async () => {
  await deposit(ALICE, parseEther('100'));
  const a5 = await authorize(ALICE, OPERATOR, parseEther('10'), 5n);
  await t.mined(postDraws(OPERATOR, [a5]));
  await expectRevert(postDraws(OPERATOR, [a5]), 'InferenceEscrowAuthorizationReplayed', [5n, 5n]);
  const a3 = await authorize(ALICE, OPERATOR, parseEther('20'), 3n);
  await expectRevert(postDraws(OPERATOR, [a3]), 'InferenceEscrowAuthorizationReplayed', [3n, 5n]);
  // The same authorization twice in one batch: the second draw is the replay.
  const a6 = await authorize(ALICE, OPERATOR, parseEther('20'), 6n);
  await expectRevert(postDraws(OPERATOR, [a6, a6]), 'InferenceEscrowAuthorizationReplayed', [6n, 6n]);
  assert.equal(await (await t.as(0)).inferenceEscrow.read.balanceOf([addr(ALICE)]), parseEther('90'));
});

test('an expired authorization is rejected (AuthorizationExpired)', async () => {
  await deposit(ALICE, parseEther('100'));
  const expiry = (await now()) + 10n;
  const signed = await authorize(ALICE, OPERATOR, parseEther('10'), 1n, { expiry });
  await t.increaseTime(20);
  await expectRevert(postDraws(OPERATOR, [signed]), 'InferenceEscrowAuthorizationExpired', [expiry]);
});

test('an authorization naming another operator is rejected (WrongOperator)', async () => {
  await deposit(ALICE, parseEther('100'));
  const forOther = await authorize(ALICE, OTHER_OPERATOR, parseEther('10'), 1n);
  await expectRevert(postDraws(OPERATOR, [forOther]), 'InferenceEscrowWrongOperator', [addr(OTHER_OPERATOR), addr(OPERATOR)]);
  // The operator it names can draw it.
  await t.mined(postDraws(OTHER_OPERATOR, [forOther]));
  assert.equal(await (await t.as(0)).inferenceEscrow.read.drawn([addr(ALICE), addr(OTHER_OPERATOR)]), parseEther('10'));
});

test('a forged or tampered signature is rejected (InvalidSignature)', async () => {
  await deposit(ALICE, parseEther('100'));
  // Signed by the operator, not the consumer.
  const byOperator = await authorize(ALICE, OPERATOR, parseEther('10'), 1n, { signer: OPERATOR });
  await expectRevert(postDraws(OPERATOR, [byOperator]), 'InferenceEscrowInvalidSignature');
  // A genuine signature over a smaller amount, with the amount raised afterwards.
  const genuine = await authorize(ALICE, OPERATOR, parseEther('10'), 1n);
  const tampered = { ...genuine, auth: { ...genuine.auth, cumulativeAmount: parseEther('100') } };
  await expectRevert(postDraws(OPERATOR, [tampered]), 'InferenceEscrowInvalidSignature');
  // Signed for another deployment (verifying contract) or another chain.
  const otherContract = await authorize(ALICE, OPERATOR, parseEther('10'), 1n, { domain: { escrow: t.addresses.staking } });
  await expectRevert(postDraws(OPERATOR, [otherContract]), 'InferenceEscrowInvalidSignature');
  const otherChain = await authorize(ALICE, OPERATOR, parseEther('10'), 1n, { domain: { chainId: 1 } });
  await expectRevert(postDraws(OPERATOR, [otherChain]), 'InferenceEscrowInvalidSignature');
  // Garbage bytes.
  await expectRevert(postDraws(OPERATOR, [{ auth: genuine.auth, signature: '0x1234' }]), 'InferenceEscrowInvalidSignature');
  assert.equal(await (await t.as(0)).inferenceEscrow.read.balanceOf([addr(ALICE)]), parseEther('100'));
});

test('a cumulative amount below what was drawn is rejected; an equal one draws nothing', async () => {
  await deposit(ALICE, parseEther('100'));
  await t.mined(postDraws(OPERATOR, [await authorize(ALICE, OPERATOR, parseEther('30'), 1n)]));
  await expectRevert(
    postDraws(OPERATOR, [await authorize(ALICE, OPERATOR, parseEther('29'), 2n)]),
    'InferenceEscrowCumulativeBelowDrawn',
    [parseEther('29'), parseEther('30')],
  );
  await t.mined(postDraws(OPERATOR, [await authorize(ALICE, OPERATOR, parseEther('30'), 2n)]));
  const escrow = (await t.as(0)).inferenceEscrow;
  assert.equal(await escrow.read.balanceOf([addr(ALICE)]), parseEther('70'));
  assert.equal(await escrow.read.lastNonce([addr(ALICE), addr(OPERATOR)]), 2n);
  assert.equal((await (await t.as(0)).attributionSettlement.read.getEpoch([addr(OPERATOR), 2n])).funded, 0n);
});

test('a draw beyond the deposit is rejected (InsufficientDeposit) and the whole epoch with it', async () => {
  await deposit(ALICE, parseEther('100'));
  await deposit(BOB, parseEther('50'));
  const bobOk = await authorize(BOB, OPERATOR, parseEther('20'), 1n);
  const aliceTooMuch = await authorize(ALICE, OPERATOR, parseEther('100') + 1n, 1n);
  await expectRevert(postDraws(OPERATOR, [bobOk, aliceTooMuch]), 'InferenceEscrowInsufficientDeposit', [parseEther('100'), parseEther('100') + 1n]);
  const escrow = (await t.as(0)).inferenceEscrow;
  assert.equal(await escrow.read.balanceOf([addr(BOB)]), parseEther('50'), "Bob's draw is rolled back too");
  assert.equal(await escrow.read.lastNonce([addr(BOB), addr(OPERATOR)]), 0n);
  assert.equal((await (await t.as(0)).attributionSettlement.read.ledgerOf([addr(OPERATOR)])).lastEpoch, 0n);
  // Exactly the balance is fine.
  const aliceAll = await authorize(ALICE, OPERATOR, parseEther('100'), 1n);
  await t.mined(postDraws(OPERATOR, [bobOk, aliceAll]));
  assert.equal(await escrow.read.balanceOf([addr(ALICE)]), 0n);
  assert.equal(await escrow.read.totalDeposits(), parseEther('30'));
});

test('only the settlement contract can draw directly (AccessControlUnauthorizedAccount)', async () => {
  await deposit(ALICE, parseEther('100'));
  const signed = await authorize(ALICE, OPERATOR, parseEther('10'), 1n);
  const settlementRole = await (await t.as(0)).inferenceEscrow.read.SETTLEMENT_ROLE();
  for (const caller of [OPERATOR, ALICE, 0]) {
    await expectRevert(
      (await t.as(caller)).inferenceEscrow.write.draw([[{ auth: signed.auth, signature: signed.signature, drawTo: signed.auth.cumulativeAmount }], addr(OPERATOR)]),
      'AccessControlUnauthorizedAccount',
      [addr(caller), settlementRole],
    );
  }
  assert.equal(await (await t.as(0)).inferenceEscrow.read.balanceOf([addr(ALICE)]), parseEther('100'));
});

test('a withdrawal requested after usage cannot strand the usage: the operator draws within the delay, the consumer gets the rest', async () => {
  await deposit(ALICE, parseEther('100'));
  const alice = await t.as(ALICE);
  // Alice uses 60 OPEN of inference, then asks for her whole deposit back.
  const usage = await authorize(ALICE, OPERATOR, parseEther('60'), 1n);
  await t.mined(alice.inferenceEscrow.write.requestWithdrawal([parseEther('100')]));
  const { unlockAt } = await alice.inferenceEscrow.read.withdrawalOf([addr(ALICE)]);
  await t.increaseTime(DELAY / 2);
  await expectRevert(alice.inferenceEscrow.write.withdraw(), 'InferenceEscrowWithdrawalLocked', [unlockAt]);

  // The node draws what it served before the delay runs out.
  await t.mined(postDraws(OPERATOR, [usage]));
  assert.equal(await alice.inferenceEscrow.read.balanceOf([addr(ALICE)]), parseEther('40'));

  await t.increaseTime(DELAY);
  const before = await alice.openToken.read.balanceOf([addr(ALICE)]);
  await t.mined(alice.inferenceEscrow.write.withdraw());
  assert.equal(await alice.openToken.read.balanceOf([addr(ALICE)]), before + parseEther('40'), 'only what is left');
  assert.equal(await alice.inferenceEscrow.read.balanceOf([addr(ALICE)]), 0n);
  assert.equal(await alice.inferenceEscrow.read.totalDeposits(), 0n);
  assert.equal(await alice.openToken.read.balanceOf([t.addresses.inferenceEscrow]), 0n);
  assert.equal(await alice.openToken.read.balanceOf([t.addresses.attributionSettlement]), parseEther('60'));
});

test('after the delay, a draw still lands first if it comes before the withdrawal', async () => {
  await deposit(ALICE, parseEther('100'));
  const alice = await t.as(ALICE);
  const usage = await authorize(ALICE, OPERATOR, parseEther('75'), 1n);
  await t.mined(alice.inferenceEscrow.write.requestWithdrawal([parseEther('50')]));
  await t.increaseTime(DELAY + 1);
  await t.mined(postDraws(OPERATOR, [usage]));
  const before = await alice.openToken.read.balanceOf([addr(ALICE)]);
  await t.mined(alice.inferenceEscrow.write.withdraw());
  // 50 requested, 25 left: the consumer gets 25 and the draw of 75 stands.
  assert.equal(await alice.openToken.read.balanceOf([addr(ALICE)]), before + parseEther('25'));
  assert.equal(await alice.inferenceEscrow.read.balanceOf([addr(ALICE)]), 0n);
});

test('setWithdrawalDelay is governance only', async () => {
  const escrow = (await t.as(STRANGER)).inferenceEscrow;
  await expectRevert(escrow.write.setWithdrawalDelay([1n]), 'AccessControlUnauthorizedAccount', [addr(STRANGER), zeroHash]);
  await t.mined((await t.as(0)).inferenceEscrow.write.setWithdrawalDelay([500n]));
  assert.equal(await escrow.read.withdrawalDelay(), 500n);
});
