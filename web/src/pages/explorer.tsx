import { ErrorBox, Loading } from '../components/states.tsx';
import { useNodeStatus } from './connect/node-card.tsx';
import { RecentBlocks } from './explorer/blocks.tsx';
import { ProtocolEvents } from './explorer/events.tsx';
import { WatchedEpochs } from './explorer/watchtower.tsx';

/**
 * The node's chain at a glance: recent blocks and transactions (read from its RPC, polled) and the
 * protocol events its indexer stored, filterable by contract and event, paged towards older ones;
 * and what its watchtower checked of the other operators' epochs.
 */
export function ExplorerPage() {
  const status = useNodeStatus();
  return (
    <>
      <h1>Explorer</h1>
      {status.data && (
        <p data-testid="explorer-chain">
          Chain {status.data.chain.id}{status.data.chain.embedded ? ' (embedded)' : ''} at <code>{status.data.chain.rpcUrl}</code>
          {status.data.indexer && <> · events indexed up to block {status.data.indexer.blockNumber ?? '—'}</>}
        </p>
      )}
      <ErrorBox error={status.error} />
      {status.data ? <RecentBlocks /> : status.isPending ? <Loading what="Asking the node for its chain" /> : null}
      <ProtocolEvents />
      <WatchedEpochs />
    </>
  );
}
