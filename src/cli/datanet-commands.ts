import { Command, InvalidArgumentError, Option } from 'commander';
import { formatEther, isAddress, type Hex } from 'viem';
import { routes, type RouteOutput } from '../api/contract/index.ts';
import { callRoute, chainFor, CliError, consentTarget, signingAccount, uploadFile, type NodeOptions } from './api-client.ts';
import { apiOption, nodeOptions, openArg, readJson } from './options.ts';
import { StakingRole } from '../chain/staking-role.ts';
import { openBalanceOf, payOpen, sendOpen } from '../chain/open-payment.ts';
import { altDaHttpBackend } from '../datanet/da/alt-da-http.ts';
import { challengeIfUnavailable, checkBatchAvailability, isBatchVoided } from '../datanet/da/challenger.ts';
import { signConsent } from '../datanet/consent.ts';
import { contentHashOf } from '../datanet/contribution-id.ts';
import type { ContributionRecord, DatanetRules } from '../datanet/datanet-types.ts';
import type { IntakeFormat } from '../datanet/intake/types.ts';

function idArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a datanet id (1, 2, …)');
  return n;
}

function contributionArg(value: string): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError('must be a contribution id (0x + 64 hex digits)');
  return value;
}

/**
 * Connects to the node's chain as the signing account, with the protocol's contracts, after
 * checking that the account holds `amount` OPEN.
 */
async function spendingOpen(o: NodeOptions, amount: bigint) {
  const account = signingAccount(o);
  const { clients, contracts: p } = await chainFor(o.api, account);
  const balance = await openBalanceOf({ contracts: p, publicClient: clients.publicClient }, account.address);
  if (balance < amount) throw new CliError(`${account.address} has ${formatEther(balance)} OPEN, less than ${formatEther(amount)}`);
  return { account, clients, p };
}

/** A datanet as the API sends it. */
type Datanet = RouteOutput<typeof routes.getDatanet>;

function printDatanet(d: Datanet): void {
  console.log(`datanet ${d.id}  ${d.name}  (${d.curation} curation, licence ${d.licence})`);
  if (d.description) console.log(`  ${d.description}`);
  console.log(`  owner     ${d.owner}`);
  console.log(`  stake     ${formatEther(BigInt(d.contributionStake))} OPEN per contributor`);
  if (d.curators.length) console.log(`  curators  ${d.curators.join(', ')}`);
}

/** `openledger datanet …`, `contribute`, `curate`, `snapshot`, `proof`. */
export function datanetCommands(program: Command, urlArg: (v: string) => string): void {
  const datanet = program.command('datanet').description('create, list and show datanets; bond a contributor stake');

  nodeOptions(datanet.command('create').description('create a datanet (signed by its owner) and register it on chain'), urlArg)
    .requiredOption('--name <name>', 'lowercase name, e.g. medical-qa')
    .requiredOption('--licence <licence>', 'licence of the data, e.g. CC-BY-4.0')
    .option('--description <text>', 'what the datanet is for', '')
    .option('--schema <file>', 'JSON Schema every record must match (omit for free text)')
    .addOption(new Option('--stake <OPEN>', 'stake a contributor must bond').argParser(openArg).default(0n, '0'))
    .option('--curator <address...>', 'curators besides the owner')
    .option('--manual', 'records wait for a curator instead of being accepted when valid')
    .option('--threshold <jaccard>', 'near-duplicate similarity threshold', '0.8')
    .option('--min-chars <n>', 'fewest characters per record')
    .option('--max-chars <n>', 'most characters per record')
    .option('--forbid <regex...>', 'patterns no record may match')
    .action(async (o: NodeOptions & { name: string; licence: string; description: string; schema?: string; stake: bigint; curator?: string[];
      manual?: boolean; threshold: string; minChars?: string; maxChars?: string; forbid?: string[] }) => {
      const rules: DatanetRules = {};
      if (o.minChars !== undefined) rules.minChars = Number(o.minChars);
      if (o.maxChars !== undefined) rules.maxChars = Number(o.maxChars);
      if (o.forbid) rules.forbiddenPatterns = o.forbid;
      const body = {
        name: o.name,
        description: o.description,
        licence: o.licence,
        ...(o.schema ? { recordSchema: readJson(o.schema, 'the record schema') as Record<string, unknown> } : {}),
        contributionStake: o.stake.toString(),
        curators: o.curator ?? [],
        curation: o.manual ? ('manual' as const) : ('auto' as const),
        nearDuplicateThreshold: Number(o.threshold),
        rules,
      };
      const d = await callRoute(o.api, routes.createDatanet, { body }, { signer: signingAccount(o) });
      printDatanet(d);
    });

  datanet
    .command('list')
    .description('list datanets, newest first')
    .addOption(apiOption(urlArg))
    .option('--search <words>', 'find in names and descriptions')
    .option('--owner <address>', 'only this owner’s')
    .option('--limit <n>', 'how many', '50')
    .action(async (o: { api: string; search?: string; owner?: string; limit: string }) => {
      const { datanets } = await callRoute(o.api, routes.listDatanets, { query: { limit: o.limit, ...(o.search ? { q: o.search } : {}), ...(o.owner ? { owner: o.owner } : {}) } });
      if (datanets.length === 0) console.log('no datanets');
      for (const d of datanets) console.log(`${String(d.id).padStart(4)}  ${d.name.padEnd(24)} ${d.curation.padEnd(6)} ${d.licence}`);
    });

  datanet
    .command('show')
    .description('show a datanet')
    .argument('<id>', 'datanet id', idArg)
    .addOption(apiOption(urlArg))
    .action(async (id: number, o: { api: string }) => printDatanet(await callRoute(o.api, routes.getDatanet, { params: { id } })));

  nodeOptions(datanet.command('availability').description("fetch every anchored batch of a datanet through a DA server (Alt-DA API: the node's /altda by default) and check it against the chain; --challenge bonds a DA challenge of each batch that cannot be had"), urlArg)
    .argument('<id>', 'datanet id', idArg)
    .option('--da <url>', "Alt-DA server to fetch from (default: the node's own, <api>/altda; an EigenDA proxy or op-alt-da server works)")
    .option('--challenge', 'bond a challenge (DataAvailabilityChallenge) of each unavailable batch, from your account')
    .action(async (id: number, o: NodeOptions & { da?: string; challenge?: boolean }) => {
      const account = signingAccount(o);
      const { clients, contracts } = await chainFor(o.api, account);
      const da = altDaHttpBackend(o.da ?? `${o.api.replace(/\/+$/, '')}/altda`);
      const deps = { registry: contracts.datanetRegistry, challenges: contracts.dataAvailabilityChallenge, publicClient: clients.publicClient };
      const { batchCount } = await contracts.datanetRegistry.read.getDatanet([BigInt(id)]);
      const wait = (hash: Hex) => clients.publicClient.waitForTransactionReceipt({ hash });
      let unavailable = 0;
      for (let b = 0n; b < BigInt(batchCount); b++) {
        const voided = await isBatchVoided(contracts.dataAvailabilityChallenge, BigInt(id), b);
        const a = await checkBatchAvailability(contracts.datanetRegistry, da, BigInt(id), b);
        const status = voided ? 'voided (a DA challenge went unanswered: its root no longer counts)' : a.status === 'available' ? `available: ${a.batch.records.length} records` : `${a.status}: ${a.error.message}`;
        console.log(`batch ${b}: ${status}`);
        if (a.status !== 'unavailable' || voided) continue;
        unavailable++;
        if (!o.challenge) continue;
        const bond = await contracts.dataAvailabilityChallenge.read.bondSize();
        const held = await contracts.dataAvailabilityChallenge.read.balances([account.address]);
        if (held < bond) await wait(await contracts.dataAvailabilityChallenge.write.deposit([bond - held], await payOpen(contracts, contracts.dataAvailabilityChallenge.address, bond - held, wait)));
        const r = await challengeIfUnavailable(deps, da, BigInt(id), b);
        console.log(r.challengeTx ? `  challenged (tx ${r.challengeTx}), bonding ${formatEther(bond)} OPEN: the submitter must publish it within the resolve window` : '  already challenged');
      }
      if (unavailable > 0 && !o.challenge) console.log(`${unavailable} batch(es) unavailable: --challenge bonds a DA challenge of each`);
    });

  nodeOptions(datanet.command('stake').description("bond OPEN as a contributor of a datanet (an on-chain transaction from your account)"), urlArg)
    .argument('<id>', 'datanet id', idArg)
    .argument('<amount>', 'OPEN to bond', openArg)
    .action(async (id: number, amount: bigint, o: NodeOptions) => {
      const { account, clients, p } = await spendingOpen(o, amount);
      // a contributor stake is a Staking position: role Contributor, scope the datanet
      const wait = (hash: Hex) => clients.publicClient.waitForTransactionReceipt({ hash });
      await wait(await p.staking.write.stake([StakingRole.Contributor, BigInt(id), amount], await payOpen(p, p.staking.address, amount, wait)));
      const s = await p.staking.read.positionOf([account.address, StakingRole.Contributor, BigInt(id)]);
      console.log(`${account.address} has ${formatEther(s.bonded)} OPEN bonded in datanet ${id}`);
    });

  nodeOptions(program.command('transfer').description('send OPEN from your account (an on-chain transaction)'), urlArg)
    .argument('<to>', 'recipient address')
    .argument('<amount>', 'OPEN to send', openArg)
    .action(async (to: string, amount: bigint, o: NodeOptions) => {
      if (!isAddress(to)) throw new CliError(`${to} is not an address`);
      const { clients, p } = await spendingOpen(o, amount);
      await clients.publicClient.waitForTransactionReceipt({ hash: await sendOpen({ contracts: p, walletClient: clients.walletClient }, to, amount) });
      console.log(`sent ${formatEther(amount)} OPEN to ${to}`);
    });

  nodeOptions(program.command('contribute').description('contribute records to a datanet (signed by the contributor): a file, or records on the command line'), urlArg)
    .argument('<datanet>', 'datanet id', idArg)
    .argument('[file]', 'a JSONL, CSV, TSV, text or Parquet file of records')
    .option('--format <format>', 'the file’s format when its name does not say (jsonl, csv, tsv, text, parquet)')
    .option('--record <json...>', 'a record as JSON (an object, or a "string" for text)')
    .option('--text <text...>', 'a text record')
    .action(async (id: number, file: string | undefined, o: NodeOptions & { format?: string; record?: string[]; text?: string[] }) => {
      if (file) {
        console.log(`uploading ${file}…`);
        const started = Date.now();
        const res = await uploadFile(o.api, id, file, signingAccount(o), o.format as IntakeFormat | undefined);
        const u = res.upload;
        for (const r of res.rejections.slice(0, 50)) console.log(r.status === 'rejected' ? `#${r.index} rejected: ${r.reason} (${r.detail})` : `#${r.index} ${r.status}`);
        if (res.rejections.length > 50) console.log(`… ${u.rejected - 50} more: GET /uploads/${u.id}/records?status=rejected`);
        if (u.status === 'failed') throw new CliError(`upload ${u.id} failed: ${u.error}`);
        console.log(`upload ${u.id}: ${u.records} records (${(u.bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s — ${u.accepted} accepted, ${u.pending} pending, ${u.rejected} rejected`);
        return;
      }
      const records: unknown[] = [...(o.text ?? [])];
      for (const r of o.record ?? []) {
        try {
          records.push(JSON.parse(r));
        } catch {
          throw new CliError(`--record ${r.slice(0, 40)}: not JSON`);
        }
      }
      if (records.length === 0) throw new CliError('nothing to contribute: pass --record or --text');
      const account = signingAccount(o);
      const consent = await signConsent(account, { ...(await consentTarget(o.api)), datanetId: id, contentHashes: records.map((r) => contentHashOf(r as ContributionRecord)) });
      const res = await callRoute(o.api, routes.contribute, { params: { id }, body: { records: records as ContributionRecord[], consent } }, { signer: account });
      for (const r of res.results) {
        console.log(r.status === 'rejected' ? `#${r.index} rejected: ${r.reason} (${r.detail})` : `#${r.index} ${r.status} ${r.id}`);
      }
      console.log(`${res.accepted} accepted, ${res.pending} pending, ${res.rejected} rejected`);
    });

  nodeOptions(program.command('curate').description('approve or reject a pending contribution (signed by a curator)'), urlArg)
    .argument('<datanet>', 'datanet id', idArg)
    .argument('<contribution>', 'contribution id', contributionArg)
    .option('--approve', 'accept it')
    .option('--reject <reason>', 'reject it, saying why')
    .option('--spam', 'the rejection is for spam: slash the contributor’s stake')
    .action(async (id: number, contribution: string, o: NodeOptions & { approve?: boolean; reject?: string; spam?: boolean }) => {
      if (Boolean(o.approve) === Boolean(o.reject)) throw new CliError('pass exactly one of --approve or --reject <reason>');
      const body = o.approve ? { approve: true as const } : { approve: false as const, reason: o.reject!, spam: Boolean(o.spam) };
      const c = await callRoute(o.api, routes.decideContribution, { params: { id, contribution }, body }, { signer: signingAccount(o) });
      console.log(`${c.id} ${c.status}${o.spam ? ' (stake slashed)' : ''}`);
    });

  nodeOptions(program.command('snapshot').description('freeze a datanet’s accepted contributions into a snapshot recorded on chain'), urlArg)
    .argument('<datanet>', 'datanet id', idArg)
    .action(async (id: number, o: NodeOptions) => {
      const s = await callRoute(o.api, routes.createSnapshot, { params: { id } }, { signer: signingAccount(o) });
      console.log(`snapshot ${s.id}: ${s.count} contributions, root ${s.root}, index ${s.snapshotIndex} on chain (tx ${s.txHash})`);
    });

  program
    .command('proof')
    .description('the Merkle proof that a contribution is in an anchored batch')
    .argument('<contribution>', 'contribution id', contributionArg)
    .addOption(apiOption(urlArg))
    .action(async (contribution: string, o: { api: string }) => {
      console.log(JSON.stringify(await callRoute(o.api, routes.getContributionProof, { params: { id: contribution } }), null, 2));
    });
}
