import type { FastifyInstance } from 'fastify';
import { getDatanetEarnings, getDatanetStats, type DatanetStats } from '../contract/datanets.ts';
import { serveRoute } from '../serve-route.ts';
import type { NodeContext } from '../../store/node-context.ts';
import { datanetCounts } from '../../datanet/datanet-counts.ts';
import { getDatanet } from '../../datanet/datanets.ts';
import { listSnapshots } from '../../datanet/snapshots.ts';
import { modelsTrainedOn } from '../../factory/published-models.ts';
import { datanetEarnings } from '../../settlement/datanet-earnings.ts';
import type { Queryable } from '../../store/database.ts';

/**
 * A datanet's page totals, composed from each module's own query: its counts (datanet), the
 * published models trained on its snapshots (factory).
 *
 * @example
 * const s = await datanetStats(db, 1);
 */
export async function datanetStats(db: Queryable, datanetId: number): Promise<DatanetStats> {
  const snapshots = await listSnapshots(db, datanetId);
  return { datanetId, ...(await datanetCounts(db, datanetId)), models: await modelsTrainedOn(db, snapshots.map((s) => s.id)) };
}

/**
 * Read-only totals of a datanet for its page: `GET /datanets/:id/stats` (contributions by status,
 * contributors, uploads, snapshots, models trained on it) and `GET /datanets/:id/earnings` (what
 * settled epochs paid its owner and contributors: settlement's query). 404 for an unknown datanet.
 */
export function datanetStatsRoutes(app: FastifyInstance, ctx: Pick<NodeContext, 'db'>): void {
  serveRoute(app, getDatanetStats, async ({ params }) => {
    const datanet = await getDatanet(ctx.db, params.id);
    return datanetStats(ctx.db, datanet.id!);
  });

  serveRoute(app, getDatanetEarnings, async ({ params }) => {
    const datanet = await getDatanet(ctx.db, params.id);
    return datanetEarnings(ctx.db, datanet.id!);
  });
}
