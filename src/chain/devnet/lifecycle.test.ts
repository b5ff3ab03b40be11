import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { erc20Abi, getContract, parseEther, zeroHash, type Abi, type Address, type Hash, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { connectChain, type ChainClients } from '../clients.ts';
import { deployProtocol, memoryRecorder } from '../deploy.ts';
import { wrappedOpenAbi } from '../generated/index.ts';
import { callJsonRpc } from '../json-rpc.ts';
import { WRAPPED_OPEN_ADDRESS } from '../profiles.ts';
import { protocolContracts, type ProtocolAddresses } from '../protocol.ts';
import { signSpendAuthorization, type SpendAuthorization } from '../spend-authorization.ts';
import { StakingRole } from '../staking-role.ts';
import { testProtocolParams } from '../test-chain.ts';
import { depositOpen } from './deposit-open.ts';
import { opArtifact } from './op-artifacts.ts';
import { proposeOutputs } from './propose-outputs.ts';
import { finalizeWithdrawal, proveWithdrawal } from './prove-withdrawal.ts';
import { memoryCursor } from './relay-cursor.ts';
import { relayDeposits } from './relay-deposits.ts';
import { startTestDevnet, type TestDevnet } from './test-devnet.ts';
import { burnWithdrawnOpen, withdrawOpen } from './withdraw-open.ts';

// The whole path on the L1 + L2 network: OPEN deposited on L1 becomes native OPEN on L2, pays gas,
// is staked, deposited in the escrow, drawn for an inference in an epoch, claimed, and withdrawn to
// L1. The actors are fresh accounts with nothing on either chain but what the bridge brings, so
// every balance is exact.

let d: TestDevnet;
let l1: ChainClients;
let addresses: ProtocolAddresses;
const params = testProtocolParams('0x0000000000000000000000000000000000000001');
const cursor = memoryCursor();
const relay = () => relayDeposits({ l1: l1.publicClient, l2Url: d.l2.url, portal: d.l1Addresses.optimismPortal, fromBlock: d.l1StartBlock, cursor });

before(async () => {
  d = await startTestDevnet();
  l1 = await d.l1Clients(0);
  await relay();
  const admin = await d.l2Clients(0);
  addresses = await deployProtocol(admin, { ...params, treasury: admin.account.address, nativeOpen: true }, memoryRecorder());
});
after(async () => {
  await d?.stop();
});

interface Actor {
  account: PrivateKeyAccount;
  clients: ChainClients;
  /** Native OPEN this actor's transactions cost in gas. */
  gas: bigint;
}

async function actor(): Promise<Actor> {
  const account = privateKeyToAccount(generatePrivateKey());
  return { account, clients: await connectChain(d.l2.url, account, { pollingInterval: 20 }), gas: 0n };
}

/** Waits for `a`'s transaction, checks it succeeded, and books its gas. */
async function sent(a: Actor, hash: Hash | Promise<Hash>) {
  const r = await a.clients.publicClient.waitForTransactionReceipt({ hash: await hash });
  assert.equal(r.status, 'success');
  a.gas += r.gasUsed * r.effectiveGasPrice;
  return r;
}

test('deposit OPEN on L1 → native OPEN on L2 → gas, stake, escrow, an inference paid in an epoch, a claim → withdrawn to L1: exact at each step', async () => {
  const [operator, consumer, payee] = [await actor(), await actor(), await actor()];
  const l2 = operator.clients.publicClient;
  const balance = (a: Actor) => l2.getBalance({ address: a.account.address });
  const locked = () => l1.publicClient.readContract({ address: d.l1Addresses.optimismPortal, abi: opArtifact('OptimismPortal').abi as Abi, functionName: 'balance' }) as Promise<bigint>;
  const lockedBefore = await locked();

  // 1. OPEN from L1 to each actor on L2
  const funds = new Map<Actor, bigint>([[operator, params.minimumOperatorStake + parseEther('1')], [consumer, parseEther('41')], [payee, parseEther('0.1')]]);
  for (const [a, amount] of funds) await depositOpen(l1, d.l1Addresses, { to: a.account.address, amount });
  assert.equal((await relay()).length, 3);
  for (const [a, amount] of funds) assert.equal(await balance(a), amount);
  const deposited = [...funds.values()].reduce((s, v) => s + v, 0n);
  assert.equal(await locked(), lockedBefore + deposited);

  // 2. the operator stakes the minimum in native OPEN, paying gas in native OPEN
  const op = protocolContracts(operator.clients, addresses);
  await sent(operator, op.staking.write.stake([StakingRole.Operator, 0n, params.minimumOperatorStake], { value: params.minimumOperatorStake }));
  assert.ok(operator.gas > 0n);
  assert.equal(await balance(operator), funds.get(operator)! - params.minimumOperatorStake - operator.gas);

  // 3. the consumer deposits in the escrow and authorises a 25 OPEN inference
  const c = protocolContracts(consumer.clients, addresses);
  const escrowed = parseEther('40');
  await sent(consumer, c.inferenceEscrow.write.deposit([consumer.account.address, escrowed], { value: escrowed }));
  assert.equal(await balance(consumer), funds.get(consumer)! - escrowed - consumer.gas);
  const fee = parseEther('25');
  const now = (await l2.getBlock()).timestamp;
  const auth: SpendAuthorization = { consumer: consumer.account.address, operator: operator.account.address, cumulativeAmount: fee, nonce: 1n, expiry: now + 3600n };
  const signature = await signSpendAuthorization(consumer.account, { chainId: operator.clients.chain.id, escrow: addresses.inferenceEscrow }, auth);

  // 4. the epoch draws the fee and owes it to the payee
  const tree = StandardMerkleTree.of([[payee.account.address, fee]], ['address', 'uint256']);
  await sent(operator, op.attributionSettlement.write.postEpoch([1n, tree.root as Hex, fee, zeroHash, 'ipfs://inputs', [{ auth, signature, drawTo: fee }]]));
  assert.equal(await c.inferenceEscrow.read.balanceOf([consumer.account.address]), escrowed - fee);
  await callJsonRpc(d.l2.url, 'evm_increaseTime', [Number(params.challengeWindow) + 1]);
  await callJsonRpc(d.l2.url, 'evm_mine');

  // 5. the payee claims (WOPEN) and unwraps it to native OPEN
  const p = protocolContracts(payee.clients, addresses);
  await sent(payee, p.attributionSettlement.write.claim([operator.account.address, payee.account.address, fee, tree.getProof(0) as Hex[]]));
  const wopen = getContract({ address: WRAPPED_OPEN_ADDRESS, abi: wrappedOpenAbi, client: { public: l2, wallet: payee.clients.walletClient } });
  await sent(payee, wopen.write.withdraw([fee]));
  assert.equal(await balance(payee), funds.get(payee)! + fee - payee.gas);

  // 6. the payee withdraws its earnings to L1
  const target: Address = privateKeyToAccount(generatePrivateKey()).address;
  const { receipt, withdrawal } = await withdrawOpen(payee.clients, { target, amount: fee });
  payee.gas += receipt.gasUsed * receipt.effectiveGasPrice;
  assert.equal(await balance(payee), funds.get(payee)! - payee.gas);
  await burnWithdrawnOpen(await d.l2Clients(0));
  await proposeOutputs({ l1, l2OutputOracle: d.l1Addresses.l2OutputOracle, l2Url: d.l2.url, fillBlocks: true });
  await proveWithdrawal(l1, d.l1Addresses, d.l2.url, withdrawal, receipt.blockNumber);
  await callJsonRpc(d.l1.url, 'evm_increaseTime', [Number(d.params.finalizationPeriodSeconds) + 1]);
  await finalizeWithdrawal(l1, d.l1Addresses, withdrawal);
  assert.equal(await l1.publicClient.readContract({ address: d.l1Addresses.openToken, abi: erc20Abi, functionName: 'balanceOf', args: [target] }), fee);

  // the portal holds exactly what is still on L2: the actors' OPEN, the gas they paid (in L2's fee
  // vaults), and what the protocol holds for them as WOPEN (the stake, the escrow's remainder)
  const actors = [operator, consumer, payee];
  let onL2 = await l2.getBalance({ address: WRAPPED_OPEN_ADDRESS });
  for (const a of actors) onL2 += (await balance(a)) + a.gas;
  assert.equal(await l2.getBalance({ address: WRAPPED_OPEN_ADDRESS }), params.minimumOperatorStake + escrowed - fee);
  assert.equal(await locked(), lockedBefore + deposited - fee);
  assert.equal(await locked(), lockedBefore + onL2);
});
