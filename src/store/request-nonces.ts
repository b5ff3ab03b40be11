import type { Database } from './database.ts';

/**
 * Marks a signed request's nonce as used; returns false if it was used before (a replay). Nonces are
 * kept until `expiresAt` (past the signature's allowed clock skew), then pruned.
 *
 * @example
 * if (!(await useRequestNonce(db, signer, nonce, new Date(Date.now() + 600_000)))) throw replayed();
 */
export async function useRequestNonce(db: Database, address: string, nonce: string, expiresAt: Date): Promise<boolean> {
  const rows = await db.query(
    `insert into request_nonces (address, nonce, expires_at) values ($1, $2, $3) on conflict do nothing returning nonce`,
    [address.toLowerCase(), nonce.toLowerCase(), expiresAt.toISOString()],
  );
  return rows.length === 1;
}

/** Deletes nonces whose signatures can no longer be accepted anyway; returns how many. */
export async function pruneRequestNonces(db: Database, now = new Date()): Promise<number> {
  const rows = await db.query('delete from request_nonces where expires_at < $1 returning nonce', [now.toISOString()]);
  return rows.length;
}
