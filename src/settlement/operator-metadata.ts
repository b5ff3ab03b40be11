import { listBaseModels } from '../factory/base-models.ts';
import { blobURI } from '../store/blob-uri.ts';
import type { NodeContext } from '../store/node-context.ts';

/**
 * What an operator offers, as its record's metadata document says (`OperatorRegistry.metadataURI`
 * names it by hash, `openledger://blob/<keccak256>`, served at `GET /blobs/<hash>` by the operator):
 * the base models it serves published models on, its engine, and its price policy — every
 * published model at its owner's on-chain price, the only policy the protocol settles.
 */
export interface OperatorMetadata {
  kind: 'openledger-operator';
  version: string;
  chainId: number;
  engine: string;
  baseModels: Array<{ id: string; name: string; parameters: number }>;
  pricing: 'model-owner-price';
}

/**
 * Builds this node's {@link OperatorMetadata}, stores it in its blobs and returns its URI (the
 * same document always has the same URI, so an unchanged node publishes nothing again).
 *
 * @example
 * const uri = await storeOperatorMetadata(ctx, { version: '0.1.0', engine: 'builtin' });
 */
export async function storeOperatorMetadata(ctx: Pick<NodeContext, 'db' | 'blobs' | 'clients'>, offer: { version: string; engine: string }): Promise<string> {
  const document: OperatorMetadata = {
    kind: 'openledger-operator',
    version: offer.version,
    chainId: ctx.clients.chain.id,
    engine: offer.engine,
    baseModels: (await listBaseModels(ctx.db)).map((b) => ({ id: b.id, name: b.name, parameters: b.parameters })),
    pricing: 'model-owner-price',
  };
  const { hash } = await ctx.blobs.put(new TextEncoder().encode(JSON.stringify(document)));
  return blobURI(hash);
}
