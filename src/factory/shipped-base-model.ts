import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Queryable } from '../store/database.ts';
import { addBaseModel } from './base-models.ts';
import type { BaseModel } from './factory-types.ts';

/** The base model that ships with the project (see models/openledger-tiny/README.md). */
export const SHIPPED_BASE_MODEL = { name: 'openledger-tiny', path: fileURLToPath(new URL('../../models/openledger-tiny', import.meta.url)) };

/**
 * Makes the shipped base model available to ModelFactory (idempotent); null when the folder is absent.
 *
 * @example
 * const base = await shippedBaseModel(db); // { name: 'openledger-tiny', … }
 */
export async function shippedBaseModel(db: Queryable): Promise<BaseModel | null> {
  if (!existsSync(`${SHIPPED_BASE_MODEL.path}/config.json`)) return null;
  return addBaseModel(db, SHIPPED_BASE_MODEL.name, SHIPPED_BASE_MODEL.path);
}
