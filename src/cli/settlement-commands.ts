import { Option, type Command } from 'commander';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEther, type Hex, type LocalAccount } from 'viem';
import { createModelLoader } from '../attribution/model-loader.ts';
import { createBackend } from '../model/create-backend.ts';
import { auditEpoch, disputeEpoch } from '../settlement/audit-epoch.ts';
import { recomputeAttributionWith } from '../settlement/recompute-attribution.ts';
import { apiModelSource } from './attribution-commands.ts';
import { signSpendAuthorization } from '../chain/spend-authorization.ts';
import { payOpen } from '../chain/open-payment.ts';
import { nextAuthorization } from '../settlement/next-authorization.ts';
import { routes, type RouteOutput } from '../api/contract/index.ts';
import { callRoute, chainFor, CliError, signingAccount, type NodeOptions } from './api-client.ts';
import { apiOption, nodeOptions, openArg } from './options.ts';

/** What a consumer can spend with the node, as the API sends it. */
type Funds = RouteOutput<typeof routes.getFunds>;

/** The node's chain, with contract handles signing as `account`. */
const OPEN = (wei: string | bigint) => `${formatEther(BigInt(wei))} OPEN`;

/**
 * Raises the consumer's spend authorisation for the node by `amount` over what it has spent (or its
 * current cap, if higher), signed with EIP-712, valid for `days`.
 */
async function authorize(o: NodeOptions, account: LocalAccount, amount: bigint, days: number): Promise<Funds> {
  const f = await callRoute(o.api, routes.getFunds, { params: { address: account.address } });
  const auth = nextAuthorization(f, account.address, amount, days);
  const signature = await signSpendAuthorization(account, { chainId: f.chainId, escrow: f.escrow }, auth);
  await callRoute(o.api, routes.submitAuthorization, { body: { auth: { ...auth, cumulativeAmount: auth.cumulativeAmount.toString(), nonce: auth.nonce.toString(), expiry: auth.expiry.toString() }, signature } });
  return callRoute(o.api, routes.getFunds, { params: { address: account.address } });
}

const printFunds = (f: Funds) => console.log(`deposit ${OPEN(f.deposit)}, authorised ${OPEN(f.authorized)}, spent ${OPEN(f.spent)}, available ${OPEN(f.available)}`);

/** `openledger deposit|authorize|funds|rewards|claim` and `openledger settlement epochs|run`. */
export function settlementCommands(program: Command, urlArg: (v: string) => string): void {
  const days = new Option('--days <n>', 'days the authorisation stays valid').argParser(Number).default(30);

  nodeOptions(program.command('deposit').description('deposit OPEN into the inference escrow and authorise this node to charge up to it').argument('<amount>', 'OPEN', openArg), urlArg)
    .option('--no-authorize', 'deposit only')
    .addOption(days)
    .action(async (amount: bigint, o: NodeOptions & { authorize: boolean; days: number }) => {
      const account = signingAccount(o);
      const { clients, contracts } = await chainFor(o.api, account);
      const wait = (hash: Hex) => clients.publicClient.waitForTransactionReceipt({ hash });
      await wait(await contracts.inferenceEscrow.write.deposit([account.address, amount], await payOpen(contracts, contracts.inferenceEscrow.address, amount, wait)));
      console.log(`deposited ${OPEN(amount)} into the escrow for ${account.address}`);
      if (o.authorize) printFunds(await authorize(o, account, amount, o.days));
    });

  nodeOptions(program.command('authorize').description("raise this node's spend authorisation by an amount over what you spent").argument('<amount>', 'OPEN', openArg), urlArg)
    .addOption(days)
    .action(async (amount: bigint, o: NodeOptions & { days: number }) => printFunds(await authorize(o, signingAccount(o), amount, o.days)));

  nodeOptions(program.command('funds').description('your deposit, authorisation and spend with this node'), urlArg).action(async (o: NodeOptions) => {
    printFunds(await callRoute(o.api, routes.getFunds, { params: { address: signingAccount(o).address } }));
  });

  nodeOptions(program.command('rewards').description('what you earned as model owner, datanet owner, contributor or staker, and what you can claim'), urlArg)
    .option('--address <0x…>', 'someone else’s rewards')
    .option('--why', 'also list the answers that credited your contributions, with their shares and quotes')
    .action(async (o: NodeOptions & { address?: string; why?: boolean }) => {
      const who = o.address ?? signingAccount(o).address;
      const r = await callRoute(o.api, routes.getRewards, { params: { address: who } });
      console.log(`${r.payee}: earned ${OPEN(r.earned)} (final ${OPEN(r.final)}), claimed ${OPEN(r.claimed)}, claimable ${OPEN(r.claimable)}`);
      for (const b of r.breakdown) console.log(`  ${b.role.padEnd(13)} ${OPEN(b.amount).padStart(24)}${b.modelName ? `  model ${b.modelName}` : ''}${b.datanetId ? `  datanet ${b.datanetId}` : ''}`);
      if (!o.why) return;
      const { evidence } = await callRoute(o.api, routes.getRewardEvidence, { params: { address: who } });
      for (const e of evidence) {
        console.log(`  ${(e.sharePpm / 10_000).toFixed(2).padStart(6)} %  receipt ${e.receiptId}  ${e.model}  contribution ${e.contributionId}${e.epoch ? `  epoch ${e.epoch}` : '  (not settled yet)'}`);
        for (const q of e.quotes) console.log(`           quoted ${JSON.stringify(q)}`);
      }
    });

  nodeOptions(program.command('claim').description('claim your final earnings in OPEN (one transaction, one proof)'), urlArg).action(async (o: NodeOptions) => {
    const account = signingAccount(o);
    const r = await callRoute(o.api, routes.getRewards, { params: { address: account.address } });
    if (!r.claim) return console.log(`nothing to claim (earned ${OPEN(r.earned)}, final ${OPEN(r.final)}, claimed ${OPEN(r.claimed)})`);
    const { clients, contracts } = await chainFor(o.api, account);
    await clients.publicClient.waitForTransactionReceipt({ hash: await contracts.attributionSettlement.write.claim([r.claim.operator, account.address, BigInt(r.claim.cumulativeAmount), r.claim.proof]) });
    console.log(`claimed ${OPEN(r.claimable)} (epoch ${r.claim.epoch})`);
  });

  const settlement = program.command('settlement').description('settlement epochs');
  settlement.command('epochs').addOption(apiOption(urlArg)).action(async (o: { api: string }) => {
    const { epochs } = await callRoute(o.api, routes.listEpochs, {});
    if (epochs.length === 0) return console.log('no epochs yet');
    for (const e of epochs) console.log(`epoch ${e.epoch}  ${e.status.padEnd(8)}  ${String(e.receipts).padStart(6)} receipts  cumulative ${OPEN(e.cumulativeTotal)}  root ${e.root}`);
  });
  settlement.command('watched').description("what this node's watchtower checked: other operators' epochs and what it found or disputed").addOption(apiOption(urlArg)).action(async (o: { api: string }) => {
    const { watched } = await callRoute(o.api, routes.listWatchedEpochs, {});
    if (watched.length === 0) return console.log('nothing checked yet: no other operator has posted an epoch in its challenge window');
    for (const w of watched) {
      console.log(`${w.operator} epoch ${w.epoch}  ${w.verdict}${w.bond ? ` (bond ${OPEN(w.bond)})` : ''}  ${w.checkedAt}`);
      for (const p of w.problems.slice(0, 5)) console.log(`    ${p}`);
    }
  });
  nodeOptions(settlement.command('verify').description('recompute an epoch from its receipts and check its root on chain; non-zero exit on any difference').argument('<epoch>', 'epoch number', Number), urlArg)
    .option('--attribution', 'also recompute every receipt’s attribution (downloads each model’s adapter and trace)')
    .option('--base-dir <dir>', 'the base model folder, for --attribution (default: the node’s, when it is on this machine)')
    .option('--dispute', 'on a difference, dispute the epoch on chain (bonds the dispute bond in OPEN)')
    .action(async (epoch: number, o: NodeOptions & { attribution?: boolean; baseDir?: string; dispute?: boolean }) => {
      const { clients, contracts } = await chainFor(o.api, signingAccount(o));
      const backend = o.attribution ? createBackend() : undefined;
      try {
        const audit = await auditEpoch({
          served: (n) => callRoute(o.api, routes.getEpochInputs, { params: { epoch: n } }), contracts, publicClient: clients.publicClient, epoch,
          ...(backend ? { attribution: recomputeAttributionWith(createModelLoader({ source: apiModelSource(o.api, o.baseDir), backend, cacheDir: join(tmpdir(), 'openledger-verify') })) } : {}),
        });
        if (audit.problems.length === 0) {
          console.log(`epoch ${epoch}: ${audit.evidence.inputs.receipts.length} receipts, every signature, share and cumulative amount checks out; root ${audit.evidence.chain.root}`);
          return;
        }
        for (const p of audit.problems) console.log(`  ${p}`);
        if (o.dispute) {
          const bond = await disputeEpoch({ contracts, publicClient: clients.publicClient }, audit);
          console.log(`disputed epoch ${epoch} (bond ${OPEN(bond)}); the operator's stake is frozen until an arbiter decides`);
        }
        throw new CliError(`epoch ${epoch} does not match its recomputation (${audit.problems.length} problem${audit.problems.length === 1 ? '' : 's'})`);
      } finally {
        await backend?.dispose();
      }
    });

  nodeOptions(settlement.command('run').description('run the epoch job now (the node operator only)'), urlArg).action(async (o: NodeOptions) => {
    const out = await callRoute(o.api, routes.runEpoch, {}, { signer: signingAccount(o) });
    console.log(out.kind === 'posted' ? `epoch ${out.epoch} posted: ${out.receipts} receipts, ${OPEN(out.funded)} drawn from the escrow` : `${out.kind}: ${out.reason}`);
  });
}
