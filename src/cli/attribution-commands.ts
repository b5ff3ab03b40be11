import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatEther } from 'viem';
import { recomputeReceipt } from '../attribution/receipt-attribution.ts';
import { createModelLoader, type ModelSource } from '../attribution/model-loader.ts';
import { checkReceiptSignature } from '../attribution/receipts.ts';
import { createBackend } from '../model/create-backend.ts';
import { hashModelDir } from '../model/model-dir.ts';
import { hashBlob } from '../store/blobs.ts';
import { routes } from '../api/contract/index.ts';
import { callRoute, chainFor, CliError, fetchRoute, signingAccount, type NodeOptions } from './api-client.ts';
import { listOperators } from '../client/operators.ts';
import { createRoutingClient, RoutingError } from '../client/routing-client.ts';
import { apiOption, nodeOptions } from './options.ts';

function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** A node's API as a {@link ModelSource}: blobs are checked against their hash as they arrive. */
export function apiModelSource(api: string, baseDir: string | undefined): ModelSource {
  return {
    published: (name) => callRoute(api, routes.getModel, { params: { name } }),
    async baseModelDir(id) {
      const dir = baseDir ?? (await callRoute(api, routes.getBaseModel, { params: { name: id } })).path;
      if (!existsSync(join(dir, 'config.json'))) throw new CliError(`base model ${id} is not on this machine (${dir}); pass --base-dir`);
      const hash = await hashModelDir(dir);
      if (hash !== id) throw new CliError(`${dir} hashes to ${hash}, not to the receipt's base model ${id}`);
      return dir;
    },
    async blob(hash) {
      const bytes = await fetchRoute(api, routes.getBlob, { params: { hash } });
      if ((await hashBlob(bytes)) !== hash.toLowerCase()) throw new CliError(`blob ${hash} arrived with different content`);
      return bytes;
    },
  };
}

/** `openledger infer --route`: the answer streamed from an operator the routing client picks, with failover. */
async function routedInference(o: NodeOptions & { model: string; prompt: string; maxTokens: number; json?: boolean }): Promise<void> {
  const account = signingAccount(o);
  const { clients, contracts } = await chainFor(o.api, account);
  const client = createRoutingClient({ account, chainId: clients.chain.id, operators: () => listOperators(contracts) });
  let a;
  try {
    a = await client.complete({ model: o.model, prompt: o.prompt, maxTokens: o.maxTokens }, o.json ? {} : { onText: (d) => process.stdout.write(d) });
  } catch (err) {
    if (err instanceof RoutingError) throw new CliError(err.message);
    throw err;
  }
  if (o.json) return console.log(JSON.stringify(a, null, 2));
  const failed = a.attempts.filter((t) => t.error);
  console.log(`\n\nanswered by ${a.operator} at ${a.endpoint}${failed.length ? ` (after ${failed.map((t) => `${t.endpoint}: ${t.error}`).join('; ')})` : ''}`);
  console.log(`${a.usage.promptTokens} + ${a.usage.completionTokens} tokens${a.fee ? `, fee ${formatEther(BigInt(a.fee.amount))} OPEN, receipt ${a.receiptId}` : ' (a base model alone: no receipt, no fee)'}`);
}

/** `openledger infer`, `openledger attribution show|verify`. */
export function attributionCommands(program: Command, urlArg: (v: string) => string): void {
  nodeOptions(program.command('infer').description('run a published model (or a base model) on a prompt; prints the answer, its fee and who it is attributed to'), urlArg)
    .requiredOption('--model <name>', 'a published model')
    .requiredOption('--prompt <text>', 'the prompt, e.g. "### Question: …\\n### Answer:"')
    .addOption(new Option('--max-tokens <n>', 'longest answer').argParser(intArg).default(64))
    .option('--json', 'print the whole answer as JSON')
    .option('--route', "pick an operator of the network (the chain's OperatorRegistry) instead of --api's node, stream its answer, and fail over to another if it dies; --api only names the chain")
    .action(async (o: NodeOptions & { model: string; prompt: string; maxTokens: number; json?: boolean; route?: boolean }) => {
      if (o.route) return routedInference(o);
      const a = await callRoute(o.api, routes.infer, { body: { model: o.model, prompt: o.prompt, maxTokens: o.maxTokens } }, { signer: signingAccount(o) });
      if (o.json) return console.log(JSON.stringify(a, null, 2));
      console.log(a.output);
      if (!a.fee || !a.attribution) return console.log(`\n${a.usage.promptTokens} + ${a.usage.completionTokens} tokens (a base model alone: no receipt, no fee)`);
      console.log(`\n${a.usage.promptTokens} + ${a.usage.completionTokens} tokens, fee ${formatEther(BigInt(a.fee.amount))} OPEN, receipt ${a.receiptId}`);
      const e = a.attribution.evidence;
      console.log(`  evidence ${(e.scorePpm / 10_000).toFixed(1)} %: ${(e.coverage * 100).toFixed(1)} % of the answer's information found verbatim, influence ${e.influenceMargin.toFixed(1)} s.d. above the null`);
      if (e.abstained) console.log(`  too little evidence to pay individual contributions: the contributors' share goes to ${a.attribution.pools.map((p) => `datanet ${p.datanetId}'s pool (${(p.sharePpm / 10_000).toFixed(2)} %)`).join(', ')}`);
      for (const c of a.attribution.contributions) {
        const quotes = c.spans.map(([s, e]) => JSON.stringify(a.output.slice(s, e))).join(', ');
        console.log(`  ${(c.sharePpm / 10_000).toFixed(2).padStart(6)} %  ${c.contributionId}  datanet ${c.datanetId}${quotes ? `  ${quotes}` : ''}`);
      }
    });

  const attribution = program.command('attribution').description('inspect and verify attribution receipts');
  attribution.command('show').argument('<receipt>').addOption(apiOption(urlArg)).action(async (id: string, o: { api: string }) => {
    console.log(JSON.stringify(await callRoute(o.api, routes.getReceipt, { params: { receiptId: id } }), null, 2));
  });
  attribution.command('verify')
    .description('check a receipt’s signature and recompute its attribution from the model, its training trace and the texts; non-zero exit on any difference')
    .argument('<receipt>')
    .addOption(apiOption(urlArg))
    .option('--base-dir <dir>', 'the base model folder (default: the node’s, when it is on this machine)')
    .option('--cache-dir <dir>', 'where the trace and its span index are unpacked', join(tmpdir(), 'openledger-verify'))
    .action(async (id: string, o: { api: string; baseDir?: string; cacheDir: string }) => {
      const stored = await callRoute(o.api, routes.getReceipt, { params: { receiptId: id } });
      await checkReceiptSignature(stored);
      console.log(`receipt ${stored.id}: signed by the node ${stored.body.node}`);
      const backend = createBackend();
      try {
        const loader = createModelLoader({ source: apiModelSource(o.api, o.baseDir), backend, cacheDir: o.cacheDir });
        const differences = await recomputeReceipt(await loader.load(stored.body.model.name), stored);
        if (differences.length === 0) {
          const b = stored.body;
          const what = b.evidence.abstained
            ? `abstained at ${b.evidence.scorePpm} ppm of evidence (threshold ${b.parameters.evidenceThresholdPpm}): ${b.pools.length} datanet pool${b.pools.length === 1 ? '' : 's'}`
            : `${b.contributions.length} contributions`;
          console.log(`recomputed: ${what}, every share matches (model ${b.model.name}, trace ${b.model.trace})`);
          return;
        }
        for (const d of differences) console.log(`  ${d.contributionId}: receipt ${d.receiptPpm} ppm, recomputed ${d.recomputedPpm} ppm`);
        throw new CliError(`the receipt does not match its recomputation (${differences.length} difference${differences.length === 1 ? '' : 's'})`);
      } finally {
        await backend.dispose();
      }
    });
}
