import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { english, generateMnemonic } from 'viem/accounts';
import writeFileAtomic from 'write-file-atomic';
import { DEFAULT_ALLOWED_HOSTS, isAllowedHost } from '../util/allowed-host.ts';
import { fsyncDir } from '../util/fsync-dir.ts';
import { startAnvil, type AnvilProcess } from './anvil.ts';
import { genesisPredeploys, installPredeploys, PREDEPLOYS, type PredeployName } from './predeploys.ts';
import { ChainStartError, JournalReplayError } from './errors.ts';
import { openJournal, type Journal, type JournalEntry } from './journal.ts';
import { callJsonRpc, postJsonRpc, type JsonRpcRequest, type JsonRpcResponse } from './json-rpc.ts';

/** Calls that change chain state: each is journaled before it is acknowledged. */
const JOURNALED = new Set([
  'eth_sendRawTransaction', 'eth_sendTransaction',
  'evm_mine', 'anvil_mine', 'hardhat_mine',
  'evm_increaseTime', 'anvil_increaseTime', 'evm_setNextBlockTimestamp', 'anvil_setNextBlockTimestamp',
  'anvil_setBalance', 'hardhat_setBalance', 'anvil_setCode', 'hardhat_setCode',
  'anvil_setNonce', 'hardhat_setNonce', 'anvil_setStorageAt', 'hardhat_setStorageAt',
  'anvil_impersonateAccount', 'hardhat_impersonateAccount',
  'anvil_stopImpersonatingAccount', 'hardhat_stopImpersonatingAccount', 'anvil_autoImpersonateAccount',
  'anvil_setNextBlockBaseFeePerGas', 'anvil_setMinGasPrice', 'anvil_setCoinbase', 'evm_setBlockGasLimit',
]);
const READ_PREFIXES = ['eth_', 'net_', 'web3_', 'debug_', 'trace_', 'txpool_', 'ots_'];
const READ_METHODS = new Set(['anvil_nodeInfo', 'anvil_metadata']);

/** What a raw transaction cannot do: sign with the chain's unlocked accounts, or administer it (impersonate, rewrite storage, move time). */
function isDevelopmentOnly(method: string): boolean {
  return JOURNALED.has(method) && method !== 'eth_sendRawTransaction';
}

/**
 * A raw OP Stack deposit transaction (EIP-2718 type 0x7e): anvil's OP chain type takes one through
 * `eth_sendRawTransaction` without a signature and mints its `mint` to its `from`, so only the L1
 * bridge's relay may send one (development mode).
 */
function isDepositTransaction(req: JsonRpcRequest): boolean {
  const raw = req.method === 'eth_sendRawTransaction' ? req.params?.[0] : undefined;
  return typeof raw === 'string' && raw.slice(0, 4).toLowerCase() === '0x7e';
}

function isReadOnly(method: string): boolean {
  return READ_METHODS.has(method) || (READ_PREFIXES.some((p) => method.startsWith(p)) && !JOURNALED.has(method) && method !== 'eth_subscribe');
}

/** Options of {@link startEmbeddedChain}. */
export interface EmbeddedChainOptions {
  /** Directory of the chain's state (snapshot, journal, mnemonic). */
  dataDir: string;
  /** Port of the public JSON-RPC endpoint (default 8545; 0 picks a free one). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  chainId?: number;
  /** Take a snapshot after this many journal entries (default 500). */
  snapshotEvery?: number;
  /**
   * Development mode: also accept the chain's own administration (anvil_*, evm_*, hardhat_*
   * methods, eth_sendTransaction with its unlocked accounts). Off: only reads and signed raw
   * transactions, whoever the local caller (default off).
   */
  development?: boolean;
  /** Host names answered besides IP literals (default: localhost; '*': any). */
  allowedHosts?: readonly string[];
  /** Called with progress messages (replay, snapshots). */
  log?: (message: string) => void;
  /**
   * OPEN is the chain's native coin: the chain has the predeploys of OpenLedger's L2 (WOPEN) from
   * its genesis. Recorded when the data directory is created; a later start keeps what was recorded
   * (the replayed blocks were mined on that state), whatever this says.
   */
  nativeOpen?: boolean;
  /** Run the EVM with the OP Stack chain type (default true: an L2); false for an L1 (see `hardfork`). */
  optimism?: boolean;
  /** EVM hardfork by anvil's name, e.g. `prague` for a development L1; default: anvil's latest. */
  hardfork?: string;
}

/** A running embedded chain. */
export interface EmbeddedChain {
  /** Public JSON-RPC URL (any wallet, viem or ethers client can use it). */
  url: string;
  chainId: number;
  /** Mnemonic of the funded dev accounts (kept in the data directory, mode 0600). */
  mnemonic: string;
  /** Entries replayed at start-up from the journal. */
  replayed: number;
  /** Whether OPEN is the chain's native coin (as recorded in its data directory). */
  nativeOpen: boolean;
  /** Writes a snapshot now and empties the journal. */
  snapshot(): Promise<void>;
  /** Snapshots, then stops the endpoint and the EVM. */
  stop(): Promise<void>;
}

interface Snapshot {
  /** Sequence number of the last journal entry the snapshot includes. */
  seq: number;
  blockNumber: number;
  blockHash: string;
  state: string;
}

interface SequencedEntry extends JournalEntry {
  seq: number;
}

interface Block {
  number: string;
  hash: string;
  timestamp: string;
}

/**
 * Starts the embedded development chain: an anvil EVM (OP Stack chain type) behind a JSON-RPC
 * endpoint that journals every state-changing call (fsync) before answering it. State survives a
 * restart, including after `kill -9`: start-up loads the last snapshot and replays the journal,
 * setting each block's recorded timestamp, and checks that the replayed blocks have the recorded
 * hashes.
 *
 * @example
 * const chain = await startEmbeddedChain({ dataDir: '.openledger/chain' });
 * const client = createPublicClient({ transport: http(chain.url) });
 * await chain.stop();
 */
export async function startEmbeddedChain(options: EmbeddedChainOptions): Promise<EmbeddedChain> {
  const log = options.log ?? (() => {});
  const dir = options.dataDir;
  mkdirSync(dir, { recursive: true });
  const chainId = options.chainId ?? 31337;
  const mnemonic = loadOrCreateMnemonic(join(dir, 'mnemonic'));
  const genesisTimestamp = loadOrCreateGenesisTimestamp(join(dir, 'genesis-timestamp'));
  // an L1 (no OP chain type) has none of the L2's predeploys
  const predeploys = loadOrCreateGenesisPredeploys(join(dir, 'genesis-predeploys.json'), options.nativeOpen ?? false, options.optimism ?? true, log);
  const nativeOpen = predeploys.includes('WOPEN');
  stopOrphan(join(dir, 'anvil.pid'));

  const anvil = await startAnvil({ chainId, mnemonic, genesisTimestamp, optimism: options.optimism ?? true, hardfork: options.hardfork });
  writeFileSync(join(dir, 'anvil.pid'), String(anvil.process.pid));
  // the chain's genesis code (the verifier; WOPEN where OPEN is the native coin), the same at every
  // start, so the replayed blocks below see the state they were first mined on
  await installPredeploys(anvil.url, predeploys);
  const snapshotPath = join(dir, 'snapshot.json');
  const journal = openJournal(join(dir, 'journal.jsonl'));
  let seq = 0;
  let replayed = 0;
  try {
    const snap = existsSync(snapshotPath) ? (JSON.parse(readFileSync(snapshotPath, 'utf8')) as Snapshot) : undefined;
    if (snap) {
      await callJsonRpc(anvil.url, 'anvil_loadState', [snap.state]);
      seq = snap.seq;
      log(`chain: loaded snapshot at block ${snap.blockNumber}`);
    }
    const pending = (journal.read() as SequencedEntry[]).filter((e) => e.seq > seq);
    for (const entry of pending) {
      await replay(anvil.url, entry);
      seq = entry.seq;
      replayed++;
    }
    if (replayed > 0) log(`chain: replayed ${replayed} journaled calls`);
  } catch (err) {
    journal.close();
    await anvil.stop();
    throw err;
  }

  let queue: Promise<unknown> = Promise.resolve();
  const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };
  let sinceSnapshot = 0;
  const snapshotEvery = options.snapshotEvery ?? 500;

  const writeSnapshot = async () => {
    const [state, block] = await Promise.all([
      callJsonRpc<string>(anvil.url, 'anvil_dumpState'),
      callJsonRpc<Block>(anvil.url, 'eth_getBlockByNumber', ['latest', false]),
    ]);
    const snap: Snapshot = { seq, blockNumber: Number(block.number), blockHash: block.hash, state };
    await writeFileAtomic(snapshotPath, JSON.stringify(snap));
    // the snapshot's new name must be on disk before the journal it replaces is emptied
    fsyncDir(dirname(snapshotPath));
    journal.clear();
    sinceSnapshot = 0;
    log(`chain: snapshot at block ${snap.blockNumber}`);
  };

  const handleWrite = (req: JsonRpcRequest) =>
    serialize(async () => {
      const before = await callJsonRpc<Block>(anvil.url, 'eth_getBlockByNumber', ['latest', false]);
      const res = await postJsonRpc(anvil.url, req);
      await waitMined(anvil.url, req.method, res);
      const after = await callJsonRpc<Block>(anvil.url, 'eth_getBlockByNumber', ['latest', false]);
      const mined = Number(after.number) > Number(before.number);
      if (!res.error || mined) {
        const entry: SequencedEntry = {
          seq: seq + 1,
          method: req.method,
          params: req.params ?? [],
          blockBefore: Number(before.number),
          blockAfter: Number(after.number),
        };
        if (mined) {
          const first =
            Number(after.number) === Number(before.number) + 1
              ? after
              : await callJsonRpc<Block>(anvil.url, 'eth_getBlockByNumber', [`0x${(Number(before.number) + 1).toString(16)}`, false]);
          entry.firstTimestamp = first.timestamp;
          entry.blockHash = after.hash;
        }
        journal.append(entry);
        seq = entry.seq;
        if (++sinceSnapshot >= snapshotEvery) await writeSnapshot();
      }
      return res;
    });

  const handle = async (req: JsonRpcRequest): Promise<JsonRpcResponse> => {
    if (typeof req?.method !== 'string') {
      return { jsonrpc: '2.0', id: req?.id ?? null, error: { code: -32600, message: 'invalid request: no method' } };
    }
    if (isDevelopmentOnly(req.method) && !options.development) {
      return { jsonrpc: '2.0', id: req.id ?? null, error: { code: -32601, message: `${req.method} is only available in development mode (openledger up --development)` } };
    }
    if (isDepositTransaction(req) && !options.development) {
      return { jsonrpc: '2.0', id: req.id ?? null, error: { code: -32601, message: 'deposit transactions (type 0x7e: unsigned, they mint the native coin) come only from the L1 bridge\'s relay, in development mode (openledger devnet)' } };
    }
    if (JOURNALED.has(req.method)) return handleWrite(req);
    if (isReadOnly(req.method)) return postJsonRpc(anvil.url, req);
    return {
      jsonrpc: '2.0',
      id: req.id ?? null,
      error: { code: -32601, message: `${req.method} is not available on the persistent embedded chain` },
    };
  };

  const server: FastifyInstance = Fastify({ bodyLimit: 16 * 1024 * 1024 });
  server.post('/', async (request, reply) => {
    if (!isAllowedHost(request.host, options.allowedHosts ?? DEFAULT_ALLOWED_HOSTS)) {
      return reply.status(403).send({ jsonrpc: '2.0', id: null, error: { code: -32600, message: `this chain does not answer to the host ${JSON.stringify(request.host)}` } });
    }
    const body = request.body as JsonRpcRequest | JsonRpcRequest[];
    if (Array.isArray(body)) {
      const out: JsonRpcResponse[] = [];
      for (const r of body) out.push(await handle(r));
      return out;
    }
    return handle(body);
  });
  const host = options.host ?? '127.0.0.1';
  let address: string;
  try {
    address = await server.listen({ port: options.port ?? 8545, host });
  } catch (err) {
    journal.close();
    await anvil.stop();
    throw err;
  }

  let stopped = false;
  return {
    url: address,
    chainId,
    mnemonic,
    replayed,
    nativeOpen,
    snapshot: () => serialize(writeSnapshot),
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await serialize(writeSnapshot);
      journal.close();
      await anvil.stop();
      unlinkSync(join(dir, 'anvil.pid'));
    },
  };
}

async function replay(url: string, entry: SequencedEntry): Promise<void> {
  if (entry.firstTimestamp) await callJsonRpc(url, 'evm_setNextBlockTimestamp', [entry.firstTimestamp]);
  const res = await postJsonRpc(url, { jsonrpc: '2.0', id: entry.seq, method: entry.method, params: entry.params });
  await waitMined(url, entry.method, res);
  if (entry.blockHash) {
    const block = await callJsonRpc<Block>(url, 'eth_getBlockByNumber', ['latest', false]);
    if (block.hash !== entry.blockHash || Number(block.number) !== entry.blockAfter) {
      throw new JournalReplayError(
        `replaying journal entry ${entry.seq} (${entry.method}) gave block ${Number(block.number)} ${block.hash}, ` +
          `but block ${entry.blockAfter} ${entry.blockHash} was recorded${res.error ? `; the call failed: ${res.error.message}` : ''}`,
      );
    }
  }
}

/**
 * Anvil answers a transaction with its hash as soon as the transaction is in its pool; automine
 * then mines it. Waits for the receipt so that the block it lands in is known.
 */
async function waitMined(url: string, method: string, res: JsonRpcResponse): Promise<void> {
  if (res.error || (method !== 'eth_sendRawTransaction' && method !== 'eth_sendTransaction')) return;
  const deadline = Date.now() + 30_000;
  while (!(await callJsonRpc<unknown>(url, 'eth_getTransactionReceipt', [res.result]))) {
    if (Date.now() > deadline) throw new Error(`transaction ${String(res.result)} was not mined within 30 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The genesis block's timestamp, fixed on first start so that every start has the same genesis. */
function loadOrCreateGenesisTimestamp(path: string): number {
  if (existsSync(path)) return Number(readFileSync(path, 'utf8'));
  const ts = Math.floor(Date.now() / 1000);
  writeFileSync(path, `${ts}\n`);
  return ts;
}

/**
 * The chain's genesis predeploys: what its data directory recorded, or for a new one (no record, no
 * state yet) those of {@link genesisPredeploys}, recorded now. A chain created before predeploys
 * has none (its blocks were mined without them). A genesis cannot change afterwards.
 */
function loadOrCreateGenesisPredeploys(path: string, nativeOpen: boolean, l2: boolean, log: (message: string) => void): PredeployName[] {
  if (existsSync(path)) {
    const recorded = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (!Array.isArray(recorded) || !recorded.every((n) => typeof n === 'string' && Object.hasOwn(PREDEPLOYS, n))) throw new ChainStartError(`${path}: not a list of predeploys (${Object.keys(PREDEPLOYS).join(', ')})`);
    const names = recorded as PredeployName[];
    if (names.includes('WOPEN') !== nativeOpen) log(`chain: OPEN ${names.includes('WOPEN') ? 'is' : 'is not'} this chain's native coin, as recorded when it was created (${path}); use a new data directory to change it`);
    return names;
  }
  const dir = dirname(path);
  const existing = existsSync(join(dir, 'snapshot.json')) || existsSync(join(dir, 'journal.jsonl'));
  if (existing && nativeOpen) log('chain: this chain was created before OPEN could be its native coin: it stays an ERC-20 here; use a new data directory for native OPEN');
  const names = existing || !l2 ? [] : genesisPredeploys(nativeOpen);
  writeFileSync(path, `${JSON.stringify(names)}\n`);
  return names;
}

function loadOrCreateMnemonic(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const mnemonic = generateMnemonic(english, 128);
  writeFileSync(path, `${mnemonic}\n`, { mode: 0o600 });
  return mnemonic;
}

/** Stops an anvil left running by a previous process that was killed before it could stop it. */
function stopOrphan(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes('anvil')) process.kill(pid, 'SIGKILL');
  } catch {
    // not running (or no /proc): nothing to stop
  }
  unlinkSync(pidFile);
}
