import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { nonceManager, type Account } from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { buildApi } from '../api/server.ts';
import { connectChain, type ChainClients } from '../chain/clients.ts';
import { defaultProtocolParams, deployProtocol, developmentProtocolParams } from '../chain/deploy.ts';
import { startEmbeddedChain, type EmbeddedChain } from '../chain/embedded-chain.ts';
import { createIndexer, type Indexer } from '../chain/indexer.ts';
import { indexedContracts, protocolContracts, type ProtocolAddresses } from '../chain/protocol.ts';
import type { NodeContext } from '../store/node-context.ts';
import { createDatanetWorker } from '../datanet/worker.ts';
import { createFactoryWorker } from '../factory/factory-worker.ts';
import { mirrorPublishedModels } from '../factory/mirror-model.ts';
import { createModelLoader, storeModelSource } from '../attribution/model-loader.ts';
import { createBackendFor } from '../model/create-backend-for.ts';
import { createEngine } from '../serve/create-engine.ts';
import { createEscrowMeter } from '../settlement/meter.ts';
import { startSettlementWorker } from '../settlement/settlement-worker.ts';
import { watchEpochs } from '../settlement/watchtower.ts';
import { publishOperatorRecord } from '../settlement/operator-record.ts';
import { storeOperatorMetadata } from '../settlement/operator-metadata.ts';
import { joinProtocol, recordedProtocol } from '../chain/join-protocol.ts';
import { joinSource } from './join-source.ts';
import { listedEndpoints } from '../chain/operator-records.ts';
import { stakeOperator } from '../settlement/stake-operator.ts';
import { createAdmission } from '../inference/admission.ts';
import { shippedBaseModel } from '../factory/shipped-base-model.ts';
import type { Config } from '../config.ts';
import { openBlobStore } from '../store/blobs.ts';
import { chainEventSink } from '../store/chain-events.ts';
import { datanetProjection } from '../datanet/chain-projection.ts';
import { modelProjection } from '../factory/chain-projection.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { deploymentRecorder } from '../store/deployment-steps.ts';
import { migrate } from '../store/migrate.ts';
import { pruneRequestNonces } from '../store/request-nonces.ts';
import { pruneAnsweredRequests } from '../inference/answered-requests.ts';
import { pruneUnfinishedCalls } from '../settlement/skill-calls.ts';
import { repeat } from '../util/repeat.ts';

/** The project's version, from package.json. */
export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A running openledger node. */
export interface RunningNode {
  apiUrl: string;
  rpcUrl: string;
  chainId: number;
  embeddedChain: boolean;
  /** Whether the node joined a protocol deployed by another (--join) instead of deploying its own. */
  joined: boolean;
  account: Account;
  addresses: ProtocolAddresses;
  clients: ChainClients;
  db: Database;
  stop(): Promise<void>;
}

/**
 * Starts a node: opens and migrates the store, starts the embedded chain (or connects to
 * `config.rpcUrl`), deploys the protocol if it is not deployed yet, starts the event indexer and
 * the HTTP API. Each step reports through `progress`. `stop()` shuts them down in reverse order.
 *
 * @example
 * const node = await startNode(loadConfig({ port: 0, rpcPort: 0, dataDir: tmp }));
 * await node.stop();
 */
export async function startNode(config: Config, progress: (message: string) => void = () => {}): Promise<RunningNode> {
  const cleanup: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
    cleanup.length = 0;
  };
  try {
    progress(config.databaseUrl ? 'store: connecting to Postgres server' : `store: PGlite in ${join(config.dataDir, 'db')}`);
    const db = await openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: join(config.dataDir, 'db') });
    cleanup.push(() => db.close());
    const applied = await migrate(db);
    if (applied.length > 0) progress(`store: applied migrations ${applied.join(', ')}`);

    let chain: EmbeddedChain | undefined;
    let rpcUrl: string;
    let account: Account;
    if (config.rpcUrl) {
      rpcUrl = config.rpcUrl;
      account = privateKeyToAccount(config.deployerKey as `0x${string}`, { nonceManager });
      progress(`chain: using ${rpcUrl}`);
    } else {
      progress('chain: starting the embedded chain');
      chain = await startEmbeddedChain({
        dataDir: join(config.dataDir, 'chain'),
        host: config.rpcHost,
        port: config.rpcPort,
        chainId: config.chainId,
        development: config.development,
        nativeOpen: config.open === 'native',
        allowedHosts: config.allowedHosts,
        log: progress,
      });
      if (chain.nativeOpen) progress('chain: OPEN is the native coin (gas, stakes, deposits and bonds in OPEN; the contracts hold it as WOPEN)');
      if (config.development) progress('chain: development mode (the chain\'s accounts for the web app on this machine, mining and time travel)');
      cleanup.push(() => chain!.stop());
      rpcUrl = chain.url;
      account = mnemonicToAccount(chain.mnemonic, { nonceManager });
    }
    // the primary process sends the account's transactions and runs the workers; an extra serving
    // process of the same operator (--role serve) shares its store, serves, and sends nothing
    const primary = config.role === 'all';
    const clients = await connectChain(rpcUrl, account, { readOnly: !primary });
    const chainId = clients.chain.id;

    // a node joins the network it is pointed at (checked on chain), or one it joined before;
    // otherwise it deploys its own protocol (resuming a deployment it started); a serving process
    // uses what its primary recorded
    const recorder = deploymentRecorder(db);
    const joined = primary ? await joinProtocol(clients, recorder, config.join ? await joinSource(config.join, chainId) : undefined) : undefined;
    if (joined) progress(`network: joined the protocol whose OPEN is ${joined.openToken} (its contracts checked on chain ${chainId})`);
    const addresses = !primary ? await recordedProtocol(clients, recorder) : joined ?? (await deployProtocol(clients, (chain ? developmentProtocolParams : defaultProtocolParams)(account.address), recorder, (name, done) => {
      if (done) progress(`deploy: ${name}`);
    }));
    if (!primary) progress(`role: a serving process of operator ${account.address} (inference and reads; its primary indexes the chain, runs the workers and sends the transactions)`);

    const indexer: Indexer = createIndexer({
      client: clients.publicClient,
      chainId,
      contracts: indexedContracts(addresses),
      sink: chainEventSink(db, [datanetProjection, modelProjection]),
      confirmations: config.confirmations ?? (chain ? 0 : 2),
      onError: (err) => progress(`indexer: ${(err as Error).message}`),
    });
    if (primary) {
      await indexer.runOnce();
      indexer.start();
      cleanup.push(() => indexer.stop());
    }

    const datanets: NodeContext = {
      db,
      blobs: await openBlobStore(
        config.s3Bucket
          ? {
              s3: {
                bucket: config.s3Bucket,
                ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
                ...(config.s3Region ? { region: config.s3Region } : {}),
                ...(config.s3Prefix ? { prefix: config.s3Prefix } : {}),
              },
            }
          : { dataDir: join(config.dataDir, 'blobs') },
      ),
      clients,
      contracts: protocolContracts(clients, addresses),
    };
    progress(config.s3Bucket ? `blobs: S3 bucket ${config.s3Bucket}` : `blobs: ${join(config.dataDir, 'blobs')}`);
    const shipped = await shippedBaseModel(db);
    if (shipped) progress(`factory: base model ${shipped.name} (${shipped.parameters.toLocaleString('en')} parameters)`);
    if (primary) {
      const worker = createDatanetWorker(datanets, { log: progress });
      await worker.runOnce();
      worker.start();
      cleanup.push(() => worker.stop());
      const factory = createFactoryWorker({ ...datanets, jobsDir: join(config.dataDir, 'factory', 'jobs'), backend: config.backend }, (err) => progress(`factory: ${(err as Error).message}`));
      factory.start();
      cleanup.push(() => factory.stop());
      // the network's models: every model published on chain by another node is mirrored from the
      // peers' public blobs (checked against the hashes on chain) and served here too; the peers are
      // the configured ones and every other operator listed in the OperatorRegistry
      const peers = async () => [...new Set([...config.peers, ...(await listedEndpoints(datanets.contracts, account.address)).map((e) => e.endpoint)])];
      const mirror = repeat(() => mirrorPublishedModels(datanets, peers, progress), 15_000, (err) => progress(`network: ${(err as Error).message}`));
      mirror.start();
      cleanup.push(() => mirror.stop());
      if (config.peers.length > 0) progress(`network: peers ${config.peers.join(', ')} and the operators listed on chain`);
    }

    const backend = await createBackendFor(config.backend, { log: progress });
    progress(`engine: ${backend.name}`);
    cleanup.push(() => backend.dispose());
    const models = createModelLoader({ source: storeModelSource(db, datanets.blobs), backend, cacheDir: join(config.dataDir, 'attribution') });
    const engine = createEngine(config, { loadBase: (b) => models.base(b.id) });
    cleanup.push(() => engine.close());
    progress(`serving: ${engine.kind} engine`);
    // settlement: an embedded chain's node stakes itself as operator; paid inference is metered
    // against consumers' escrow deposits, and the epoch job settles receipts periodically
    // (a joining node from its account's own OPEN: it cannot settle or be listed otherwise)
    if (primary && (chain || joined) && (await stakeOperator(datanets.clients, datanets.contracts))) progress('settlement: staked the node as operator');
    const meter = createEscrowMeter({ db, contracts: datanets.contracts, operator: account.address });
    const apiContext = {
      ...datanets,
      models,
      engine,
      meter,
      funds: meter.funds,
      publicUrl: '',
      devMnemonic: config.development ? chain?.mnemonic : undefined,
      development: config.development && chain !== undefined,
      allowedHosts: config.allowedHosts,
      trustProxy: config.trustProxy,
      checkResponses: config.checkResponses,
      admission: createAdmission({ concurrency: config.inferenceConcurrency, queue: config.inferenceQueue }),
      rpcUrl,
      embeddedChain: chain !== undefined,
      addresses,
      version: VERSION,
      logLevel: config.logLevel,
      role: config.role,
    };
    const app: FastifyInstance = buildApi(apiContext);
    const apiUrl = await app.listen({ host: config.host, port: config.port });
    cleanup.push(() => app.close());
    // what others reach this node at (epoch inputs' URIs posted on chain): not its listen address
    const publicUrl = (config.publicUrl ?? apiUrl).replace(/\/+$/, '');
    apiContext.publicUrl = publicUrl;
    if (!primary) return { apiUrl, rpcUrl, chainId, embeddedChain: false, joined: false, account, addresses, clients, db, stop: stopAll };
    // an operator says on chain where it answers, for clients and other nodes: before the node says
    // it is up (its account sends nothing behind a client's back afterwards); a failure is reported, not fatal
    try {
      const metadataURI = await storeOperatorMetadata(datanets, { version: VERSION, engine: engine.kind });
      if ((await publishOperatorRecord(datanets, publicUrl, metadataURI)) === 'published') progress(`network: listed in the OperatorRegistry at ${publicUrl}`);
    } catch (err) {
      progress(`network: could not publish the operator record: ${(err as Error).message}`);
    }
    // used request nonces are kept until their signatures expire, answered requests' keys for a day; then deleted
    const nonces = repeat(() => Promise.all([pruneRequestNonces(db), pruneAnsweredRequests(db), pruneUnfinishedCalls(db)]), 600_000, (err) => progress(`api: pruning request nonces, keys and unfinished calls failed: ${(err as Error).message}`));
    nonces.start();
    cleanup.push(() => nonces.stop());
    const settlement = startSettlementWorker(
      { db, clients: datanets.clients, contracts: datanets.contracts, indexChain: () => indexer.runOnce(), inputsUri: (n) => `${publicUrl}/settlement/epochs/${n}/inputs` },
      { everySeconds: config.epochSeconds, log: progress },
    );
    cleanup.push(() => settlement.stop());
    // every node is a watchtower over the other operators' epochs
    if (config.watch !== 'off') {
      const watch = repeat(() => watchEpochs(datanets, { dispute: config.watch === 'dispute', log: progress }), config.watchSeconds * 1000, (err) => progress(`watchtower: ${(err as Error).message}`));
      watch.start();
      cleanup.push(() => watch.stop());
    }

    return { apiUrl, rpcUrl, chainId, embeddedChain: chain !== undefined, joined: joined !== undefined, account, addresses, clients, db, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
