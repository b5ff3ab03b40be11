#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, type ConfigInput } from '../config.ts';
import { routes } from '../api/contract/index.ts';
import { callRoute, CliError } from './api-client.ts';
import { ChainError } from '../chain/errors.ts';
import { CodedError } from '../util/coded-error.ts';
import { datanetCommands } from './datanet-commands.ts';
import { factoryCommands } from './factory-commands.ts';
import { modelCommands } from './model-commands.ts';
import { apiKeyCommands } from './api-key-commands.ts';
import { skillCommands } from './skill-commands.ts';
import { settlementCommands } from './settlement-commands.ts';
import { demoCommand } from './demo-command.ts';
import { devnetCommand } from './devnet-command.ts';
import { attributionCommands } from './attribution-commands.ts';
import { apiOption } from './options.ts';
import { startNode, VERSION } from './node.ts';

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function urlArg(value: string): string {
  try {
    return new URL(value).toString().replace(/\/$/, '');
  } catch {
    throw new InvalidArgumentError('must be a URL, e.g. http://127.0.0.1:8080');
  }
}

/** Builds the `openledger` command; exported so tests can run it in process. */
export function buildProgram(): Command {
  const program = new Command('openledger')
    .description('Payable AI, self-hosted: datanets, LoRA fine-tuning, multi-adapter serving, proof of attribution, OPEN settlement.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('up')
    .description('start a node: the embedded chain (or --rpc-url), the store, the protocol contracts, the indexer and the HTTP API')
    .addOption(new Option('--data-dir <dir>', 'where the store, the chain and the blobs live').env('OPENLEDGER_DATA_DIR'))
    .addOption(new Option('--host <host>', 'interface of the HTTP API').env('OPENLEDGER_HOST'))
    .addOption(new Option('--port <port>', 'port of the HTTP API (0 picks one)').argParser(portArg).env('OPENLEDGER_PORT'))
    .addOption(new Option('--rpc-host <host>', 'interface of the embedded chain').env('OPENLEDGER_RPC_HOST'))
    .addOption(new Option('--rpc-port <port>', 'port of the embedded chain (0 picks one)').argParser(portArg).env('OPENLEDGER_RPC_PORT'))
    .addOption(new Option('--chain-id <id>', 'chain id of the embedded chain').env('OPENLEDGER_CHAIN_ID'))
    .addOption(new Option('--rpc-url <url>', 'use this EVM JSON-RPC endpoint instead of the embedded chain').argParser(urlArg).env('OPENLEDGER_RPC_URL'))
    .addOption(new Option('--database-url <url>', 'use this Postgres server instead of the embedded PGlite').env('DATABASE_URL'))
    .addOption(new Option('--log-level <level>', 'HTTP log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).env('OPENLEDGER_LOG_LEVEL'))
    .addOption(new Option('--development', 'development powers on the embedded chain, for this machine only: its accounts for the web app, mining and time travel, anvil\'s own methods').env('OPENLEDGER_DEVELOPMENT'))
    .addOption(new Option('--open <form>', 'OPEN on a new embedded chain: native (its coin, as on OpenLedger\'s L2: gas in OPEN, the WOPEN predeploy, GOPEN votes) or erc20 (a token; gas in ETH); fixed when its data directory is created').choices(['native', 'erc20']).env('OPENLEDGER_OPEN'))
    .addOption(new Option('--allowed-hosts <names>', 'host names the API and the chain answer to besides IP literals, comma-separated (\'*\': any)').env('OPENLEDGER_ALLOWED_HOSTS'))
    .addOption(new Option('--trust-proxy <value>', 'behind a reverse proxy: true, a hop count, or the proxies\' addresses/CIDRs (comma-separated)').env('OPENLEDGER_TRUST_PROXY'))
    .addOption(new Option('--watch <mode>', 'watchtower over the other operators\' epochs: dispute a wrong one with a bond, only report it, or off').choices(['dispute', 'report', 'off']).env('OPENLEDGER_WATCH'))
    .addOption(new Option('--join <node-url|file>', 'join the network that node (or a JSON file of its contracts) is on, over --rpc-url: checks its contracts on chain, stakes the operator minimum from this node\'s account and lists it in the OperatorRegistry').env('OPENLEDGER_JOIN'))
    .addOption(new Option('--role <role>', 'all: the operator\'s primary process; serve: an extra serving process of the same operator, sharing its Postgres store (DATABASE_URL), chain and key: inference and reads only').choices(['all', 'serve']).env('OPENLEDGER_ROLE'))
    .addOption(new Option('--peers <urls>', 'other nodes\' API URLs (comma-separated): mirror and serve the models they publish, fetched by hash and checked against the chain').env('OPENLEDGER_PEERS'))
    .action(async (opts: ConfigInput) => {
      const config = loadConfig(opts);
      const started = Date.now();
      // listening before anything is printed: a signal sent as soon as the node says it is up (or
      // during start-up) stops it cleanly instead of killing it
      const signalled = new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      const node = await startNode(config, (m) => console.log(`  ${m}`));
      console.log(`\nopenledger ${VERSION} is up (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      console.log(`  API        ${node.apiUrl}   (GET /status, /chain/events, /metrics)`);
      console.log(`  chain      ${node.rpcUrl}   chain id ${node.chainId}${node.embeddedChain ? ', embedded' : ''}`);
      console.log(`  account    ${node.account.address}   (${config.role === 'serve' ? 'operator: this is one of its serving processes' : node.joined ? 'operator' : 'deployer, treasury and operator'})`);
      if (node.embeddedChain) console.log(`  mnemonic   in ${config.dataDir}/chain/mnemonic`);
      console.log(`  OPEN       ${node.addresses.openToken}`);
      console.log('Press Ctrl+C to stop.');
      console.log(`\n${await signalled}: stopping…`);
      await node.stop();
    });

  program
    .command('status')
    .description("show a running node's chain, store, indexer and contracts")
    .addOption(apiOption(urlArg))
    .option('--json', 'print the raw JSON')
    .action(async (opts: { api: string; json?: boolean }) => {
      const s = await callRoute(opts.api, routes.getStatus, {});
      if (opts.json) {
        console.log(JSON.stringify(s, null, 2));
        return;
      }
      console.log(`openledger ${s.version} at ${opts.api}`);
      console.log(`  chain     ${s.chain.id} ${s.chain.embedded ? '(embedded) ' : ''}${s.chain.rpcUrl}, block ${s.chain.blockNumber}`);
      console.log(`  store     ${s.store.kind}`);
      console.log(`  indexer   block ${s.indexer.blockNumber ?? 'none yet'}`);
      console.log(`  account   ${s.nodeAccount}`);
      for (const [name, address] of Object.entries(s.contracts)) console.log(`  ${name.padEnd(22)} ${address}`);
      const { watched } = await callRoute(opts.api, routes.listWatchedEpochs, { query: { limit: 500 } });
      const disputed = watched.filter((w) => w.verdict === 'disputed').length, wrong = watched.filter((w) => w.verdict === 'problems').length;
      console.log(`  watchtower ${watched.length} epoch${watched.length === 1 ? '' : 's'} of other operators checked${disputed ? `, ${disputed} disputed` : ''}${wrong ? `, ${wrong} wrong but not disputed` : ''} (openledger settlement watched)`);
    });

  datanetCommands(program, urlArg);
  factoryCommands(program, urlArg);
  modelCommands(program);
  attributionCommands(program, urlArg);
  apiKeyCommands(program, urlArg);
  settlementCommands(program, urlArg);
  skillCommands(program, urlArg);
  demoCommand(program, runCli);
  devnetCommand(program);
  return program;
}

/** Runs the CLI with `argv`; returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed the message
    // errors whose message is all the person needs: bad settings, refused joins, what to fix
    if (err instanceof ConfigError || err instanceof CliError || err instanceof ChainError || err instanceof CodedError) {
      console.error(`openledger: ${err.message}`);
      return 2;
    }
    console.error(`openledger: ${(err as Error).stack ?? err}`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await runCli(process.argv.slice(2));
