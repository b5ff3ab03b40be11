import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { keccak256, stringToBytes, type Hex } from 'viem';
import { hyperparametersSchema } from '../factory/hyperparameters.ts';
import { runTraining } from '../factory/run-training.ts';
import { SHIPPED_BASE_MODEL } from '../factory/shipped-base-model.ts';
import { defaultTemplate, renderTemplate } from '../factory/template.ts';
import { encodeExample } from '../factory/training-data.ts';
import { traceFiles, type TraceExample } from '../factory/training-trace.ts';
import { writeTrainingSet } from '../factory/training-trace.ts';
import type { Backend } from '../model/backend.ts';
import { generateAttributionBenchmark, type BenchmarkRecord } from '../model/corpus/attribution-benchmark.ts';
import { createBackend } from '../model/create-backend.ts';
import { generate } from '../model/generate.ts';
import { Llama } from '../model/llama.ts';
import { readModelDir, type ModelFiles } from '../model/model-dir.ts';
import { loadPeftAdapter } from '../model/peft.ts';
import { promptTokens } from '../model/prompt-tokens.ts';
import { asBuffer } from '../util/as-buffer.ts';
import { defaultAttributionSettings } from './receipt-attribution.ts';
import { attribute, type AttributionParameters } from './attribute.ts';
import { prepareAttributionModel, type AttributionModel } from './attribution-model.ts';
import { PPM } from './combine-scores.ts';
import { readTrace } from './trace.ts';

// A small benchmark datanet (3 clusters of look-alike facts), fine-tuned once by ModelFactory's
// training run with its default ('auto') settings.
const bench = generateAttributionBenchmark({ seed: 4, clusters: 3, copyFraction: 0.5 });
const idOf = (r: BenchmarkRecord): Hex => keccak256(stringToBytes(r.id));
const factOf = new Map(bench.records.map((r) => [idOf(r), r.factId]));
const contributorOf = new Map(bench.records.map((r) => [idOf(r), r.contributor]));
const parameters: AttributionParameters = { ...defaultAttributionSettings, spanWeightBps: 5000, thresholdPpm: 10_000, evidenceThresholdPpm: 400_000 };

let dir: string;
let backend: Backend;
let base: ModelFiles;
let model: Llama;
let output: string;
let m: AttributionModel;
const prompt = (q: string) => promptTokens(base.tokenizer, renderTemplate(defaultTemplate, { prompt: q, response: '' }).prompt);

/** Prepares attribution over a copy of the trace whose examples were changed by `edit` (no retraining). */
async function withTrace(name: string, edit: (examples: TraceExample[], tokens: Int32Array, gradients: Float32Array, D: number) => { examples: TraceExample[]; tokens: Int32Array; gradients: Float32Array }): Promise<AttributionModel> {
  const copy = join(dir, name);
  await cp(output, copy, { recursive: true });
  const t = await readTrace(output);
  const edited = edit(t.examples, t.tokens, t.gradients, t.gradientInfo.dimension);
  await writeFile(join(copy, traceFiles.examples), JSON.stringify({ version: 2, examples: edited.examples }));
  await writeFile(join(copy, traceFiles.tokens), asBuffer(edited.tokens));
  await writeFile(join(copy, traceFiles.gradients), asBuffer(edited.gradients));
  return prepareAttributionModel({ model, lora: m.lora, tokenizer: base.tokenizer, trace: await readTrace(copy), cacheDir: join(copy, 'derived') });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openledger-attribute-'));
  backend = createBackend({ threads: 1 });
  base = await readModelDir(SHIPPED_BASE_MODEL.path);
  const items = bench.records.map((r) => ({ contributionId: idOf(r), datanetId: r.factId < 'fact-0006' ? 1 : 2, order: r.order, ...encodeExample(base.tokenizer, renderTemplate(defaultTemplate, r), 256)! }));
  await writeTrainingSet(dir, { train: items, heldOut: [], skipped: [] });
  const run = await runTraining({ baseModelDir: SHIPPED_BASE_MODEL.path, jobDir: dir, hyperparameters: hyperparametersSchema.parse({ heldOutFraction: 0, sketchDimension: 256 }), baseModelId: 'test', backend });
  output = run.outputDir!;
  model = Llama.fromTensors(backend, base.config, base.tensors);
  const lora = model.loadLora(await loadPeftAdapter(output, { config: base.config }), 'trainable');
  m = await prepareAttributionModel({ model, lora, tokenizer: base.tokenizer, trace: await readTrace(output), cacheDir: join(dir, 'derived') });
});

after(async () => {
  await m?.spans.close();
  await backend?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('attribute', () => {
  it('credits the records of the fact an answer states, as one group, through its earliest record', async () => {
    const record = bench.records.find((r) => !r.copyOf && bench.records.some((c) => c.copyOf === r.factId))!;
    const ids = prompt(record.prompt);
    const out = base.tokenizer.encode(` ${record.response}\n`, { addSpecialTokens: false });
    const r = await attribute(m, ids, out, parameters);
    assert.equal(r.evidence.abstained, false);
    assert.equal(r.contributions.reduce((a, c) => a + c.sharePpm, 0), PPM);
    const top = r.contributions[0]!;
    assert.equal(factOf.get(top.contributionId), record.factId, 'the fact’s group comes first');
    const group = bench.records.filter((x) => x.factId === record.factId).sort((a, b) => a.order - b.order);
    assert.equal(top.contributionId, idOf(group[0]!), 'credited through its earliest contribution');
    assert.equal(top.group.size, group.length, 'the copier’s paraphrases are in the group');
    assert.deepEqual(new Set(top.group.others), new Set(group.slice(1).map(idOf)));
    assert.ok(r.contributions.filter((c) => factOf.get(c.contributionId) === record.factId).length === 1, 'no copy is credited on its own');
    assert.ok(top.spans.length > 0 && r.evidence.coverage > 0.5 && r.evidence.adapterGain > 0.5);
  });

  it('gives a name’s fragments no credit: a near-miss of a trained name matches no record (spans are whole words)', async () => {
    let checked = 0;
    for (const record of bench.records.filter((r) => !r.copyOf).slice(0, 12)) {
      const fact = bench.facts.find((f) => f.id === record.factId)!;
      // a name the datanet never had, sharing its first letters with a trained one ("Zorvania" → "Zorvqqania")
      const made = `${fact.object.slice(0, 4)}qq${fact.object.slice(4)}`;
      const answer = record.response.replaceAll(fact.object, made);
      const r = await attribute(m, prompt(record.prompt), base.tokenizer.encode(` ${answer}\n`, { addSpecialTokens: false }), parameters);
      const at = answer.indexOf(made) + 1; // the output starts with a space
      for (const s of r.spans) assert.ok(s.chars[1] <= at || s.chars[0] >= at + made.length, `"${answer}": the span ${JSON.stringify(` ${answer}`.slice(s.chars[0], s.chars[1]))} reaches into the unknown name`);
      checked++;
    }
    assert.equal(checked, 12);
  });

  it('pays no individual contributor for gibberish: the contributors’ share goes to the datanets’ pools', async () => {
    const noise = base.tokenizer.encode(' Rudthsssss blorf quaxle.', { addSpecialTokens: false });
    const r = await attribute(m, prompt(bench.queries[0]!.prompt), noise, parameters);
    assert.equal(r.evidence.abstained, true);
    assert.deepEqual(r.contributions, []);
    assert.equal(r.pools.reduce((a, p) => a + p.sharePpm, 0), PPM);
    assert.deepEqual(r.pools.map((p) => p.datanetId), [1, 2]);
    const empty = await attribute(m, prompt('hello'), [], parameters);
    assert.equal(empty.evidence.abstained, true);
  });

  it('recomputes bit for bit: twice in one process, and from a fresh preparation of the same trace', async () => {
    const q = bench.queries[3]!;
    const ids = prompt(q.prompt);
    const out = (await generate(model, m.lora, ids, { maxTokens: 24, stopTokens: [base.tokenizer.eosId!] })).tokens;
    const a = await attribute(m, ids, out, parameters);
    const b = await attribute(m, ids, out, parameters);
    assert.deepEqual(b, a);
    const fresh = await withTrace('fresh', (examples, tokens, gradients) => ({ examples, tokens, gradients }));
    const c = await attribute(fresh, ids, out, parameters);
    assert.deepEqual(JSON.parse(JSON.stringify(c.contributions)), JSON.parse(JSON.stringify(a.contributions)));
    assert.deepEqual(c.evidence, a.evidence);
    await fresh.spans.close();
  });

  it('never raises a contributor’s total share when it pads the datanet with copies of its records (property)', async () => {
    const answers = await Promise.all(bench.queries.filter((q) => q.kind === 'trained').slice(0, 4).map(async (q) => {
      const ids = prompt(q.prompt);
      return { ids, out: (await generate(model, m.lora, ids, { maxTokens: 24, stopTokens: [base.tokenizer.eosId!] })).tokens };
    }));
    const contributors = [...new Set(bench.records.map((r) => r.contributor))].sort();
    const totalOf = (who: string, contributions: Array<{ contributionId: Hex; sharePpm: number }>, padded: Map<Hex, string>) =>
      contributions.filter((c) => (contributorOf.get(c.contributionId) ?? padded.get(c.contributionId)) === who).reduce((a, c) => a + c.sharePpm, 0);
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.constantFrom(...contributors), fc.integer({ min: 1, max: 3 }), async (who, copies) => {
      const padded = new Map<Hex, string>();
      const mine = bench.records.filter((r) => r.contributor === who).map(idOf);
      const padTrace = await withTrace(`padded-${run++}`, (examples, tokens, gradients, D) => {
        const extra: TraceExample[] = [];
        const extraTokens: number[] = [];
        const extraRows: number[] = [];
        let offset = tokens.length;
        examples.forEach((e, i) => {
          if (!mine.includes(e.contributionId)) return;
          for (let k = 0; k < copies; k++) {
            const id = keccak256(stringToBytes(`${e.contributionId}/copy/${k}`));
            padded.set(id, who);
            extra.push({ ...e, contributionId: id, offset, order: 10_000 + extra.length });
            extraTokens.push(...tokens.subarray(e.offset, e.offset + e.length));
            extraRows.push(...gradients.subarray(i * D, (i + 1) * D));
            offset += e.length;
          }
        });
        return { examples: [...examples, ...extra], tokens: Int32Array.from([...tokens, ...extraTokens]), gradients: Float32Array.from([...gradients, ...extraRows]) };
      });
      try {
        for (const a of answers) {
          const before = await attribute(m, a.ids, a.out, parameters);
          const after = await attribute(padTrace, a.ids, a.out, parameters);
          assert.ok(totalOf(who, after.contributions, padded) <= totalOf(who, before.contributions, padded), `${who} padded ×${copies}: ${totalOf(who, before.contributions, padded)} → ${totalOf(who, after.contributions, padded)} ppm`);
        }
      } finally {
        await padTrace.spans.close();
      }
    }), { numRuns: 12 });
  });

  it('gives the same shares whatever order the trace lists its examples in (property)', async () => {
    const q = bench.queries[1]!;
    const ids = prompt(q.prompt);
    const out = (await generate(model, m.lora, ids, { maxTokens: 24, stopTokens: [base.tokenizer.eosId!] })).tokens;
    const reference = await attribute(m, ids, out, parameters);
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.shuffledSubarray([...m.trace.examples.keys()], { minLength: m.trace.examples.length, maxLength: m.trace.examples.length }), async (perm) => {
      const shuffled = await withTrace(`shuffled-${run++}`, (examples, tokens, gradients, D) => {
        let offset = 0;
        return {
          examples: perm.map((i) => ({ ...examples[i]!, offset: (offset += examples[i]!.length) - examples[i]!.length })),
          tokens: Int32Array.from(perm.flatMap((i) => [...tokens.subarray(examples[i]!.offset, examples[i]!.offset + examples[i]!.length)])),
          gradients: Float32Array.from(perm.flatMap((i) => [...gradients.subarray(i * D, (i + 1) * D)])),
        };
      });
      try {
        const r = await attribute(shuffled, ids, out, parameters);
        const shares = (x: typeof r) => Object.fromEntries(x.contributions.map((c) => [c.contributionId, c.sharePpm]));
        const near = (x: Record<string, number>, y: Record<string, number>) => Object.keys({ ...x, ...y }).every((k) => Math.abs((x[k] ?? 0) - (y[k] ?? 0)) <= 2);
        assert.ok(near(shares(r), shares(reference)), JSON.stringify([shares(r), shares(reference)]));
      } finally {
        await shuffled.spans.close();
      }
    }), { numRuns: 3 });
  });
});
