import { touchedKeys, type ChainProjection } from '../store/chain-events.ts';

const CONTRACT = 'datanetRegistry';
const EVENTS = new Set(['DatanetCreated', 'DatanetUpdated', 'DatanetOwnershipTransferred', 'CuratorSet']);

/**
 * What the node keeps of each datanet follows the DatanetRegistry, whoever sent the transaction:
 * its owner (who is paid the datanet's share and may curate; projected once the node's own
 * registration, which creates it and hands it over, has finished), its curators (added and
 * removed on chain, the node among them), its licence and contribution stake. Each is the latest
 * event's value, recomputed for the datanets the new events touch.
 *
 * @example
 * const sink = chainEventSink(db, [datanetProjection]);
 */
export const datanetProjection: ChainProjection = {
  async project(tx, chainId, events) {
    const ids = touchedKeys(events, CONTRACT, EVENTS, 'datanetId');
    if (ids?.length === 0) return;
    const scope = `chain_id = $1 and contract = '${CONTRACT}' and ($2::text[] is null or args->>'datanetId' = any($2))`;
    await tx.query(
      `with latest as (
         select distinct on (args->>'datanetId') args->>'datanetId' as id, coalesce(args->>'newOwner', args->>'owner') as owner
         from chain_events where ${scope} and event in ('DatanetCreated', 'DatanetOwnershipTransferred')
         order by args->>'datanetId', block_number desc, log_index desc)
       update datanets d set owner = latest.owner from latest
       where d.id::text = latest.id and d.chain_id = $1 and d.status = 'active' and lower(d.owner) <> lower(latest.owner)`,
      [chainId, ids],
    );
    await tx.query(
      `with latest as (
         select distinct on (args->>'datanetId') args->>'datanetId' as id, args->>'licence' as licence, args->>'contributionStake' as stake
         from chain_events where ${scope} and event in ('DatanetCreated', 'DatanetUpdated')
         order by args->>'datanetId', block_number desc, log_index desc)
       update datanets d set licence = latest.licence, contribution_stake = latest.stake::numeric from latest
       where d.id::text = latest.id and d.chain_id = $1 and (d.licence <> latest.licence or d.contribution_stake <> latest.stake::numeric)`,
      [chainId, ids],
    );
    const curators = `
      select distinct on (args->>'datanetId', lower(args->>'curator')) args->>'datanetId' as id, args->>'curator' as curator, (args->>'enabled')::boolean as enabled
      from chain_events where ${scope} and event = 'CuratorSet'
      order by args->>'datanetId', lower(args->>'curator'), block_number desc, log_index desc`;
    await tx.query(
      `with latest as (${curators})
       delete from datanet_curators c using datanets d, latest
       where c.datanet_key = d.key and d.id::text = latest.id and d.chain_id = $1 and lower(c.address) = lower(latest.curator) and not latest.enabled`,
      [chainId, ids],
    );
    await tx.query(
      `with latest as (${curators})
       insert into datanet_curators (datanet_key, address)
       select d.key, latest.curator from latest join datanets d on d.id::text = latest.id and d.chain_id = $1
       where latest.enabled and not exists (select 1 from datanet_curators c where c.datanet_key = d.key and lower(c.address) = lower(latest.curator))`,
      [chainId, ids],
    );
  },
};
