import { useQuery } from '@tanstack/react-query';
import { call, routes } from '../../api.ts';
import { useAccount } from '../../account.tsx';
import { Card, Query, Short } from '../../components/states.tsx';

/** The node's status, shared with the account provider's query (same key, same request). */
export function useNodeStatus() {
  return useQuery({ queryKey: ['status'], queryFn: () => call(routes.getStatus, {}), staleTime: 60_000 });
}

/** The head of the node's chain, polled every few seconds through its RPC. */
export function useHeadBlock(intervalMs = 4000) {
  const { publicClient, status } = useAccount();
  return useQuery({
    queryKey: ['head-block', status?.chain.id],
    queryFn: () => publicClient!.getBlockNumber({ cacheTime: 0 }),
    enabled: !!publicClient,
    refetchInterval: intervalMs,
  });
}

/** The node this app talks to: version, chain, whether the chain is the embedded one, the head block and the indexer's position. */
export function NodeCard() {
  const status = useNodeStatus();
  const head = useHeadBlock();
  return (
    <Card title="Node">
      <Query q={status} what="Asking the node for its status">
        {(s) => (
          <div className="grid" data-testid="node-status">
            <div className="stat"><span>version</span><b data-testid="node-version">{s.version}</b></div>
            <div className="stat"><span>chain id</span><b data-testid="node-chain-id">{s.chain.id}</b></div>
            <div className="stat">
              <span>chain</span>
              <b data-testid="node-embedded">{s.chain.embedded ? 'embedded (local dev chain)' : 'external'}</b>
              <small><code>{s.chain.rpcUrl}</code></small>
            </div>
            <div className="stat">
              <span>block</span>
              <b data-testid="node-block">{(head.data ?? BigInt(s.chain.blockNumber)).toString()}</b>
              {head.isError && <small className="error">RPC unreachable from this browser: {head.error.message}</small>}
              {s.indexer && <small>events indexed up to {s.indexer.blockNumber ?? 'nothing yet'}</small>}
            </div>
            <div className="stat"><span>node operator</span><b><Short value={s.nodeAccount} /></b></div>
            {s.store && <div className="stat"><span>store</span><b>{s.store.kind}</b></div>}
          </div>
        )}
      </Query>
    </Card>
  );
}
