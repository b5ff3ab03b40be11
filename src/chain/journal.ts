import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync, ftruncateSync } from 'node:fs';

/** One state-changing JSON-RPC call that the embedded chain accepted, with the blocks it mined. */
export interface JournalEntry {
  method: string;
  params: unknown[];
  /** Latest block number before the call. */
  blockBefore: number;
  /** Latest block number after the call. */
  blockAfter: number;
  /** Timestamp of block `blockBefore + 1` when the call mined blocks (hex). */
  firstTimestamp?: string;
  /** Hash of block `blockAfter` when the call mined blocks. */
  blockHash?: string;
}

/** An append-only, fsynced log of {@link JournalEntry}s, one JSON object per line. */
export interface Journal {
  /** Appends an entry and fsyncs before returning. */
  append(entry: JournalEntry): void;
  /** Every complete entry, in order (a torn last line from a crash is ignored). */
  read(): JournalEntry[];
  /** Empties the journal (after a snapshot has made its entries redundant). */
  clear(): void;
  close(): void;
}

/**
 * Opens (creating if needed) a journal file.
 *
 * @example
 * const journal = openJournal('/data/chain/journal.jsonl');
 * journal.append({ method: 'evm_mine', params: [], blockBefore: 4, blockAfter: 5 });
 */
export function openJournal(path: string): Journal {
  const fd = openSync(path, 'a+');
  return {
    append(entry) {
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
    },
    read() {
      if (!existsSync(path)) return [];
      const lines = readFileSync(path, 'utf8').split('\n');
      const entries: JournalEntry[] = [];
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        if (!line) continue;
        try {
          entries.push(JSON.parse(line) as JournalEntry);
        } catch (err) {
          const isLast = lines.slice(i + 1).every((l) => l === '');
          if (!isLast) throw new Error(`journal ${path} is corrupt at line ${i + 1}: ${(err as Error).message}`);
          // A torn final line: the call it records was never acknowledged.
        }
      }
      return entries;
    },
    clear() {
      ftruncateSync(fd, 0);
      fsyncSync(fd);
    },
    close() {
      closeSync(fd);
    },
  };
}
