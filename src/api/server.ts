import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProtocolAddresses } from '../chain/protocol.ts';
import { chainEventSink, listChainEvents, toJson } from '../store/chain-events.ts';
import type { NodeContext } from '../store/node-context.ts';
import { keepRawJsonBodies } from './authenticate.ts';
import { refuseBadText } from './input-guard.ts';
import { routes } from './contract/index.ts';
import { openApiDocument } from './openapi.ts';
import { checkResponses, serveRoute } from './serve-route.ts';
import { frameworkErrors, installErrorHandler } from './errors.ts';
import { installHostGuard } from './host-guard.ts';
import type { NodeAllowances } from './allowances.ts';
import { datanetRoutes } from './routes/datanets.ts';
import { factoryRoutes } from './routes/factory.ts';
import { attributionRoutes } from './routes/attribution.ts';
import { inferenceRoutes } from './routes/inference.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { openAiRoutes } from './routes/openai.ts';
import { settlementRoutes } from './routes/settlement.ts';
import { skillRoutes, x402Of } from './routes/skills.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { webRoutes } from './routes/web.ts';
import { chainRpcRoutes } from './routes/chain-rpc.ts';
import { datanetStatsRoutes } from './routes/datanet-stats.ts';
import { altDaRoutes } from './routes/alt-da.ts';
import { nodeStoreBackend } from '../datanet/da/node-store-backend.ts';
import type { Meter } from '../inference/meter.ts';
import type { ConsumerFunds } from '../settlement/meter.ts';
import type { Address } from 'viem';
import type { ModelLoader } from '../attribution/model-loader.ts';
import type { Admission } from '../inference/admission.ts';
import type { Engine } from '../serve/engine.ts';
import { CodedError } from '../util/coded-error.ts';

/** What the API serves from: the modules' contexts and facts about the node. */
export interface ApiContext extends NodeContext {
  /** Published models, loaded on first use, for inference and attribution. */
  models: ModelLoader;
  /** What generates text (built-in, llama.cpp or remote). */
  engine: Engine;
  /** Charges paid inference against consumers' escrow deposits (none: serve without charging). */
  meter?: Meter;
  /** What a consumer can spend (the escrow meter's view). */
  funds?: (consumer: Address) => Promise<ConsumerFunds>;
  /** This node's public URL (epoch inputs URIs). */
  publicUrl?: string;
  /** The embedded chain's mnemonic, shared with the web app on this machine in development mode only. */
  devMnemonic?: string | undefined;
  /** Development mode on the embedded chain: mining and time travel relayed for this machine. */
  development?: boolean;
  /** Host names answered besides IP literals (default: localhost; '*': any). */
  allowedHosts?: readonly string[];
  /** Most bytes of an uploaded file (default 256 MiB). */
  maxUploadBytes?: number;
  /** What one caller may make the node pay gas for, per day (default: allowances.ts). */
  allowances?: Partial<NodeAllowances>;
  /** Event streams (training progress, streamed completions) open at once from one address (default 16). */
  maxStreamsPerCaller?: number;
  /** Check every JSON answer against the API's contract (a 500 where one does not match): tests and development. */
  checkResponses?: boolean;
  /** Fastify's trustProxy (default false: the peer's address is the caller's). */
  trustProxy?: boolean | number | string;
  /** The built web app's folder (default web/dist). */
  webRoot?: string;
  /** Back-pressure on inference (429 with Retry-After beyond the queue). */
  admission?: Admission;
  /** 'serve': one of an operator's extra serving processes (inference and reads; everything else is the primary's, 421). */
  role?: 'all' | 'serve';
  rpcUrl: string;
  embeddedChain: boolean;
  addresses: ProtocolAddresses;
  version: string;
  logLevel?: string;
}

/**
 * Builds the HTTP API (Fastify): health, node status, indexed protocol events, datanets
 * (routes/datanets.ts) and Prometheus metrics, each route as the API's contract defines it
 * (src/api/contract, served as OpenAPI at `/openapi.json`). State-changing routes are signed by the
 * acting wallet (authenticate.ts); every input is validated with the contract's zod schemas and a
 * failure becomes a 400 naming the field (see {@link installErrorHandler}).
 *
 * @example
 * const app = buildApi(context);
 * await app.listen({ port: 8080 });
 */
export function buildApi(ctx: ApiContext): FastifyInstance {
  const hops = ctx.trustProxy;
  const trustProxy = typeof hops === 'number' ? (_address: string, hop: number) => hop < hops : (hops ?? false);
  const app = Fastify({ logger: { level: ctx.logLevel ?? 'warn' }, bodyLimit: 1024 * 1024, trustProxy, frameworkErrors });
  installErrorHandler(app);
  installHostGuard(app, ctx.allowedHosts);
  keepRawJsonBodies(app);
  refuseBadText(app);
  app.setReplySerializer((payload) => toJson(payload)); // bigints (wei, block numbers) as decimal strings
  if (ctx.checkResponses) checkResponses(app, Object.values(routes));
  const chainId = ctx.clients.chain.id;

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'openledger_' });
  const requests = new Counter({
    name: 'openledger_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({ method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  if (ctx.role === 'serve') refuseAllButServing(app);
  const sink = chainEventSink(ctx.db);

  serveRoute(app, routes.health, async () => ({ ok: true }));

  serveRoute(app, routes.getStatus, async () => {
    const [blockNumber, cursor] = await Promise.all([ctx.clients.publicClient.getBlockNumber({ cacheTime: 0 }), sink.cursor(chainId)]);
    return {
      version: ctx.version,
      // the chain's origin only: a provider's URL may carry its key in the path or the query
      chain: { id: chainId, rpcUrl: ctx.embeddedChain ? ctx.rpcUrl : new URL(ctx.rpcUrl).origin, embedded: ctx.embeddedChain, development: ctx.development === true, blockNumber: blockNumber.toString() },
      store: { kind: ctx.db.kind },
      indexer: { blockNumber: cursor?.blockNumber.toString() ?? null },
      nodeAccount: ctx.clients.account.address,
      contracts: ctx.addresses,
    };
  });

  serveRoute(app, routes.listChainEvents, async (input) => {
    const q = input.query;
    const events = await listChainEvents(ctx.db, { chainId, ...q });
    return { events, next: events.length === q.limit ? events.at(-1)?.id : null };
  });

  datanetRoutes(app, ctx);
  factoryRoutes(app, ctx);
  attributionRoutes(app, ctx);
  inferenceRoutes(app, ctx);
  apiKeyRoutes(app, ctx);
  openAiRoutes(app, ctx);
  datanetStatsRoutes(app, ctx);
  settlementRoutes(app, ctx);
  const x402 = x402Of(ctx);
  skillRoutes(app, ctx, x402);
  mcpRoutes(app, ctx, x402);
  chainRpcRoutes(app, ctx);
  webRoutes(app, ctx);
  altDaRoutes(app, { backend: nodeStoreBackend(ctx.blobs) }); // the node's blob store as an Alt-DA DA server at /altda

  let openApi: ReturnType<typeof openApiDocument> | undefined; // built when first asked for, not at every start
  serveRoute(app, routes.openApiDocument, async () => (openApi ??= openApiDocument(Object.values(routes), { version: ctx.version })));

  serveRoute(app, routes.metrics, async (_input, _request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  return app;
}

/**
 * An operator's extra serving process (`--role serve`) answers reads and what serving needs —
 * inference, the consumers' authorisations and API keys (kept in the shared store), the chain
 * relay — and refuses every other state-changing route with 421 `primary_only`: those send the
 * operator account's transactions or run its workers, which only its primary process does.
 */
function refuseAllButServing(app: FastifyInstance): void {
  const serving = new Set([routes.infer, routes.openAiCompletions, routes.openAiChatCompletions, routes.submitAuthorization, routes.createApiKey, routes.revokeApiKey, routes.relayChainRpc].map((r) => `${r.method} ${r.path}`));
  app.addHook('onRequest', async (request) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
    if (serving.has(`${request.method} ${request.routeOptions.url}`)) return;
    throw new CodedError('primary_only', `this is one of the operator's serving processes (inference and reads): send ${request.method} ${request.url.split('?')[0]} to its primary process`);
  });
}
