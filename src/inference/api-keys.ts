import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { getAddress, type Address } from 'viem';
import type { Queryable } from '../store/database.ts';
import { CodedError } from '../util/coded-error.ts';

/** An API key as listed (never its secret). */
export interface ApiKey {
  id: string;
  account: Address;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export class ApiKeyError extends CodedError {
  override name = 'ApiKeyError';
}

const KEY = /^olk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

interface Row { id: string; account: string; name: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null; secret_hash: string }
const toKey = (r: Row): ApiKey => ({
  id: r.id, account: r.account as Address, name: r.name, createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null, revokedAt: r.revoked_at?.toISOString() ?? null,
});

/**
 * Creates an API key bound to `account`. The returned `key` is shown once; only its hash is stored.
 *
 * @example
 * const { key } = await createApiKey(db, consumer, 'my app'); // 'olk_3f2a…_…'
 */
export async function createApiKey(db: Queryable, account: Address, name = ''): Promise<{ key: string; apiKey: ApiKey }> {
  if (name.length > 100) throw new ApiKeyError('bad_request', 'name: at most 100 characters');
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const [row] = await db.query<Row>('insert into api_keys (id, account, secret_hash, name) values ($1, $2, $3, $4) returning *', [id, getAddress(account), sha256(secret).toString('hex'), name]);
  return { key: `olk_${id}_${secret}`, apiKey: toKey(row!) };
}

/**
 * The account an API key belongs to, or an {@link ApiKeyError} (401) for a malformed, unknown or
 * revoked key. The secret is compared in constant time.
 *
 * @example
 * const account = await accountOfApiKey(db, bearerToken);
 */
export async function accountOfApiKey(db: Queryable, key: string): Promise<Address> {
  const m = KEY.exec(key);
  const refused = () => new ApiKeyError('unauthorized', 'invalid or revoked API key');
  if (!m) throw refused();
  const [row] = await db.query<Row>('select * from api_keys where id = $1', [m[1]]);
  if (!row || row.revoked_at) throw refused();
  if (!timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), sha256(m[2]!))) throw refused();
  await db.query('update api_keys set last_used_at = now() where id = $1', [row.id]);
  return row.account as Address;
}

/** An account's keys, newest first. */
export async function listApiKeys(db: Queryable, account: Address): Promise<ApiKey[]> {
  return (await db.query<Row>('select * from api_keys where lower(account) = lower($1) order by created_at desc', [account])).map(toKey);
}

/**
 * Revokes a key of `account` (its owner only).
 *
 * @example
 * await revokeApiKey(db, 'olk_…' or its id, account);
 */
export async function revokeApiKey(db: Queryable, id: string, account: Address): Promise<ApiKey> {
  const keyId = KEY.exec(id)?.[1] ?? id;
  const [row] = await db.query<Row>('update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 and lower(account) = lower($2) returning *', [keyId, account]);
  if (!row) throw new ApiKeyError('not_found', `no API key ${keyId} of ${account}`);
  return toKey(row);
}
