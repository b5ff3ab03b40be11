import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { erc20Abi, parseEther, type Abi, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { connectChain, type ChainClients } from '../clients.ts';
import { callJsonRpc } from '../json-rpc.ts';
import { L2_TO_L1_MESSAGE_PASSER_ADDRESS } from '../profiles.ts';
import { depositOpen } from './deposit-open.ts';
import { opArtifact } from './op-artifacts.ts';
import { proposeOutputs } from './propose-outputs.ts';
import { finalizeWithdrawal, proveWithdrawal } from './prove-withdrawal.ts';
import { memoryCursor } from './relay-cursor.ts';
import { relayDeposits } from './relay-deposits.ts';
import { startTestDevnet, type TestDevnet } from './test-devnet.ts';
import { burnWithdrawnOpen, withdrawOpen, type WithdrawalMessage } from './withdraw-open.ts';

/**
 * The bridge's invariant: OPEN locked in the portal = native OPEN on L2 that deposits created, less
 * what withdrawals took back. The L2's genesis allocations (anvil's funded dev accounts: 10 000
 * each, which no deposit backs) are excluded by measuring only fresh actors, who start with nothing
 * on either chain, and the fees they paid (which stay on L2, in BaseFeeVault and the coinbase).
 */
const NUM_RUNS = 25;
let finalized = 0;
const BASE_FEE_VAULT: Address = '0x4200000000000000000000000000000000000019';
const FEE_RESERVE = parseEther('0.01');

let d: TestDevnet;
let l1: ChainClients;
let l2Admin: ChainClients;
const cursor = memoryCursor();

before(async () => {
  d = await startTestDevnet();
  l1 = await d.l1Clients(0);
  l2Admin = await d.l2Clients(0);
  await relay(); // the system deposit that sets the gas token on L2
});
after(async () => {
  await d?.stop();
});

const relay = () => relayDeposits({ l1: l1.publicClient, l2Url: d.l2.url, portal: d.l1Addresses.optimismPortal, fromBlock: d.l1StartBlock, cursor });
const locked = async () => {
  const [accounted, held] = await Promise.all([
    l1.publicClient.readContract({ address: d.l1Addresses.optimismPortal, abi: opArtifact('OptimismPortal').abi as Abi, functionName: 'balance' }) as Promise<bigint>,
    l1.publicClient.readContract({ address: d.l1Addresses.openToken, abi: erc20Abi, functionName: 'balanceOf', args: [d.l1Addresses.optimismPortal] }),
  ]);
  assert.equal(accounted, held, 'the portal\'s accounting (balance()) is the OPEN it holds');
  return held;
};
const l1Open = (a: Address) => l1.publicClient.readContract({ address: d.l1Addresses.openToken, abi: erc20Abi, functionName: 'balanceOf', args: [a] });
const l2Balance = (a: Address) => l2Admin.publicClient.getBalance({ address: a });

type Action = { kind: 'deposit'; actor: number; amount: bigint } | { kind: 'withdraw'; actor: number; permille: number; finalizeNow: boolean };
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('deposit' as const), actor: fc.nat(2), amount: fc.bigInt(1n, parseEther('50')) }),
  fc.record({ kind: fc.constant('withdraw' as const), actor: fc.nat(2), permille: fc.integer({ min: 1, max: 1000 }), finalizeNow: fc.boolean() }),
);

interface Model {
  actors: { l2: ChainClients; l1Target: Address }[];
  /** Fees the actors paid on L2 (still L2 supply: in BaseFeeVault and the coinbase). */
  actorFees: bigint;
  /** Fees anyone paid on L2 (the actors, and the admin's burn() calls). */
  allFees: bigint;
  /** Withdrawn on L2 (and burnt there), not yet paid out on L1. */
  pending: { withdrawal: WithdrawalMessage; block: bigint }[];
  deposited: bigint;
  paidOut: bigint;
  start: { locked: bigint; treasury: bigint; sinks: bigint };
}

const sinks = async () => (await l2Balance(BASE_FEE_VAULT)) + (await l2Balance('0x0000000000000000000000000000000000000000'));

async function finalizeAll(m: Model): Promise<void> {
  if (m.pending.length === 0) return;
  await proposeOutputs({ l1, l2OutputOracle: d.l1Addresses.l2OutputOracle, l2Url: d.l2.url, fillBlocks: true });
  for (const p of m.pending) await proveWithdrawal(l1, d.l1Addresses, d.l2.url, p.withdrawal, p.block);
  await callJsonRpc(d.l1.url, 'evm_increaseTime', [Number(d.params.finalizationPeriodSeconds) + 1]);
  for (const p of m.pending) {
    await finalizeWithdrawal(l1, d.l1Addresses, p.withdrawal);
    m.paidOut += p.withdrawal.value;
    finalized++;
  }
  m.pending = [];
}

async function step(m: Model, a: Action): Promise<void> {
  const actor = m.actors[a.actor]!;
  if (a.kind === 'deposit') {
    await depositOpen(l1, d.l1Addresses, { to: actor.l2.account.address, amount: a.amount });
    const relayed = await relay();
    assert.deepEqual(relayed.map((r) => r.mint), [a.amount], 'the relay applies the deposit');
    const applied = await l2Admin.publicClient.getTransactionReceipt({ hash: relayed[0]!.hash });
    assert.equal(applied.status, 'success', `deposit transaction ${applied.transactionHash} in L2 block ${applied.blockNumber}`);
    m.deposited += a.amount;
    return;
  }
  const balance = await l2Balance(actor.l2.account.address);
  if (balance <= FEE_RESERVE) return;
  const amount = ((balance - FEE_RESERVE) * BigInt(a.permille)) / 1000n;
  if (amount === 0n) return;
  const { receipt, withdrawal } = await withdrawOpen(actor.l2, { target: actor.l1Target, amount });
  const fee = receipt.gasUsed * receipt.effectiveGasPrice;
  m.actorFees += fee;
  m.allFees += fee;
  const hash = await l2Admin.walletClient.writeContract({ address: L2_TO_L1_MESSAGE_PASSER_ADDRESS, abi: opArtifact('L2ToL1MessagePasser').abi, functionName: 'burn', args: [] });
  const burnt = await l2Admin.publicClient.waitForTransactionReceipt({ hash });
  m.allFees += burnt.gasUsed * burnt.effectiveGasPrice;
  m.pending.push({ withdrawal, block: receipt.blockNumber });
  if (a.finalizeNow) await finalizeAll(m);
}

async function checkInvariant(m: Model): Promise<void> {
  let l2Supply = m.actorFees;
  let l1Held = 0n;
  for (const a of m.actors) {
    l2Supply += await l2Balance(a.l2.account.address);
    l1Held += await l1Open(a.l1Target);
  }
  const inFlight = m.pending.reduce((s, p) => s + p.withdrawal.value, 0n);
  assert.equal(await l2Balance(L2_TO_L1_MESSAGE_PASSER_ADDRESS), 0n, 'the passer\'s OPEN is burnt');
  // the invariant: locked in the portal = native OPEN on L2 from deposits (+ what is on its way out)
  assert.equal((await locked()) - m.start.locked, l2Supply + inFlight, 'locked in the portal = L2 supply from deposits + in flight');
  assert.equal(l2Supply + inFlight, m.deposited - m.paidOut, 'L2 supply + in flight = deposited - paid out');
  // L1: OPEN only moves between the treasury, the portal and the withdrawals' targets
  assert.equal(l1Held, m.paidOut, 'targets hold what was paid out');
  assert.equal(await l1Open(l1.account.address), m.start.treasury - m.deposited, 'treasury');
  // fees stay on L2 (BaseFeeVault, coinbase): none is burnt
  assert.equal((await sinks()) - m.start.sinks, m.allFees, 'fee sinks');
}

test('OPEN locked in the portal equals the native OPEN deposits created on L2, less withdrawals, over random deposits and withdrawals', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 8 }), async (actions) => {
      const actors = await Promise.all([0, 1, 2].map(async () => ({
        l2: await connectChain(d.l2.url, privateKeyToAccount(generatePrivateKey()), { pollingInterval: 20 }),
        l1Target: privateKeyToAccount(generatePrivateKey()).address,
      })));
      const m: Model = { actors, actorFees: 0n, allFees: 0n, pending: [], deposited: 0n, paidOut: 0n, start: { locked: await locked(), treasury: await l1Open(l1.account.address), sinks: await sinks() } };
      for (const a of actions) {
        await step(m, a);
        await checkInvariant(m);
      }
      await finalizeAll(m);
      await checkInvariant(m);
    }),
    { numRuns: NUM_RUNS, interruptAfterTimeLimit: 150_000 },
  );
  assert.ok(finalized > 0, 'some run finalised a withdrawal');
});
