import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mnemonicToAccount } from 'viem/accounts';
import { startAnvil } from './anvil.ts';
import { connectChain } from './clients.ts';
import { defaultProtocolParams, deployProtocol, memoryRecorder } from './deploy.ts';
import { joinProtocol } from './join-protocol.ts';
import { TEST_MNEMONIC } from './test-chain.ts';
import { verifyProtocol } from './verify-protocol.ts';

// Joining checks everything on chain: the addresses another node hands out are not trusted.

test('a node joins a deployment only when the addresses are this version\'s contracts, wired to one another', async (t) => {
  const anvil = await startAnvil({ mnemonic: TEST_MNEMONIC });
  t.after(() => anvil.stop());
  const founder = mnemonicToAccount(TEST_MNEMONIC);
  const founderClients = await connectChain(anvil.url, founder, { pollingInterval: 20 });
  const network = await deployProtocol(founderClients, defaultProtocolParams(founder.address), memoryRecorder());
  // a second deployment on the same chain, by another account: each contract genuine, but not the network's
  const other = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 7 });
  const otherClients = await connectChain(anvil.url, other, { pollingInterval: 20 });
  const decoy = await deployProtocol(otherClients, defaultProtocolParams(other.address), memoryRecorder());
  const joiner = await connectChain(anvil.url, mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 3 }), { pollingInterval: 20 });

  await verifyProtocol(joiner.publicClient, network);
  await t.test('a contract at the wrong name, or an account without code, is refused by its code', async () => {
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, staking: network.datanetRegistry }), /staking 0x[0-9a-fA-F]{40}: its code is not this version of openledger's staking/);
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, inferenceEscrow: founder.address }), /inferenceEscrow 0x[0-9a-fA-F]{40}: no contract at this address/);
    // the ERC-6551 registry named as the code agents' accounts delegate to
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, agentAccountImplementation: network.erc6551Registry }), /agentAccountImplementation 0x[0-9a-fA-F]{40}: its code is not/);
    // the two ERC-8004 registries swapped
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, reputationRegistry: network.validationRegistry }), /reputationRegistry 0x[0-9a-fA-F]{40}: its code is not/);
  });
  await t.test('genuine contracts of two deployments are refused by their wiring', async () => {
    // an escrow the network's settlement cannot draw from: consumers would pay into the wrong one
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, inferenceEscrow: decoy.inferenceEscrow }), /AttributionSettlement\.escrow is 0x[0-9a-fA-F]{40}, not 0x[0-9a-fA-F]{40}: the addresses are not one deployment/);
    // an operator registry that reads another staking: anyone listed there is not staked here
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, operatorRegistry: decoy.operatorRegistry }), /OperatorRegistry\.staking/);
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, governor: decoy.governor }), /OpenGovernor\.token/);
    // a skill registry whose agents are another registry's: its listings' owners are not this network's agents
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, skillRegistry: decoy.skillRegistry }), /SkillRegistry\.agentRegistry/);
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, erc6551Registry: decoy.erc6551Registry }), /AgentRegistry\.erc6551Registry/);
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, agentAccountImplementation: decoy.agentAccountImplementation }), /AgentRegistry\.accountImplementation/);
    // call roots whose fraud proofs decide another settlement's disputes; reputation that reads
    // another network's call roots (its paid calls are not ours); validators staked elsewhere
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, skillCallRoots: decoy.skillCallRoots }), /SkillCallRoots\.settlement/);
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, reputationRegistry: decoy.reputationRegistry }), /ReputationRegistry\.identityRegistry/);
    await assert.rejects(verifyProtocol(joiner.publicClient, { ...network, validationRegistry: decoy.validationRegistry }), /ValidationRegistry\.identityRegistry/);
  });

  await t.test('the store remembers the deployment it joined, checks it again at every start, and refuses another', async () => {
    const recorder = memoryRecorder();
    assert.equal(await joinProtocol(joiner, recorder), undefined, 'offered nothing, never joined: the node deploys its own');
    assert.deepEqual(await joinProtocol(joiner, recorder, network), network);
    assert.deepEqual(await joinProtocol(joiner, recorder), network, 'a restart without --join uses the joined deployment');
    await assert.rejects(joinProtocol(joiner, recorder, decoy), /this store joined the network whose OPEN is/);
    // a store that deployed its own protocol on this chain does not join another with it
    await assert.rejects(joinProtocol(founderClients, await deployedStore(founderClients), decoy), /this store deployed its own protocol on chain/);
  });
});

/** A recorder holding a finished deployment (rerun: nothing is sent). */
async function deployedStore(clients: Awaited<ReturnType<typeof connectChain>>) {
  const recorder = memoryRecorder();
  await deployProtocol(clients, defaultProtocolParams(clients.account.address), recorder);
  return recorder;
}
