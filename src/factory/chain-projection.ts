import { touchedKeys, type ChainProjection } from '../store/chain-events.ts';

const CONTRACT = 'modelRegistry';
const EVENTS = new Set(['ModelRegistered', 'PriceSet', 'ModelDeactivated', 'ModelOwnershipTransferred']);

/**
 * Each registered model's owner (paid the model's share), price per 1,000 tokens (what the node
 * charges) and whether it is active (a deactivated model is no longer served), as the
 * ModelRegistry's events say, whoever sent them: recomputed into `models_on_chain` for the models
 * the new events touch.
 *
 * @example
 * const sink = chainEventSink(db, [modelProjection]);
 */
export const modelProjection: ChainProjection = {
  async project(tx, chainId, events) {
    const ids = touchedKeys(events, CONTRACT, EVENTS, 'modelId');
    if (ids?.length === 0) return;
    const latest = (events: string, value: string) => `(
      select ${value} from chain_events e where e.chain_id = $1 and e.contract = '${CONTRACT}' and e.event in (${events}) and e.args->>'modelId' = r.id
      order by e.block_number desc, e.log_index desc limit 1)`;
    if (!ids) await tx.query('delete from models_on_chain where chain_id = $1', [chainId]);
    await tx.query(
      `insert into models_on_chain (chain_id, model_id, owner, price_per_1k, active)
       select $1, r.id::numeric,
         ${latest(`'ModelRegistered', 'ModelOwnershipTransferred'`, `coalesce(e.args->>'newOwner', e.args->>'owner')`)},
         ${latest(`'ModelRegistered', 'PriceSet'`, `(e.args->>'pricePer1kTokens')::numeric`)},
         not exists (select 1 from chain_events e where e.chain_id = $1 and e.contract = '${CONTRACT}' and e.event = 'ModelDeactivated' and e.args->>'modelId' = r.id)
       from (select distinct args->>'modelId' as id from chain_events
             where chain_id = $1 and contract = '${CONTRACT}' and event = 'ModelRegistered' and ($2::text[] is null or args->>'modelId' = any($2))) r
       on conflict (chain_id, model_id) do update set owner = excluded.owner, price_per_1k = excluded.price_per_1k, active = excluded.active`,
      [chainId, ids],
    );
  },
};
