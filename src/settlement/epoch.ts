import { BaseError, ContractFunctionRevertedError, getAddress, type Address, type Hex } from 'viem';
import { contributorsOfServed } from '../factory/model-contributions.ts';
import { datanetOwners } from '../datanet/datanets.ts';
import { publishedModelOwners } from '../factory/published-models.ts';
import type { ReceiptBody } from '../attribution/receipt-types.ts';
import type { ChainClients } from '../chain/clients.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { sendOnce } from '../chain/send-once.ts';
import type { Database, Queryable } from '../store/database.ts';
import { distinctEventArgs } from '../store/chain-events.ts';
import { getReceipts } from '../attribution/receipts.ts';
import { latestAuthorization } from './authorizations.ts';
import { consumerSpend, settleCharges, unsettledCharges, unsettleEpoch } from './charges.ts';
import { EpochStatus, epochCredits, earningsTree, inputsHash, type EpochCall, type EpochDraw, type EpochInputs } from './epoch-tree.ts';
import { callFeeOf, callTree } from './skill-calls.ts';
import { callRoot } from './call-root.ts';
import { poolStake } from './pool-stake.ts';
import { drawRefusal } from './simulate-draw.ts';
import { StakingRole } from '../chain/staking-role.ts';

export interface SettlementNode {
  db: Database;
  clients: ChainClients;
  contracts: ProtocolContracts;
  /**
   * Brings the node's projection of the chain (the indexed events) up to its head: run before an
   * epoch's inputs are gathered, so a stake made since the last poll is counted.
   */
  indexChain?: () => Promise<unknown>;
  /** Where the node serves an epoch's inputs (`<api>/settlement/epochs/<n>/inputs`). */
  inputsUri?: (epoch: number) => string;
}

/** Each payee's cumulative earnings over the epochs not reverted, before `epoch`. */
export async function cumulativeBefore(db: Queryable, epoch: number): Promise<Map<Address, bigint>> {
  const rows = await db.query<{ payee: string; amount: string }>(
    `select c.payee, sum(c.amount)::text as amount from epoch_credits c join settlement_epochs e using (epoch)
     where e.status <> 'reverted' and c.epoch < $1 group by c.payee`, [epoch]);
  return new Map(rows.map((r) => [r.payee as Address, BigInt(r.amount)]));
}

export type EpochOutcome =
  | { kind: 'posted'; epoch: number; root: Hex; receipts: number; total: bigint; funded: bigint }
  | { kind: 'nothing'; reason: string }
  | { kind: 'waiting'; reason: string };

/**
 * One run of the epoch job: notices reverted epochs (their receipts are settled again), then posts
 * the prepared epoch if a crash left one, else prepares the next: every unsettled receipt whose
 * consumer's authorisation and deposit cover it (others wait), credits by the fee split, the tree
 * of cumulative earnings, the draws — all stored in one transaction before anything is sent — and
 * posts it once (a rerun after a crash finds the posted event instead of posting again).
 *
 * @example
 * const outcome = await runEpoch(node);
 */
export async function runEpoch(node: SettlementNode, log: (line: string) => void = () => {}): Promise<EpochOutcome> {
  const s = node.contracts.attributionSettlement.read;
  await syncReverted(node);
  // a call root a crash (or a full chain) kept from being posted after its epoch
  for (const e of await node.db.query<{ epoch: number; inputs: EpochInputs }>(`select epoch, inputs from settlement_epochs where status = 'posted' and call_root_tx is null and jsonb_typeof(inputs -> 'calls') = 'array'`)) {
    await postCallRoot(node, e.epoch, e.inputs.calls!).catch(async (err: Error) => {
      log(`settlement: epoch ${e.epoch}'s call root is not posted: ${err.message}`);
      // refused for good (its challenge window closed): the calls stay paid, but cannot back feedback or fraud proofs
      if (err instanceof BaseError && err.walk((x) => x instanceof ContractFunctionRevertedError)) await node.db.query(`update settlement_epochs set call_root_tx = 'refused' where epoch = $1`, [e.epoch]);
    });
  }
  const [prepared] = await node.db.query<{ epoch: number }>(`select epoch from settlement_epochs where status = 'prepared'`);
  if (prepared) return post(node, prepared.epoch);

  const operator = node.clients.account.address;
  const ledger = await s.ledgerOf([operator]);
  const pending = Number(ledger.pendingEpoch);
  if (pending !== 0) {
    const e = await s.getEpoch([operator, BigInt(pending)]);
    const head = await node.clients.publicClient.getBlock({ blockTag: 'latest' });
    if (e.status === EpochStatus.Disputed) return { kind: 'waiting', reason: `epoch ${pending} is disputed` };
    if (head.timestamp < e.challengeEndsAt) return { kind: 'waiting', reason: `epoch ${pending} is in its challenge window until ${new Date(Number(e.challengeEndsAt) * 1000).toISOString()}` };
  }
  const epoch = Number(ledger.lastEpoch) + 1;
  const charges = await unsettledCharges(node.db);
  if (charges.length === 0) return { kind: 'nothing', reason: 'no unsettled receipts' };
  // a receipt's charge settles the receipt; a consumer's skill call's settles its whole tree
  const trees = new Map<Hex, { calls: EpochCall[]; receipts: Hex[] }>();
  for (const c of charges) if (c.kind === 'call') trees.set(c.receiptId, await callTree(node.db, c.receiptId));
  const ids = charges.flatMap((c) => trees.get(c.receiptId)?.receipts ?? [c.receiptId]);
  const bodies = new Map((await getReceipts(node.db, ids)).map((r) => [r.id, r.body]));
  const receipts = charges.flatMap((c) => {
    const tree = trees.get(c.receiptId) ?? { calls: [], receipts: [c.receiptId] };
    if (c.kind === 'call' && tree.calls.length === 0) return [];
    if (!tree.receipts.every((id) => bodies.has(id))) return [];
    return [{ id: c.receiptId, consumer: c.consumer, fee: c.fee, receipts: tree.receipts.map((id) => ({ id, body: bodies.get(id)! })), calls: tree.calls }];
  });

  // who can be drawn for everything they used: their latest authorisation and deposit must cover it
  const now = (await node.clients.publicClient.getBlock({ blockTag: 'latest' })).timestamp;
  const byConsumer = new Map<string, typeof receipts>();
  for (const r of receipts) {
    const k = r.consumer ?? '';
    byConsumer.set(k, [...(byConsumer.get(k) ?? []), r]);
  }
  const included: typeof receipts = [];
  const draws: EpochDraw[] = [];
  for (const [consumer, rs] of byConsumer) {
    const fees = rs.reduce((n, r) => n + r.fee, 0n);
    if (fees === 0n) {
      included.push(...rs);
      continue;
    }
    if (!consumer) {
      log(`settlement: ${rs.length} paid receipts have no consumer; left unsettled`);
      continue;
    }
    const [settled, auth, drawn, balance] = await Promise.all([
      consumerSpend(node.db, consumer as Address, { settledOnly: true }),
      latestAuthorization(node.db, consumer as Address),
      node.contracts.inferenceEscrow.read.drawn([consumer as Address, operator]),
      node.contracts.inferenceEscrow.read.balanceOf([consumer as Address]),
    ]);
    // the receipts covered, oldest first: one the authorisation or the deposit does not cover
    // waits with those after it, and never holds up those before it
    const covers = (to: bigint) => to <= drawn || (!!auth && auth.auth.expiry > now + 60n && to <= auth.auth.cumulativeAmount && to - drawn <= balance);
    let drawTo = settled;
    let covered = 0;
    while (covered < rs.length && covers(drawTo + rs[covered]!.fee)) drawTo += rs[covered++]!.fee;
    if (covered < rs.length) log(`settlement: ${consumer}'s authorisation or deposit does not cover ${rs.length - covered} of its ${rs.length} receipts; they wait`);
    if (covered === 0) continue;
    if (drawTo <= drawn) {
      included.push(...rs.slice(0, covered)); // already drawn (an epoch that was reverted)
      continue;
    }
    if (!auth) continue; // covered beyond what was drawn means there is an authorisation
    const refusal = await drawRefusal(node, { auth: auth.auth, signature: auth.signature, drawTo });
    if (refusal) {
      log(`settlement: drawing ${consumer}'s authorisation would revert (${refusal}); its ${rs.length} receipts wait`);
      continue;
    }
    included.push(...rs.slice(0, covered));
    const a = auth.auth;
    draws.push({ auth: { consumer: a.consumer, operator: a.operator, cumulativeAmount: a.cumulativeAmount.toString(), nonce: a.nonce.toString(), expiry: a.expiry.toString() }, signature: auth.signature, drawTo: drawTo.toString() });
  }
  if (included.length === 0) return { kind: 'nothing', reason: 'no unsettled receipt is covered by its consumer’s authorisation' };

  const settled = included.flatMap((r) => r.receipts);
  const calls = included.flatMap((r) => r.calls);
  const inputs = await epochInputs(node, epoch, settled, draws, operator);
  if (calls.length > 0) Object.assign(inputs, { calls, callFee: await callFeeOf(node) });
  const credits = epochCredits(inputs, settled.map((r) => r.body));
  const { tree, leaves, total } = earningsTree(await cumulativeBefore(node.db, epoch), credits);
  await node.db.transaction(async (tx) => {
    await tx.query(`insert into settlement_epochs (epoch, status, root, cumulative_total, inputs_hash, inputs, leaves) values ($1, 'prepared', $2, $3, $4, $5, $6)`,
      [epoch, tree.root, total.toString(), inputsHash(inputs), JSON.stringify(inputs), JSON.stringify(leaves)]);
    for (const c of credits) {
      await tx.query('insert into epoch_credits (epoch, payee, role, model_name, datanet_id, amount) values ($1, $2, $3, $4, $5, $6)', [epoch, c.payee, c.role, c.modelName, c.datanetId, c.amount.toString()]);
    }
    await settleCharges(tx, epoch, included.map((r) => r.id));
  });
  log(`settlement: epoch ${epoch} prepared: ${settled.length} receipts${calls.length ? `, ${calls.length} skill calls` : ''}, ${leaves.length} payees`);
  return post(node, epoch);
}

/** Payees and stakers for an epoch, from the node's store and the chain. */
async function epochInputs(node: SettlementNode, epoch: number, receipts: Array<{ id: Hex; body: ReceiptBody }>, draws: EpochDraw[], operator: Address): Promise<EpochInputs> {
  await node.indexChain?.();
  const payees = await payeesOf(node, receipts.map((r) => r.body), `epoch ${epoch}`);
  // everyone who ever staked as an operator or validator (contributor stakes are Staking positions
  // too, but not the stakers' pool), from the indexed events (not a scan of the chain from block 0);
  // each one's bonded stake from its position
  const staked = (await Promise.all([StakingRole.Operator, StakingRole.Validator].map((role) => distinctEventArgs(node.db, node.clients.chain.id, 'staking', 'Staked', 'staker', { role })))).flat();
  const stakers: EpochInputs['stakers'] = [];
  for (const staker of [...new Set(staked.map((s) => getAddress(s)))].sort()) {
    const bonded = await poolStake(node.contracts.staking, staker);
    if (bonded > 0n) stakers.push({ staker, bonded: bonded.toString() });
  }
  return { epoch, receipts: receipts.map((r) => r.id), payees, stakers, operator: getAddress(operator), draws };
}

/**
 * Who the fees of these receipts are split to: each credited contribution's contributor, each
 * datanet's owner (from the DatanetRegistry for a datanet this node does not keep), each model's
 * owner. Throws naming `what` when the store lacks one.
 *
 * @example
 * const payees = await payeesOf(node, bodies, 'epoch 3');
 */
export async function payeesOf(node: Pick<SettlementNode, 'db' | 'contracts'>, bodies: readonly ReceiptBody[], what: string): Promise<EpochInputs['payees']> {
  const contributionIds = [...new Set(bodies.flatMap((b) => b.contributions.map((c) => c.contributionId)))];
  const datanetIds = [...new Set(bodies.flatMap((b) => [...b.contributions.map((c) => c.datanetId), ...(b.pools ?? []).map((p) => p.datanetId)]))];
  const models = [...new Set(bodies.map((b) => b.model.name))];
  const contributors = await contributorsOfServed(node.db, contributionIds);
  const datanetOwnersById = await datanetOwners(node.db, datanetIds);
  // a datanet this node does not keep (a mirrored model's): its owner as the DatanetRegistry says
  for (const id of datanetIds) datanetOwnersById[String(id)] ??= getAddress((await node.contracts.datanetRegistry.read.getDatanet([BigInt(id)])).owner);
  const modelOwners = await publishedModelOwners(node.db, models);
  for (const id of contributionIds) if (!contributors[id]) throw new Error(`${what}: contribution ${id} is not in the store`);
  for (const name of models) if (!modelOwners[name]) throw new Error(`${what}: model ${name} is not published here`);
  return { contributors, datanetOwners: datanetOwnersById, modelOwners };
}

/** Posts a prepared epoch at most once; a revert discards it (its receipts are prepared again next run). */
async function post(node: SettlementNode, epoch: number): Promise<EpochOutcome> {
  const [row] = await node.db.query<{ root: Hex; cumulative_total: string; inputs_hash: Hex; inputs: EpochInputs; sent_from_block: string | null }>('select * from settlement_epochs where epoch = $1', [epoch]);
  if (!row) throw new Error(`no epoch ${epoch}`);
  const draws = row.inputs.draws.map((d) => ({
    auth: { consumer: d.auth.consumer, operator: d.auth.operator, cumulativeAmount: BigInt(d.auth.cumulativeAmount), nonce: BigInt(d.auth.nonce), expiry: BigInt(d.auth.expiry) },
    signature: d.signature, drawTo: BigInt(d.drawTo),
  }));
  try {
    const event = await sendOnce(node, {
      contract: 'attributionSettlement', eventName: 'EpochPosted', filter: { epoch: BigInt(epoch), operator: node.clients.account.address },
      matches: (a) => a.root === row.root,
      sentFromBlock: row.sent_from_block === null ? null : BigInt(row.sent_from_block),
      recordHead: async (head) => void (await node.db.query('update settlement_epochs set sent_from_block = $2 where epoch = $1', [epoch, head.toString()])),
      send: () => node.contracts.attributionSettlement.write.postEpoch([BigInt(epoch), row.root, BigInt(row.cumulative_total), row.inputs_hash, node.inputsUri?.(epoch) ?? '', draws]),
    });
    await node.db.query(`update settlement_epochs set status = 'posted', tx_hash = $2, posted_at = now() where epoch = $1`, [epoch, event.transactionHash]);
    if (row.inputs.calls?.length) await postCallRoot(node, epoch, row.inputs.calls);
    return { kind: 'posted', epoch, root: row.root, receipts: row.inputs.receipts.length, total: BigInt(row.cumulative_total), funded: (event.args as { funded: bigint }).funded };
  } catch (err) {
    if (err instanceof BaseError && err.walk((e) => e instanceof ContractFunctionRevertedError)) await discard(node.db, epoch);
    throw err;
  }
}

/**
 * Posts the root of the skill calls a posted epoch settled to SkillCallRoots, once across crashes
 * (while the epoch is pending and its challenge window open): what paid-call feedback and on-chain
 * fraud proofs open. A failure is logged by the caller's next run, not fatal to the epoch.
 */
async function postCallRoot(node: SettlementNode, epoch: number, calls: EpochCall[]): Promise<void> {
  const root = callRoot(calls);
  const [row] = await node.db.query<{ call_root_sent_from_block: string | null; call_root_tx: string | null }>('select call_root_sent_from_block, call_root_tx from settlement_epochs where epoch = $1', [epoch]);
  if (row?.call_root_tx) return;
  const event = await sendOnce(node, {
    contract: 'skillCallRoots', eventName: 'CallRootPosted', filter: { operator: node.clients.account.address, epoch: BigInt(epoch) },
    matches: (a) => a.root === root,
    sentFromBlock: row?.call_root_sent_from_block == null ? null : BigInt(row.call_root_sent_from_block),
    recordHead: async (head) => void (await node.db.query('update settlement_epochs set call_root_sent_from_block = $2, call_root = $3 where epoch = $1', [epoch, head.toString(), root])),
    send: () => node.contracts.skillCallRoots.write.postCallRoot([BigInt(epoch), root]),
  });
  await node.db.query('update settlement_epochs set call_root_tx = $2 where epoch = $1', [epoch, event.transactionHash]);
}

/** Drops a prepared (or reverted) epoch's credits and hands its receipts back to the next epoch. */
async function discard(db: Database, epoch: number, status: 'reverted' | null = null): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('delete from epoch_credits where epoch = $1', [epoch]);
    await unsettleEpoch(tx, epoch);
    if (status) await tx.query('update settlement_epochs set status = $2 where epoch = $1', [epoch, status]);
    else await tx.query('delete from settlement_epochs where epoch = $1', [epoch]);
  });
}

/** Marks posted epochs the chain reverted (an upheld dispute); their receipts are settled again. */
async function syncReverted(node: SettlementNode): Promise<void> {
  for (const { epoch } of await node.db.query<{ epoch: number }>(`select epoch from settlement_epochs where status = 'posted'`)) {
    const e = await node.contracts.attributionSettlement.read.getEpoch([node.clients.account.address, BigInt(epoch)]);
    if (e.status === EpochStatus.Reverted) await discard(node.db, epoch, 'reverted');
  }
}
