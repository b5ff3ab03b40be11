import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mnemonicToAccount } from 'viem/accounts';
import writeFileAtomic from 'write-file-atomic';
import { connectChain, type ChainClients } from '../clients.ts';
import { startEmbeddedChain, type EmbeddedChain } from '../embedded-chain.ts';
import { bridgeTick, type BridgeContext, type BridgeTickReport } from './bridge-service.ts';
import { deployL1, devnetL1Params, oracleStart, type L1Addresses } from './deploy-l1.ts';
import { fileRecorder } from './file-recorder.ts';
import { fileBatchCursor, postBatches, type PostedBatch } from './post-batches.ts';
import { fileCursor } from './relay-cursor.ts';
import { opArtifact } from './op-artifacts.ts';

/** The development L1's chain id; the L2 is the development profile's 31337. */
export const DEVNET_L1_CHAIN_ID = 900;
export const DEVNET_L2_CHAIN_ID = 31337;

/** Options of {@link startDevnet}. */
export interface DevnetOptions {
  /** Where both chains, the L1 deployment and the relay's cursor live. */
  dataDir: string;
  /** Ports of the L1's and the L2's JSON-RPC endpoints (0, the default, picks free ones). */
  l1Port?: number;
  l2Port?: number;
  host?: string;
  /** Milliseconds between two rounds of the bridge service (default 500); 0: no rounds (call `tick`). */
  pollMs?: number;
  /** Milliseconds between two batches of L2 blocks posted to L1 as blobs (default 10 000); 0: none (call `postBatch`). */
  batchEveryMs?: number;
  log?: (message: string) => void;
}

/** A running L1 + L2 development network. */
export interface Devnet {
  l1: EmbeddedChain;
  l2: EmbeddedChain;
  l1Addresses: L1Addresses;
  /** The service's accounts: the L1's account 0 (deployer, proposer), the L2's account 1 (it calls `burn()`). */
  l1Clients: ChainClients;
  l2Clients: ChainClients;
  /** Runs one round of the bridge service now (after any round in progress). */
  tick(): Promise<BridgeTickReport>;
  /** Posts the L2 blocks not posted yet to L1 as blobs now (after any batch in progress). */
  postBatch(): Promise<PostedBatch | undefined>;
  stop(): Promise<void>;
}

/**
 * Starts the L1 + L2 development network: an L1 (anvil, Prague, chain 900) and the L2 (anvil with
 * the OP chain type, chain 31337, OPEN as its native coin), each the embedded chain (journaled, so
 * both survive `kill -9`); the OP Stack L1 contracts with OPEN (an ERC-20 on L1) as the L2's gas
 * token, deployed once; the bridge service ({@link bridgeTick}) every `pollMs`; and the batcher
 * ({@link postBatches}, L1's account 1) every `batchEveryMs`. Writes
 * `devnet.json` (URLs, chain ids, L1 addresses) into the data directory.
 *
 * @example
 * const devnet = await startDevnet({ dataDir: '.openledger/devnet' });
 * // deposit on devnet.l1.url, use OPEN on devnet.l2.url
 * await devnet.stop();
 */
export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const log = options.log ?? (() => {});
  mkdirSync(options.dataDir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const l1 = await startEmbeddedChain({ dataDir: join(options.dataDir, 'l1'), chainId: DEVNET_L1_CHAIN_ID, optimism: false, hardfork: 'prague', development: true, port: options.l1Port ?? 0, host, log: (m) => log(`l1 ${m}`) });
  let l2: EmbeddedChain | undefined;
  try {
    l2 = await startEmbeddedChain({ dataDir: join(options.dataDir, 'l2'), chainId: DEVNET_L2_CHAIN_ID, nativeOpen: true, development: true, port: options.l2Port ?? 0, host, log: (m) => log(`l2 ${m}`) });
    const l1Clients = await connectChain(l1.url, mnemonicToAccount(l1.mnemonic), { pollingInterval: 50 });
    // the batcher signs with its own account (its own nonces: its loop runs beside the bridge's)
    const batcherClients = await connectChain(l1.url, mnemonicToAccount(l1.mnemonic, { addressIndex: 1 }), { pollingInterval: 50 });
    // account 1 on L2: account 0 is the one a node on this L2 deploys and operates with
    const l2Clients = await connectChain(l2.url, mnemonicToAccount(l2.mnemonic, { addressIndex: 1 }), { pollingInterval: 50 });
    const head = await l2Clients.publicClient.getBlock();
    const l1Addresses = await deployL1(l1Clients, { ...devnetL1Params(l1Clients.account.address, oracleStart(head)), batcher: batcherClients.account.address }, fileRecorder(join(options.dataDir, 'l1-deployment.json')), (step) => log(`l1 deploy: ${step}`));
    await writeFileAtomic(join(options.dataDir, 'devnet.json'), JSON.stringify({ l1: { url: l1.url, chainId: l1.chainId }, l2: { url: l2.url, chainId: l2.chainId }, l1Addresses }, null, 1));
    const ctx: BridgeContext = { l1: l1Clients, l2: l2Clients, l2Url: l2.url, l1Addresses, depositCursor: fileCursor(join(options.dataDir, 'deposits.cursor.json')) };

    let running: Promise<BridgeTickReport> = Promise.resolve({ deposits: 0, burnt: 0n, outputs: 0, proven: 0, finalized: 0 });
    const tick = () => (running = running.catch(() => undefined).then(() => bridgeTick(ctx)));
    const pollMs = options.pollMs ?? 500;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const loop = () => {
      tick().then(
        (r) => {
          if (r.deposits || r.outputs || r.proven || r.finalized) log(`bridge: ${r.deposits} deposits relayed, ${r.outputs} outputs proposed, ${r.proven} withdrawals proven, ${r.finalized} finalised`);
        },
        (err: unknown) => log(`bridge: ${(err as Error).message} (retrying)`),
      ).finally(() => {
        if (!stopped) timer = setTimeout(loop, pollMs);
      });
    };
    if (pollMs > 0) loop();

    const batcher = { l1: batcherClients, l2Url: l2.url, batchInbox: await batchInboxOf(l1Clients, l1Addresses), cursor: fileBatchCursor(join(options.dataDir, 'batches.cursor.json')) };
    let batching: Promise<PostedBatch | undefined> = Promise.resolve(undefined);
    const postBatch = () => (batching = batching.catch(() => undefined).then(() => postBatches(batcher)));
    const batchEveryMs = options.batchEveryMs ?? 10_000;
    let batchTimer: NodeJS.Timeout | undefined;
    const batchLoop = () => {
      postBatch().then(
        (p) => p && log(`batcher: L2 blocks ${p.fromBlock}–${p.toBlock} posted to L1 in ${p.blobVersionedHashes.length} blob(s)`),
        (err: unknown) => log(`batcher: ${(err as Error).message} (retrying)`),
      ).finally(() => {
        if (!stopped) batchTimer = setTimeout(batchLoop, batchEveryMs);
      });
    };
    if (batchEveryMs > 0) batchTimer = setTimeout(batchLoop, batchEveryMs);
    const [l1Chain, l2Chain] = [l1, l2];
    return {
      l1: l1Chain, l2: l2Chain, l1Addresses, l1Clients, l2Clients, tick, postBatch,
      async stop() {
        stopped = true;
        clearTimeout(timer);
        clearTimeout(batchTimer);
        await Promise.all([running.catch(() => undefined), batching.catch(() => undefined)]);
        await l2Chain.stop();
        await l1Chain.stop();
      },
    };
  } catch (err) {
    await l2?.stop();
    await l1.stop();
    throw err;
  }
}

/** The batch inbox SystemConfig names (where the batcher posts). */
async function batchInboxOf(l1: ChainClients, addresses: L1Addresses): Promise<`0x${string}`> {
  return (await l1.publicClient.readContract({ address: addresses.systemConfig, abi: opArtifact('SystemConfig').abi, functionName: 'batchInbox' })) as `0x${string}`;
}
