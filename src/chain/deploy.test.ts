import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { keccak256, toBytes, zeroHash } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { startAnvil } from './anvil.ts';
import { connectChain } from './clients.ts';
import { defaultProtocolParams, deployProtocol, developmentProtocolParams, governanceSeconds, memoryRecorder } from './deploy.ts';
import { protocolContracts } from './protocol.ts';
import { TEST_MNEMONIC } from './test-chain.ts';
import { genesisPredeploys, installPredeploys } from './predeploys.ts';
import { WRAPPED_OPEN_ADDRESS } from './profiles.ts';

/** A new anvil for one test (stopped after it) and clients signing as the deployer. */
async function freshChain(t: TestContext) {
  const anvil = await startAnvil({ mnemonic: TEST_MNEMONIC });
  t.after(() => anvil.stop());
  const account = mnemonicToAccount(TEST_MNEMONIC);
  return { account, clients: await connectChain(anvil.url, account, { pollingInterval: 20 }) };
}

test('deploys, wires and hands every admin role to the timelock; a rerun deploys nothing', async (t) => {
  const { account, clients } = await freshChain(t);
  const recorder = memoryRecorder();
  const params = defaultProtocolParams(account.address);
  const addresses = await deployProtocol(clients, params, recorder);
  const p = protocolContracts(clients, addresses);

  assert.equal(await p.openToken.read.totalSupply(), params.genesisSupply);
  assert.equal(await p.openToken.read.balanceOf([account.address]), params.genesisSupply);
  for (const c of [p.staking, p.inferenceEscrow, p.attributionSettlement, p.skillRegistry, p.skillCallRoots]) {
    assert.equal(await c.read.hasRole([zeroHash, addresses.timelock]), true);
    assert.equal(await c.read.hasRole([zeroHash, account.address]), false);
  }
  // the DatanetRegistry has nothing to administer; contributor stakes live in Staking, which names it once
  assert.equal(await p.staking.read.datanetRegistry(), addresses.datanetRegistry);
  assert.equal(await p.datanetRegistry.read.staking(), addresses.staking);
  assert.equal(await p.staking.read.unbondingDelay([2]), params.contributorUnbondingDelay);
  assert.equal(await p.timelock.read.hasRole([zeroHash, account.address]), false);
  assert.equal(await p.timelock.read.hasRole([keccak256(toBytes('PROPOSER_ROLE')), addresses.governor]), true);
  assert.equal(await p.staking.read.hasRole([keccak256(toBytes('SLASHER_ROLE')), addresses.attributionSettlement]), true);
  assert.equal(await p.inferenceEscrow.read.hasRole([keccak256(toBytes('SETTLEMENT_ROLE')), addresses.attributionSettlement]), true);
  assert.deepEqual(await p.attributionSettlement.read.feeSplit(), [3000, 1000, 5000, 1000]);
  // agents: the identity registry creates accounts of this code through this ERC-6551 registry; the
  // settlement and the timelock may slash listing bonds
  assert.equal(await p.agentRegistry.read.erc6551Registry(), addresses.erc6551Registry);
  assert.equal(await p.agentRegistry.read.accountImplementation(), addresses.agentAccountImplementation);
  assert.equal(await p.agentAccountImplementation.read.openToken(), addresses.openToken);
  assert.equal(await p.skillRegistry.read.agentRegistry(), addresses.agentRegistry);
  for (const slasher of [addresses.attributionSettlement, addresses.timelock]) {
    assert.equal(await p.skillRegistry.read.hasRole([keccak256(toBytes('SLASHER_ROLE')), slasher]), true);
  }
  assert.deepEqual([await p.skillRegistry.read.minimumListingBond(), BigInt(await p.skillRegistry.read.unbondingDelay())], [params.minimumListingBond, params.listingUnbondingDelay]);
  // skill calls: the call roots read this settlement and decide its disputes by fraud proof (an
  // arbiter); reputation reads these call roots and agents; validation these agents and stakes
  assert.equal(await p.skillCallRoots.read.settlement(), addresses.attributionSettlement);
  assert.equal(await p.skillCallRoots.read.callFeeBps(), params.callFeeBps);
  assert.equal(params.callFeeBps, 100);
  assert.equal(await p.attributionSettlement.read.hasRole([keccak256(toBytes('ARBITER_ROLE')), addresses.skillCallRoots]), true);
  assert.equal(await p.reputationRegistry.read.getIdentityRegistry(), addresses.agentRegistry);
  assert.equal(await p.reputationRegistry.read.skillCallRoots(), addresses.skillCallRoots);
  assert.equal(await p.validationRegistry.read.getIdentityRegistry(), addresses.agentRegistry);
  assert.equal(await p.validationRegistry.read.staking(), addresses.staking);

  const blockBefore = await clients.publicClient.getBlockNumber();
  const again = await deployProtocol(clients, params, recorder);
  assert.deepEqual(again, addresses);
  assert.equal(await clients.publicClient.getBlockNumber(), blockBefore, 'a rerun sends no transaction');
});

test('a deployment interrupted after sending a contract adopts it instead of deploying twice', async (t) => {
  const { account, clients } = await freshChain(t);
  const inner = memoryRecorder();
  // Crash after the timelock's deployment was mined but before it was recorded as done.
  let crash = true;
  const recorder = {
    ...inner,
    async save(chainId: number, step: Parameters<typeof inner.save>[1]) {
      if (crash && step.name === 'timelock' && step.status === 'done') {
        crash = false;
        throw new Error('simulated crash');
      }
      return inner.save(chainId, step);
    },
  };
  const params = defaultProtocolParams(account.address);
  await assert.rejects(deployProtocol(clients, params, recorder), /simulated crash/);
  const pending = (await inner.load(clients.chain.id)).timelock;
  assert.equal(pending?.status, 'pending');
  const nonceAfterCrash = await clients.publicClient.getTransactionCount({ address: account.address });

  const addresses = await deployProtocol(clients, params, recorder);
  assert.equal(addresses.timelock, pending?.address, 'the sent timelock is adopted');
  const p = protocolContracts(clients, addresses);
  assert.equal(await p.governor.read.timelock(), addresses.timelock);
  // Every transaction after the crash is a recorded step (the token's was sent before it): no second timelock.
  const steps = await inner.load(clients.chain.id);
  const sent = Object.values(steps).filter((s) => s.txHash && s.name !== 'protocol').length; // the protocol stamp's hash is the code's
  const nonceNow = await clients.publicClient.getTransactionCount({ address: account.address });
  assert.equal(nonceNow - nonceAfterCrash, sent - 1, 'only the steps after the crash sent transactions');
});

test('a chain deployed by another version of the protocol is refused up front, saying what to do', async (t) => {
  const { account, clients } = await freshChain(t);
  const recorder = memoryRecorder();
  const params = defaultProtocolParams(account.address);
  await deployProtocol(clients, params, recorder);
  // as the steps of an older version would read: its contracts' code hashed to something else
  await recorder.save(clients.chain.id, { name: 'protocol', status: 'done', txHash: keccak256(toBytes('an older protocol')) });
  const nonce = () => clients.publicClient.getTransactionCount({ address: account.address });
  const sentBefore = await nonce();
  await assert.rejects(deployProtocol(clients, params, recorder), /deployed by another version of openledger.*fresh --data-dir/);
  assert.equal(await nonce(), sentBefore, 'nothing was sent');
});

test('deadlines are consistent with governance: a dispute outlasts a vote and its timelock, and so does unbonding', async () => {
  const account = mnemonicToAccount(TEST_MNEMONIC);
  for (const params of [defaultProtocolParams(account.address), developmentProtocolParams(account.address)]) {
    assert.ok(params.disputeTimeout > governanceSeconds(params));
    assert.ok(params.unbondingDelay > params.challengeWindow + governanceSeconds(params));
  }
  // OpenLedger's own governance: 100 OPEN to propose, a day's delay, two weeks' vote, 25 % quorum, a day's timelock
  const network = defaultProtocolParams(account.address);
  assert.equal(governanceSeconds(network), 16n * 86_400n);
  assert.deepEqual([network.proposalThreshold, network.quorumPercent], [10n ** 20n, 25n]);
  // refused before anything is sent
  const never = { publicClient: {}, walletClient: {}, account } as never;
  await assert.rejects(deployProtocol(never, { ...network, disputeTimeout: 7n * 86_400n }, memoryRecorder()), /disputeTimeout \(604800 s\) must exceed a governance decision \(1382400 s/);
  await assert.rejects(deployProtocol(never, { ...network, unbondingDelay: 7n * 86_400n }, memoryRecorder()), /unbondingDelay \(604800 s\) must exceed challengeWindow plus a governance decision/);
});

test('native OPEN: chosen where the chain has the WOPEN predeploy, refused by name where it has not, and a rerun adopts it', async (t) => {
  const { account, clients } = await freshChain(t);
  const params = defaultProtocolParams(account.address);
  // a bare anvil on the development id has no predeploys: asked for native OPEN, the deployment says why it cannot
  await assert.rejects(deployProtocol(clients, { ...params, nativeOpen: true }, memoryRecorder()), /chain 31337 has no WOPEN predeploy at 0x4200000000000000000000000000000000000006/);
  await installPredeploys(clients.chain.rpcUrls.default.http[0]!, genesisPredeploys(true));
  const recorder = memoryRecorder();
  const addresses = await deployProtocol(clients, params, recorder);
  assert.equal(addresses.openToken, WRAPPED_OPEN_ADDRESS, 'the development profile makes OPEN native once the chain has WOPEN');
  assert.notEqual(addresses.governanceToken, addresses.openToken);
  assert.deepEqual(await deployProtocol(clients, params, recorder), addresses);
});
