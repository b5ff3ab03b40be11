import { Link, useParams } from 'react-router';
import { Card, ErrorBox } from '../components/states.tsx';
import { CallTreeView } from './marketplace/call-tree.tsx';

/**
 * One skill call drawn down to whom it paid: its whole tree from the consumer's call (calls of other
 * skills nested in the calls that made them), each call's inferences with the contributions they
 * credited, its payouts by role, and the epoch that settled it.
 */
export function SkillCallPage() {
  const { id = '' } = useParams();
  const valid = /^0x[0-9a-fA-F]{64}$/.test(id);
  return (
    <>
      <p><Link to="/marketplace">← Marketplace</Link></p>
      <h1>Call <code style={{ fontSize: '1rem', wordBreak: 'break-all' }}>{id}</code></h1>
      {valid ? <Card title="Where the price went"><CallTreeView callId={id} /></Card> : <ErrorBox error={`"${id}" is not a call id (0x and 64 hex digits)`} />}
    </>
  );
}
