import { Field } from '../../components/states.tsx';
import { loraTargets, numericFields, type Draft, type Errors, type LoraTarget } from './draft.ts';
import type { BaseModel } from './types.ts';

/** Wizard step 4: hyperparameters (the node's defaults filled in), the model's name and its price. */
export function StepSettings({ draft, onChange, errors, base }: { draft: Draft; onChange: (d: Draft) => void; errors: Errors; base: BaseModel | undefined }) {
  const setNumber = (key: keyof Draft['numbers'], v: string) => onChange({ ...draft, numbers: { ...draft.numbers, [key]: v } });
  const toggleTarget = (t: LoraTarget, on: boolean) => onChange({ ...draft, targetModules: on ? loraTargets.filter((x) => x === t || draft.targetModules.includes(x)) : draft.targetModules.filter((x) => x !== t) });
  const input = (f: (typeof numericFields)[number]) => {
    const hint = f.key === 'maxSequenceLength' && base ? `${f.hint}; ${base.name} reads at most ${base.config.maxPositions} tokens` : f.hint;
    return (
      <Field key={f.key} label={f.label} error={errors[f.key]} hint={hint}>
        <input inputMode="decimal" data-testid={`wizard-${f.key}`} value={draft.numbers[f.key]} onChange={(e) => setNumber(f.key, e.target.value)} />
      </Field>
    );
  };

  return (
    <fieldset className="wizard-step">
      <legend>4. Hyperparameters, name and price</legend>
      <div className="grid">{numericFields.filter((f) => !f.advanced).map(input)}</div>
      <div className={`field${errors.targetModules ? ' invalid' : ''}`}>
        <span>Adapted projections</span>
        <div className="row">
          {loraTargets.map((t) => (
            <label key={t}><input type="checkbox" data-testid={`wizard-target-${t}`} checked={draft.targetModules.includes(t)} onChange={(e) => toggleTarget(t, e.target.checked)} /> {t}</label>
          ))}
        </div>
        {errors.targetModules ? <small className="field-error">{errors.targetModules}</small> : <small>the attention and MLP projections that get a LoRA update</small>}
      </div>
      <details>
        <summary>Advanced</summary>
        <div className="grid">{numericFields.filter((f) => f.advanced).map(input)}</div>
      </details>
      <div className="grid">
        <Field label="Model name" error={errors.modelName} hint="what consumers ask for; registered in the ModelRegistry">
          <input data-testid="wizard-model-name" value={draft.modelName} placeholder="e.g. medical-qa" onChange={(e) => onChange({ ...draft, modelName: e.target.value })} />
        </Field>
        <Field label="Price per 1,000 tokens (OPEN)" error={errors.price} hint="paid by consumers, shared with the data's contributors; 0 for free">
          <input inputMode="decimal" data-testid="wizard-price" value={draft.price} onChange={(e) => onChange({ ...draft, price: e.target.value })} />
        </Field>
      </div>
    </fieldset>
  );
}
