import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatEther } from 'viem';
import { routes, type RouteOutput } from '../api/contract/index.ts';
import { callRoute, CliError, fetchRoute, signingAccount, type NodeOptions } from './api-client.ts';
import { apiOption, nodeOptions, openArg, readJson } from './options.ts';

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`must be ${what} (a positive integer)`);
    return n;
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** A fine-tuning job as the API sends it. */
type Job = RouteOutput<typeof routes.getTrainingJob>;

function printJob(j: Job): void {
  console.log(`job ${j.id}  ${j.modelName}  ${j.status}${j.cancelRequested && j.status === 'training' ? ' (stopping)' : ''}`);
  console.log(`  owner       ${j.owner}`);
  console.log(`  base        ${j.baseModelId}`);
  console.log(`  snapshots   ${j.snapshotIds.join(', ')}`);
  console.log(`  price       ${formatEther(BigInt(j.pricePer1kTokens))} OPEN per 1,000 tokens`);
  if (j.examples) console.log(`  examples    ${j.examples.train} training, ${j.examples.heldOut} held out, ${j.examples.skipped} skipped`);
  if (j.totalSteps) console.log(`  step        ${j.step} of ${j.totalSteps}${j.progress ? `, loss ${j.progress.loss.toFixed(4)}, ${j.progress.tokensPerSecond.toFixed(0)} tokens/s` : ''}`);
  if (j.evaluation) {
    const e = j.evaluation;
    console.log(`  held-out    loss ${e.base.loss.toFixed(4)} → ${e.tuned.loss.toFixed(4)}, perplexity ${e.base.perplexity.toFixed(2)} → ${e.tuned.perplexity.toFixed(2)} (${e.examples} examples, ${e.tokens} tokens)`);
    const acc = (a: { checked: number; exact: number; wordRecall: number | null }) => (a.checked > 0 ? `${a.exact}/${a.checked} exactly right, ${((a.wordRecall ?? 0) * 100).toFixed(1)} % of the words` : 'none checked');
    if (e.answers) console.log(`  answers     held-out ${acc(e.answers.heldOut)}; trained ${acc(e.answers.trained)}`);
    if (e.hyperparameters) console.log(`  trained     ${e.hyperparameters.epochs} epochs at most, rank ${e.hyperparameters.rank}, alpha ${e.hyperparameters.alpha}, learning rate ${e.hyperparameters.learningRate}${e.earlyStopping ? `; ${e.earlyStopping.stopped ? 'stopped early, ' : ''}kept epoch ${e.earlyStopping.bestEpoch} of ${e.earlyStopping.epochsRun} (lowest held-out loss)` : ''}`);
  }
  if (j.adapterHash) console.log(`  adapter     ${j.adapterHash}`);
  if (j.modelId) console.log(`  model       #${j.modelId} in the ModelRegistry (tx ${j.txHash})`);
  if (j.error) console.log(`  error       ${j.error}`);
}

const finished = new Set(['succeeded', 'failed', 'cancelled']);

/** Follows a job with a progress bar until it finishes; returns the final job. */
async function follow(api: string, id: string): Promise<Job> {
  const bar = new cliProgress.SingleBar(
    { format: '  training |{bar}| {value}/{total} steps  loss {loss}  {speed} tok/s  ETA {eta_text}  {status}', hideCursor: true, clearOnComplete: false, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let status = '';
  for (;;) {
    const job = await callRoute(api, routes.getTrainingJob, { params: { id } });
    if (job.status !== status && !started) console.log(`  ${job.status}…`);
    status = job.status;
    if (job.totalSteps && !started) {
      bar.start(job.totalSteps, 0, { loss: '-', speed: '-', eta_text: '?', status: '' });
      started = true;
    }
    if (started) {
      const p = job.progress;
      const phase = p?.phase === 'evaluating' ? `evaluating answers ${p.phaseDone}/${p.phaseTotal}` : p?.phase === 'tracing' ? `recording the attribution trace ${p.phaseDone}/${p.phaseTotal}` : '';
      bar.update(job.step, { loss: p ? p.loss.toFixed(4) : '-', speed: p ? p.tokensPerSecond.toFixed(0) : '-', eta_text: p && !phase ? duration(p.etaSeconds) : '?', status: job.status === 'training' ? phase : job.status });
    }
    if (finished.has(job.status)) {
      if (started) bar.stop();
      return job;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `openledger train`, `openledger job …`, `openledger base-model …`. */
export function factoryCommands(program: Command, urlArg: (v: string) => string): void {
  nodeOptions(program.command('train').description('fine-tune a LoRA adapter on datanet snapshots, then publish it in the ModelRegistry'), urlArg)
    .requiredOption('--name <model>', 'the name the model is registered under')
    .requiredOption('--snapshot <id...>', 'snapshot ids to train on (see `openledger snapshot`)')
    .option('--base <name>', 'base model (see `openledger base-model list`)', 'openledger-tiny')
    .addOption(new Option('--price <OPEN>', 'price per 1,000 tokens of use').argParser(openArg).default(0n, '0'))
    .option('--prompt-template <text>', 'prompt of each example; {{field}} inserts a record field', '### Question: {{prompt}}\n### Answer:')
    .option('--response-template <text>', 'response of each example (what the model learns)', ' {{response}}\n')
    .option('--epochs <n>', 'passes over the data', positiveInt('a number of epochs'))
    .option('--rank <r>', 'LoRA rank', positiveInt('a rank'))
    .option('--alpha <a>', 'LoRA alpha (scale = alpha / rank)', positiveNumber)
    .option('--lr <rate>', 'peak learning rate', positiveNumber)
    .option('--batch-size <n>', 'examples per optimizer step', positiveInt('a batch size'))
    .option('--max-length <tokens>', 'longest example in tokens', positiveInt('a length'))
    .option('--targets <modules>', 'adapted projections, comma-separated (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)')
    .option('--seed <n>', 'seed of the initialisation, data order and held-out split')
    .option('--hyperparameters <file>', 'a JSON file of hyperparameters (flags win)')
    .option('--detach', 'queue the job and return at once')
    .action(async (o: NodeOptions & { name: string; snapshot: string[]; base: string; price: bigint; promptTemplate: string; responseTemplate: string; epochs?: number; rank?: number; alpha?: number;
      lr?: number; batchSize?: number; maxLength?: number; targets?: string; seed?: string; hyperparameters?: string; detach?: boolean }) => {
      const hyperparameters: Record<string, unknown> = o.hyperparameters ? (readJson(o.hyperparameters, 'hyperparameters') as Record<string, unknown>) : {};
      const flags = { epochs: o.epochs, rank: o.rank, alpha: o.alpha, learningRate: o.lr, batchSize: o.batchSize, maxSequenceLength: o.maxLength, targetModules: o.targets?.split(',').map((t) => t.trim()), seed: o.seed === undefined ? undefined : Number(o.seed) };
      for (const [k, v] of Object.entries(flags)) if (v !== undefined) hyperparameters[k] = v;
      const snapshotIds = o.snapshot.map((s) => positiveInt('a snapshot id')(s));
      const job = await callRoute(o.api, routes.createTrainingJob, {
        body: { modelName: o.name, baseModel: o.base, snapshotIds, pricePer1kTokens: o.price.toString(), template: { prompt: o.promptTemplate, response: o.responseTemplate }, hyperparameters },
      }, { signer: signingAccount(o) });
      console.log(`job ${job.id} queued: ${job.modelName} on ${o.base}, snapshots ${snapshotIds.join(', ')}`);
      if (o.detach) return;
      const done = await follow(o.api, job.id);
      printJob(done);
      if (done.status !== 'succeeded') throw new CliError(`job ${done.id} ${done.status}${done.error ? `: ${done.error}` : ''}`);
    });

  const job = program.command('job').description('list, show, follow and cancel fine-tuning jobs');
  job.command('list').description('recent jobs')
    .addOption(apiOption(urlArg))
    .option('--owner <address>', 'only this builder’s')
    .option('--status <status>', 'only jobs in this state')
    .action(async (o: { api: string; owner?: string; status?: string }) => {
      const { jobs } = await callRoute(o.api, routes.listTrainingJobs, { query: { ...(o.owner ? { owner: o.owner } : {}), ...(o.status ? { status: o.status as Job['status'] } : {}) } });
      if (jobs.length === 0) console.log('no jobs');
      for (const j of jobs) console.log(`${j.id}  ${j.status.padEnd(10)}  ${j.modelName}  step ${j.step}/${j.totalSteps ?? '?'}${j.modelId ? `  model #${j.modelId}` : ''}`);
    });
  job.command('show').description('one job').argument('<id>')
    .addOption(apiOption(urlArg))
    .option('--follow', 'show a progress bar until it finishes')
    .action(async (id: string, o: { api: string; follow?: boolean }) => printJob(o.follow ? await follow(o.api, id) : await callRoute(o.api, routes.getTrainingJob, { params: { id } })));
  job.command('adapter').description('download a published job’s adapter as a PEFT folder (loads in PEFT and vLLM)').argument('<id>')
    .addOption(apiOption(urlArg))
    .requiredOption('--out <dir>', 'folder to write adapter_config.json and adapter_model.safetensors to')
    .action(async (id: string, o: { api: string; out: string }) => {
      await mkdir(o.out, { recursive: true });
      for (const file of ['adapter_config.json', 'adapter_model.safetensors'] as const) {
        await writeFile(join(o.out, file), await fetchRoute(o.api, routes.getTrainingAdapterFile, { params: { id, file } }));
      }
      console.log(`adapter of job ${id} written to ${o.out}`);
    });
  nodeOptions(job.command('cancel').description('stop a job (its owner only); it checkpoints first').argument('<id>'), urlArg)
    .action(async (id: string, o: NodeOptions) => printJob(await callRoute(o.api, routes.cancelTrainingJob, { params: { id } }, { signer: signingAccount(o) })));

  const base = program.command('base-model').description('base models this node can fine-tune');
  base.command('list').addOption(apiOption(urlArg)).action(async (o: { api: string }) => {
    const { baseModels } = await callRoute(o.api, routes.listBaseModels, {});
    for (const b of baseModels) console.log(`${b.name}  ${b.id}  ${b.parameters.toLocaleString('en')} parameters  ${b.config.numLayers} layers × ${b.config.hiddenSize}  ${b.path}`);
  });
  nodeOptions(base.command('add').description('add a Hugging Face model folder or a GGUF file on the node’s disk (the node operator only)').argument('<path>'), urlArg)
    .requiredOption('--name <name>', 'what builders call it')
    .action(async (dir: string, o: NodeOptions & { name: string }) => {
      const b = await callRoute(o.api, routes.addBaseModel, { body: { name: o.name, path: resolve(dir) } }, { signer: signingAccount(o) });
      console.log(`base model ${b.name}: ${b.id}, ${b.parameters.toLocaleString('en')} parameters`);
    });
}
