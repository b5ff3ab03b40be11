import type { NodeContext } from '../store/node-context.ts';
import type { Datanet } from './datanet-types.ts';
import { getDatanetByKey } from './datanets.ts';
import { sendOnce } from '../chain/send-once.ts';

/**
 * Brings a datanet's on-chain registration to completion, from whatever step it stopped at:
 * the node creates it in the DatanetRegistry with itself among the curators (so it can anchor
 * batches and record snapshots), then hands ownership to the datanet's owner. Every step is
 * idempotent: a creation sent before a crash is found again by its metadata URI in the registry's
 * events from the block recorded before sending, so it is never created twice.
 *
 * @example
 * const active = await registerDatanet(ctx, datanet);
 */
export async function registerDatanet(ctx: NodeContext, datanet: Datanet): Promise<Datanet> {
  const { db, clients, contracts } = ctx;
  const { publicClient } = clients;
  const node = clients.account.address;
  let d = datanet;

  if (d.status === 'creating') {
    const curators = [node, ...d.curators.filter((c) => c.toLowerCase() !== node.toLowerCase())];
    const created = await sendOnce(ctx, {
      contract: 'datanetRegistry',
      eventName: 'DatanetCreated',
      filter: { owner: node },
      matches: (args) => args.metadataURI === d.metadataURI,
      sentFromBlock: d.sentFromBlock,
      recordHead: async (head) => void (await db.query('update datanets set sent_from_block = $2 where key = $1', [d.key, head.toString()])),
      send: () => contracts.datanetRegistry.write.createDatanet([d.metadataURI, d.licence, BigInt(d.contributionStake), curators]),
    });
    const id = created.args.datanetId as bigint;
    await db.query(`update datanets set id = $2, status = 'transferring' where key = $1`, [d.key, id.toString()]);
    d = await getDatanetByKey(db, d.key);
  }

  if (d.status === 'transferring') {
    const onChain = await contracts.datanetRegistry.read.getDatanet([BigInt(d.id!)]);
    if (onChain.owner.toLowerCase() !== d.owner.toLowerCase()) {
      const hash = await contracts.datanetRegistry.write.transferDatanetOwnership([BigInt(d.id!), d.owner]);
      await publicClient.waitForTransactionReceipt({ hash });
    }
    await db.query(`update datanets set status = 'active' where key = $1`, [d.key]);
    d = await getDatanetByKey(db, d.key);
  }
  return d;
}
