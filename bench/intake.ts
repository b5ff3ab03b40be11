/**
 * Intake benchmark: JSONL parse throughput of the streaming reader (`parseUpload`, as uploads are
 * read) against a baseline that buffers (`readFile` + `split('\n')` + `JSON.parse`), on the same
 * generated file, each run in its own child process so that each one's peak RSS is its own.
 * Prints records/s, MB/s and peak RSS of both, the ratios, and, without a baseline, the same
 * records read as CSV and Parquet.
 *
 * Run: `npm run bench -- intake` (options: --records=100000 --repeats=3)
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parseUpload } from '../src/datanet/intake/parse-upload.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

type Mode = 'stream' | 'baseline' | 'idle' | 'csv' | 'parquet';
interface Run {
  ms: number;
  records: number;
  maxRssMiB: number;
}

/** In a child: read `file` one way, print what it took. */
async function child(mode: Mode, file: string): Promise<void> {
  const t0 = performance.now();
  let records = 0;
  if (mode === 'baseline') {
    const text = await readFile(file, 'utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const value = JSON.parse(line);
      if (value !== null && typeof value === 'object') records++;
    }
  } else if (mode !== 'idle') {
    for await (const item of parseUpload({ filename: file, stream: createReadStream(file) })) if ('record' in item) records++;
  }
  const ms = performance.now() - t0;
  const run: Run = { ms, records, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(run));
}

function runChild(mode: Mode, file: string): Run {
  const self = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, [...process.execArgv, self, `--child=${mode}`, `--file=${file}`], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`intake bench child ${mode} failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as Run;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function record(i: number) {
  return {
    id: i,
    question: `What does clause ${i} of the contributor agreement say about attribution of derived works?`,
    answer: `Clause ${i} says that every derived work keeps a pointer to the contributions it used, so that payouts can follow them. ✓`,
    tags: ['legal', `batch-${i % 100}`],
    score: (i % 97) / 97,
  };
}

const childMode = arg('child', '') as Mode | '';
if (childMode) {
  await child(childMode, arg('file', ''));
} else {
  const n = Number(arg('records', '100000'));
  const repeats = Number(arg('repeats', '3'));
  const dir = mkdtempSync(join(tmpdir(), 'openledger-bench-intake-'));
  try {
    const rows = Array.from({ length: n }, (_, i) => record(i));
    const jsonl = join(dir, 'records.jsonl');
    writeFileSync(jsonl, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const csv = join(dir, 'records.csv');
    const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
    writeFileSync(csv, 'id,question,answer,tags,score\n' + rows.map((r) => [r.id, q(r.question), q(r.answer), q(r.tags.join(' ')), r.score].join(',')).join('\n') + '\n');
    const parquet = join(dir, 'records.parquet');
    const column = <K extends keyof ReturnType<typeof record>>(name: K) => rows.map((r) => r[name]);
    writeFileSync(
      parquet,
      new Uint8Array(
        parquetWriteBuffer({
          columnData: [
            { name: 'id', data: column('id'), type: 'INT32' },
            { name: 'question', data: column('question'), type: 'STRING' },
            { name: 'answer', data: column('answer'), type: 'STRING' },
            { name: 'tags', data: rows.map((r) => r.tags.join(' ')), type: 'STRING' },
            { name: 'score', data: column('score'), type: 'DOUBLE' },
          ],
          rowGroupSize: 10_000,
        }),
      ),
    );
    const mb = (file: string) => statSync(file).size / 1e6;
    console.log(`node ${process.version}; ${n.toLocaleString('en')} records; JSONL ${mb(jsonl).toFixed(1)} MB, CSV ${mb(csv).toFixed(1)} MB, Parquet (snappy, 10k-row groups) ${mb(parquet).toFixed(1)} MB; median of ${repeats} runs, each in a fresh process`);

    const runs: Record<Mode, Run[]> = { stream: [], baseline: [], idle: [], csv: [], parquet: [] };
    for (let r = 0; r < repeats; r++) {
      for (const mode of ['stream', 'baseline', 'idle'] as const) runs[mode].push(runChild(mode, jsonl));
      runs.csv.push(runChild('csv', csv));
      runs.parquet.push(runChild('parquet', parquet));
    }
    const summary = (mode: Mode, file: string) => {
      const ms = median(runs[mode].map((x) => x.ms));
      const records = runs[mode][0]!.records;
      if (runs[mode].some((x) => x.records !== records)) throw new Error(`${mode}: runs disagree on the record count`);
      if (mode !== 'idle' && records !== n) throw new Error(`${mode}: read ${records} records, expected ${n}`);
      return { ms, perSecond: records / (ms / 1000), mbPerSecond: mb(file) / (ms / 1000), rss: median(runs[mode].map((x) => x.maxRssMiB)) };
    };
    const stream = summary('stream', jsonl);
    const baseline = summary('baseline', jsonl);
    const idle = summary('idle', jsonl);
    const table: string[][] = [['', 'time', 'records/s', 'MB/s', 'peak RSS', 'RSS over idle node']];
    const row = (name: string, s: ReturnType<typeof summary>) =>
      table.push([name, `${s.ms.toFixed(0)} ms`, Math.round(s.perSecond).toLocaleString('en'), s.mbPerSecond.toFixed(1), `${s.rss.toFixed(0)} MiB`, `${(s.rss - idle.rss).toFixed(0)} MiB`]);
    row('JSONL streaming (parseUpload)', stream);
    row('JSONL baseline (readFile+split+JSON.parse)', baseline);
    row('CSV streaming (parseUpload)', summary('csv', csv));
    row('Parquet (parseUpload)', summary('parquet', parquet));
    const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    for (const r of table) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    console.log(`idle node (imports only): peak RSS ${idle.rss.toFixed(0)} MiB`);
    console.log(`JSONL streaming / baseline: throughput ${(stream.perSecond / baseline.perSecond).toFixed(2)}×, peak RSS ${(stream.rss / baseline.rss).toFixed(2)}× (over idle: ${((stream.rss - idle.rss) / (baseline.rss - idle.rss)).toFixed(2)}×)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
