import { resolve } from 'node:path';
import type { Hex } from 'viem';
import { hashModelDir, readModelConfig } from '../model/model-dir.ts';
import { Llama } from '../model/llama.ts';
import type { ModelConfig } from '../model/config.ts';
import { elementCount } from '../model/tensor-map.ts';
import type { Queryable } from '../store/database.ts';
import { FactoryError } from './errors.ts';
import type { BaseModel } from './factory-types.ts';

interface Row {
  id: string;
  name: string;
  path: string;
  config: ModelConfig;
  parameters: string;
  created_at: Date;
}

const toBaseModel = (r: Row): BaseModel => ({
  id: r.id as Hex, name: r.name, path: r.path, config: r.config, parameters: Number(r.parameters), createdAt: r.created_at.toISOString(),
});

/**
 * Adds a model folder as a base model under `name` (hashing its files). Adding the same files
 * under the same name again returns the existing entry; a different folder under a taken name is refused.
 *
 * @example
 * const base = await addBaseModel(db, 'openledger-tiny', 'models/openledger-tiny');
 */
export async function addBaseModel(db: Queryable, name: string, dir: string): Promise<BaseModel> {
  if (!/^[\w.-]{1,64}$/.test(name)) throw new FactoryError('invalid_name', 'a base model name is 1–64 letters, digits, ".", "-" or "_"');
  const path = resolve(dir);
  const config = await readModelConfig(path);
  const id = await hashModelDir(path);
  const parameters = [...Llama.weightShapes(config).values()].reduce((n, s) => n + elementCount(s), 0);
  const existing = await db.query<Row>('select * from base_models where name = $1 or id = $2', [name, id]);
  const same = existing.find((r) => r.id === id);
  if (same) {
    if (same.path !== path) await db.query('update base_models set path = $2 where id = $1', [id, path]);
    return toBaseModel({ ...same, path });
  }
  if (existing.length > 0) throw new FactoryError('name_taken', `a different base model is already called "${name}"`);
  const [model] = await db.query<{ model_name: string }>(`select model_name from training_jobs where lower(model_name) = lower($1) and status not in ('failed', 'cancelled')`, [name]);
  if (model) throw new FactoryError('name_taken', `a fine-tuned model is called "${model.model_name}"; a base model may not take its name`);
  const [row] = await db.query<Row>(
    'insert into base_models (id, name, path, config, parameters) values ($1, $2, $3, $4, $5) returning *',
    [id, name, path, JSON.stringify(config), parameters],
  );
  return toBaseModel(row!);
}

/** All base models, by name. */
export async function listBaseModels(db: Queryable): Promise<BaseModel[]> {
  return (await db.query<Row>('select * from base_models order by name')).map(toBaseModel);
}

/**
 * A base model by its name or its `0x` content hash.
 *
 * @example
 * const base = await getBaseModel(db, 'openledger-tiny');
 */
export async function getBaseModel(db: Queryable, nameOrId: string): Promise<BaseModel> {
  const [row] = await db.query<Row>('select * from base_models where name = $1 or id = lower($1)', [nameOrId]);
  if (!row) throw new FactoryError('not_found', `no base model "${nameOrId}"`);
  return toBaseModel(row);
}
