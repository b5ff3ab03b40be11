import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { useAccount } from '../../account.tsx';
import { call, routes } from '../../api.ts';
import { Card, ErrorBox, Field } from '../../components/states.tsx';
import { checkDefinition, emptyDraft, type DefinitionBody, type DefinitionDraft, type DraftErrors } from './definition.ts';

/**
 * The "create a datanet" form: name, description, licence, curation, contribution stake,
 * near-duplicate threshold, rules, curators and an optional record schema. Checked before sending,
 * signed by the connected account (who will own the datanet); on success goes to the new datanet.
 */
export function CreateDatanetForm() {
  const { signer } = useAccount();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<DefinitionDraft>(emptyDraft);
  const [errors, setErrors] = useState<DraftErrors>({});
  const create = useMutation({
    mutationFn: (body: DefinitionBody) => call(routes.createDatanet, { body }, { signer }),
    onSuccess: async (d) => {
      await queryClient.invalidateQueries({ queryKey: ['datanets'] });
      void navigate(d.id !== null ? `/datanets/${d.id}` : '/datanets');
    },
  });

  const set = <K extends keyof DefinitionDraft>(key: K) => (value: DefinitionDraft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    if (errors[key]) setErrors((e) => ({ ...e, [key]: undefined }));
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const checked = checkDefinition(draft);
    setErrors(checked.errors ?? {});
    if (checked.body && signer) create.mutate(checked.body);
  };

  return (
    <Card title="Create a datanet">
      <form onSubmit={submit} noValidate>
        {!signer && <p className="error"><Link to="/">Connect an account</Link> first: it signs the request and will own the datanet.</p>}
        <Field label="Name" error={errors.name} hint="lowercase letters, digits and dashes, e.g. medical-qa">
          <input data-testid="create-datanet-name" value={draft.name} onChange={(e) => set('name')(e.target.value)} maxLength={63} autoComplete="off" />
        </Field>
        <Field label="Description" error={errors.description}>
          <textarea data-testid="create-datanet-description" rows={3} value={draft.description} onChange={(e) => set('description')(e.target.value)} />
        </Field>
        <Field label="Licence" error={errors.licence} hint="the licence contributions are shared under, e.g. CC-BY-4.0">
          <input data-testid="create-datanet-licence" value={draft.licence} onChange={(e) => set('licence')(e.target.value)} maxLength={200} />
        </Field>
        <div className="grid">
          <Field label="Curation" hint={draft.curation === 'auto' ? 'valid records are accepted at once' : 'valid records wait for a curator'}>
            <select data-testid="create-datanet-curation" value={draft.curation} onChange={(e) => set('curation')(e.target.value as 'auto' | 'manual')}>
              <option value="auto">automatic</option>
              <option value="manual">manual (curators approve)</option>
            </select>
          </Field>
          <Field label="Contribution stake (OPEN)" error={errors.stake} hint="bonded by each contributor, slashed for spam">
            <input data-testid="create-datanet-stake" inputMode="decimal" value={draft.stake} onChange={(e) => set('stake')(e.target.value)} />
          </Field>
          <Field label="Near-duplicate threshold" error={errors.threshold} hint="Jaccard similarity (0–1] at which a record is a near-duplicate">
            <input data-testid="create-datanet-threshold" inputMode="decimal" value={draft.threshold} onChange={(e) => set('threshold')(e.target.value)} />
          </Field>
        </div>
        <fieldset>
          <legend>Rules (optional)</legend>
          <div className="grid">
            <Field label="Fewest characters" error={errors.minChars}>
              <input data-testid="create-datanet-min-chars" inputMode="numeric" value={draft.minChars} onChange={(e) => set('minChars')(e.target.value)} />
            </Field>
            <Field label="Most characters" error={errors.maxChars}>
              <input data-testid="create-datanet-max-chars" inputMode="numeric" value={draft.maxChars} onChange={(e) => set('maxChars')(e.target.value)} />
            </Field>
            <Field label="Most bytes per record" error={errors.maxBytes} hint="default 65,536; at most 1,048,576">
              <input data-testid="create-datanet-max-bytes" inputMode="numeric" value={draft.maxBytes} onChange={(e) => set('maxBytes')(e.target.value)} />
            </Field>
          </div>
          <Field label="Forbidden patterns" error={errors.forbidden} hint="one regular expression per line (case-insensitive); a record matching one is rejected">
            <textarea data-testid="create-datanet-forbidden" rows={2} value={draft.forbidden} onChange={(e) => set('forbidden')(e.target.value)} />
          </Field>
        </fieldset>
        <Field label="Curators besides you" error={errors.curators} hint="one address per line">
          <textarea data-testid="create-datanet-curators" rows={2} value={draft.curators} onChange={(e) => set('curators')(e.target.value)} />
        </Field>
        <Field label="Record schema (optional)" error={errors.recordSchema} hint='a JSON Schema every record must match, e.g. {"type": "object", "required": ["prompt", "response"]}; leave empty for free text'>
          <textarea data-testid="create-datanet-schema" rows={3} value={draft.recordSchema} onChange={(e) => set('recordSchema')(e.target.value)} spellCheck={false} />
        </Field>
        <ErrorBox error={create.error} />
        <button type="submit" data-testid="create-datanet-submit" disabled={!signer || create.isPending}>
          {create.isPending ? 'Creating and registering on chain…' : 'Create datanet'}
        </button>
      </form>
    </Card>
  );
}
