import type { Address, Hex } from 'viem';
import type { DeploymentRecorder, DeploymentStep } from '../chain/deploy.ts';
import type { Database } from './database.ts';

/**
 * Records deployment progress in the `deployment_steps` table, so `openledger up` resumes or skips
 * the deployment and knows the protocol's addresses.
 *
 * @example
 * const addresses = await deployProtocol(clients, params, deploymentRecorder(db));
 */
export function deploymentRecorder(db: Database): DeploymentRecorder {
  return {
    async load(chainId) {
      const rows = await db.query<{ name: string; status: 'pending' | 'done'; address: string | null; tx_hash: string | null }>(
        'select name, status, address, tx_hash from deployment_steps where chain_id = $1',
        [chainId],
      );
      const steps: Record<string, DeploymentStep> = {};
      for (const r of rows) {
        steps[r.name] = {
          name: r.name,
          status: r.status,
          ...(r.address ? { address: r.address as Address } : {}),
          ...(r.tx_hash ? { txHash: r.tx_hash as Hex } : {}),
        };
      }
      return steps;
    },
    async save(chainId, step) {
      await db.query(
        `insert into deployment_steps (chain_id, name, status, address, tx_hash) values ($1, $2, $3, $4, $5)
         on conflict (chain_id, name) do update set status = excluded.status, address = excluded.address,
           tx_hash = excluded.tx_hash, updated_at = now()`,
        [chainId, step.name, step.status, step.address ?? null, step.txHash ?? null],
      );
    },
    async reset(chainId) {
      await db.transaction(async (tx) => {
        await tx.query('delete from deployment_steps where chain_id = $1', [chainId]);
        await tx.query('delete from chain_events where chain_id = $1', [chainId]);
        await tx.query('delete from indexer_cursors where chain_id = $1', [chainId]);
      });
    },
  };
}
