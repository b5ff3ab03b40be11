import { Link } from 'react-router';
import { useAccount } from '../account.tsx';
import { Card } from '../components/states.tsx';
import { AccountCard } from './connect/account-card.tsx';
import { ChooseAccount } from './connect/choose-account.tsx';
import { NodeCard } from './connect/node-card.tsx';

/**
 * The start page: connect a browser wallet or a development account of the embedded chain, see
 * the connected account's OPEN, escrow deposit and gas, the node it talks to, and what to do next.
 */
export function ConnectPage() {
  const { signer } = useAccount();
  return (
    <>
      <h1>Connect</h1>
      <AccountCard />
      <ChooseAccount />
      <NodeCard />
      {signer && <NextSteps />}
    </>
  );
}

/** Where to go once connected. */
function NextSteps() {
  return (
    <Card title="What next">
      <ol data-testid="next-steps">
        <li><Link to="/datanets">Datanets</Link>: create a datanet or contribute records to one; curators approve them and they are anchored on chain.</li>
        <li><Link to="/factory">ModelFactory</Link>: fine-tune a LoRA adapter on datanet snapshots and publish it with its provenance.</li>
        <li><Link to="/playground">Playground</Link>: ask a published model; each answer shows which contributions shaped it (a paid model needs an escrow deposit).</li>
        <li><Link to="/rewards">Rewards</Link>: what your data and models earned, settled per epoch, and claim it.</li>
        <li><Link to="/governance">Governance</Link>: proposals and votes on the protocol's parameters (fee split, windows).</li>
        <li><Link to="/explorer">Explorer</Link>: the chain's blocks and transactions and the protocol's events.</li>
      </ol>
    </Card>
  );
}
