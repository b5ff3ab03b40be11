import { getAddress, isAddressEqual, type Address } from 'viem';
import type { ChainClients } from '../chain/clients.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { listChainEvents } from '../store/chain-events.ts';
import type { Database } from '../store/database.ts';
import { auditEpoch, disputeEpoch } from './audit-epoch.ts';
import { proveForeignInference } from './prove-foreign-inference.ts';
import { EpochStatus } from './epoch-tree.ts';
import type { ServedEpoch } from './verify-epoch.ts';
import { errorReason } from '../util/error-reason.ts';

/** What the watchtower concluded about one operator's epoch. */
export interface WatchedEpoch {
  operator: Address;
  epoch: number;
  verdict: 'ok' | 'problems' | 'disputed';
  problems: string[];
  /** OPEN bonded on the dispute (wei), when it disputed. */
  bond: string | null;
  checkedAt: string;
}

export interface WatchNode {
  db: Database;
  clients: ChainClients;
  contracts: ProtocolContracts;
}

/** Reads an epoch's inputs where its operator posted them (default: an HTTP GET of the URI, its JSON). */
export type ServedFetcher = (uri: string) => Promise<ServedEpoch>;

/** The most bytes of an epoch's served inputs a watchtower reads (an operator could post a URI that never ends). */
export const MAX_SERVED_EPOCH_BYTES = 256 * 1024 * 1024;

const httpServed: ServedFetcher = async (uri) => {
  if (!/^https?:\/\//.test(uri)) throw new Error(`the posted inputs URI ${JSON.stringify(uri)} is not an http(s) URL`);
  // another operator chose this URI: bounded in time and size, and no redirects elsewhere
  const res = await fetch(uri, { redirect: 'error', signal: AbortSignal.timeout(120_000) });
  if (!res.ok || !res.body) throw new Error(`${uri}: ${res.status} ${res.statusText}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_SERVED_EPOCH_BYTES) throw new Error(`${uri}: more than ${MAX_SERVED_EPOCH_BYTES} bytes`);
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as ServedEpoch;
};

/**
 * One watch of the other operators, as every node does: each epoch another operator posted that
 * is still in its challenge window and that this node has not checked is recomputed from the
 * inputs its operator serves at the URI it posted on chain (`auditEpoch`: inputs hash, receipt
 * signatures, fee splits, the cumulative tree, the root; payees against the chain). Anything the
 * chain does not confirm counts against it (inputs a moved operator no longer serves at the posted
 * URI are read from its listed endpoint instead: they are checked the same). A wrong epoch is disputed with the bond when
 * `dispute` (and the node holds it), and proven wrong on chain at once where the chain can decide it
 * (a call listing another node's inference: `proveForeignInference`); each verdict is kept (`watched_epochs`). An operator whose
 * inputs cannot be read now is tried again on the next watch. Returns the new verdicts.
 *
 * @example
 * repeat(() => watchEpochs(node, { dispute: true, log }), 30_000, log).start();
 */
export async function watchEpochs(node: WatchNode, o: { dispute?: boolean; served?: ServedFetcher; log?: (line: string) => void } = {}): Promise<WatchedEpoch[]> {
  const self = node.clients.account.address;
  const chainId = node.clients.chain.id;
  const log = o.log ?? (() => {});
  const fetchServed = o.served ?? httpServed;
  const posted = (await listChainEvents(node.db, { chainId, contract: 'attributionSettlement', event: 'EpochPosted', limit: 500 }))
    .map((e) => ({ operator: getAddress(String(e.args.operator)), epoch: Number(e.args.epoch), uri: String(e.args.inputsURI ?? '') }))
    .filter((e) => !isAddressEqual(e.operator, self));
  const uriOf = new Map(posted.map((e) => [`${e.operator}:${e.epoch}`, e.uri]));
  const skip = new Set((await node.db.query<{ operator: string; epoch: number }>('select operator, epoch from watched_epochs where chain_id = $1', [chainId])).map((r) => `${getAddress(r.operator)}:${r.epoch}`));
  // epochs the indexed chain already shows final, disputed or reverted need no call to the chain to be skipped
  for (const event of ['EpochFinalized', 'EpochDisputed', 'EpochReverted']) {
    for (const e of await listChainEvents(node.db, { chainId, contract: 'attributionSettlement', event, limit: 500 })) skip.add(`${getAddress(String(e.args.operator))}:${Number(e.args.epoch)}`);
  }
  const verdicts: WatchedEpoch[] = [];
  for (const e of posted.reverse()) { // oldest first: an epoch's audit reads the one before it
    if (skip.has(`${e.operator}:${e.epoch}`)) continue; // checked here, or settled on chain
    const onChain = await node.contracts.attributionSettlement.read.getEpoch([e.operator, BigInt(e.epoch)]);
    if (onChain.status !== EpochStatus.Pending) continue; // final, disputed or reverted: nothing left to catch
    const served = async (n: number) => {
      const uri = uriOf.get(`${e.operator}:${n}`);
      if (uri === undefined) throw new Error(`no EpochPosted of ${e.operator}'s epoch ${n} indexed yet`);
      try {
        return await fetchServed(uri);
      } catch (err) {
        // an operator that moved serves its epochs where it is listed now (what is read is checked against the chain all the same)
        const { endpoint } = await node.contracts.operatorRegistry.read.recordOf([e.operator]);
        const moved = /^https?:\/\//.test(endpoint) ? `${endpoint.replace(/\/+$/, '')}/settlement/epochs/${n}/inputs` : undefined;
        if (!moved || moved === uri) throw err;
        return fetchServed(moved);
      }
    };
    let audit;
    try {
      audit = await auditEpoch({ served, contracts: node.contracts, publicClient: node.clients.publicClient, epoch: e.epoch, operator: e.operator });
    } catch (err) {
      log(`watchtower: ${e.operator}'s epoch ${e.epoch} cannot be checked now (${errorReason(err)}); trying again later`);
      continue;
    }
    let verdict: WatchedEpoch['verdict'] = audit.problems.length === 0 ? 'ok' : 'problems';
    let bond: bigint | null = null;
    if (verdict === 'problems') {
      log(`watchtower: ${e.operator}'s epoch ${e.epoch} does not match its recomputation: ${audit.problems.join('; ')}`);
      if (o.dispute) {
        try {
          bond = await disputeEpoch({ contracts: node.contracts, publicClient: node.clients.publicClient }, audit);
          verdict = 'disputed';
          log(`watchtower: disputed ${e.operator}'s epoch ${e.epoch} (bond ${bond} wei)`);
          // a fraud the chain can decide by itself is proven at once instead of waiting for an arbiter
          const proven = await proveForeignInference({ contracts: node.contracts, publicClient: node.clients.publicClient }, e.operator, e.epoch, audit.evidence.inputs.calls ?? [], audit.evidence.receipts)
            .catch((err: unknown) => log(`watchtower: could not prove ${e.operator}'s epoch ${e.epoch} on chain: ${errorReason(err)}`));
          if (proven) log(`watchtower: proved on chain that ${e.operator}'s epoch ${e.epoch} settles receipt ${proven.receiptId} of node ${proven.node}: the dispute is upheld`);
        } catch (err) {
          log(`watchtower: could not dispute ${e.operator}'s epoch ${e.epoch}: ${(err as Error).message}`);
        }
      }
    }
    const [row] = await node.db.query<{ checked_at: Date }>(
      `insert into watched_epochs (chain_id, operator, epoch, verdict, problems, bond) values ($1, $2, $3, $4, $5, $6)
       on conflict (chain_id, operator, epoch) do update set verdict = excluded.verdict, problems = excluded.problems, bond = excluded.bond, checked_at = now()
       returning checked_at`,
      [chainId, e.operator, e.epoch, verdict, JSON.stringify(audit.problems), bond?.toString() ?? null]);
    verdicts.push({ operator: e.operator, epoch: e.epoch, verdict, problems: audit.problems, bond: bond?.toString() ?? null, checkedAt: row!.checked_at.toISOString() });
  }
  return verdicts;
}

/**
 * What the watchtower checked, newest first.
 *
 * @example
 * const recent = await watchedEpochs(db, chainId, 50);
 */
export async function watchedEpochs(db: Database, chainId: number, limit = 100): Promise<WatchedEpoch[]> {
  const rows = await db.query<{ operator: string; epoch: number; verdict: WatchedEpoch['verdict']; problems: string[]; bond: string | null; checked_at: Date }>(
    'select operator, epoch, verdict, problems, bond::text, checked_at from watched_epochs where chain_id = $1 order by checked_at desc, epoch desc limit $2', [chainId, limit]);
  return rows.map((r) => ({ operator: getAddress(r.operator), epoch: r.epoch, verdict: r.verdict, problems: r.problems, bond: r.bond, checkedAt: r.checked_at.toISOString() }));
}
