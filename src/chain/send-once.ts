import { parseEventLogs, type Hex } from 'viem';
import type { ChainClients } from './clients.ts';
import { protocolAbis, type ProtocolContracts } from './protocol.ts';

/** A protocol event that proves a transaction of the node landed. */
export interface RegistryEvent {
  args: Record<string, unknown>;
  transactionHash: Hex;
}

/** The events `sendOnce` can recognise a transaction by, per registry. */
interface RegistryEvents {
  datanetRegistry: 'DatanetCreated' | 'BatchAnchored' | 'SnapshotRecorded';
  modelRegistry: 'ModelRegistered' | 'VersionPublished';
  attributionSettlement: 'EpochPosted';
  skillCallRoots: 'CallRootPosted';
}

/**
 * Sends a registry transaction at most once across crashes. Before sending, the chain head is
 * recorded (`recordHead`); if the caller already has such a record (`sentFromBlock`), the event the
 * transaction emits is searched for from that block first, and the transaction is only sent when it
 * is not found. Returns the event, from the chain or from the new transaction's receipt.
 *
 * @example
 * const event = await sendOnce(ctx, {
 *   contract: 'datanetRegistry', eventName: 'BatchAnchored', filter: { datanetId }, matches: (a) => a.root === root,
 *   sentFromBlock, recordHead: (head) => saveHead(head), send: () => registry.write.anchorBatch([...]),
 * });
 */
export async function sendOnce<C extends keyof RegistryEvents>(
  ctx: { clients: ChainClients; contracts: ProtocolContracts },
  o: {
    contract: C;
    eventName: RegistryEvents[C];
    /** Indexed arguments to filter the search by. */
    filter: Record<string, unknown>;
    /** Whether a found event is this transaction's. */
    matches: (args: Record<string, unknown>) => boolean;
    sentFromBlock: bigint | null;
    recordHead: (head: bigint) => Promise<void>;
    send: () => Promise<Hex>;
  },
): Promise<RegistryEvent> {
  const { publicClient } = ctx.clients;
  if (o.sentFromBlock !== null) {
    const events = (await publicClient.getContractEvents({
      address: ctx.contracts[o.contract].address,
      abi: protocolAbis[o.contract] as typeof protocolAbis.datanetRegistry,
      eventName: o.eventName as RegistryEvents['datanetRegistry'],
      args: o.filter as never,
      fromBlock: o.sentFromBlock,
    })) as unknown as RegistryEvent[];
    const found = events.find((e) => o.matches(e.args));
    if (found) return found;
  }
  await o.recordHead(await publicClient.getBlockNumber({ cacheTime: 0 }));
  const hash = await o.send();
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  const [event] = parseEventLogs({ abi: protocolAbis[o.contract] as typeof protocolAbis.datanetRegistry, eventName: o.eventName as RegistryEvents['datanetRegistry'], logs: receipt.logs }) as unknown as RegistryEvent[];
  if (!event) throw new Error(`transaction ${hash} emitted no ${o.eventName}`);
  return event;
}
