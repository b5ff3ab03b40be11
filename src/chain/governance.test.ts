import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  encodeFunctionData,
  keccak256,
  toBytes,
  type Address,
  type Hex,
} from 'viem';
import { attributionSettlementAbi } from './generated/index.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

// Governor states (OpenZeppelin IGovernor.ProposalState).
const State = { Pending: 0, Active: 1, Canceled: 2, Defeated: 3, Succeeded: 4, Queued: 5, Expired: 6, Executed: 7 } as const;
// GovernorCountingSimple vote types.
const For = 1;

let t: TestProtocol;

before(async () => {
  t = await startTestProtocol({ handOverToTimelock: true });
});
after(async () => {
  await t?.stop();
});

/** A governance proposal; the description makes its id unique. */
interface Proposal {
  targets: Address[];
  values: bigint[];
  calldatas: Hex[];
  description: string;
}

function settlementProposal(description: string, split: { modelOwnerBps: number; datanetOwnersBps: number; contributorsBps: number; stakersBps: number }, thresholdPpm: number): Proposal {
  const target = t.addresses.attributionSettlement;
  return {
    targets: [target, target],
    values: [0n, 0n],
    calldatas: [
      encodeFunctionData({ abi: attributionSettlementAbi, functionName: 'setFeeSplit', args: [split] }),
      encodeFunctionData({ abi: attributionSettlementAbi, functionName: 'setAttributionThreshold', args: [thresholdPpm] }),
    ],
    description,
  };
}

/** Proposes as account `i` and returns the proposal id. */
async function propose(i: number, p: Proposal): Promise<bigint> {
  const gov = (await t.as(i)).governor;
  await t.mined(gov.write.propose([p.targets, p.values, p.calldatas, p.description]));
  const id = await gov.read.hashProposal([p.targets, p.values, p.calldatas, keccak256(toBytes(p.description))]);
  assert.equal(await gov.read.state([id]), State.Pending);
  return id;
}

/** Mines past the voting delay, so the proposal is Active. */
async function waitVotingDelay(id: bigint) {
  const gov = (await t.as(0)).governor;
  const snapshot = await gov.read.proposalSnapshot([id]);
  const { publicClient } = await t.clients(0);
  const now = await publicClient.getBlockNumber();
  // Voting opens once the current block is past the snapshot (reads run against the latest block).
  if (now <= snapshot) await t.mine(Number(snapshot - now) + 1);
  assert.equal(await gov.read.state([id]), State.Active);
}

/** Mines past the voting period, so the proposal is decided. */
async function waitVotingPeriod(id: bigint) {
  const gov = (await t.as(0)).governor;
  const deadline = await gov.read.proposalDeadline([id]);
  const { publicClient } = await t.clients(0);
  const now = await publicClient.getBlockNumber();
  await t.mine(Number(deadline - now) + 1);
}

/** Proposes as account 0, votes For as every account in `voters`, and waits out the voting period. */
async function passVote(p: Proposal, voters: number[]): Promise<bigint> {
  const id = await propose(0, p);
  await waitVotingDelay(id);
  for (const v of voters) await t.mined((await t.as(v)).governor.write.castVote([id, For]));
  await waitVotingPeriod(id);
  return id;
}

const descriptionHash = (p: Proposal) => keccak256(toBytes(p.description));

/** Self-delegates account `i`'s OPEN unless already done, so its balance counts as votes. */
async function ensureDelegated(i: number) {
  const token = (await t.as(i)).openToken;
  const me = t.accounts[i]!.address;
  if ((await token.read.delegates([me])) !== me) await t.mined(token.write.delegate([me]));
}

test('the deployer no longer administers the contracts: setFeeSplit reverts with AccessControlUnauthorizedAccount', async () => {
  const settlement = (await t.as(0)).attributionSettlement;
  await expectRevert(
    settlement.write.setFeeSplit([{ modelOwnerBps: 2500, datanetOwnersBps: 1500, contributorsBps: 5000, stakersBps: 1000 }]),
    'AccessControlUnauthorizedAccount',
  );
  await expectRevert(settlement.write.setAttributionThreshold([1]), 'AccessControlUnauthorizedAccount');
  assert.deepEqual(await settlement.read.feeSplit(), [3000, 1000, 5000, 1000]);
});

test('delegated OPEN votes change the fee split and the attribution threshold through the governor and the timelock', async () => {
  const p = await t.as(0);
  const treasury = t.accounts[0]!.address;
  // Votes count only once delegated (ERC-5805); self-delegate the treasury's genesis supply.
  assert.equal(await p.openToken.read.getVotes([treasury]), 0n);
  await t.mined(p.openToken.write.delegate([treasury]));
  assert.equal(await p.openToken.read.getVotes([treasury]), t.params.genesisSupply);

  const newSplit = { modelOwnerBps: 2500, datanetOwnersBps: 1500, contributorsBps: 4500, stakersBps: 1500 };
  const proposal = settlementProposal('Rebalance the fee split and lower the attribution threshold to 0.5%', newSplit, 5_000);
  const id = await passVote(proposal, [0]);
  const [against, forVotes, abstain] = await p.governor.read.proposalVotes([id]);
  assert.equal(forVotes, t.params.genesisSupply);
  assert.equal(against, 0n);
  assert.equal(abstain, 0n);
  assert.equal(await p.governor.read.state([id]), State.Succeeded);

  await t.mined(p.governor.write.queue([proposal.targets, proposal.values, proposal.calldatas, descriptionHash(proposal)]));
  assert.equal(await p.governor.read.state([id]), State.Queued);
  await t.increaseTime(t.params.timelockDelay + 1n);
  await t.mined(p.governor.write.execute([proposal.targets, proposal.values, proposal.calldatas, descriptionHash(proposal)]));
  assert.equal(await p.governor.read.state([id]), State.Executed);

  assert.deepEqual(await p.attributionSettlement.read.feeSplit(), [2500, 1500, 4500, 1500]);
  assert.equal(await p.attributionSettlement.read.attributionThresholdPpm(), 5_000);
});

test('a proposal whose votes fall short of quorum is Defeated and cannot be queued', async () => {
  const p = await t.as(0);
  const small = t.accounts[1]!;
  // 1% of the supply, below the 4% quorum, votes For; nobody else votes.
  await t.mined(p.openToken.write.transfer([small.address, t.params.genesisSupply / 100n]));
  await t.mined((await t.as(1)).openToken.write.delegate([small.address]));

  const proposal = settlementProposal('A change too few holders care about', { modelOwnerBps: 1000, datanetOwnersBps: 1000, contributorsBps: 7000, stakersBps: 1000 }, 1);
  const id = await propose(1, proposal);
  await waitVotingDelay(id);
  await t.mined((await t.as(1)).governor.write.castVote([id, For]));
  await waitVotingPeriod(id);

  const snapshot = await p.governor.read.proposalSnapshot([id]);
  const [, forVotes] = await p.governor.read.proposalVotes([id]);
  assert.ok(forVotes < (await p.governor.read.quorum([snapshot])), 'the For votes are below quorum');
  assert.equal(await p.governor.read.state([id]), State.Defeated);
  await expectRevert(
    p.governor.write.queue([proposal.targets, proposal.values, proposal.calldatas, descriptionHash(proposal)]),
    'GovernorUnexpectedProposalState',
  );
  assert.notEqual(await p.attributionSettlement.read.attributionThresholdPpm(), 1);
});

test('a queued proposal cannot be executed before the timelock delay, and can after it', async () => {
  const p = await t.as(0);
  await ensureDelegated(0);
  const proposal = settlementProposal('Raise the attribution threshold to 2%', { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 }, 20_000);
  const id = await passVote(proposal, [0]);
  const hash = descriptionHash(proposal);
  await t.mined(p.governor.write.queue([proposal.targets, proposal.values, proposal.calldatas, hash]));
  const eta = await p.governor.read.proposalEta([id]);
  const { publicClient } = await t.clients(0);
  assert.ok((await publicClient.getBlock()).timestamp < eta, 'still before the eta');

  await expectRevert(
    p.governor.write.execute([proposal.targets, proposal.values, proposal.calldatas, hash]),
    'TimelockUnexpectedOperationState',
  );
  assert.equal(await p.governor.read.state([id]), State.Queued);
  assert.notEqual(await p.attributionSettlement.read.attributionThresholdPpm(), 20_000);

  await t.increaseTime(t.params.timelockDelay);
  await t.mined(p.governor.write.execute([proposal.targets, proposal.values, proposal.calldatas, hash]));
  assert.equal(await p.governor.read.state([id]), State.Executed);
  assert.equal(await p.attributionSettlement.read.attributionThresholdPpm(), 20_000);
});
