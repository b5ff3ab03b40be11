import { decodeFunctionData, isAddressEqual, type Abi, type Address, type Hex } from 'viem';
import { protocolAbis } from '../../../../src/chain/protocol.ts';
import type { ProtocolAddresses } from '../../../../src/chain/protocol.ts';
import { call, routes, type RouteOutput } from '../../api.ts';

/** A proposal as its ProposalCreated event told it (what queue and execute need again). */
export interface Proposal {
  id: bigint;
  proposer: Address;
  targets: Address[];
  values: bigint[];
  calldatas: Hex[];
  voteStart: bigint;
  voteEnd: bigint;
  description: string;
  blockNumber: bigint;
  txHash: Hex;
}

interface ProposalCreatedArgs {
  proposalId: string;
  proposer: Address;
  targets: Address[];
  values: string[];
  calldatas: Hex[];
  voteStart: string;
  voteEnd: string;
  description: string;
}


/** Every ProposalCreated event the node's indexer stored (newest first), following the pages. */
export async function fetchProposals(): Promise<Proposal[]> {
  const out: Proposal[] = [];
  let before: string | null = null;
  for (let page = 0; page < 20; page++) {
    const res: RouteOutput<typeof routes.listChainEvents> = await call(routes.listChainEvents, { query: { contract: 'governor', event: 'ProposalCreated', limit: 500, ...(before ? { before } : {}) } });
    for (const e of res.events) {
      const a = e.args as unknown as ProposalCreatedArgs; // the governor's ProposalCreated, as the indexer stored it
      out.push({
        id: BigInt(a.proposalId),
        proposer: a.proposer,
        targets: a.targets,
        values: a.values.map((v) => BigInt(v)),
        calldatas: a.calldatas,
        voteStart: BigInt(a.voteStart),
        voteEnd: BigInt(a.voteEnd),
        description: a.description,
        blockNumber: BigInt(e.blockNumber),
        txHash: e.txHash,
      });
    }
    before = res.next;
    if (!before) break;
  }
  return out;
}

const show = (v: unknown): string =>
  typeof v === 'bigint' ? v.toString()
  : Array.isArray(v) ? `[${v.map(show).join(', ')}]`
  : v && typeof v === 'object' ? `{ ${Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join(', ')} }`
  : String(v);

/** One action of a proposal in words: "attributionSettlement.setFeeSplit({ modelOwnerBps: 2500, … })". */
export function describeAction(target: Address, calldata: Hex, value: bigint, contracts: ProtocolAddresses): string {
  const name = (Object.keys(contracts) as (keyof ProtocolAddresses)[]).find((k) => isAddressEqual(contracts[k], target));
  const paid = value > 0n ? ` with ${value} wei` : '';
  if (!name) return `call ${target} with ${calldata.slice(0, 10)}…${paid}`;
  try {
    const { functionName, args } = decodeFunctionData({ abi: protocolAbis[name] as Abi, data: calldata });
    return `${name}.${functionName}(${(args ?? []).map(show).join(', ')})${paid}`;
  } catch {
    return `${name}: unknown call ${calldata.slice(0, 10)}${paid}`;
  }
}
