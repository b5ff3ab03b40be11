/**
 * A network on this machine: node 1 (`openledger up` on the embedded chain, after `openledger demo`
 * left a datanet and a published model on it), then nodes 2 and 3 joining with `up --rpc-url
 * --join`, each its own process, store and blobs. Prints:
 * - the cost of a join: from starting `up --join` to the first answer for the existing model (the
 *   node's start-up, its contract checks, stake and listing, the mirror of the model, one answer);
 * - requests/s and p50/p99 latency through the routing client (client/routing-client.ts: signed
 *   requests, per-operator authorisation, streaming, least-outstanding-requests across operators)
 *   over 1, 2 and 3 nodes, beside the baseline measured in the same run: the same requests straight
 *   to node 1 through the official openai client with an API key.
 * All processes share this machine's cores: on a 2-core machine three nodes contend for them, so
 * the 2- and 3-node figures measure the routing, not more hardware.
 *
 * Run: `npm run bench -- network` (options: --requests=48 --concurrency=4 --max-tokens=24)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { createApiClient } from '../src/api/contract/client.ts';
import { routes } from '../src/api/contract/index.ts';
import { connectChain } from '../src/chain/clients.ts';
import { protocolContracts } from '../src/chain/protocol.ts';
import { listOperators } from '../src/client/operators.ts';
import { createRoutingClient } from '../src/client/routing-client.ts';
import { runCli, runDemo, up, type Up } from '../src/cli/test-node.ts';

const { values: opt } = parseArgs({ options: { requests: { type: 'string', default: '48' }, concurrency: { type: 'string', default: '4' }, 'max-tokens': { type: 'string', default: '24' } }, strict: false });
const REQUESTS = Number(opt.requests), CONCURRENCY = Number(opt.concurrency), MAX_TOKENS = Number(opt['max-tokens']);
const MODEL = 'zorvania-qa', CONSUMER = 6, OPERATORS = [8, 9];
const dirs: string[] = [];
const tempDir = () => (dirs.push(mkdtempSync(join(tmpdir(), 'openledger-bench-network-'))), dirs.at(-1)!);
const nodes: Up[] = [];

const run = async (args: string[]) => {
  const { code, out } = await runCli(args);
  if (code !== 0) throw new Error(`openledger ${args[0]} exited ${code}:\n${out}`);
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** `REQUESTS` requests, `CONCURRENCY` at a time, through `ask`; requests/s and latencies. */
async function load(prompts: string[], ask: (prompt: string) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      const prompt = prompts[next++ % prompts.length]!;
      const t0 = performance.now();
      await ask(prompt);
      latencies.push(performance.now() - t0);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  return { rps: REQUESTS / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99) };
}

try {
  const dir1 = tempDir();
  const { prompts, account, key } = await runDemo(dir1);
  const node1 = await up(dir1, { OPENLEDGER_LOG_LEVEL: 'silent', OPENLEDGER_CHECK_RESPONSES: 'false' });
  nodes.push(node1);
  const status = await createApiClient({ baseUrl: node1.apiUrl }).call(routes.getStatus, {});
  const contracts = protocolContracts(await connectChain(node1.rpcUrl, account(CONSUMER)), status.contracts);
  for (const i of OPERATORS) await run(['transfer', account(i).address, '2000', '--account', '0', '--data-dir', dir1, '--api', node1.apiUrl]);
  const routing = (only: Set<string>) => createRoutingClient({ account: account(CONSUMER), chainId: status.chain.id, operators: async () => (await listOperators(contracts)).filter((o) => only.has(o.endpoint)) });
  const routed = (client: ReturnType<typeof routing>) => (prompt: string) => client.complete({ model: MODEL, prompt, maxTokens: MAX_TOKENS });

  console.log(`machine: ${availableParallelism()} cores; ${REQUESTS} requests of at most ${MAX_TOKENS} tokens, ${CONCURRENCY} at a time; each node's engine on its own threads`);
  // the cost of a join, for each joining node
  for (const i of OPERATORS) {
    const t0 = performance.now();
    const node = await up(tempDir(), { OPENLEDGER_RPC_URL: node1.rpcUrl, OPENLEDGER_JOIN: node1.apiUrl, OPENLEDGER_DEPLOYER_KEY: key(i), OPENLEDGER_LOG_LEVEL: 'silent', OPENLEDGER_CHECK_RESPONSES: 'false' });
    nodes.push(node);
    const isUp = (performance.now() - t0) / 1000;
    const client = routing(new Set([node.apiUrl]));
    for (;;) {
      try {
        await client.complete({ model: MODEL, prompt: prompts[0]!, maxTokens: MAX_TOKENS });
        break;
      } catch (err) {
        if (!/no listed operator serves/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100)); // the model is still being mirrored
      }
    }
    const total = (performance.now() - t0) / 1000;
    console.log(`join (node ${nodes.length}): ${total.toFixed(1)} s from \`up --join\` to its first answer of ${MODEL} (up and listed after ${isUp.toFixed(1)} s; mirror and first answer ${(total - isUp).toFixed(1)} s)`);
  }

  // the baseline: straight to node 1 with the official client and an API key
  const { key: apiKey } = await createApiClient({ baseUrl: node1.apiUrl, signer: account(CONSUMER) }).call(routes.createApiKey, { body: { name: 'bench' } });
  const openai = new OpenAI({ apiKey, baseURL: `${node1.apiUrl}/v1`, maxRetries: 0 });
  const direct = (prompt: string) => openai.completions.create({ model: MODEL, prompt, max_tokens: MAX_TOKENS, temperature: 0 });
  await load(prompts, direct); // warm-up: adapters loaded, span indexes opened on node 1
  for (const n of nodes.slice(1)) await load(prompts.slice(0, 1), routed(routing(new Set([n.apiUrl])))); // and on the others
  const baseline = await load(prompts, direct);
  console.log(`${'route'.padEnd(34)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  ratio to baseline (req/s)`);
  const line = (name: string, r: { rps: number; p50: number; p99: number }) => console.log(`${name.padEnd(34)} ${r.rps.toFixed(2).padStart(7)} ${r.p50.toFixed(0).padStart(8)} ${r.p99.toFixed(0).padStart(8)}  ${(r.rps / baseline.rps).toFixed(2)}×`);
  line('baseline: node 1 direct (openai)', baseline);
  for (const k of [1, 2, 3]) line(`routing client over ${k} node${k > 1 ? 's' : ''}`, await load(prompts, routed(routing(new Set(nodes.slice(0, k).map((n) => n.apiUrl))))));
} finally {
  for (const n of nodes.reverse()) await n.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
