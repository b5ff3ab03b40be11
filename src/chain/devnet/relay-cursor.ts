import { existsSync, readFileSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';

/** The last L1 log a relay has applied on L2: its block and its index in that block. */
export interface LogPosition {
  blockNumber: bigint;
  logIndex: number;
}

/** Where a relay keeps its {@link LogPosition} between runs. */
export interface RelayCursor {
  load(): LogPosition | undefined;
  save(position: LogPosition): Promise<void>;
}

/**
 * A cursor in a JSON file, replaced atomically (written, fsynced, renamed) on every save, so a crash
 * leaves the previous position or the new one, never a torn file.
 *
 * @example
 * const cursor = fileCursor('.openledger/devnet/deposits.cursor.json');
 * await cursor.save({ blockNumber: 12n, logIndex: 0 });
 */
export function fileCursor(path: string): RelayCursor {
  return {
    load() {
      if (!existsSync(path)) return undefined;
      const raw = JSON.parse(readFileSync(path, 'utf8')) as { blockNumber: string; logIndex: number };
      return { blockNumber: BigInt(raw.blockNumber), logIndex: raw.logIndex };
    },
    async save(position) {
      await writeFileAtomic(path, JSON.stringify({ blockNumber: position.blockNumber.toString(), logIndex: position.logIndex }));
    },
  };
}

/** Whether `a` comes after `b` in the L1's log order. */
export function isAfter(a: LogPosition, b: LogPosition | undefined): boolean {
  return !b || a.blockNumber > b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex > b.logIndex);
}

/**
 * A cursor in memory (tests; a relay that may start again from the portal's deployment).
 *
 * @example
 * const cursor = memoryCursor();
 */
export function memoryCursor(): RelayCursor {
  let position: LogPosition | undefined;
  return {
    load: () => position,
    async save(p) {
      position = p;
    },
  };
}
