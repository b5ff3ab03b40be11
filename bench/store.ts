/**
 * Store benchmark: the embedded PGlite against a Postgres server (Debian's, started here), through
 * the same node-postgres code path. Prints open time, migration time, and event inserts per second
 * (batches of 500 in one transaction, as the indexer writes them), each as a PGlite/server ratio.
 *
 * Run: `npm run bench -- store`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chainEventSink } from '../src/store/chain-events.ts';
import { openDatabase, type Database, type DatabaseLocation } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import { startPostgresServer } from '../src/store/test-postgres.ts';

const BATCHES = 20;
const PER_BATCH = 500;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure(location: DatabaseLocation) {
  const t0 = performance.now();
  const db: Database = await openDatabase(location);
  const opened = performance.now() - t0;
  const t1 = performance.now();
  await migrate(db);
  const migrated = performance.now() - t1;
  const sink = chainEventSink(db);
  const rates: number[] = [];
  let block = 0n;
  for (let b = 0; b < BATCHES; b++) {
    const events = Array.from({ length: PER_BATCH }, (_, i) => ({
      blockNumber: block + BigInt(i),
      blockHash: `0x${'ab'.repeat(32)}` as const,
      txHash: `0x${(b * PER_BATCH + i).toString(16).padStart(64, '0')}` as const,
      logIndex: 0,
      contract: 'openToken',
      address: '0x0000000000000000000000000000000000000001' as const,
      event: 'Transfer',
      args: { from: '0x01', to: '0x02', value: 10n ** 18n },
    }));
    block += BigInt(PER_BATCH);
    const t = performance.now();
    await sink.write(1, events, { blockNumber: block, blockHash: `0x${'cd'.repeat(32)}` });
    rates.push(PER_BATCH / ((performance.now() - t) / 1000));
  }
  await db.close();
  return { opened, migrated, insertsPerSecond: median(rates) };
}

const dir = mkdtempSync(join(tmpdir(), 'openledger-bench-store-'));
try {
  const pglite = await measure({ dataDir: join(dir, 'pglite') });
  const server = await startPostgresServer();
  const rows: [string, string, string, string][] = [['', 'PGlite (embedded, on disk)', 'Postgres server', 'PGlite / server']];
  if (typeof server === 'string') {
    console.log(`store: ${server}; PGlite only`);
    rows.push(['open (ms)', pglite.opened.toFixed(0), '-', '-']);
    rows.push(['migrate (ms)', pglite.migrated.toFixed(0), '-', '-']);
    rows.push(['event inserts/s (median)', pglite.insertsPerSecond.toFixed(0), '-', '-']);
  } else {
    try {
      const pg = await measure({ url: server.url });
      rows.push(['open (ms)', pglite.opened.toFixed(0), pg.opened.toFixed(0), (pglite.opened / pg.opened).toFixed(2)]);
      rows.push(['migrate (ms)', pglite.migrated.toFixed(0), pg.migrated.toFixed(0), (pglite.migrated / pg.migrated).toFixed(2)]);
      rows.push([
        'event inserts/s (median)',
        pglite.insertsPerSecond.toFixed(0),
        pg.insertsPerSecond.toFixed(0),
        (pglite.insertsPerSecond / pg.insertsPerSecond).toFixed(2),
      ]);
    } finally {
      server.stop();
    }
  }
  console.log(`store: ${BATCHES} batches of ${PER_BATCH} indexed events, one transaction each (server with fsync=off, as in tests)`);
  for (const r of rows) console.log(`  ${r[0].padEnd(26)} ${r[1].padStart(28)} ${r[2].padStart(16)} ${r[3].padStart(16)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
