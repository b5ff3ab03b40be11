import { useState } from 'react';
import { defaultTemplate, templateFields, type PromptTemplate } from '../../../../src/factory/template.ts';
import { Empty, ErrorBox, Field, Loading, Short } from '../../components/states.tsx';
import type { Contribution } from '../datanet/types.ts';
import { renderSamples, type Errors } from './draft.ts';

const pre = { whiteSpace: 'pre-wrap', background: '#f6f8fa', padding: '.6rem .8rem', borderRadius: 6, margin: '.25rem 0 .75rem' } as const;

/** The sample records of the chosen snapshots, with their loading state. */
export interface Samples {
  list: Contribution[];
  loading: boolean;
  error: unknown;
}

/** Wizard step 3: the prompt/response template, previewed on sample records of the chosen snapshots. */
export function StepTemplate({ value, onChange, samples, errors }: { value: PromptTemplate; onChange: (t: PromptTemplate) => void; samples: Samples; errors: Errors }) {
  const [index, setIndex] = useState(0);
  const rendered = renderSamples(value, samples.list);
  const current = rendered[Math.min(index, rendered.length - 1)];
  const failing = rendered.filter((r) => r.error).length;
  const fields = (r: Contribution['record']) => (typeof r === 'string' ? ['text'] : Object.keys(r));

  return (
    <fieldset className="wizard-step">
      <legend>3. Prompt and response template</legend>
      <p>
        Each contribution becomes one training example: the <b>prompt</b> (no loss is taken on it) followed by the <b>response</b> the model learns to produce.
        {' '}<code>{'{{field}}'}</code> inserts a field of a JSON record, <code>{'{{text}}'}</code> a plain-text record.
      </p>
      <Field label="Prompt template" error={errors['template.prompt']} hint={`reads ${templateFields({ prompt: value.prompt, response: '' }).join(', ') || 'no field'}`}>
        <textarea rows={3} data-testid="wizard-template-prompt" value={value.prompt} onChange={(e) => onChange({ ...value, prompt: e.target.value })} />
      </Field>
      <Field label="Response template" error={errors['template.response']} hint={`reads ${templateFields({ prompt: '', response: value.response }).join(', ') || 'no field'}`}>
        <textarea rows={2} data-testid="wizard-template-response" value={value.response} onChange={(e) => onChange({ ...value, response: e.target.value })} />
      </Field>
      <p><button type="button" className="secondary" onClick={() => onChange({ ...defaultTemplate })}>Reset to the default question/answer template</button></p>

      <h3>Preview</h3>
      {samples.loading ? <Loading what="Loading sample records" /> : samples.error ? <ErrorBox error={samples.error} /> : !current ? (
        <Empty>The chosen snapshots returned no record to preview.</Empty>
      ) : (
        <div data-testid="wizard-preview">
          <div className="row">
            <button type="button" className="secondary" disabled={index <= 0} onClick={() => setIndex(index - 1)}>‹ previous</button>
            <span>Sample {Math.min(index, rendered.length - 1) + 1} of {rendered.length} — contribution <Short value={current.sample.id} /> of datanet #{current.sample.datanetId}</span>
            <button type="button" className="secondary" disabled={index >= rendered.length - 1} onClick={() => setIndex(index + 1)}>next ›</button>
          </div>
          <small className="empty">Record fields: {fields(current.sample.record).join(', ')}</small>
          <pre style={pre}>{typeof current.sample.record === 'string' ? current.sample.record : JSON.stringify(current.sample.record, null, 2)}</pre>
          {current.text ? (
            <>
              <small className="empty">Training example (response in bold):</small>
              <pre style={pre} data-testid="wizard-preview-example">{current.text.prompt}<strong style={{ background: '#e6f4ea' }}>{current.text.response}</strong></pre>
            </>
          ) : (
            <p className="error">This record would be skipped: {current.error}.</p>
          )}
          {failing > 0 && failing < rendered.length && (
            <p className="empty">{failing} of {rendered.length} sample records lack a field this template reads; such records are skipped in training.</p>
          )}
        </div>
      )}
    </fieldset>
  );
}
