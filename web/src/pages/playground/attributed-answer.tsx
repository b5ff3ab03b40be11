import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { Hex } from 'viem';
import { open, call, routes } from '../../api.ts';
import { Empty, ErrorBox, Loading, Short } from '../../components/states.tsx';
import { segments, type Segment } from './segments.ts';
import type { ContributionInfo, ReceiptContribution, Turn } from './types.ts';

const percent = (ppm: number) => `${(ppm / 10_000).toFixed(2)} %`;
const score = (x: number | undefined) => (x === undefined ? '…' : x.toFixed(3));
const preview = (r: ContributionInfo['record']) => {
  const s = typeof r === 'string' ? r : JSON.stringify(r);
  return s.length > 140 ? `${s.slice(0, 140)}…` : s;
};

/**
 * An answer with its attributed spans highlighted (`<mark class="attributed">`): selecting a span
 * shows the contributions it was found in, with their contributor, datanet, share, span and
 * influence scores and group (from the full receipt); the receipt's evidence (and the datanets'
 * pools when attribution abstained), the fee paid and the receipt id. `current` marks the newest
 * answer, which carries the test ids.
 */
export function AttributedAnswer({ turn, current }: { turn: Turn; current: boolean }) {
  const ol = turn.openledger;
  const receiptId = ol?.receipt_id ?? null;
  const receipt = useQuery({ queryKey: ['receipt', receiptId], queryFn: () => call(routes.getReceipt, { params: { receiptId: receiptId! } }), enabled: receiptId !== null, staleTime: Infinity });
  const [selected, setSelected] = useState<Segment | null>(null);
  // the receipt's output is what the spans index; while it loads, the streamed text (the same)
  const text = receipt.data?.output ?? turn.content;
  const spans = ol?.attribution?.spans ?? [];
  const pieces = useMemo(() => segments(text, spans), [text, spans]);
  const tid = (id: string) => (current ? { 'data-testid': id } : {});

  // every credited contribution: the full receipt's list (with scores), else the answer's top ones
  const contributions: Shown[] = receipt.data?.body.contributions ?? ol?.attribution?.contributions ?? [];
  const evidence = receipt.data?.body.evidence;
  const pools = receipt.data?.body.pools ?? [];
  const inSpan = new Set<Hex>(selected?.contributions ?? []);
  const shown = contributions.filter((c) => selected === null || inSpan.has(c.contributionId));

  return (
    <div className="turn assistant">
      <p {...tid('playground-answer')} style={{ whiteSpace: 'pre-wrap' }}>
        {pieces.map((p) => (p.spans.length === 0 ? <span key={p.start}>{p.text}</span> : (
          <mark
            key={p.start} className="attributed" data-testid="attributed-span" role="button" tabIndex={0}
            title={`found in ${p.contributions.length} contribution${p.contributions.length === 1 ? '' : 's'}: select to see them`}
            onClick={() => setSelected(p)} onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') setSelected(p); }}
            style={selected?.start === p.start ? { outline: '2px solid var(--accent)' } : undefined}
          >{p.text}</mark>
        )))}
      </p>
      {ol && (
        <div className="row" style={{ fontSize: '.9rem' }}>
          <span>fee: <b {...tid('playground-fee')}>{ol.fee ? open(ol.fee.amount) : 'none (base model: free, not attributed)'}</b></span>
          {ol.fee && <span className="empty">({open(ol.fee.pricePer1kTokens)} per 1,000 tokens)</span>}
          <span>receipt: {receiptId ? <code {...tid('playground-receipt')}>{receiptId}</code> : <span {...tid('playground-receipt')}>none</span>}</span>
          {turn.usage && <span className="empty">{turn.usage.prompt_tokens} prompt + {turn.usage.completion_tokens} answer tokens{turn.finish === 'length' ? ' (stopped at max tokens)' : ''}</span>}
        </div>
      )}
      {ol?.attribution && (
        <details open={current}>
          <summary>
            Attribution: {contributions.length} contribution{contributions.length === 1 ? '' : 's'} credited, {spans.length} span{spans.length === 1 ? '' : 's'} found verbatim
          </summary>
          {selected !== null && (
            <p className="row">Contributions containing “{selected.text}”: <button type="button" className="secondary" onClick={() => setSelected(null)}>show all</button></p>
          )}
          {receipt.isPending && <Loading what="Loading the receipt" />}
          <ErrorBox error={receipt.error} />
          {evidence && (
            <p {...tid('attribution-evidence')} className="empty">
              Evidence: {(evidence.coverage * 100).toFixed(1)} % of the answer’s information found verbatim in the training data; strongest influence {evidence.influenceMargin.toFixed(1)} s.d. above the null ({percent(evidence.scorePpm)} against the governance threshold{evidence.abstained ? ': too little to pay individual contributions' : ''}).
            </p>
          )}
          {pools.length > 0 ? (
            <Empty>Attribution abstained: the contributors’ share goes to the datanets’ pools — {pools.map((p) => `datanet ${p.datanetId} ${percent(p.sharePpm)}`).join(', ')}.</Empty>
          ) : contributions.length === 0 ? <Empty>No contribution was credited for this answer: the model owner gets the contributors’ share.</Empty>
            : shown.length === 0 ? <Empty>The contributions holding this span got too small a share to be credited.</Empty> : (
            <table>
              <thead><tr><th>Contribution</th><th>Contributor</th><th>Datanet</th><th>Share</th><th>Span score</th><th>Influence score</th><th>Group</th><th>Record</th></tr></thead>
              <tbody>{shown.map((c) => <ContributionRow key={c.contributionId} c={c} text={text} />)}</tbody>
            </table>
          )}
        </details>
      )}
    </div>
  );
}

/** A credited contribution as the answer lists it, or with its scores and group once the receipt is loaded. */
type Shown = Partial<ReceiptContribution> & Omit<ReceiptContribution, 'span' | 'influence' | 'group'>;

/** One credited contribution, with who contributed it (`GET /contributions/:id`). */
function ContributionRow({ c, text }: { c: Shown; text: string }) {
  const info = useQuery({ queryKey: ['contribution', c.contributionId], queryFn: () => call(routes.getContribution, { params: { id: c.contributionId } }), staleTime: Infinity });
  const quotes = c.spans.map(([s, e]) => text.slice(s, e));
  return (
    <tr data-testid="attribution-contribution" title={quotes.length ? `quoted: ${quotes.map((q) => JSON.stringify(q)).join(', ')}` : 'credited by influence only'}>
      <td><Short value={c.contributionId} /></td>
      <td>{info.data ? <Short value={info.data.contributor} chars={4} /> : info.isError ? <span className="error">{(info.error as Error).message}</span> : '…'}</td>
      <td><Link to={`/datanets/${c.datanetId}`}>datanet {c.datanetId}</Link></td>
      <td>{percent(c.sharePpm)}</td>
      <td>{score(c.span)}</td>
      <td>{score(c.influence)}</td>
      <td title={c.group && c.group.size > 1 ? `says the same as ${c.group.size - 1} other contribution(s), credited once through this one (the earliest)` : undefined}>{c.group ? (c.group.size > 1 ? `${c.group.size} alike` : 'alone') : '…'}</td>
      <td style={{ fontSize: '.85rem' }}>{info.data ? preview(info.data.record) : ''}</td>
    </tr>
  );
}
