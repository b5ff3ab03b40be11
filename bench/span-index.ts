/**
 * Span index benchmark (src/attribution/): suffix-array construction throughput, attribution
 * latency against a 100M-token index, and memory per indexed token, on a corpus generated in the
 * run from a seeded generator (nothing is downloaded).
 *
 * The corpus: `tokens` tokens of documents of 64–2,048 tokens, each token drawn from a Zipf(1)
 * distribution over a 50,000-token vocabulary; a quarter of the documents also carry a passage of
 * 20–400 tokens copied from anywhere earlier in the corpus (boilerplate, quotes: long repeats).
 * The byte text: the same token stream spelled out as made-up words and spaces (a text-like
 * byte string), cut to the same length.
 *
 * (a) Construction, each in its own child process (time excludes reading the input; peak RSS is
 *     the child's VmHWM): our SA-IS on the byte text (alphabet 256) beside libdivsufsort's
 *     `divsufsort` (C, Debian's libdivsufsort-dev, driven by a small C program compiled here with
 *     `cc -O2`) on identical bytes — their suffix arrays' hashes must agree — and our SA-IS on the
 *     token text (alphabet 50,000). Without libdivsufsort (and no root to install it) that line is
 *     skipped, saying why. Then the whole index build (`buildSpanIndex`, 64 Mi-token shards).
 * (b) Attribution latency of 256-token outputs (pieces copied from the corpus between fresh Zipf
 *     tokens): `maximalSpans` (minLength 4) + `documentsOf` (limit 64) for every span, p50/p99
 *     over `outputs` outputs after a warm-up, each mode in a child process: shards on disk
 *     (64 MiB page cache) read with async FileHandle reads (the default) or blocking preads
 *     (`io: 'sync'`), and shards loaded in memory. The files are in the OS page cache (just
 *     written): the disk itself is not measured. Beside it the naive scan (every output position
 *     against every corpus position), run on a `naive-tokens` slice and extrapolated linearly to
 *     the whole corpus — its answers are checked against an index of the same slice.
 * (c) Memory: bytes on disk per indexed token, and the query children's resident memory over an
 *     idle node's.
 *
 * Usage: node bench/span-index.ts [--tokens=100000000] [--outputs=100] [--naive-tokens=1000000]
 *          [--seed=1] [--keep=DIR]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildSpanIndex, openSpanIndex, type OpenSpanIndexOptions } from '../src/attribution/span-index.ts';
import { suffixArray } from '../src/attribution/suffix-array.ts';
import { generator } from './_random.ts';

const { values: opt } = parseArgs({
  options: {
    tokens: { type: 'string', default: '100000000' },
    outputs: { type: 'string', default: '100' },
    'naive-tokens': { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'string' },
    child: { type: 'string' },
    work: { type: 'string' },
    mode: { type: 'string' },
  },
  allowPositionals: true,
});
const TOKENS = Number(opt.tokens);
const OUTPUTS = Number(opt.outputs);
const NAIVE_TOKENS = Math.min(Number(opt['naive-tokens']), TOKENS);
const SEED = Number(opt.seed);
const VOCAB = 50_000;
const OUTPUT_LENGTH = 256;
const MIN_LENGTH = 4;
const DOC_LIMIT = 64;
const WARMUP = 5;
const self = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------ helpers

/** This process's peak and current RSS in MiB (Linux VmHWM / VmRSS: getrusage's maxRSS carries the parent's over a spawn). */
function memory(): { peakMiB: number; rssMiB: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
  return { peakMiB: kb('VmHWM'), rssMiB: kb('VmRSS') };
}

/** FNV-1a over the int32 entries: what the C driver prints too, so the two suffix arrays can be compared. */
function fnv(sa: Int32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sa.length; i++) h = Math.imul(h ^ sa[i]!, 0x01000193);
  return h >>> 0;
}

const readInt32 = (path: string) => {
  const b = readFileSync(path);
  return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

function runChild<T>(args: string[]): T {
  const out = spawnSync(process.execPath, [...process.execArgv, self, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (out.status !== 0) throw new Error(`span-index bench child ${args.join(' ')} failed (${out.status ?? out.signal}): ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as T;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
const fmt = (x: number, digits = 1) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ------------------------------------------------------------------ corpus

/** Vose's alias table for Zipf(1) over `k` ranks: one uniform draw per sample. */
function zipfSampler(k: number, random: () => number): () => number {
  const p = Float64Array.from({ length: k }, (_, i) => 1 / (i + 1));
  const total = p.reduce((a, b) => a + b, 0);
  const prob = new Float64Array(k), alias = new Int32Array(k);
  const scaled = p.map((x) => (x * k) / total);
  const small: number[] = [], large: number[] = [];
  scaled.forEach((x, i) => (x < 1 ? small : large).push(i));
  while (small.length > 0 && large.length > 0) {
    const s = small.pop()!, l = large.pop()!;
    prob[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    (scaled[l]! < 1 ? small : large).push(l);
  }
  for (const i of [...small, ...large]) prob[i] = 1;
  return () => {
    const u = random() * k;
    const i = Math.floor(u);
    return u - i < prob[i]! ? i : alias[i]!;
  };
}

function makeCorpus(n: number, random: () => number): { tokens: Int32Array; offsets: Int32Array } {
  const zipf = zipfSampler(VOCAB, random);
  const tokens = new Int32Array(n);
  const offsets: number[] = [];
  let pos = 0;
  while (pos < n) {
    offsets.push(pos);
    const end = Math.min(n, pos + 64 + Math.floor(random() * 1985));
    // A quarter of the documents quote a passage from earlier in the corpus.
    const quote = pos > 10_000 && random() < 0.25 ? 20 + Math.floor(random() * 381) : 0;
    const at = pos + Math.floor(random() * (end - pos));
    while (pos < end) {
      if (pos === at && quote > 0) {
        const from = Math.floor(random() * (pos - quote));
        const len = Math.min(quote, end - pos);
        tokens.copyWithin(pos, from, from + len);
        pos += len;
      } else {
        tokens[pos++] = zipf();
      }
    }
  }
  return { tokens, offsets: Int32Array.from(offsets) };
}

/** The token stream spelled as made-up words (frequent tokens short), `n` bytes. */
function makeBytes(tokens: Int32Array, n: number): Uint8Array {
  const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'qui', 'dor', 'len', 'mar', 'tho', 'bri', 'gan', 'fel', 'shu', 'wen'];
  const words = Array.from({ length: VOCAB }, (_, r) => {
    let w = '';
    for (let x = r, i = 0; i === 0 || x > 0; i++, x = Math.floor(x / 20)) w += syllables[x % 20];
    return Buffer.from(`${w}${r % 17 === 0 ? ',' : ''} `, 'latin1');
  });
  const out = new Uint8Array(n);
  for (let i = 0, pos = 0; pos < n; i++) {
    const w = words[tokens[i % tokens.length]!]!;
    out.set(w.subarray(0, Math.min(w.length, n - pos)), pos);
    pos += w.length;
  }
  return out;
}

/** 256-token outputs: passages of 8–48 tokens copied from the corpus between 4–32 fresh Zipf tokens. */
function makeOutputs(tokens: Int32Array, count: number, random: () => number): number[][] {
  const zipf = zipfSampler(VOCAB, random);
  return Array.from({ length: count }, () => {
    const out: number[] = [];
    while (out.length < OUTPUT_LENGTH) {
      const fresh = 4 + Math.floor(random() * 29);
      for (let i = 0; i < fresh; i++) out.push(zipf());
      const len = 8 + Math.floor(random() * 41);
      const from = Math.floor(random() * (tokens.length - len));
      out.push(...tokens.subarray(from, from + len));
    }
    return out.slice(0, OUTPUT_LENGTH);
  });
}

// ------------------------------------------------------------------ naive attribution

/**
 * Attribution by scanning: for every output position, every corpus position, extended while the
 * tokens agree within a document; then the maximal spans and the documents of their occurrences.
 */
function naiveAttribute(tokens: Int32Array, docEnd: Int32Array, docOf: Int32Array, output: number[]): Array<{ start: number; end: number; count: number; documents: number[] }> {
  const n = tokens.length, m = output.length;
  const longest = new Int32Array(m), counts = new Int32Array(m);
  const where: number[][] = Array.from({ length: m }, () => []);
  for (let i = 0; i < m; i++) {
    const first = output[i]!;
    let best = 0, count = 0, at: number[] = [];
    for (let j = 0; j < n; j++) {
      if (tokens[j] !== first) continue;
      const end = docEnd[docOf[j]!]!;
      let l = 1;
      while (i + l < m && j + l < end && tokens[j + l] === output[i + l]) l++;
      if (l > best) {
        best = l;
        count = 0;
        at = [];
      }
      if (l === best) {
        count++;
        if (at.length < DOC_LIMIT) at.push(j);
      }
    }
    longest[i] = best;
    counts[i] = count;
    where[i] = at;
  }
  const spans = [];
  for (let i = 0, maxEnd = 0; i < m; i++) {
    const end = i + longest[i]!;
    if (end === i || end <= maxEnd) continue;
    maxEnd = end;
    if (end - i >= MIN_LENGTH) spans.push({ start: i, end, count: counts[i]!, documents: [...new Set(where[i]!.map((j) => docOf[j]!))] });
  }
  return spans;
}

// ------------------------------------------------------------------ children

interface SortRun {
  seconds: number;
  peakMiB: number;
  hash: number;
}

interface QueryRun {
  latenciesMs: number[];
  spans: number;
  idleRssMiB: number;
  openRssMiB: number;
  endRssMiB: number;
  peakMiB: number;
  openMs: number;
}

const QUERY_MODES: Record<string, { label: string; options: OpenSpanIndexOptions }> = {
  'query-async': { label: 'on disk, async reads', options: {} },
  'query-sync': { label: 'on disk, sync reads', options: { io: 'sync' } },
  'query-memory': { label: 'in memory', options: { loadShardsUpTo: Infinity } },
};

async function child(mode: string, work: string): Promise<void> {
  if (mode === 'idle') {
    console.log(JSON.stringify(memory()));
  } else if (mode === 'sort-tokens' || mode === 'sort-bytes') {
    const text = mode === 'sort-tokens' ? readInt32(join(work, 'tokens.i32')) : Int32Array.from(readFileSync(join(work, 'bytes.u8')));
    const t0 = performance.now();
    const sa = suffixArray(text, mode === 'sort-tokens' ? VOCAB : 256);
    const seconds = (performance.now() - t0) / 1000;
    const run: SortRun = { seconds, peakMiB: memory().peakMiB, hash: fnv(sa) };
    console.log(JSON.stringify(run));
  } else if (mode in QUERY_MODES) {
    const outputs = JSON.parse(readFileSync(join(work, 'outputs.json'), 'utf8')) as number[][];
    const idleRssMiB = memory().rssMiB;
    const t0 = performance.now();
    const index = await openSpanIndex(join(work, 'index'), QUERY_MODES[mode]!.options);
    const openMs = performance.now() - t0;
    const openRssMiB = memory().rssMiB;
    const latenciesMs: number[] = [];
    let spans = 0;
    for (const output of outputs) {
      const s0 = performance.now();
      const found = await index.maximalSpans(output, { minLength: MIN_LENGTH });
      for (const s of found) await index.documentsOf(output.slice(s.start, s.end), { limit: DOC_LIMIT });
      latenciesMs.push(performance.now() - s0);
      spans += found.length;
    }
    await index.close();
    const run: QueryRun = { latenciesMs, spans, idleRssMiB, openRssMiB, endRssMiB: memory().rssMiB, peakMiB: memory().peakMiB, openMs };
    console.log(JSON.stringify(run));
  } else {
    throw new Error(`unknown child mode ${mode}`);
  }
}

// ------------------------------------------------------------------ libdivsufsort

const DRIVER = `
#include <divsufsort.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 2;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  sauchar_t *t = malloc(n);
  saidx_t *sa = malloc((size_t)n * sizeof(saidx_t));
  if (!t || !sa || fread(t, 1, n, f) != (size_t)n) return 3;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  if (divsufsort(t, sa, (saidx_t)n) != 0) return 4;
  clock_gettime(CLOCK_MONOTONIC, &b);
  uint32_t h = 0x811c9dc5u;
  for (long i = 0; i < n; i++) h = (h ^ (uint32_t)sa[i]) * 0x01000193u;
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  printf("{\\"seconds\\": %.4f, \\"peakMiB\\": %.1f, \\"hash\\": %u}\\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, u.ru_maxrss / 1024.0, h);
  return 0;
}
`;

/** Compiles the divsufsort driver (installing libdivsufsort-dev when missing and root); the reason when it cannot. */
function divsufsortDriver(work: string): { path: string } | { why: string } {
  const src = join(work, 'divsufsort-driver.c'), bin = join(work, 'divsufsort-driver');
  writeFileSync(src, DRIVER);
  const compile = () => spawnSync('cc', ['-O2', '-o', bin, src, '-ldivsufsort'], { encoding: 'utf8' });
  let built = compile();
  if (built.status === 0) return { path: bin };
  const installed = spawnSync('dpkg', ['-s', 'libdivsufsort-dev'], { encoding: 'utf8' }).status === 0;
  if (!installed) {
    if (process.getuid?.() !== 0) return { why: 'libdivsufsort-dev is not installed and this is not root (apt-get install -y libdivsufsort-dev)' };
    console.log('  installing libdivsufsort-dev (apt-get)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '-q', 'libdivsufsort-dev'], { encoding: 'utf8', env });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update', '-q'], { encoding: 'utf8', env });
      r = spawnSync('apt-get', ['install', '-y', '-q', 'libdivsufsort-dev'], { encoding: 'utf8', env });
    }
    if (r.status !== 0) return { why: `apt-get install libdivsufsort-dev failed: ${(r.stderr || r.error?.message || '').trim().split('\n').filter((l) => !l.startsWith('debconf')).at(-1)}` };
    built = compile();
    if (built.status === 0) return { path: bin };
  }
  return { why: `cannot compile the driver with cc: ${(built.stderr || built.error?.message || '').trim().split('\n')[0]}` };
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const work = opt.keep ?? mkdtempSync(join(tmpdir(), 'span-index-bench-'));
  mkdirSync(work, { recursive: true });
  try {
    const random = generator(SEED);
    console.log(`corpus: ${fmt(TOKENS / 1e6, 0)}M tokens, Zipf(1) over ${fmt(VOCAB, 0)} tokens, documents of 64–2,048 tokens, 1/4 quoting 20–400 earlier tokens; seed ${SEED}`);
    let t0 = performance.now();
    const corpus = makeCorpus(TOKENS, random);
    const bytes = makeBytes(corpus.tokens, TOKENS);
    const outputs = makeOutputs(corpus.tokens, OUTPUTS + WARMUP, random);
    writeFileSync(join(work, 'tokens.i32'), corpus.tokens);
    writeFileSync(join(work, 'bytes.u8'), bytes);
    writeFileSync(join(work, 'outputs.json'), JSON.stringify(outputs));
    console.log(`generated ${fmt(corpus.offsets.length, 0)} documents in ${fmt((performance.now() - t0) / 1000)} s`);

    // (a) construction
    console.log('\n(a) suffix array construction (one child process each; peak RSS = its VmHWM)');
    const rows: Array<[string, string, number, number, string]> = [];
    const add = (name: string, text: string, r: SortRun) => rows.push([name, text, r.seconds, r.peakMiB, r.hash.toString(16)]);
    const driver = divsufsortDriver(work);
    let cRun: SortRun | undefined;
    if ('path' in driver) {
      cRun = JSON.parse(execFileSync(driver.path, [join(work, 'bytes.u8')], { encoding: 'utf8' })) as SortRun;
      add('libdivsufsort (C)', 'bytes, K=256', cRun);
    } else {
      console.log(`  libdivsufsort skipped: ${driver.why}`);
    }
    const oursBytes = runChild<SortRun>(['--child=sort-bytes', `--work=${work}`]);
    add('SA-IS (ours)', 'bytes, K=256', oursBytes);
    const oursTokens = runChild<SortRun>(['--child=sort-tokens', `--work=${work}`]);
    add('SA-IS (ours)', `tokens, K=${fmt(VOCAB, 0)}`, oursTokens);
    console.log(`  ${'implementation'.padEnd(20)} ${'text'.padEnd(16)} ${'seconds'.padStart(8)} ${'M tokens/s'.padStart(11)} ${'peak RSS MiB'.padStart(13)}  SA hash`);
    for (const [name, text, s, peak, hash] of rows) {
      console.log(`  ${name.padEnd(20)} ${text.padEnd(16)} ${fmt(s, 2).padStart(8)} ${fmt(TOKENS / s / 1e6, 2).padStart(11)} ${fmt(peak, 0).padStart(13)}  ${hash}`);
    }
    if (cRun !== undefined) {
      if (cRun.hash !== oursBytes.hash) throw new Error('SA-IS and divsufsort disagree on the byte text');
      console.log(`  identical suffix arrays on the bytes; SA-IS takes ${fmt(oursBytes.seconds / cRun.seconds, 2)}× divsufsort's time`);
    }

    t0 = performance.now();
    const manifest = await buildSpanIndex(join(work, 'index'), { ...corpus, vocabSize: VOCAB });
    const buildSeconds = (performance.now() - t0) / 1000;
    const indexBytes = readdirSync(join(work, 'index')).reduce((a, f) => a + statSync(join(work, 'index', f)).size, 0);
    console.log(`  buildSpanIndex: ${manifest.shards.length} shards in ${fmt(buildSeconds, 1)} s (${fmt(TOKENS / buildSeconds / 1e6, 2)} M tokens/s: separators, SA-IS, SHA-256 and fsync of every file)`);

    // (b) latency
    console.log(`\n(b) attributing a ${OUTPUT_LENGTH}-token output: maximalSpans (minLength ${MIN_LENGTH}) + documentsOf (limit ${DOC_LIMIT}) per span; ${OUTPUTS} outputs after ${WARMUP} warm-up`);
    const idle = runChild<{ rssMiB: number }>(['--child=idle']);
    const runs = Object.entries(QUERY_MODES).map(([mode, { label }]) => [label, runChild<QueryRun>([`--child=${mode}`, `--work=${work}`])] as const);
    for (const [name, r] of runs) {
      const l = r.latenciesMs.slice(WARMUP);
      console.log(`  ${name.padEnd(28)} p50 ${fmt(quantile(l, 0.5), 2).padStart(8)} ms   p99 ${fmt(quantile(l, 0.99), 2).padStart(8)} ms   (${fmt(r.spans / outputs.length, 1)} spans an output; open ${fmt(r.openMs, 0)} ms)`);
    }

    // The naive scan on a slice of whole documents, extrapolated; checked against an index of the slice.
    let sliceDocs = corpus.offsets.findIndex((o) => o >= NAIVE_TOKENS);
    if (sliceDocs < 0) sliceDocs = corpus.offsets.length;
    const sliceEnd = sliceDocs < corpus.offsets.length ? corpus.offsets[sliceDocs]! : TOKENS;
    const slice = corpus.tokens.subarray(0, sliceEnd);
    const sliceOffsets = corpus.offsets.subarray(0, sliceDocs);
    const docEnd = Int32Array.from(sliceOffsets, (_, d) => (d + 1 < sliceDocs ? sliceOffsets[d + 1]! : sliceEnd));
    const docOf = new Int32Array(sliceEnd);
    for (let d = 0; d < sliceDocs; d++) docOf.fill(d, sliceOffsets[d], docEnd[d]);
    await buildSpanIndex(join(work, 'slice'), { tokens: slice, offsets: sliceOffsets, vocabSize: VOCAB });
    const sliceIndex = await openSpanIndex(join(work, 'slice'), { loadShardsUpTo: Infinity });
    const naiveMs: number[] = [];
    for (const output of outputs.slice(0, 3)) {
      const s0 = performance.now();
      const naive = naiveAttribute(slice, docEnd, docOf, output);
      naiveMs.push(performance.now() - s0);
      const fast = await sliceIndex.maximalSpans(output, MIN_LENGTH);
      const same = naive.length === fast.length && naive.every((s, i) => s.start === fast[i]!.start && s.end === fast[i]!.end && s.count === fast[i]!.count);
      if (!same) throw new Error('the index and the naive scan disagree on the slice');
      for (const s of naive.filter((x) => x.count <= DOC_LIMIT)) {
        const docs = await sliceIndex.documentsContaining(output.slice(s.start, s.end), DOC_LIMIT);
        if (JSON.stringify(docs) !== JSON.stringify([...s.documents].sort((a, b) => a - b))) throw new Error('the index and the naive scan disagree on documents');
      }
    }
    await sliceIndex.close();
    const naiveSlice = naiveMs.reduce((a, b) => a + b, 0) / naiveMs.length;
    const naiveFull = (naiveSlice * TOKENS) / sliceEnd;
    console.log(`  ${'naive scan'.padEnd(28)} ${fmt(naiveSlice, 0)} ms on a ${fmt(sliceEnd / 1e6, 2)}M-token slice (mean of 3; same spans, counts and documents as the index)`);
    console.log(`  ${''.padEnd(28)} → ${fmt(naiveFull / 1000, 1)} s extrapolated (linear) to ${fmt(TOKENS / 1e6, 0)}M tokens`);
    console.log(`  naive / index at p50: ${runs.map(([label, r]) => `${fmt(naiveFull / quantile(r.latenciesMs.slice(WARMUP), 0.5), 0)}× ${label}`).join(', ')}`);

    // (c) memory
    console.log('\n(c) memory per indexed token');
    console.log(`  on disk: ${fmt(indexBytes / 2 ** 20, 0)} MiB = ${fmt(indexBytes / manifest.indexedTokens, 2)} bytes/token (tokens + separators 4, suffix array 4, documents, unigram counts, manifest)`);
    for (const [name, r] of runs) {
      const resident = r.endRssMiB - idle.rssMiB;
      console.log(`  ${name.padEnd(28)} RSS over idle node: ${fmt(resident, 0)} MiB after the queries (${fmt((resident * 2 ** 20) / manifest.indexedTokens, 2)} bytes/token), ${fmt(r.openRssMiB - r.idleRssMiB, 0)} MiB at open; peak ${fmt(r.peakMiB, 0)} MiB`);
    }
    console.log(`  this process (corpus, byte text, index build): peak ${fmt(memory().peakMiB, 0)} MiB`);
  } finally {
    if (opt.keep === undefined) rmSync(work, { recursive: true, force: true });
  }
}

if (opt.child) await child(opt.child, opt.work ?? '');
else await main();
