import type { ReactNode } from 'react';
import { NavLink } from 'react-router';
import { useAccount } from '../account.tsx';
import { Short } from './states.tsx';

const pages = [
  ['/', 'Connect'], ['/datanets', 'Datanets'], ['/factory', 'ModelFactory'], ['/playground', 'Playground'],
  ['/marketplace', 'Marketplace'], ['/rewards', 'Rewards'], ['/governance', 'Governance'], ['/explorer', 'Explorer'],
] as const;

/** The frame of every page: navigation and who is connected. */
export function Layout({ children }: { children: ReactNode }) {
  const { signer, kind, status } = useAccount();
  return (
    <div className="app">
      <nav>
        <strong className="brand">openledger</strong>
        {pages.map(([to, label]) => <NavLink key={to} to={to} end={to === '/'}>{label}</NavLink>)}
        <span className="who">{signer ? <>{kind === 'dev' ? 'dev account ' : 'wallet '}<Short value={signer.address} chars={4} /></> : <NavLink to="/">connect</NavLink>}</span>
      </nav>
      <main>{children}</main>
      <footer>{status ? `node ${status.version} · chain ${status.chain.id}${status.chain.embedded ? (status.chain.development ? ' (embedded, development)' : ' (embedded)') : ''} · block ${status.chain.blockNumber}` : ''}</footer>
    </div>
  );
}
