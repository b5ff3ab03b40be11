import { useMutation, useQuery } from '@tanstack/react-query';
import { open, call, routes } from '../../api.ts';
import { useAccount } from '../../account.tsx';
import { Card, Empty, ErrorBox, Loading, Short } from '../../components/states.tsx';
import { useOpenBalances } from './balances.ts';

/** Connect a browser wallet (EIP-1193), or, on the embedded chain, one of its development accounts. */
export function ChooseAccount() {
  const { connectInjected, status, signer } = useAccount();
  const injected = useMutation({ mutationFn: connectInjected });
  return (
    <Card title={signer ? 'Switch account' : 'Choose an account'}>
      <div className="row">
        <button type="button" data-testid="connect-injected" disabled={injected.isPending} onClick={() => injected.mutate()}>
          {injected.isPending ? 'Waiting for the wallet…' : 'Connect a browser wallet'}
        </button>
        <small>MetaMask or any EIP-1193 wallet; it must be on chain {status?.chain.id ?? '…'}.</small>
      </div>
      <ErrorBox error={injected.error} />
      {status?.chain.embedded && <DevAccounts />}
    </Card>
  );
}

/** The embedded chain's 10 development accounts, with their OPEN and which one operates the node. */
function DevAccounts() {
  const { status, devAccounts, connectDev, signer, kind } = useAccount();
  // Same key and request as the account provider's: here only to show why the list may be empty.
  const dev = useQuery({ queryKey: ['dev-accounts'], queryFn: () => call(routes.devAccounts, {}), staleTime: Infinity });
  const balances = useOpenBalances(devAccounts);
  if (dev.isPending) return <Loading what="Loading the development accounts" />;
  if (dev.isError) return <ErrorBox error={dev.error} />;
  if (devAccounts.length === 0) return <Empty>The node shares no development accounts; connect a browser wallet instead.</Empty>;
  return (
    <>
      <h3>Development accounts of the embedded chain</h3>
      <p><small>Test accounts with ETH for gas; the browser signs as them directly. Account 0 deployed the protocol and holds the genesis OPEN.</small></p>
      <ErrorBox error={balances.error} />
      <table data-testid="dev-accounts">
        <thead><tr><th>#</th><th>address</th><th>OPEN</th><th>role</th><th /></tr></thead>
        <tbody>
          {devAccounts.map((address, i) => {
            const current = kind === 'dev' && signer?.address.toLowerCase() === address.toLowerCase();
            const operator = status?.nodeAccount.toLowerCase() === address.toLowerCase();
            const balance = balances.data?.[i];
            return (
              <tr key={address} data-testid={`dev-account-${i}`}>
                <td>{i}</td>
                <td><Short value={address} /></td>
                <td data-testid={`dev-balance-${i}`}>{balance === undefined ? '…' : open(balance)}</td>
                <td>{operator ? <strong data-testid={`dev-operator-${i}`}>node operator</strong> : ''}</td>
                <td>
                  {current
                    ? <span className="ok">connected</span>
                    : <button type="button" className="secondary" data-testid={`connect-dev-${i}`} onClick={() => connectDev(i)}>Use</button>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
