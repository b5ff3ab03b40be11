/** Helpers for the intake tests (not used by the code itself). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParsedRecord } from './types.ts';

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Joins strings and byte arrays into one byte array. */
export function bytesFrom(...parts: (string | Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'string' ? utf8(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/**
 * `bytes` cut at the given offsets (sorted, deduplicated, out-of-range ones ignored), as an async
 * iterable of fresh chunks.
 */
export async function* chunked(bytes: Uint8Array, cuts: number[] = []): AsyncGenerator<Uint8Array> {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, bytes.length]) {
    if (to > from) yield bytes.slice(from, to);
    from = to;
  }
}

/** Every item of an async iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The records of `items` (dropping errors). */
export const recordsOf = (items: ParsedRecord[]) => items.flatMap((i) => ('record' in i ? [i.record] : []));
/** `[index, code]` of each error in `items`. */
export const errorsOf = (items: ParsedRecord[]) => items.flatMap((i) => ('error' in i ? [[i.index, i.error.code] as const] : []));

/** A fresh temporary folder, removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'intake-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
