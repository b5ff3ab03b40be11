import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { parseEther } from 'viem';
import { ApiError, call, open, routes } from '../../api.ts';
import { useAccount } from '../../account.tsx';
import { Card, Empty, ErrorBox, Field, Short } from '../../components/states.tsx';
import { FundsPanel } from '../playground/funds-panel.tsx';
import { CallTreeView } from './call-tree.tsx';
import { priceText } from './format.ts';
import type { Skill } from './types.ts';

/** Refusals the escrow can fix: no deposit or authorisation, or not enough of it (not a price over the caller's maximum). */
const needsFunds = (e: unknown) => e instanceof ApiError && e.status === 402 && (e.code === 'insufficient_funds' || e.code === 'payment_required');

/**
 * Calls a skill as the connected account: the request is signed (a consumer route, paid from the
 * account's escrow deposit up to what it authorised this node to spend, as in the Playground). The
 * answer shows the output, the price and the call's tree down to whom it paid. When the account
 * cannot pay, the node's message says why and the Playground's fund form (deposit + authorise)
 * appears; the call is made again once funded.
 */
export function CallForm({ skill }: { skill: Skill }) {
  const { signer } = useAccount();
  const qc = useQueryClient();
  const flat = skill.offer.pricing === 'flat';
  const [input, setInput] = useState('');
  const [maxPrice, setMaxPrice] = useState('');
  const [touched, setTouched] = useState(false);
  const run = useMutation({
    mutationFn: (v: { input: string; maxPrice: bigint | null }) =>
      call(routes.callSkill, { params: { id: skill.id }, body: { input: v.input, ...(v.maxPrice !== null ? { maxPrice: v.maxPrice.toString() } : {}) } }, { signer }),
    onSuccess: () => Promise.all([
      qc.invalidateQueries({ queryKey: ['funds'] }),
      qc.invalidateQueries({ queryKey: ['skill'] }),
      qc.invalidateQueries({ queryKey: ['skills'] }),
    ]),
  });

  const maxWei = /^\d+(\.\d{1,18})?$/.test(maxPrice.trim()) ? parseEther(maxPrice.trim()) : null;
  const errors = {
    input: input.trim() === '' ? 'write what the skill works on' : input.length > 32_000 ? 'at most 32,000 characters' : undefined,
    maxPrice: flat ? undefined : maxWei === null ? 'an amount of OPEN, e.g. 0.5' : maxWei === 0n ? 'more than 0' : undefined,
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!signer || run.isPending || errors.input || errors.maxPrice) return;
    run.mutate({ input: input.trim(), maxPrice: flat ? null : maxWei });
  };
  const again = () => {
    if (run.variables) run.mutate(run.variables);
  };

  if (!signer) return <Card title="Call it"><Empty>Calls are paid by your account: <Link to="/">connect one</Link> to call this skill.</Empty></Card>;
  return (
    <>
      <Card title="Call it">
        <form onSubmit={submit} noValidate>
          <Field label="Input" error={touched ? errors.input : undefined} hint="what the skill works on: {{input}} in its workflow">
            <textarea data-testid="skill-call-input" rows={3} value={input} onChange={(e) => setInput(e.target.value)} disabled={run.isPending} />
          </Field>
          {!flat && (
            <Field label="Most you pay (OPEN)" error={touched ? errors.maxPrice : undefined} hint={`${priceText(skill.offer)}: reserved from your escrow, you are charged the call's price`}>
              <input data-testid="skill-call-max-price" inputMode="decimal" value={maxPrice} onChange={(e) => setMaxPrice(e.target.value)} placeholder="0.5" disabled={run.isPending} style={{ width: '10rem' }} />
            </Field>
          )}
          <div className="row">
            <button type="submit" data-testid="skill-call-submit" disabled={run.isPending}>{run.isPending ? 'Calling…' : flat ? `Call for ${open(skill.offer.price)}` : 'Call'}</button>
            <small className="empty">signed by <Short value={signer.address} chars={4} />, paid from your escrow deposit</small>
          </div>
        </form>
        {run.isError && !needsFunds(run.error) && <ErrorBox error={run.error} />}
        {run.isSuccess && (
          <div data-testid="skill-call-result" style={{ marginTop: '1rem' }}>
            <h3>Output</h3>
            <pre className="code-block" data-testid="skill-call-output" style={{ whiteSpace: "pre-wrap" }}>{run.data.output}</pre>
            <p>
              Price <b data-testid="skill-call-price">{open(run.data.price)}</b> · call <Link to={`/marketplace/calls/${run.data.callId}`} data-testid="skill-call-link"><Short value={run.data.callId} /></Link>
              {run.data.tree.children.length > 0 && <> · it made {run.data.tree.children.length} call{run.data.tree.children.length === 1 ? '' : 's'} of other skills</>}
            </p>
          </div>
        )}
      </Card>
      {/* the node's own words when the account cannot pay, with the fund form; otherwise the account's funds */}
      <FundsPanel need={needsFunds(run.error) ? (run.error as ApiError).message : null} onFunded={again} />
      {run.isSuccess && <Card title="Where the price went"><CallTreeView callId={run.data.callId} /></Card>}
    </>
  );
}
