import type { Address } from 'viem';
import { canonicalBytes } from './contribution-id.ts';
import { blobURI } from '../store/blob-uri.ts';
import type { NodeContext } from '../store/node-context.ts';
import type { Datanet } from './datanet-types.ts';
import { getDatanetByKey } from './datanets.ts';
import type { DatanetDefinition } from './definition.ts';
import { DatanetError } from './errors.ts';
import { registerDatanet } from './register-datanet.ts';


/**
 * Creates a datanet owned by `owner`: stores its metadata (name, description, record schema,
 * rules) as a content-addressed blob, records it, and registers it on chain
 * ({@link registerDatanet}) with the metadata's URI. The node pays the gas; the owner signed the
 * request. A name already taken on this node is a 409.
 *
 * @example
 * const datanet = await createDatanet(ctx, owner, parseDefinition(body));
 */
export async function createDatanet(ctx: NodeContext, owner: Address, def: DatanetDefinition): Promise<Datanet> {
  const metadata = {
    name: def.name,
    description: def.description,
    owner,
    licence: def.licence,
    recordSchema: def.recordSchema ?? null,
    curation: def.curation,
    nearDuplicateThreshold: def.nearDuplicateThreshold,
    rules: def.rules,
  };
  const { hash } = await ctx.blobs.put(canonicalBytes(metadata));
  const chainId = ctx.clients.chain.id;
  const key = await ctx.db.transaction(async (tx) => {
    const taken = await tx.query('select 1 from datanets where name = $1', [def.name]);
    if (taken.length > 0) throw new DatanetError('name_taken', `a datanet named ${def.name} already exists`);
    const [row] = await tx.query<{ key: string }>(
      `insert into datanets (chain_id, owner, name, description, record_schema, licence, contribution_stake, curation,
         near_duplicate_threshold, rules, metadata_uri, status)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'creating') returning key`,
      [
        chainId, owner, def.name, def.description, def.recordSchema ? JSON.stringify(def.recordSchema) : null, def.licence,
        def.contributionStake, def.curation, def.nearDuplicateThreshold, JSON.stringify(def.rules), blobURI(hash),
      ],
    );
    for (const c of new Set(def.curators)) {
      await tx.query('insert into datanet_curators (datanet_key, address) values ($1, $2)', [row!.key, c]);
    }
    return Number(row!.key);
  });
  return registerDatanet(ctx, await getDatanetByKey(ctx.db, key));
}
