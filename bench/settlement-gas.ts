/**
 * Gas of settling attributed inference fees through AttributionSettlement (one Merkle root per
 * epoch, one claim per payee) against paying every contributor of every inference with a direct
 * ERC-20 transfer. Everything is executed on a real chain (anvil, OP chain type) with the
 * protocol deployed by `startTestProtocol`; gas is summed from the receipts.
 *
 * What runs, in order, on one chain:
 *  1. setup: the operator stakes the minimum operator stake; the treasury deposits OPEN in the
 *     escrow for every consumer (`deposit(consumer, amount)`), consumers only sign;
 *  2. 1 + `repeats` epochs posted with one EIP-712 SpendAuthorization each (the first is the first
 *     epoch ever; the others are steady state, each finalizing the previous one);
 *  3. the scenario: `inferences` inferences by `consumers` consumers, each paying `contributors`
 *     contributors drawn from a pool of `pool`, plus model owners, datanet owners and stakers. One
 *     epoch is posted with every consumer's authorization (their first draw) and the root of every
 *     payee's cumulative earnings, then every payee claims once;
 *  4. the direct baseline: the first `sample` inferences paid with one ERC-20 transfer per
 *     contributor, to a fresh pool of the same size; the per-inference figure for the whole
 *     scenario is extrapolated from the measured first-time and repeat transfer means, weighted by
 *     the scenario's own numbers of first-time and repeat payments;
 *  5. steady state: a second epoch of as many inferences (repeat draws), and `sample` repeat claims.
 *
 * Usage: node bench/settlement-gas.ts [--inferences=10000] [--consumers=100] [--pool=2000]
 *          [--contributors=20] [--models=10] [--datanets=10] [--sample=200] [--repeats=5] [--seed=1]
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { encodeFunctionData, getAddress, keccak256, parseEther, slice, toBytes, type Address, type Hex } from 'viem';
import { privateKeyToAccount, type LocalAccount } from 'viem/accounts';
import { anvilBinary } from '../src/chain/anvil.ts';
import { attributionSettlementAbi, inferenceEscrowAbi, openTokenAbi } from '../src/chain/generated/index.ts';
import { callJsonRpc } from '../src/chain/json-rpc.ts';
import { signSpendAuthorization, type SpendAuthorization } from '../src/chain/spend-authorization.ts';
import { startTestProtocol, type TestProtocol } from '../src/chain/test-chain.ts';

// ------------------------------------------------------------------ options

const { values: opt } = parseArgs({
  options: {
    inferences: { type: 'string', default: '10000' },
    consumers: { type: 'string', default: '100' },
    pool: { type: 'string', default: '2000' },
    contributors: { type: 'string', default: '20' },
    models: { type: 'string', default: '10' },
    datanets: { type: 'string', default: '10' },
    sample: { type: 'string', default: '200' },
    repeats: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
  },
  allowPositionals: true,
});
const INFERENCES = Number(opt.inferences);
const CONSUMERS = Number(opt.consumers);
const POOL = Number(opt.pool);
const PER_INFERENCE = Number(opt.contributors);
const MODELS = Number(opt.models);
const DATANETS = Number(opt.datanets);
const SAMPLE = Math.min(Number(opt.sample), INFERENCES);
const REPEATS = Number(opt.repeats);
const SEED = Number(opt.seed);
if (PER_INFERENCE > POOL) throw new Error('--contributors must not exceed --pool');

// ------------------------------------------------------------------ small helpers

/** Deterministic PRNG (mulberry32), so every run settles the same scenario. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A payee's address: no key needed, claims are sent by anyone and pay the payee. */
const payeeAddress = (kind: string, i: number): Address => getAddress(slice(keccak256(toBytes(`openledger-bench:${kind}:${i}`)), 12));

const median = (xs: readonly bigint[]): bigint => {
  if (xs.length === 0) return 0n;
  const s = [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2n;
};
const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);
const min = (xs: readonly bigint[]) => xs.reduce((a, b) => (b < a ? b : a));
const max = (xs: readonly bigint[]) => xs.reduce((a, b) => (b > a ? b : a));
const fmt = (n: bigint | number) => (typeof n === 'bigint' ? n : Math.round(n)).toLocaleString('en-US');
const hexBytes = (h: Hex) => (h.length - 2) / 2;

// ------------------------------------------------------------------ chain plumbing

interface RawReceipt {
  status: Hex;
  gasUsed: Hex;
  transactionHash: Hex;
}

/** One executed transaction: its gas and its calldata size. */
interface Measured {
  gas: bigint;
  calldataBytes: number;
}

let chain: TestProtocol;
const rpc = <T>(method: string, params: unknown[] = []) => callJsonRpc<T>(chain.anvil.url, method, params);

/**
 * Signs `txs` as `account` with consecutive nonces, sends them all without waiting for receipts,
 * mines them (many to a block), then collects every receipt and fails on any revert.
 */
async function sendAll(account: LocalAccount, txs: { to: Address; data: Hex; gas: bigint }[], concurrency = 8): Promise<Measured[]> {
  if (txs.length === 0) return [];
  const chainId = Number(await rpc<Hex>('eth_chainId'));
  const first = Number(await rpc<Hex>('eth_getTransactionCount', [account.address, 'pending']));
  const gasPrice = BigInt(await rpc<Hex>('eth_gasPrice'));
  const maxFeePerGas = gasPrice * 4n + parseEther('1', 'gwei');
  const signed: Hex[] = [];
  for (const [i, tx] of txs.entries()) {
    signed.push(
      await account.signTransaction!({
        type: 'eip1559', chainId, nonce: first + i, to: tx.to, data: tx.data, gas: tx.gas, value: 0n,
        maxFeePerGas, maxPriorityFeePerGas: 1n,
      }),
    );
  }
  // Pool them all with automining off, then mine full blocks until the pool is empty. Gas does not
  // depend on sharing a block: warm/cold access and SSTORE pricing are per transaction.
  const hashes: Hex[] = new Array(signed.length);
  let next = 0;
  const sender = async () => {
    while (next < signed.length) {
      const i = next++;
      hashes[i] = await rpc<Hex>('eth_sendRawTransaction', [signed[i]]);
    }
  };
  await rpc('evm_setAutomine', [false]);
  try {
    await Promise.all(Array.from({ length: concurrency }, sender));
    for (let blocks = 0; ; blocks++) {
      const { pending, queued } = await rpc<{ pending: Hex; queued: Hex }>('txpool_status');
      if (Number(pending) + Number(queued) === 0) break;
      if (blocks > signed.length) throw new Error(`the pool does not drain: ${Number(pending)} pending, ${Number(queued)} queued`);
      await rpc('evm_mine');
    }
  } finally {
    await rpc('evm_setAutomine', [true]);
  }
  const receipts: RawReceipt[] = new Array(hashes.length);
  next = 0;
  const collector = async () => {
    while (next < hashes.length) {
      const i = next++;
      let r: RawReceipt | null = null;
      for (let tries = 0; !r; tries++) {
        r = await rpc<RawReceipt | null>('eth_getTransactionReceipt', [hashes[i]]);
        if (!r) {
          if (tries > 100) throw new Error(`transaction ${i} (${hashes[i]}) was never mined`);
          await new Promise((res) => setTimeout(res, 20));
        }
      }
      receipts[i] = r;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, collector));
  return receipts.map((r, i) => {
    if (r.status !== '0x1') throw new Error(`transaction ${i} (${r.transactionHash}) reverted`);
    return { gas: BigInt(r.gasUsed), calldataBytes: hexBytes(txs[i]!.data) };
  });
}

/** Sends one transaction as `account` (gas estimated) and measures it. */
async function sendOne(account: LocalAccount, to: Address, data: Hex): Promise<Measured> {
  const { publicClient } = await chain.clients(0);
  const gas = await publicClient.estimateGas({ account: account.address, to, data });
  const [m] = await sendAll(account, [{ to, data, gas: gas + gas / 5n }]);
  return m!;
}

// ------------------------------------------------------------------ the scenario

interface Inference {
  consumer: number;
  model: number;
  fee: bigint;
  /** Indices into the contributor pool, distinct. */
  contributors: number[];
  /** What each of them earns, in the same order. */
  shares: bigint[];
}

interface Split {
  modelOwnerBps: bigint;
  datanetOwnersBps: bigint;
  contributorsBps: bigint;
  stakersBps: bigint;
}

/**
 * `n` inferences: a random consumer calls a random model (trained on datanet `model % DATANETS`)
 * for a fee of 0.001 to 0.02 OPEN; the fee splits between the model owner, that datanet's owner,
 * the stakers and `PER_INFERENCE` distinct contributors drawn uniformly from the pool, who share
 * the contributors' part in proportion to random attribution weights.
 */
function generate(n: number, split: Split, random: () => number): Inference[] {
  const out: Inference[] = [];
  for (let k = 0; k < n; k++) {
    const fee = BigInt(1_000 + Math.floor(random() * 19_000)) * 10n ** 12n;
    const picked = new Set<number>();
    while (picked.size < PER_INFERENCE) picked.add(Math.floor(random() * POOL));
    const contributors = [...picked];
    const weights = contributors.map(() => BigInt(1 + Math.floor(random() * 1000)));
    const total = sum(weights);
    const part = (fee * split.contributorsBps) / 10_000n;
    out.push({
      consumer: Math.floor(random() * CONSUMERS),
      model: Math.floor(random() * MODELS),
      fee,
      contributors,
      shares: weights.map((w) => (part * w) / total),
    });
  }
  return out;
}

/** Adds the inferences' earnings into `earnings` (cumulative, by payee) and spend into `spend` (by consumer). */
function accrue(inferences: Inference[], split: Split, earnings: Map<Address, bigint>, spend: bigint[]) {
  const add = (a: Address, v: bigint) => earnings.set(a, (earnings.get(a) ?? 0n) + v);
  for (const inf of inferences) {
    spend[inf.consumer] = (spend[inf.consumer] ?? 0n) + inf.fee;
    add(payeeAddress('model-owner', inf.model), (inf.fee * split.modelOwnerBps) / 10_000n);
    add(payeeAddress('datanet-owner', inf.model % DATANETS), (inf.fee * split.datanetOwnersBps) / 10_000n);
    add(payeeAddress('stakers', 0), (inf.fee * split.stakersBps) / 10_000n);
    inf.contributors.forEach((c, j) => add(payeeAddress('contributor', c), inf.shares[j]!));
  }
}

type Leaf = [Address, bigint];

function buildTree(earnings: Map<Address, bigint>) {
  const leaves: Leaf[] = [...earnings.entries()].filter(([, v]) => v > 0n);
  const tree = StandardMerkleTree.of(leaves, ['address', 'uint256']);
  return { tree, leaves, total: sum(leaves.map(([, v]) => v)) };
}

// ------------------------------------------------------------------ run

const started = Date.now();
const random = rng(SEED);
chain = await startTestProtocol();
try {
  const account = (i: number) => {
    const a = chain.accounts[i];
    if (!a) throw new Error(`no dev account ${i}`);
    return a;
  };
  // Account 0 is the treasury; the others play one part each.
  const treasury = account(0);
  const operator = account(1);
  const directPayer = account(2);
  const claimer = account(3);
  const addr = chain.addresses;
  const p = await chain.as(0);
  const { publicClient } = await chain.clients(0);
  const [m, d, c, s] = await p.attributionSettlement.read.feeSplit();
  const split: Split = { modelOwnerBps: BigInt(m), datanetOwnersBps: BigInt(d), contributorsBps: BigInt(c), stakersBps: BigInt(s) };
  const chainId = await publicClient.getChainId();
  const sign = (consumer: LocalAccount, auth: SpendAuthorization) => signSpendAuthorization(consumer, { chainId, escrow: addr.inferenceEscrow }, auth);

  // --- context
  const require = createRequire(import.meta.url);
  const solcVersion = (require('solc') as { version(): string }).version();
  const anvilVersion = execFileSync(anvilBinary(), ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  const nodeInfo = await rpc<{ hardFork: string }>('anvil_nodeInfo');

  // --- the scenario (off chain)
  const scenario = generate(INFERENCES, split, random);
  const consumers = Array.from({ length: CONSUMERS }, (_, i) => privateKeyToAccount(keccak256(toBytes(`openledger-bench:consumer:${i}`))));
  const probeConsumer = privateKeyToAccount(keccak256(toBytes('openledger-bench:probe-consumer')));
  const probePayee = payeeAddress('probe', 0);

  // --- setup: operator stake, consumers' deposits (the treasury deposits for them), the direct payer's OPEN
  const stake = chain.params.minimumOperatorStake;
  const deposit = parseEther('1000');
  const directSample = scenario.slice(0, SAMPLE);
  // A little more than the sample pays, so that no transfer empties the payer's balance (a refund would skew it).
  const directNeed = sum(directSample.flatMap((inf) => inf.shares)) + parseEther('1');
  await sendAll(treasury, [
    { to: addr.openToken, data: encodeFunctionData({ abi: openTokenAbi, functionName: 'transfer', args: [operator.address, stake] }), gas: 200_000n },
    { to: addr.openToken, data: encodeFunctionData({ abi: openTokenAbi, functionName: 'transfer', args: [directPayer.address, directNeed] }), gas: 200_000n },
    { to: addr.openToken, data: encodeFunctionData({ abi: openTokenAbi, functionName: 'approve', args: [addr.inferenceEscrow, deposit * BigInt(CONSUMERS + 1)] }), gas: 200_000n },
    ...[...consumers, probeConsumer].map((cons) => ({
      to: addr.inferenceEscrow,
      data: encodeFunctionData({ abi: inferenceEscrowAbi, functionName: 'deposit', args: [cons.address, deposit] }),
      gas: 200_000n,
    })),
  ]);
  const op = await chain.as(1);
  await publicClient.waitForTransactionReceipt({ hash: await op.openToken.write.approve([addr.staking, stake]) });
  await publicClient.waitForTransactionReceipt({ hash: await op.staking.write.stake([0, 0n, stake]) });
  if (!(await p.staking.read.isActive([operator.address, 0]))) throw new Error('operator is not active');

  const now = (await publicClient.getBlock()).timestamp;
  const expiry = now + 30n * 86400n;
  let epoch = 0n;
  const inputsURI = 'ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi';
  const window = chain.params.challengeWindow;

  /** Posts the next epoch as the operator with these authorizations; returns its gas. */
  const postEpoch = async (root: Hex, total: bigint, auths: SpendAuthorization[], signatures: Hex[]) => {
    epoch += 1n;
    const data = encodeFunctionData({
      abi: attributionSettlementAbi,
      functionName: 'postEpoch',
      args: [epoch, root, total, keccak256(toBytes(`inputs of epoch ${epoch}`)), inputsURI, auths.map((auth, i) => ({ auth, signature: signatures[i]!, drawTo: auth.cumulativeAmount }))],
    });
    return sendOne(operator, addr.attributionSettlement, data);
  };

  // --- postEpoch with 1 authorization: a first epoch ever, then REPEATS steady-state epochs (each finalizes the previous)
  const onePost: Measured[] = [];
  let probeCumulative = 0n;
  for (let r = 0; r <= REPEATS; r++) {
    probeCumulative += parseEther('0.5');
    const auth: SpendAuthorization = { consumer: probeConsumer.address, operator: operator.address, cumulativeAmount: probeCumulative, nonce: BigInt(r + 1), expiry };
    const { tree } = buildTree(new Map([[probePayee, probeCumulative]]));
    if (r > 0) await chain.increaseTime(window + 1n);
    onePost.push(await postEpoch(tree.root as Hex, probeCumulative, [auth], [await sign(probeConsumer, auth)]));
  }
  const firstEverPost = onePost[0]!;
  const steadyOnePost = onePost.slice(1);

  // --- the scenario's epoch: C authorizations (each consumer's first draw), root of every payee's cumulative earnings
  const earnings = new Map<Address, bigint>([[probePayee, probeCumulative]]);
  const spend: bigint[] = new Array(CONSUMERS).fill(0n);
  accrue(scenario, split, earnings, spend);
  const first = buildTree(earnings);
  const signAll = async (nonce: bigint) => {
    const auths: SpendAuthorization[] = [];
    const sigs: Hex[] = [];
    for (const [i, cons] of consumers.entries()) {
      if (spend[i] === 0n) continue;
      const auth: SpendAuthorization = { consumer: cons.address, operator: operator.address, cumulativeAmount: spend[i]!, nonce, expiry };
      auths.push(auth);
      sigs.push(await sign(cons, auth));
    }
    return { auths, sigs };
  };
  const firstAuths = await signAll(1n);
  await chain.increaseTime(window + 1n);
  const scenarioPost = await postEpoch(first.tree.root as Hex, first.total, firstAuths.auths, firstAuths.sigs);

  // --- every payee of the scenario claims once (the first claim also finalizes the epoch)
  await chain.increaseTime(window + 1n);
  const claimTx = (tree: typeof first.tree, index: number, leaf: Leaf) => ({
    to: addr.attributionSettlement,
    data: encodeFunctionData({ abi: attributionSettlementAbi, functionName: 'claim', args: [operator.address, leaf[0], leaf[1], tree.getProof(index) as Hex[]] }),
    gas: 300_000n,
  });
  const firstClaimIdx = first.leaves.map((l, i) => [l, i] as const).filter(([l]) => l[0] !== probePayee);
  const firstClaims = await sendAll(claimer, firstClaimIdx.map(([l, i]) => claimTx(first.tree, i, l)));
  const depths = firstClaimIdx.map(([, i]) => first.tree.getProof(i).length);
  const depthMedian = median(depths.map(BigInt));
  const firstClaimGas = firstClaims.map((x) => x.gas);

  // --- direct baseline: the first SAMPLE inferences, each contributor paid with its own ERC-20 transfer,
  //     to a fresh pool of the same size (so a recipient's first transfer is cold, as in the scenario)
  const directTxs: { to: Address; data: Hex; gas: bigint; cold: boolean }[] = [];
  const seen = new Set<number>();
  for (const inf of directSample) {
    inf.contributors.forEach((cIdx, j) => {
      directTxs.push({
        to: addr.openToken,
        data: encodeFunctionData({ abi: openTokenAbi, functionName: 'transfer', args: [payeeAddress('direct-contributor', cIdx), inf.shares[j]!] }),
        gas: 200_000n,
        cold: !seen.has(cIdx),
      });
      seen.add(cIdx);
    });
  }
  const direct = await sendAll(directPayer, directTxs);
  const directCold = direct.filter((_, i) => directTxs[i]!.cold).map((x) => x.gas);
  const directWarm = direct.filter((_, i) => !directTxs[i]!.cold).map((x) => x.gas);
  const meanOf = (xs: bigint[]) => (xs.length ? Number(sum(xs)) / xs.length : 0);
  const distinctContributors = new Set(scenario.flatMap((inf) => inf.contributors)).size;
  const transfersTotal = INFERENCES * PER_INFERENCE;

  // --- steady state: a second epoch of as many inferences by the same consumers (repeat draws), and a sample of repeat claims
  const second = generate(INFERENCES, split, random);
  const before = new Map(earnings);
  accrue(second, split, earnings, spend);
  const next = buildTree(earnings);
  const secondAuths = await signAll(2n);
  const steadyPost = await postEpoch(next.tree.root as Hex, next.total, secondAuths.auths, secondAuths.sigs);
  await chain.increaseTime(window + 1n);
  const grew = next.leaves.map((l, i) => [l, i] as const).filter(([l]) => l[0] !== probePayee && l[1] > (before.get(l[0]) ?? 0n));
  const repeatSample: (readonly [Leaf, number])[] = [];
  const pick = rng(SEED + 1);
  const taken = new Set<number>();
  while (repeatSample.length < Math.min(SAMPLE, grew.length)) {
    const k = Math.floor(pick() * grew.length);
    if (taken.has(k)) continue;
    taken.add(k);
    repeatSample.push(grew[k]!);
  }
  // The first claim of the epoch finalizes it; keep it out of the repeat-claim sample.
  const [finalizing, ...repeats] = await sendAll(claimer, repeatSample.map(([l, i]) => claimTx(next.tree, i, l)));
  const repeatClaimGas = repeats.map((x) => x.gas);

  // ------------------------------------------------------------------ report

  const settledGas = scenarioPost.gas + sum(firstClaimGas);
  const settledBytes = scenarioPost.calldataBytes + firstClaims.reduce((a, x) => a + x.calldataBytes, 0);
  const settledPerInference = Number(settledGas) / INFERENCES;
  const coldMean = meanOf(directCold);
  const warmMean = meanOf(directWarm);
  const sampleMean = meanOf(direct.map((x) => x.gas));
  const coldInScenario = distinctContributors;
  const directPerInference = (coldInScenario * coldMean + (transfersTotal - coldInScenario) * warmMean) / INFERENCES;
  const directNaivePerInference = sampleMean * PER_INFERENCE;
  const directBytesPerInference = (direct.reduce((a, x) => a + x.calldataBytes, 0) / direct.length) * PER_INFERENCE;
  const steadySettled = (Number(steadyPost.gas) + grew.length * Number(median(repeatClaimGas))) / INFERENCES;
  const steadyDirect = warmMean * PER_INFERENCE;

  const rows: [string, string, string, string, string][] = [];
  const row = (what: string, xs: bigint[]) =>
    rows.push([what, fmt(xs.length), fmt(median(xs)), fmt(min(xs)), fmt(max(xs))]);
  row('postEpoch, 1 authorization (first epoch ever)', [firstEverPost.gas]);
  row('postEpoch, 1 authorization (steady state)', steadyOnePost.map((x) => x.gas));
  row(`postEpoch, ${firstAuths.auths.length} authorizations (first draws)`, [scenarioPost.gas]);
  row(`postEpoch, ${secondAuths.auths.length} authorizations (repeat draws)`, [steadyPost.gas]);
  row(`claim, payee's first (proof depth ${min(depths.map(BigInt))}-${max(depths.map(BigInt))}, median ${depthMedian})`, firstClaimGas);
  row('claim, repeat (payee claimed before)', repeatClaimGas);
  row('ERC-20 transfer, first-time recipient', directCold);
  row('ERC-20 transfer, repeat recipient', directWarm);
  const widths = [0, 1, 2, 3, 4].map((k) => Math.max(...rows.map((r) => r[k]!.length), ['measurement', 'n', 'median gas', 'min', 'max'][k]!.length));
  const line = (r: string[]) => r.map((cell, k) => (k === 0 ? cell.padEnd(widths[k]!) : cell.padStart(widths[k]!))).join('  ');

  const onePostMedian = Number(median(steadyOnePost.map((x) => x.gas)));
  const perAuth = (Number(scenarioPost.gas) - onePostMedian) / Math.max(1, firstAuths.auths.length - 1);
  const perRepeatAuth = (Number(steadyPost.gas) - onePostMedian) / Math.max(1, secondAuths.auths.length - 1);
  const out: string[] = [];
  out.push('# settlement-gas: epoch settlement vs direct ERC-20 transfers');
  out.push('');
  out.push(`context: solc ${solcVersion}, optimizer on, runs 200, evm cancun; ${anvilVersion} (--optimism: chain type OP, hardfork ${nodeInfo.hardFork}); gas = receipts' gasUsed (L2 execution; the L1 data fee is not included)`);
  out.push(
    `scenario: ${fmt(INFERENCES)} inferences by ${fmt(CONSUMERS)} consumers, each paying ${PER_INFERENCE} contributors drawn from a pool of ${fmt(POOL)}, ` +
      `plus the model owner (${MODELS} models), the datanet owner (${DATANETS} datanets) and the stakers; fee 0.001-0.02 OPEN, split ${m}/${d}/${c}/${s} bps; seed ${SEED}`,
  );
  out.push(`tree: ${fmt(first.leaves.length)} payees (${fmt(distinctContributors)} distinct contributors), proof depth median ${depthMedian}`);
  out.push('');
  out.push(line(['measurement', 'n', 'median gas', 'min', 'max']));
  out.push(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) out.push(line(r));
  out.push('');
  out.push(`marginal gas per authorization drawn in postEpoch: ~${fmt(perAuth)} (consumer's first draw), ~${fmt(perRepeatAuth)} (repeat draw)`);
  out.push('');
  out.push(`## amortised per inference (${fmt(INFERENCES)} inferences x ${PER_INFERENCE} contributors)`);
  out.push('');
  out.push(
    `settled (executed): postEpoch with ${firstAuths.auths.length} authorizations ${fmt(scenarioPost.gas)} + ${fmt(firstClaims.length)} claims ${fmt(sum(firstClaimGas))} ` +
      `= ${fmt(settledGas)} gas -> ${fmt(settledPerInference)} gas per inference (${fmt(settledBytes / INFERENCES)} calldata bytes per inference)`,
  );
  out.push(
    `direct (extrapolated from an executed sample of ${fmt(direct.length)} transfers = ${fmt(SAMPLE)} inferences x ${PER_INFERENCE}): ` +
      `${fmt(coldInScenario)} first-time x ${fmt(coldMean)} + ${fmt(transfersTotal - coldInScenario)} repeat x ${fmt(warmMean)} ` +
      `-> ${fmt(directPerInference)} gas per inference (${fmt(directBytesPerInference)} calldata bytes per inference)`,
  );
  out.push(
    `  (the sample's own mix, ${fmt(directCold.length)} first-time of ${fmt(direct.length)}, averages ${fmt(sampleMean)} per transfer -> ${fmt(directNaivePerInference)} per inference; ` +
      `the full scenario has only ${fmt(coldInScenario)} first-time transfers of ${fmt(transfersTotal)}, hence the reweighting)`,
  );
  out.push('');
  out.push(`ratio direct / settled = ${(directPerInference / settledPerInference).toFixed(1)}x`);
  out.push('');
  out.push(
    `steady state (extrapolated: a 2nd epoch's postEpoch ${fmt(steadyPost.gas)} executed + ${fmt(grew.length)} payees x median repeat claim ${fmt(median(repeatClaimGas))} from ${fmt(repeatClaimGas.length)} executed; ` +
      `direct = ${PER_INFERENCE} x repeat-recipient transfer): settled ${fmt(steadySettled)}, direct ${fmt(steadyDirect)} gas per inference, ratio ${(steadyDirect / steadySettled).toFixed(1)}x`,
  );
  out.push(
    `notes: direct pays only the ${PER_INFERENCE} contributors, one transaction per transfer (no batching contract); settled also pays ` +
      `the model owners, datanet owners and stakers (${first.leaves.length - 1 - distinctContributors} more leaves and claims). ` +
      `The epoch's finalization happens in its first claim: in the executed total for the 1st epoch, left out of the 2nd epoch's median (${fmt(finalizing!.gas)} gas).`,
  );
  out.push(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(out.join('\n'));
} finally {
  await chain.stop();
}
