import type { UseQueryResult } from '@tanstack/react-query';
import { Empty, Query, Short } from '../../components/states.tsx';
import type { BaseModel } from './types.ts';

/** Wizard step 1: picks the base model the adapter is trained on. */
export function StepBase({ baseModels, value, onChange, error }: { baseModels: UseQueryResult<BaseModel[]>; value: string; onChange: (name: string) => void; error?: string | undefined }) {
  return (
    <fieldset className="wizard-step">
      <legend>1. Base model</legend>
      <Query q={baseModels} what="Loading base models">
        {(models) => models.length === 0 ? (
          <Empty>This node offers no base model yet. Its operator adds one with <code>openledger base-model add</code>.</Empty>
        ) : (
          <table>
            <thead><tr><th></th><th>Name</th><th>Parameters</th><th>Shape</th><th>Context</th><th>Content hash</th></tr></thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.id}>
                  <td><input type="radio" name="base-model" id={`base-${m.name}`} data-testid={`wizard-base-${m.name}`} checked={value === m.name} onChange={() => onChange(m.name)} /></td>
                  <td><label htmlFor={`base-${m.name}`}><b>{m.name}</b></label></td>
                  <td>{m.parameters.toLocaleString('en')}</td>
                  <td>{m.config.numLayers} layers × {m.config.hiddenSize}</td>
                  <td>{m.config.maxPositions.toLocaleString('en')} tokens</td>
                  <td><Short value={m.id} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Query>
      {error && <p className="error">{error}</p>}
    </fieldset>
  );
}
