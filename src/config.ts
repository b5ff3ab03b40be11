import { resolve } from 'node:path';
import { z } from 'zod';

/** Configuration errors carry a message meant for the person starting the node. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const port = z.coerce.number().int().min(0).max(65535);
const hexKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte hex private key (0x + 64 hex digits)');

const schema = z
  .object({
    dataDir: z.string().min(1),
    host: z.string().min(1),
    port,
    rpcHost: z.string().min(1),
    rpcPort: port,
    chainId: z.coerce.number().int().positive(),
    rpcUrl: z.string().url().optional(),
    /** The URL others reach this node's API at (the epoch inputs' URIs posted on chain); default its listen address. */
    publicUrl: z.string().url().optional(),
    deployerKey: hexKey.optional(),
    /** 'all': the operator's primary process (workers, transactions, serving); 'serve': an extra serving process sharing its store (DATABASE_URL) and chain. */
    role: z.enum(['all', 'serve']),
    /** Join the network whose protocol this node's URL (or this JSON file of addresses) names, on the --rpc-url chain, instead of deploying one. */
    join: z.string().min(1).optional(),
    databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
    confirmations: z.coerce.number().int().min(0).optional(),
    s3Bucket: z.string().min(3).max(63).optional(),
    s3Endpoint: z.string().url().optional(),
    s3Region: z.string().min(1).optional(),
    s3Prefix: z.string().max(200).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    inferenceConcurrency: z.coerce.number().int().min(1).max(1024),
    inferenceQueue: z.coerce.number().int().min(0).max(100_000),
    epochSeconds: z.coerce.number().int().min(0).max(30 * 86400),
    backend: z.enum(['auto', 'cpu', 'webgpu']),
    engine: z.enum(['builtin', 'llama.cpp', 'remote']),
    engineUrl: z.string().url().optional(),
    engineApiKey: z.string().min(1).optional(),
    engineBaseModel: z.string().min(1).optional(),
    engineAdapterDir: z.string().min(1).optional(),
    engineRemoteAdapterDir: z.string().min(1).optional(),
    engineGpu: z.enum(['false', 'cuda', 'vulkan', 'auto']),
    /** Development powers (the embedded chain's accounts for the web app, mining and time travel, anvil's own methods): only when asked for. */
    development: z.enum(['true', 'false']).transform((v) => v === 'true'),
    /** OPEN on a new embedded chain: its native coin (OpenLedger's L2: gas in OPEN, the WOPEN predeploy, GOPEN votes) or an ERC-20; fixed when the chain's data directory is created. */
    open: z.enum(['native', 'erc20']),
    /** Host names the API and the embedded chain answer to, besides IP literals ('*': any). */
    allowedHosts: z.string().transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
    /** Fastify's trustProxy: 'false', 'true', a hop count, or addresses/CIDRs of trusted proxies (comma-separated). */
    trustProxy: z.string().transform((v): boolean | number | string => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v)),
    /** The watchtower: recompute other operators' pending epochs and dispute a wrong one with a bond ('dispute'), only report it ('report'), or not ('off'). */
    watch: z.enum(['dispute', 'report', 'off']),
    /** Seconds between two watches (each checks every pending epoch of the other operators not checked yet). */
    watchSeconds: z.coerce.number().int().min(1).max(86_400),
    /** Other nodes' API URLs whose published models this node mirrors and serves (comma-separated). */
    peers: z.string().transform((v) => v.split(',').map((u) => u.trim().replace(/\/+$/, '')).filter(Boolean)).pipe(z.array(z.url())),
    /** Check every JSON answer against the API's contract (src/api/contract) and answer a 500 where one does not match: for tests and development. */
    checkResponses: z.enum(['true', 'false']).transform((v) => v === 'true'),
  })
  .refine((c) => c.engine !== 'remote' || (c.engineUrl && c.engineBaseModel), {
    message: 'the remote engine needs its URL (OPENLEDGER_ENGINE_URL) and the name it serves the base model under (OPENLEDGER_ENGINE_BASE_MODEL)',
    path: ['engineUrl'],
  })
  .refine((c) => !c.rpcUrl || c.deployerKey, {
    message: "an external chain (--rpc-url / OPENLEDGER_RPC_URL) needs the node's account key (OPENLEDGER_DEPLOYER_KEY): it deploys the protocol, or joins one",
    path: ['deployerKey'],
  })
  .refine((c) => c.role !== 'serve' || (c.databaseUrl && c.rpcUrl && !c.join), {
    message: "a serving process (--role serve) shares its operator's store and chain: it needs DATABASE_URL (a Postgres server) and --rpc-url with the operator's key, and no --join (its primary joins)",
    path: ['role'],
  })
  .refine((c) => !c.join || c.rpcUrl, {
    message: "joining a network (--join) needs its chain (--rpc-url / OPENLEDGER_RPC_URL): the embedded chain is this node's alone",
    path: ['join'],
  });

/** The node's configuration, after defaults and validation. */
export type Config = z.infer<typeof schema>;

/** Values given on the command line; anything missing comes from the environment, then defaults. */
export type ConfigInput = Partial<Record<keyof Config, string | number | boolean | undefined>>;

/**
 * Resolves the configuration: command-line values, then `OPENLEDGER_*` environment variables (and
 * `DATABASE_URL`), then defaults (data in `./.openledger`, API on 127.0.0.1:8080, embedded chain
 * on 127.0.0.1:8545 with chain id 31337, embedded PGlite store, blobs on disk; an S3 bucket when
 * `OPENLEDGER_S3_BUCKET` is set, with the AWS SDK's usual credentials). Throws {@link ConfigError} naming
 * the bad setting.
 *
 * @example
 * const config = loadConfig({ port: 9000 });
 */
export function loadConfig(input: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const pick = (key: keyof Config, envName: string, fallback?: string | number) => input[key] ?? env[envName] ?? fallback;
  const raw = {
    dataDir: pick('dataDir', 'OPENLEDGER_DATA_DIR', '.openledger'),
    host: pick('host', 'OPENLEDGER_HOST', '127.0.0.1'),
    port: pick('port', 'OPENLEDGER_PORT', 8080),
    rpcHost: pick('rpcHost', 'OPENLEDGER_RPC_HOST', '127.0.0.1'),
    rpcPort: pick('rpcPort', 'OPENLEDGER_RPC_PORT', 8545),
    chainId: pick('chainId', 'OPENLEDGER_CHAIN_ID', 31337),
    rpcUrl: pick('rpcUrl', 'OPENLEDGER_RPC_URL') || undefined,
    publicUrl: pick('publicUrl', 'OPENLEDGER_PUBLIC_URL') || undefined,
    deployerKey: pick('deployerKey', 'OPENLEDGER_DEPLOYER_KEY') || undefined,
    join: pick('join', 'OPENLEDGER_JOIN') || undefined,
    role: pick('role', 'OPENLEDGER_ROLE', 'all'),
    databaseUrl: pick('databaseUrl', 'DATABASE_URL') || undefined,
    confirmations: pick('confirmations', 'OPENLEDGER_CONFIRMATIONS'),
    s3Bucket: pick('s3Bucket', 'OPENLEDGER_S3_BUCKET') || undefined,
    s3Endpoint: pick('s3Endpoint', 'OPENLEDGER_S3_ENDPOINT') || undefined,
    s3Region: pick('s3Region', 'OPENLEDGER_S3_REGION') || undefined,
    s3Prefix: pick('s3Prefix', 'OPENLEDGER_S3_PREFIX') || undefined,
    logLevel: pick('logLevel', 'OPENLEDGER_LOG_LEVEL', 'warn'),
    inferenceConcurrency: pick('inferenceConcurrency', 'OPENLEDGER_INFERENCE_CONCURRENCY', 16),
    inferenceQueue: pick('inferenceQueue', 'OPENLEDGER_INFERENCE_QUEUE', 64),
    epochSeconds: pick('epochSeconds', 'OPENLEDGER_EPOCH_SECONDS', 3600),
    backend: pick('backend', 'OPENLEDGER_BACKEND', 'auto'),
    engine: pick('engine', 'OPENLEDGER_ENGINE', 'builtin'),
    engineUrl: pick('engineUrl', 'OPENLEDGER_ENGINE_URL') || undefined,
    engineApiKey: pick('engineApiKey', 'OPENLEDGER_ENGINE_API_KEY') || undefined,
    engineBaseModel: pick('engineBaseModel', 'OPENLEDGER_ENGINE_BASE_MODEL') || undefined,
    engineAdapterDir: pick('engineAdapterDir', 'OPENLEDGER_ENGINE_ADAPTER_DIR') || undefined,
    engineRemoteAdapterDir: pick('engineRemoteAdapterDir', 'OPENLEDGER_ENGINE_REMOTE_ADAPTER_DIR') || undefined,
    engineGpu: pick('engineGpu', 'OPENLEDGER_ENGINE_GPU', 'false'),
    development: String(pick('development', 'OPENLEDGER_DEVELOPMENT', 'false')),
    open: String(pick('open', 'OPENLEDGER_OPEN', 'native')),
    allowedHosts: pick('allowedHosts', 'OPENLEDGER_ALLOWED_HOSTS', 'localhost'),
    trustProxy: String(pick('trustProxy', 'OPENLEDGER_TRUST_PROXY', 'false')),
    checkResponses: String(pick('checkResponses', 'OPENLEDGER_CHECK_RESPONSES', 'false')),
    peers: String(pick('peers', 'OPENLEDGER_PEERS', '')),
    watch: String(pick('watch', 'OPENLEDGER_WATCH', 'dispute')),
    watchSeconds: pick('watchSeconds', 'OPENLEDGER_WATCH_SECONDS', 30),
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${issues.join('\n  ')}`);
  }
  return { ...parsed.data, dataDir: resolve(parsed.data.dataDir) };
}
