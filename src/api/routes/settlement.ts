import type { FastifyInstance } from 'fastify';
import type { Address } from 'viem';
import * as contract from '../contract/settlement.ts';
import { serveRoute } from '../serve-route.ts';
import { acceptAuthorization, latestAuthorization } from '../../settlement/authorizations.ts';
import { runEpoch } from '../../settlement/epoch.ts';
import { listEpochs, readServedEpoch } from '../../settlement/epoch-inputs.ts';
import { watchedEpochs } from '../../settlement/watchtower.ts';
import type { ConsumerFunds } from '../../settlement/meter.ts';
import { rewardEvidence, rewardHistory, rewardsOf } from '../../settlement/rewards.ts';
import { authenticate } from '../authenticate.ts';
import type { NodeContext } from '../../store/node-context.ts';
import { CodedError } from '../../util/coded-error.ts';

export interface SettlementRouteContext extends NodeContext {
  /** The escrow meter (what consumers can spend). */
  funds?: (consumer: Address) => Promise<ConsumerFunds>;
  /** This node's public URL, for epoch inputs URIs. */
  publicUrl?: string;
}

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
  serveRoute(app, contract.submitAuthorization, async (input, _request, reply) => {
    const { auth, signature } = input.body;
    const stored = await acceptAuthorization(ctx.db, { ...deployment, client: ctx.clients.publicClient }, ctx.clients.account.address, auth, signature);
    return reply.status(201).send(json(stored));
  });

  serveRoute(app, contract.getFunds, async (input) => {
    const { address: consumer } = input.params;
    const latest = await latestAuthorization(ctx.db, consumer);
    if (!ctx.funds) throw new CodedError('not_metered', 'this node does not meter inference (no escrow meter)');
    return json({ consumer, operator: ctx.clients.account.address, escrow: deployment.escrow, chainId: deployment.chainId, ...(await ctx.funds(consumer)), authorization: latest });
  });

  serveRoute(app, contract.getRewards, async ({ params }) => json(await rewardsOf(ctx.db, ctx.clients, ctx.contracts, params.address)));

  serveRoute(app, contract.getRewardHistory, async ({ params }) => ({ history: await rewardHistory(ctx.db, params.address) }));

  serveRoute(app, contract.getRewardEvidence, async ({ params, query }) => ({ evidence: await rewardEvidence(ctx.db, params.address, query.limit) }));

  serveRoute(app, contract.listEpochs, async () => ({ epochs: await listEpochs(ctx.db) }));

  serveRoute(app, contract.listWatchedEpochs, async ({ query }) => ({ watched: await watchedEpochs(ctx.db, ctx.clients.chain.id, query.limit) }));

  serveRoute(app, contract.getEpochInputs, async (input) => {
    const { epoch } = input.params;
    const served = await readServedEpoch(ctx.db, epoch);
    if (!served) throw new CodedError('not_found', `no epoch ${epoch} on this node`);
    return served;
  });

  serveRoute(app, contract.runEpoch, async (_, request) => {
    const who = await authenticate(ctx.db, { chainId: ctx.clients.chain.id, node: ctx.clients.account.address }, request);
    if (who.toLowerCase() !== ctx.clients.account.address.toLowerCase()) throw new CodedError('forbidden', `${who} is not this node's operator`);
    return json(await runEpoch(node, (line) => request.log.info(line)));
  });
}
