import { decodeFunctionData, hexToBytes, keccak256, parseEventLogs, type Hex, type PublicClient } from 'viem';
import { CHALLENGE_STATUS, dataAvailabilityChallengeAbiWithErrors, type DataAvailabilityChallengeContract } from '../../chain/data-availability-challenge.ts';
import type { ProtocolContracts } from '../../chain/protocol.ts';
import type { DaBackend } from './backend.ts';
import { keccakCommitmentOfHash } from './commitment.ts';
import { DaError, DaPayloadError } from './errors.ts';
import { anchoredBatch, fetchBatchData, type FetchedBatch } from './fetch-batch-data.ts';

/** What the chain and a DA backend are read and written through. */
export interface ChallengeDeps {
  registry: ProtocolContracts['datanetRegistry'];
  challenges: DataAvailabilityChallengeContract;
  publicClient: PublicClient;
}

/**
 * Whether an anchored batch's data can be had: `available` (fetched, matching the anchored hash and
 * root), `unavailable` (not found, damaged, the DA server unreachable: what a DA challenge is for),
 * or `invalid` (the data is there and matches its hash but does not rebuild the anchored root: a DA
 * challenge would be answered, so this is reported, not challenged).
 */
export type BatchAvailability =
  | { status: 'available'; batch: FetchedBatch }
  | { status: 'unavailable'; error: DaError }
  | { status: 'invalid'; error: DaPayloadError };

/**
 * Fetches an anchored batch's data through `da` and says whether it is available.
 *
 * @example
 * const a = await checkBatchAvailability(registry, altDaHttpBackend(nodeUrl), 1n, 0n);
 * if (a.status === 'unavailable') console.log(a.error.message);
 */
export async function checkBatchAvailability(registry: ProtocolContracts['datanetRegistry'], da: DaBackend, datanetId: bigint, batchIndex: bigint): Promise<BatchAvailability> {
  try {
    return { status: 'available', batch: await fetchBatchData(registry, da, datanetId, batchIndex) };
  } catch (err) {
    if (err instanceof DaPayloadError) return { status: 'invalid', error: err };
    if (err instanceof DaError) return { status: 'unavailable', error: err };
    throw err;
  }
}

/**
 * A challenger's step for one batch: fetch its data through `da`; if it is unavailable and the batch
 * is not challenged yet, challenge it (bonding from the caller's balance in the challenge contract).
 * Returns what was found and the challenge's transaction, if one was sent.
 *
 * @example
 * const { availability, challengeTx } = await challengeIfUnavailable(deps, altDaHttpBackend(submitterUrl), 1n, 3n);
 */
export async function challengeIfUnavailable(deps: ChallengeDeps, da: DaBackend, datanetId: bigint, batchIndex: bigint): Promise<{ availability: BatchAvailability; challengeTx?: Hex }> {
  const availability = await checkBatchAvailability(deps.registry, da, datanetId, batchIndex);
  if (availability.status !== 'unavailable') return { availability };
  if ((await challengeStatus(deps, datanetId, batchIndex)) !== 'Uninitialized') return { availability };
  const { dataHash } = await anchoredBatch(deps.registry, datanetId, batchIndex);
  const challengeTx = await mined(deps, deps.challenges.write.challenge([datanetId, batchIndex, keccakCommitmentOfHash(dataHash)]));
  return { availability, challengeTx };
}

/**
 * Answers an active challenge of a batch: fetches its data through `da` (the submitter's own copy,
 * checked against the chain) and posts it with `resolve`. Returns the transaction.
 *
 * @example
 * await answerChallenge(deps, nodeStoreBackend(ctx.blobs), 1n, 3n);
 */
export async function answerChallenge(deps: ChallengeDeps, da: DaBackend, datanetId: bigint, batchIndex: bigint): Promise<Hex> {
  const batch = await fetchBatchData(deps.registry, da, datanetId, batchIndex);
  return mined(deps, deps.challenges.write.resolve([datanetId, batchIndex, keccakCommitmentOfHash(batch.dataHash), `0x${Buffer.from(batch.payload).toString('hex')}`]));
}

/**
 * Pays out an expired challenge (the batch is voided; the submitter slashed). Returns the transaction.
 *
 * @example
 * if (await isBatchVoided(deps.challenges, 1n, 3n)) await expireChallenge(deps, 1n, 3n);
 */
export async function expireChallenge(deps: ChallengeDeps, datanetId: bigint, batchIndex: bigint): Promise<Hex> {
  return mined(deps, deps.challenges.write.expire([datanetId, batchIndex]));
}

/**
 * Whether a batch was voided by an unanswered DA challenge: its root must then be treated as not
 * anchored (DatanetRegistry keeps the record; the challenge contract says it is void).
 *
 * @example
 * if (await isBatchVoided(challenges, 1n, 0n)) skip();
 */
export function isBatchVoided(challenges: DataAvailabilityChallengeContract, datanetId: bigint, batchIndex: bigint): Promise<boolean> {
  return challenges.read.isVoided([datanetId, batchIndex]);
}

/** A batch's challenge status by name. */
export async function challengeStatus(deps: Pick<ChallengeDeps, 'challenges'>, datanetId: bigint, batchIndex: bigint): Promise<(typeof CHALLENGE_STATUS)[number]> {
  return CHALLENGE_STATUS[await deps.challenges.read.getChallengeStatus([datanetId, batchIndex])]!;
}

/**
 * The data a resolved challenge posted, read back from the resolving transaction's calldata (how
 * OP's derivation reads resolved input), checked against the batch's anchored hash; undefined if the
 * batch's challenge was not resolved (or not by a direct call of `resolve`).
 *
 * @example
 * const payload = await resolvedData(deps, 1n, 3n);
 */
export async function resolvedData(deps: ChallengeDeps, datanetId: bigint, batchIndex: bigint): Promise<Uint8Array | undefined> {
  const challenge = await deps.challenges.read.getChallenge([datanetId, batchIndex]);
  if (challenge.resolvedBlock === 0n) return undefined;
  const logs = await deps.publicClient.getLogs({ address: deps.challenges.address, fromBlock: challenge.resolvedBlock, toBlock: challenge.resolvedBlock });
  const resolved = parseEventLogs({ abi: dataAvailabilityChallengeAbiWithErrors, eventName: 'ChallengeStatusChanged', logs }).find(
    (e) => e.args.datanetId === datanetId && e.args.batchIndex === batchIndex && CHALLENGE_STATUS[e.args.status] === 'Resolved',
  );
  if (!resolved) return undefined;
  const tx = await deps.publicClient.getTransaction({ hash: resolved.transactionHash });
  if (tx.to?.toLowerCase() !== deps.challenges.address.toLowerCase()) return undefined;
  const call = decodeFunctionData({ abi: dataAvailabilityChallengeAbiWithErrors, data: tx.input });
  if (call.functionName !== 'resolve') return undefined;
  const data = hexToBytes(call.args[3]);
  const { dataHash } = await anchoredBatch(deps.registry, datanetId, batchIndex);
  return keccak256(data) === dataHash ? data : undefined;
}

async function mined(deps: Pick<ChallengeDeps, 'publicClient'>, sent: Promise<Hex>): Promise<Hex> {
  const hash = await sent;
  const receipt = await deps.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new DaError(`transaction ${hash} reverted`);
  return hash;
}
