import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { parseEther } from 'viem';
import { ApiError, open } from '../../api.ts';
import { useAccount } from '../../account.tsx';
import { ErrorBox, Field, Loading } from '../../components/states.tsx';
import { readOpenBalance } from '../../open-coin.ts';
import { depositAndAuthorize, fetchFunds } from './fund.ts';

/**
 * The connected account's funds with this node (deposit, authorisation, spend, what is available)
 * and, when asked for (a 402 answer, or "add funds"), a form that deposits OPEN into the escrow and
 * authorises the node to charge it; `onFunded` runs once it went through (the playground retries).
 */
export function FundsPanel({ need, onFunded }: { need: string | null; onFunded: () => void }) {
  const account = useAccount();
  const address = account.signer?.address;
  const funds = useQuery({ queryKey: ['funds', address], queryFn: () => fetchFunds(address!), enabled: !!address });
  const [open_, setOpen] = useState(false);
  if (!address) return null;

  const unmetered = funds.error instanceof ApiError && funds.error.status === 404;
  return (
    <div className="card" style={need ? { borderColor: 'var(--bad)' } : undefined}>
      {need && <p className="error" role="alert">{need}</p>}
      <div className="row">
        <span data-testid="funds">
          {funds.isPending ? <Loading what="Reading your funds" />
            : unmetered ? 'This node does not charge for inference.'
            : funds.isError ? <ErrorBox error={funds.error} />
            : <>Funds with this node: <b>{open(funds.data.available)}</b> available (deposit {open(funds.data.deposit)}, authorised {open(funds.data.authorized)}, spent {open(funds.data.spent)}{BigInt(funds.data.reserved) > 0n ? `, reserved ${open(funds.data.reserved)}` : ''})</>}
        </span>
        {!need && !unmetered && <button type="button" className="secondary" onClick={() => setOpen(!open_)}>{open_ ? 'close' : 'add funds'}</button>}
      </div>
      {(need || open_) && !unmetered && <FundForm onFunded={() => { setOpen(false); onFunded(); }} />}
    </div>
  );
}

/** Deposit + authorise: amount in OPEN, validated against the account's OPEN balance. */
function FundForm({ onFunded }: { onFunded: () => void }) {
  const account = useAccount();
  const qc = useQueryClient();
  const { signer, status, publicClient } = account;
  const balance = useQuery({
    queryKey: ['open-balance', signer?.address],
    queryFn: () => readOpenBalance(publicClient!, status!, signer!.address),
    enabled: !!signer && !!status && !!publicClient,
  });
  const [amount, setAmount] = useState('');
  const [deposit, setDeposit] = useState(true);
  const [days, setDays] = useState('30');
  const [touched, setTouched] = useState(false);
  const [step, setStep] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const wei = /^\d+(\.\d{1,18})?$/.test(amount.trim()) ? parseEther(amount.trim()) : null;
  const amountError = wei === null ? 'an amount of OPEN, e.g. 10 or 2.5'
    : wei === 0n ? 'more than 0'
    : deposit && balance.data !== undefined && wei > balance.data ? `more than your balance (${open(balance.data)})` : undefined;
  const daysN = Number(days);
  const daysError = Number.isInteger(daysN) && daysN >= 1 && daysN <= 365 ? undefined : 'whole days, 1 to 365';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (amountError || daysError || wei === null) return;
    setError(null);
    try {
      await depositAndAuthorize(account, wei, { deposit, days: daysN, step: setStep });
      await Promise.all([qc.invalidateQueries({ queryKey: ['funds'] }), qc.invalidateQueries({ queryKey: ['open-balance'] })]);
      setAmount('');
      setTouched(false);
      onFunded();
    } catch (err) {
      setError(err);
    } finally {
      setStep(null);
    }
  };

  return (
    <form onSubmit={submit} noValidate>
      <div className="row" style={{ alignItems: 'flex-start' }}>
        <Field label="Amount (OPEN)" error={touched ? amountError : undefined} {...(balance.data !== undefined ? { hint: `your balance: ${open(balance.data)}` } : {})}>
          <input data-testid="fund-amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} placeholder="10" disabled={step !== null} />
        </Field>
        <Field label="Valid for (days)" error={touched ? daysError : undefined}>
          <input type="number" min={1} max={365} value={days} onChange={(e) => setDays(e.target.value)} disabled={step !== null} style={{ width: '6rem' }} />
        </Field>
      </div>
      <label className="row" style={{ marginBottom: '.75rem' }}>
        <input type="checkbox" checked={deposit} onChange={(e) => setDeposit(e.target.checked)} disabled={step !== null} />
        deposit this amount into the escrow (uncheck to only raise the node’s authorisation over a deposit you already have)
      </label>
      <div className="row">
        <button type="submit" data-testid="fund-submit" disabled={step !== null || !signer}>{deposit ? 'Deposit and authorise' : 'Authorise'}</button>
        {step && <span className="loading" role="status">{step}…</span>}
      </div>
      <ErrorBox error={error} />
    </form>
  );
}
