/**
 * The chain: throughput of the embedded chain's journaling JSON-RPC endpoint against the same anvil
 * spoken to directly (same run, same transactions), and the gas of an inference's settlement path
 * where OPEN is the chain's native coin (WOPEN held by the contracts, OPEN sent with the call)
 * against the ERC-20 path (approve, then call), each on its own fresh chain with the protocol
 * deployed.
 *
 * 1. throughput: `--txs` signed native transfers from one account, sent `--inflight` at a time,
 *    automine (a block per transaction, as the embedded chain runs), through (a) anvil's own port
 *    and (b) the embedded chain's endpoint (fsync'd journal entry per write); transactions/s and
 *    Mgas/s, median of `--runs`, and the ratio journaled/direct;
 * 2. gas: a consumer's escrow deposit, an operator's stake, an epoch drawing one authorisation, a
 *    payee's claim (and, native, the unwrap of WOPEN into OPEN), and the total per settled
 *    inference for a consumer who deposits once per `--per-deposit` inferences, an epoch of
 *    `--per-epoch` inferences, and payees who claim once per epoch;
 * 3. data availability of an anchored batch of `--records` contributions of `--record-bytes` each,
 *    per contribution: the bytes its payload adds, the L2 gas of `anchorBatch` (which carries the
 *    payload's hash), and where the payload lives — the node's blob store (nothing more on chain), or
 *    L1 blobs (an EIP-4844 transaction on an L1 anvil at Prague: its gas and blob gas); skipped,
 *    saying why, where the optional KZG binding is not installed.
 *
 * Usage: node bench/chain.ts [--txs=300] [--inflight=8] [--runs=3] [--per-deposit=100] [--per-epoch=100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { createPublicClient, createWalletClient, defineChain, getContract, http, keccak256, parseEther, toBytes, zeroHash, type Hash, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { startAnvil } from '../src/chain/anvil.ts';
import { startEmbeddedChain } from '../src/chain/embedded-chain.ts';
import { wrappedOpenAbi } from '../src/chain/generated/index.ts';
import { callJsonRpc } from '../src/chain/json-rpc.ts';
import { payOpen } from '../src/chain/open-payment.ts';
import { WRAPPED_OPEN_ADDRESS } from '../src/chain/profiles.ts';
import { signSpendAuthorization } from '../src/chain/spend-authorization.ts';
import { StakingRole } from '../src/chain/staking-role.ts';
import { startTestProtocol, TEST_MNEMONIC } from '../src/chain/test-chain.ts';
import { kzgUnavailable } from '../src/chain/kzg.ts';
import { keccakCommitment } from '../src/datanet/da/commitment.ts';
import { l1BlobBackend } from '../src/datanet/da/l1-blob-backend.ts';
import { encodeBatchPayload, type BatchRecord } from '../src/datanet/da/payload.ts';

const { values: opt } = parseArgs({
  options: {
    txs: { type: 'string', default: '300' },
    inflight: { type: 'string', default: '8' },
    runs: { type: 'string', default: '3' },
    'per-deposit': { type: 'string', default: '100' },
    'per-epoch': { type: 'string', default: '100' },
    records: { type: 'string', default: '1000' },
    'record-bytes': { type: 'string', default: '100' },
  },
  allowPositionals: true,
});
const TXS = Number(opt.txs);
const INFLIGHT = Number(opt.inflight);
const RUNS = Number(opt.runs);
const PER_DEPOSIT = Number(opt['per-deposit']);
const PER_EPOCH = Number(opt['per-epoch']);
const RECORDS = Number(opt.records);
const RECORD_BYTES = Number(opt['record-bytes']);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number | bigint) => Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 });

// ------------------------------------------------------------------ 1. throughput

/** Sends `TXS` signed transfers through `url`, `INFLIGHT` at a time; transactions/s and Mgas/s. */
async function throughput(url: string, chainId: number, accountIndex: number): Promise<{ tps: number; mgas: number }> {
  const account = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: accountIndex });
  const first = Number(await callJsonRpc<Hex>(url, 'eth_getTransactionCount', [account.address, 'pending']));
  const gasPrice = BigInt(await callJsonRpc<Hex>(url, 'eth_gasPrice'));
  const signed: Hex[] = [];
  for (let i = 0; i < TXS; i++) {
    signed.push(await account.signTransaction({ type: 'eip1559', chainId, nonce: first + i, to: mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 9 }).address, value: 1n, gas: 21_000n, maxFeePerGas: gasPrice * 4n + 10n ** 9n, maxPriorityFeePerGas: 1n }));
  }
  const started = performance.now();
  let next = 0;
  const hashes: Hash[] = [];
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    while (next < signed.length) {
      const i = next++;
      hashes[i] = await callJsonRpc<Hash>(url, 'eth_sendRawTransaction', [signed[i]]);
    }
  }));
  // every transaction mined (automine): the last nonce's receipt is there
  for (;;) {
    const r = await callJsonRpc<{ status: Hex } | null>(url, 'eth_getTransactionReceipt', [hashes[hashes.length - 1]]);
    if (r) break;
    await new Promise((res) => setTimeout(res, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  return { tps: TXS / seconds, mgas: (TXS * 21_000) / seconds / 1e6 };
}

async function benchThroughput(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openledger-bench-chain-'));
  // the embedded chain with the test mnemonic's accounts would need its own; it makes one, so read it
  const embedded = await startEmbeddedChain({ dataDir: dir, port: 0, development: true, snapshotEvery: 1_000_000 });
  const anvil = await startAnvil({ mnemonic: TEST_MNEMONIC });
  try {
    // fund the test mnemonic's account 1 on the embedded chain from its own first account
    const dev = mnemonicToAccount(embedded.mnemonic);
    const me = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 1 });
    const gasPrice = BigInt(await callJsonRpc<Hex>(embedded.url, 'eth_gasPrice'));
    const fund = await dev.signTransaction({ type: 'eip1559', chainId: embedded.chainId, nonce: 0, to: me.address, value: parseEther('1000'), gas: 21_000n, maxFeePerGas: gasPrice * 4n + 10n ** 9n, maxPriorityFeePerGas: 1n });
    await callJsonRpc(embedded.url, 'eth_sendRawTransaction', [fund]);
    const direct: { tps: number; mgas: number }[] = [];
    const journaled: { tps: number; mgas: number }[] = [];
    for (let r = 0; r < RUNS; r++) {
      direct.push(await throughput(anvil.url, 31337, 1));
      journaled.push(await throughput(embedded.url, embedded.chainId, 1));
    }
    const [dT, jT] = [median(direct.map((x) => x.tps)), median(journaled.map((x) => x.tps))];
    console.log(`\n1. throughput: ${TXS} signed transfers (21,000 gas), ${INFLIGHT} in flight, a block each (automine); median of ${RUNS}`);
    console.log('   endpoint                          tx/s     Mgas/s');
    console.log(`   anvil direct                  ${fmt(dT).padStart(8)} ${fmt(median(direct.map((x) => x.mgas))).padStart(10)}`);
    console.log(`   embedded (journaled, fsync)   ${fmt(jT).padStart(8)} ${fmt(median(journaled.map((x) => x.mgas))).padStart(10)}`);
    console.log(`   journaled / direct: ${(jT / dT).toFixed(2)}×`);
  } finally {
    await embedded.stop();
    await anvil.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ 2. gas per settled inference

interface PathGas {
  deposit: bigint;
  stake: bigint;
  postEpoch: bigint;
  claim: bigint;
  unwrap: bigint;
}

/** One settlement path on a fresh chain: the gas of each step, summed over its transactions. */
async function settlementPath(nativeOpen: boolean): Promise<PathGas> {
  const t = await startTestProtocol({ nativeOpen });
  try {
    const [OPERATOR, CONSUMER, PAYEE] = [1, 2, 3];
    const addr = (i: number) => t.accounts[i]!.address;
    if (!nativeOpen) {
      const treasury = await t.as(0);
      for (const i of [OPERATOR, CONSUMER]) await t.mined(treasury.openToken.write.transfer([addr(i), parseEther('5000')]));
    }
    const gas = async (hashes: Hash[]) => {
      let total = 0n;
      for (const h of hashes) total += (await t.mined(h)).gasUsed;
      return total;
    };
    /** Runs `step`, collecting every transaction it sends through `wait`. */
    const measured = async (step: (wait: (h: Hash) => Promise<unknown>) => Promise<Hash>) => {
      const sent: Hash[] = [];
      const wait = async (h: Hash) => { sent.push(h); return t.mined(h); };
      sent.push(await step(wait));
      return gas(sent);
    };
    const op = await t.as(OPERATOR);
    const consumer = await t.as(CONSUMER);
    const stakeAmount = t.params.minimumOperatorStake;
    const stake = await measured(async (wait) => op.staking.write.stake([StakingRole.Operator, 0n, stakeAmount], await payOpen(op, op.staking.address, stakeAmount, wait)));
    const amount = parseEther('100');
    const deposit = await measured(async (wait) => consumer.inferenceEscrow.write.deposit([addr(CONSUMER), amount], await payOpen(consumer, consumer.inferenceEscrow.address, amount, wait)));
    const now = (await (await t.clients(0)).publicClient.getBlock()).timestamp;
    const auth = { consumer: addr(CONSUMER), operator: addr(OPERATOR), cumulativeAmount: parseEther('10'), nonce: 1n, expiry: now + 3600n };
    const signature = await signSpendAuthorization(t.accounts[CONSUMER]!, { chainId: (await t.clients(0)).chain.id, escrow: t.addresses.inferenceEscrow }, auth);
    const tree = StandardMerkleTree.of([[addr(PAYEE), auth.cumulativeAmount], [addr(OPERATOR), 0n]], ['address', 'uint256']);
    const postEpoch = await gas([await op.attributionSettlement.write.postEpoch([1n, tree.root as Hex, auth.cumulativeAmount, zeroHash, 'ipfs://inputs', [{ auth, signature, drawTo: auth.cumulativeAmount }]])]);
    await t.increaseTime(t.params.challengeWindow + 1n);
    const payee = await t.as(PAYEE);
    const claim = await gas([await payee.attributionSettlement.write.claim([addr(OPERATOR), addr(PAYEE), auth.cumulativeAmount, tree.getProof(0) as Hex[]])]);
    let unwrap = 0n;
    if (nativeOpen) {
      const c = await t.clients(PAYEE);
      const wopen = getContract({ address: WRAPPED_OPEN_ADDRESS, abi: wrappedOpenAbi, client: { public: c.publicClient, wallet: c.walletClient } });
      unwrap = await gas([await wopen.write.withdraw([auth.cumulativeAmount])]);
    }
    return { deposit, stake, postEpoch, claim, unwrap };
  } finally {
    await t.stop();
  }
}

async function benchGas(): Promise<void> {
  const erc20 = await settlementPath(false);
  const native = await settlementPath(true);
  console.log(`\n2. gas of the settlement path: native OPEN (value sent with the call, held as WOPEN) vs OPEN as an ERC-20 (approve, then call)`);
  console.log('   step                                  erc20     native   native/erc20');
  const row = (name: string, a: bigint, b: bigint) => console.log(`   ${name.padEnd(34)} ${fmt(a).padStart(9)} ${fmt(b).padStart(10)}   ${a > 0n ? (Number(b) / Number(a)).toFixed(2) + '×' : '—'}`);
  row('escrow deposit (approve + deposit)', erc20.deposit, native.deposit);
  row('operator stake (approve + stake)', erc20.stake, native.stake);
  row('postEpoch, one authorisation', erc20.postEpoch, native.postEpoch);
  row('claim', erc20.claim, native.claim);
  row('unwrap WOPEN → OPEN (native only)', erc20.unwrap, native.unwrap);
  // per settled inference: a deposit per PER_DEPOSIT inferences, an epoch per PER_EPOCH, one claim
  // (and, native, one unwrap) per epoch for the payee
  const per = (g: PathGas) => Number(g.deposit) / PER_DEPOSIT + Number(g.postEpoch + g.claim + g.unwrap) / PER_EPOCH;
  const [e, n] = [per(erc20), per(native)];
  console.log(`   per settled inference (a deposit per ${PER_DEPOSIT}, an epoch and a claim per ${PER_EPOCH}): erc20 ${fmt(e)}, native ${fmt(n)} gas (${(n / e).toFixed(2)}×)`);
}

// ------------------------------------------------------------------ 3. data availability

async function benchDataAvailability(): Promise<void> {
  const records: BatchRecord[] = Array.from({ length: RECORDS }, (_, i) => ({
    contributor: mnemonicToAccount(TEST_MNEMONIC, { addressIndex: i % 10 }).address,
    content: Uint8Array.from({ length: RECORD_BYTES }, (_, k) => (i * 131 + k * 7) % 256),
  }));
  const payload = encodeBatchPayload(records);
  console.log(`\n3. data availability of one anchored batch: ${fmt(RECORDS)} contributions of ${RECORD_BYTES} bytes, payload ${fmt(payload.length)} bytes (${fmt(payload.length / RECORDS)} per contribution)`);
  // the anchor on the L2, the same whatever the backend: root, count, uri and the payload's hash
  const t = await startTestProtocol();
  let anchorGas: bigint;
  try {
    const owner = await t.as(1);
    await t.mined(owner.datanetRegistry.write.createDatanet(['blob://meta', 'CC-BY-4.0', 0n, []]));
    const receipt = await t.mined(owner.datanetRegistry.write.anchorBatch([1n, keccak256(toBytes('root')), BigInt(RECORDS), `altda:${keccakCommitment(payload)}`, keccak256(payload)]));
    anchorGas = receipt.gasUsed;
  } finally {
    await t.stop();
  }
  console.log('   backend          L2 gas / contribution   L1 gas / contribution   L1 blob gas / contribution   bytes kept off chain / contribution');
  console.log(`   node blob store  ${fmt(Number(anchorGas) / RECORDS).padStart(21)} ${'0'.padStart(23)} ${'0'.padStart(28)} ${fmt(payload.length / RECORDS).padStart(37)}`);
  const why = kzgUnavailable();
  if (why) {
    console.log(`   L1 blobs         skipped: ${why}`);
    return;
  }
  const l1 = await startAnvil({ mnemonic: TEST_MNEMONIC, optimism: false, hardfork: 'prague' });
  try {
    const account = mnemonicToAccount(TEST_MNEMONIC);
    const chain = defineChain({ id: 31337, name: 'l1', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [l1.url] } } });
    const transport = http(l1.url, { timeout: 120_000, retryCount: 0 });
    const clients = { chain, account, publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }), walletClient: createWalletClient({ account, chain, transport, pollingInterval: 50 }) };
    const before = (await clients.publicClient.getBlock()).number;
    const commitment = await l1BlobBackend({ clients }).put(payload);
    let gas = 0n, blobGas = 0n;
    const latest = (await clients.publicClient.getBlock()).number;
    for (let b = before + 1n; b <= latest; b++) {
      const block = await clients.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions) {
        const r = await clients.publicClient.getTransactionReceipt({ hash: tx.hash });
        gas += r.gasUsed;
        blobGas += r.blobGasUsed ?? 0n;
      }
    }
    console.log(`   L1 blobs         ${fmt(Number(anchorGas) / RECORDS).padStart(21)} ${fmt(Number(gas) / RECORDS).padStart(23)} ${fmt(Number(blobGas) / RECORDS).padStart(28)} ${'0'.padStart(37)}   (commitment ${commitment.slice(0, 12)}…)`);
  } finally {
    await l1.stop();
  }
}

console.log(`bench chain: node ${process.version}, ${availableParallelism()} cores`);
await benchThroughput();
await benchGas();
await benchDataAvailability();
