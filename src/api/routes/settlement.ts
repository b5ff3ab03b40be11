import type { FastifyInstance } from 'fastify';
import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { z } from 'zod';
import { acceptAuthorization, latestAuthorization } from '../../settlement/authorizations.ts';
import { runEpoch } from '../../settlement/epoch.ts';
import { readServedEpoch } from '../../settlement/epoch-inputs.ts';
import type { ConsumerFunds } from '../../settlement/meter.ts';
import { rewardEvidence, rewardHistory, rewardsOf } from '../../settlement/rewards.ts';
import { authenticate } from '../authenticate.ts';
import { PG_INTEGER_MAX } from '../input-guard.ts';
import type { InferenceRouteContext } from './inference.ts';
import { CodedError } from '../../util/coded-error.ts';

export interface SettlementRouteContext extends InferenceRouteContext {
  /** The escrow meter (what consumers can spend). */
  funds?: (consumer: Address) => Promise<ConsumerFunds>;
  /** This node's public URL, for epoch inputs URIs. */
  publicUrl?: string;
}

const uint = z.string().regex(/^\d{1,78}$/, 'a non-negative integer (wei), as a decimal string').transform(BigInt).refine((x) => x < 2n ** 256n, 'at most 2^256 - 1');
const address = z.string().refine(isAddress, 'an 0x address').transform((a) => getAddress(a));
const authorizationBody = z.object({
  auth: z.object({ consumer: address, operator: address, cumulativeAmount: uint, nonce: uint, expiry: uint }).strict(),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a 65-byte signature').transform((s) => s as Hex),
}).strict();
const addressParam = z.object({ address });

const json = (x: unknown) => JSON.parse(JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));

/**
 * Settlement over HTTP: consumers hand in spend authorisations and see their funds; payees see
 * earned / claimable / claimed rewards with the proof to claim; anyone reads each epoch with the
 * inputs to recompute it; the operator runs the epoch job now.
 */
export function settlementRoutes(app: FastifyInstance, ctx: SettlementRouteContext): void {
  const deployment = { chainId: ctx.clients.chain.id, escrow: ctx.contracts.inferenceEscrow.address };
  const node = { db: ctx.db, clients: ctx.clients, contracts: ctx.contracts, inputsUri: (n: number) => `${ctx.publicUrl ?? ''}/settlement/epochs/${n}/inputs` };

  // the EIP-712 signature is the authentication: only the consumer can have made it
  app.post('/settlement/authorizations', async (request, reply) => {
    const { auth, signature } = authorizationBody.parse(request.body);
    const stored = await acceptAuthorization(ctx.db, { ...deployment, client: ctx.clients.publicClient }, ctx.clients.account.address, auth, signature);
    return reply.status(201).send(json(stored));
  });

  app.get('/settlement/funds/:address', async (request) => {
    const { address: consumer } = addressParam.parse(request.params);
    const latest = await latestAuthorization(ctx.db, consumer);
    if (!ctx.funds) throw new CodedError('not_metered', 'this node does not meter inference (no escrow meter)');
    return json({ consumer, operator: ctx.clients.account.address, escrow: deployment.escrow, chainId: deployment.chainId, ...(await ctx.funds(consumer)), authorization: latest });
  });

  app.get('/settlement/rewards/:address', async (request) => json(await rewardsOf(ctx.db, ctx.clients, ctx.contracts, addressParam.parse(request.params).address)));

  app.get('/settlement/rewards/:address/history', async (request) => ({ history: await rewardHistory(ctx.db, addressParam.parse(request.params).address) }));

  app.get('/settlement/rewards/:address/evidence', async (request) => {
    const { limit } = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) }).parse(request.query);
    return { evidence: await rewardEvidence(ctx.db, addressParam.parse(request.params).address, limit) };
  });

  app.get('/settlement/epochs', async () => {
    const rows = await ctx.db.query<{ epoch: number; status: string; root: string; cumulative_total: string; inputs_hash: string; tx_hash: string | null; posted_at: Date | null; receipts: number }>(
      `select epoch, status, root, cumulative_total::text, inputs_hash, tx_hash, posted_at, jsonb_array_length(inputs -> 'receipts') as receipts from settlement_epochs order by epoch desc`);
    return { epochs: rows.map((r) => ({ epoch: r.epoch, status: r.status, root: r.root, cumulativeTotal: r.cumulative_total, inputsHash: r.inputs_hash, txHash: r.tx_hash, postedAt: r.posted_at?.toISOString() ?? null, receipts: r.receipts })) };
  });

  app.get('/settlement/epochs/:epoch/inputs', async (request) => {
    const { epoch } = z.object({ epoch: z.coerce.number().int().min(1).max(PG_INTEGER_MAX) }).parse(request.params);
    const served = await readServedEpoch(ctx.db, epoch);
    if (!served) throw new CodedError('not_found', `no epoch ${epoch} on this node`);
    return served;
  });

  app.post('/settlement/epochs', async (request) => {
    const who = await authenticate(ctx.db, { chainId: ctx.clients.chain.id, node: ctx.clients.account.address }, request);
    if (who.toLowerCase() !== ctx.clients.account.address.toLowerCase()) throw new CodedError('forbidden', `${who} is not this node's operator`);
    return json(await runEpoch(node, (line) => request.log.info(line)));
  });
}
