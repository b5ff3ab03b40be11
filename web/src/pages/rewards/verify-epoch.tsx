import { useMutation } from '@tanstack/react-query';
import type { PublicClient, WalletClient } from 'viem';
import { protocolContracts } from '../../../../src/chain/protocol.ts';
import type { ChainClients } from '../../../../src/chain/clients.ts';
import { auditEpoch } from '../../../../src/settlement/audit-epoch.ts';
import { call, routes } from '../../api.ts';
import { useAccount } from '../../account.tsx';

/**
 * Recomputes a posted epoch here, in the browser, as the CLI's `settlement verify` does (the same
 * `auditEpoch`): from the inputs the node serves — every receipt's signature and fee split, the
 * cumulative tree, the root — checked against the root and inputs hash on chain, and the payees
 * against the chain's owners and stakers. Trusts nothing the node says that the chain does not
 * confirm. (Recomputing each receipt's attribution needs the models: the CLI's `--attribution`.)
 */
export function VerifyEpoch({ epoch }: { epoch: number }) {
  const { publicClient, status } = useAccount();
  const audit = useMutation({
    mutationFn: async () => {
      if (!publicClient || !status) throw new Error('the node and its chain are not reachable yet');
      // reads only: no wallet is needed to check an epoch
      const contracts = protocolContracts({ publicClient: publicClient as ChainClients['publicClient'], walletClient: undefined as unknown as WalletClient as ChainClients['walletClient'] }, status.contracts);
      return auditEpoch({ served: (n) => call(routes.getEpochInputs, { params: { epoch: n } }), contracts, publicClient: publicClient as PublicClient, epoch });
    },
  });
  if (audit.isIdle) return <button type="button" className="secondary" data-testid={`epoch-verify-${epoch}`} onClick={() => audit.mutate()}>Verify</button>;
  if (audit.isPending) return <span data-testid={`epoch-verdict-${epoch}`}>recomputing…</span>;
  if (audit.isError) return <span className="error" data-testid={`epoch-verdict-${epoch}`}>could not check: {audit.error.message}</span>;
  const a = audit.data!;
  if (a.problems.length === 0) {
    return <span className="ok" data-testid={`epoch-verdict-${epoch}`} title={`root ${a.recomputedRoot}`}>✓ checks out ({a.evidence.inputs.receipts.length} receipts)</span>;
  }
  return (
    <div className="error" data-testid={`epoch-verdict-${epoch}`}>
      ✗ {a.problems.length} problem{a.problems.length === 1 ? '' : 's'} — dispute it with <code>openledger settlement verify {epoch} --dispute</code>
      <ul>{a.problems.slice(0, 10).map((p) => <li key={p}>{p}</li>)}</ul>
    </div>
  );
}
