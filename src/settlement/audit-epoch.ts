import { keccak256, stringToBytes, type Address, type Hex, type PublicClient } from 'viem';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { payOpen } from '../chain/open-payment.ts';
import { epochEvidence, verifyEpoch, type EpochEvidence, type ServedEpoch } from './verify-epoch.ts';
import { payeeProblems } from './verify-payees.ts';
import { callRootProblems } from './verify-call-root.ts';
import { onChainReceiptProblems } from './verify-receipts-on-chain.ts';
import { hasAttributionVerifier } from '../chain/attribution-verifier.ts';

/** What an audit of one posted epoch found. */
export interface EpochAudit {
  epoch: number;
  evidence: EpochEvidence & { served: ServedEpoch };
  /** Everything that does not check out, in words; empty when the epoch is right. */
  problems: string[];
  recomputedRoot: Hex;
}

/**
 * Audits an operator's posted epoch, as a watchtower does: recomputes it from the inputs the node
 * serves ({@link verifyEpoch}: inputs hash, receipt signatures, fee splits, cumulative tree, root),
 * checks the payee map against the chain ({@link payeeProblems}: owners and stakers at the block
 * before posting) and the posted call root against the epoch's skill calls ({@link callRootProblems}),
 * has the chain's attribution verifier check the receipts too where the chain has it
 * ({@link onChainReceiptProblems}: the very check a fraud proof makes) and, given `attribution` (the CLI's: recompute-attribution.ts, which loads each
 * model), recomputes every receipt's attribution too. Browser-safe: the CLI's `settlement verify`
 * and the web app's epoch list share it.
 *
 * @example
 * const audit = await auditEpoch({ served: (n) => fetchInputs(n), contracts, publicClient, epoch: 3 });
 * if (audit.problems.length > 0) await disputeEpoch({ contracts, publicClient }, audit);
 */
export async function auditEpoch(o: {
  served: (epoch: number) => Promise<ServedEpoch>;
  contracts: ProtocolContracts;
  publicClient: Pick<PublicClient, 'getContractEvents' | 'getChainId' | 'readContract' | 'getBlock' | 'getCode'>;
  epoch: number;
  /** Whose epoch (default: the operator the served inputs name); a watchtower says which one it expects. */
  operator?: Address;
  /** Recomputes one receipt's attribution, answering its differences in words (none: it checks out). */
  attribution?: (receipt: ServedEpoch['receipts'][number]) => Promise<string[]>;
}): Promise<EpochAudit> {
  const where = { chainId: await o.publicClient.getChainId(), settlement: o.contracts.attributionSettlement.address, client: o.publicClient };
  const evidence = await epochEvidence(o.served, o.contracts, o.epoch, o.operator, where);
  const verdict = await verifyEpoch(evidence);
  const problems = [...verdict.problems, ...(await payeeProblems({ contracts: o.contracts, publicClient: o.publicClient }, evidence.inputs)), ...(await callRootProblems(o.contracts, evidence.inputs))];
  if (await hasAttributionVerifier(o.publicClient)) problems.push(...(await onChainReceiptProblems(o.publicClient, evidence.chain.operator, evidence.receipts)));
  if (o.attribution) for (const r of evidence.served.receipts) problems.push(...(await o.attribution(r)));
  return { epoch: o.epoch, evidence, problems, recomputedRoot: verdict.recomputedRoot };
}

/**
 * Disputes an audited epoch on chain with its problems as evidence (a `data:` URI of the JSON,
 * and its hash), bonding the dispute bond in OPEN first; returns the bond. The operator's stake is
 * frozen until an arbiter decides.
 *
 * @example
 * const bond = await disputeEpoch({ contracts, publicClient }, audit);
 */
export async function disputeEpoch(chain: { contracts: ProtocolContracts; publicClient: Pick<PublicClient, 'waitForTransactionReceipt'> }, audit: EpochAudit): Promise<bigint> {
  const { contracts, publicClient } = chain;
  const bond = await contracts.attributionSettlement.read.disputeBond();
  const wait = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });
  const payment = await payOpen(contracts, contracts.attributionSettlement.address, bond, wait);
  const evidenceJson = JSON.stringify({ epoch: audit.epoch, recomputedRoot: audit.recomputedRoot, problems: audit.problems });
  await wait(await contracts.attributionSettlement.write.dispute([audit.evidence.chain.operator, BigInt(audit.epoch), keccak256(stringToBytes(evidenceJson)), `data:application/json,${encodeURIComponent(evidenceJson)}`], payment));
  return bond;
}
