import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashTypedData, isAddressEqual, parseEther } from 'viem';
import {
  recoverSpendAuthorizationSigner,
  signSpendAuthorization,
  spendAuthorizationDomain,
  spendAuthorizationTypes,
  type EscrowDeployment,
  type SpendAuthorization,
} from './spend-authorization.ts';
import { startTestProtocol, type TestProtocol } from './test-chain.ts';

// Accounts: 1 the consumer, 2 the operator.
const CONSUMER = 1;
const OPERATOR = 2;

let t: TestProtocol;
let deployment: EscrowDeployment;

const authorization = (): SpendAuthorization => ({
  consumer: t.accounts[CONSUMER]!.address,
  operator: t.accounts[OPERATOR]!.address,
  cumulativeAmount: parseEther('12.5'),
  nonce: 3n,
  expiry: 1_900_000_000n,
});

before(async () => {
  t = await startTestProtocol();
  deployment = { chainId: (await t.clients(0)).chain.id, escrow: t.addresses.inferenceEscrow };
});
after(async () => {
  await t?.stop();
});

test("the contract's hashAuthorization is the EIP-712 digest of our domain and types", async () => {
  const escrow = (await t.as(0)).inferenceEscrow;
  const auth = authorization();
  const digest = hashTypedData({
    domain: spendAuthorizationDomain(deployment.chainId, deployment.escrow),
    types: spendAuthorizationTypes,
    primaryType: 'SpendAuthorization',
    message: auth,
  });
  assert.equal(await escrow.read.hashAuthorization([auth]), digest);
  // Every field is part of the digest.
  for (const changed of [{ nonce: 4n }, { cumulativeAmount: 1n }, { expiry: 1n }, { operator: auth.consumer }]) {
    assert.notEqual(await escrow.read.hashAuthorization([{ ...auth, ...changed }]), digest);
  }
});

test('a signature recovers to the consumer who signed; a tampered amount recovers another address', async () => {
  const consumer = t.accounts[CONSUMER]!;
  const auth = authorization();
  const signature = await signSpendAuthorization(consumer, deployment, auth);
  assert.ok(isAddressEqual(await recoverSpendAuthorizationSigner(deployment, auth, signature), consumer.address));

  const tampered = { ...auth, cumulativeAmount: auth.cumulativeAmount + 1n };
  const recovered = await recoverSpendAuthorizationSigner(deployment, tampered, signature);
  assert.ok(!isAddressEqual(recovered, consumer.address), 'a raised amount is not the consumer\'s signature');
  // Nor does the signature hold for another escrow or another chain.
  const otherEscrow = await recoverSpendAuthorizationSigner({ ...deployment, escrow: t.addresses.staking }, auth, signature);
  assert.ok(!isAddressEqual(otherEscrow, consumer.address));
  const otherChain = await recoverSpendAuthorizationSigner({ ...deployment, chainId: 1 }, auth, signature);
  assert.ok(!isAddressEqual(otherChain, consumer.address));
});
