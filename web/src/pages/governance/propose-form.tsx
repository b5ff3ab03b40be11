import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { keccak256, toBytes } from 'viem';
import { openGovernorAbi } from '../../../../src/chain/generated/index.ts';
import { sendTx, useAccount } from '../../account.tsx';
import { Card, ErrorBox, Field, Query } from '../../components/states.tsx';
import { governorTxAbi, pct, plainTxError } from './chain.ts';
import { useGovParams } from './hooks.ts';
import type { GovParams } from './params.ts';
import { actionsOf, isUint, SHARES, validate, type Errors, type FormState, type Share } from './propose-logic.ts';

function ProposeFields({ current }: { current: GovParams }) {
  const account = useAccount();
  const qc = useQueryClient();
  const [f, setF] = useState<FormState>(() => ({
    changeSplit: false,
    split: Object.fromEntries(SHARES.map(([k]) => [k, String(current.feeSplit[k])])) as Record<Share, string>,
    changeThreshold: false,
    threshold: String(current.attributionThresholdPpm),
    changeEvidence: false,
    evidence: String(current.evidenceThresholdPpm),
    description: '',
  }));
  const [errors, setErrors] = useState<Errors>({});
  const [proposed, setProposed] = useState<string | null>(null);

  const propose = useMutation({
    mutationFn: async (form: FormState) => {
      try {
        const { publicClient, status, signer } = account;
        if (!publicClient || !status || !signer) throw new Error('Connect an account first.');
        const { targets, values, calldatas } = actionsOf(form, status.contracts.attributionSettlement);
        const description = form.description.trim();
        const governor = status.contracts.governor;
        const id = await publicClient.readContract({ address: governor, abi: openGovernorAbi, functionName: 'hashProposal', args: [targets, values, calldatas, keccak256(toBytes(description))] });
        const snapshot = await publicClient.readContract({ address: governor, abi: openGovernorAbi, functionName: 'proposalSnapshot', args: [id] });
        if (snapshot !== 0n) throw new Error('A proposal with the same changes and description exists already: change the description.');
        await sendTx(account, { address: governor, abi: governorTxAbi, functionName: 'propose', args: [targets, values, calldatas, description] });
        return id.toString();
      } catch (e) {
        throw plainTxError(e);
      }
    },
    onSuccess: (id) => {
      setProposed(id);
      setF((x) => ({ ...x, description: '' }));
      void qc.invalidateQueries({ queryKey: ['gov-proposals'] });
    },
  });

  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    setProposed(null);
    const e = validate(f);
    setErrors(e);
    if (Object.keys(e).length === 0) propose.mutate(f);
  };
  const setShare = (k: Share, v: string) => setF((x) => ({ ...x, split: { ...x.split, [k]: v } }));
  const sum = SHARES.reduce((a, [k]) => a + (isUint(f.split[k]) ? Number(f.split[k]) : 0), 0);

  return (
    <form onSubmit={submit} noValidate>
      <label className="row">
        <input type="checkbox" data-testid="gov-form-change-split" checked={f.changeSplit} onChange={(e) => setF({ ...f, changeSplit: e.target.checked })} />
        Change the fee split
      </label>
      {f.changeSplit && (
        <>
          <div className="grid">
            {SHARES.map(([k, label, id]) => (
              <Field key={k} label={label} error={errors[k]} hint={isUint(f.split[k]) ? pct(Number(f.split[k])) : ''}>
                <input data-testid={`gov-form-${id}-bps`} inputMode="numeric" value={f.split[k]} onChange={(e) => setShare(k, e.target.value)} />
              </Field>
            ))}
          </div>
          <p className={errors.splitSum ? 'error' : sum === 10_000 ? 'ok' : ''} data-testid="gov-form-split-sum">
            {errors.splitSum ?? `Sum: ${sum.toLocaleString('en')} / 10,000 bps`}
          </p>
        </>
      )}
      <label className="row">
        <input type="checkbox" data-testid="gov-form-change-threshold" checked={f.changeThreshold} onChange={(e) => setF({ ...f, changeThreshold: e.target.checked })} />
        Change the attribution threshold
      </label>
      {f.changeThreshold && (
        <Field label="Attribution threshold (ppm)" error={errors.threshold} hint={`Contributions below this share of an inference's attribution get nothing. Now ${current.attributionThresholdPpm.toLocaleString('en')} ppm.${isUint(f.threshold) ? ` New: ${pct(Number(f.threshold), 1_000_000)}.` : ''}`}>
          <input data-testid="gov-form-threshold" inputMode="numeric" value={f.threshold} onChange={(e) => setF({ ...f, threshold: e.target.value })} />
        </Field>
      )}
      <label className="row">
        <input type="checkbox" data-testid="gov-form-change-evidence" checked={f.changeEvidence} onChange={(e) => setF({ ...f, changeEvidence: e.target.checked })} />
        Change the evidence threshold
      </label>
      {f.changeEvidence && (
        <Field label="Evidence threshold (ppm)" error={errors.evidence} hint={`An answer whose attribution has less evidence than this pays no individual contributor: the contributors' share goes to the datanets' pools. Now ${current.evidenceThresholdPpm.toLocaleString('en')} ppm.${isUint(f.evidence) ? ` New: ${pct(Number(f.evidence), 1_000_000)}.` : ''}`}>
          <input data-testid="gov-form-evidence" inputMode="numeric" value={f.evidence} onChange={(e) => setF({ ...f, evidence: e.target.value })} />
        </Field>
      )}
      <Field label="Description" error={errors.description} hint="Shown to voters; it also makes the proposal unique.">
        <textarea data-testid="gov-form-description" rows={3} value={f.description} onChange={(e) => setF({ ...f, description: e.target.value })} />
      </Field>
      {errors.form && <p className="error">{errors.form}</p>}
      <div className="row">
        <button type="submit" data-testid="gov-propose-submit" disabled={propose.isPending || !account.signer}>
          {propose.isPending ? 'Proposing…' : 'Propose'}
        </button>
        {!account.signer && <small>Connect an account to propose.</small>}
        {proposed && <span className="ok" data-testid="gov-proposed">Proposed (id {proposed.length > 16 ? `${proposed.slice(0, 8)}…${proposed.slice(-6)}` : proposed}); it appears in the list below once indexed.</span>}
      </div>
      <ErrorBox error={propose.error} />
    </form>
  );
}

/** A form to propose a change of the fee split, the attribution threshold and/or the evidence threshold, sent to the governor. */
export function ProposeCard() {
  const params = useGovParams();
  return (
    <Card title="New proposal">
      <Query q={params} what="Reading the current parameters">{(p) => <ProposeFields current={p} />}</Query>
    </Card>
  );
}
