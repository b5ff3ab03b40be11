import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Abi, Hex } from 'viem';
import { ChainError } from '../errors.ts';

/** The OP Stack contracts the development network uses, by their forge artifact's name. */
export type OpContractName =
  | 'OptimismPortal'
  | 'SystemConfig'
  | 'L2OutputOracle'
  | 'SuperchainConfig'
  | 'Proxy'
  | 'ProxyAdmin'
  | 'L2ToL1MessagePasser'
  | 'L1Block';

/** One compiled OP Stack contract as published in `@eth-optimism/contracts-bedrock`. */
export interface OpArtifact {
  abi: Abi;
  /** Creation code. */
  bytecode: Hex;
  /** Runtime code (what a predeploy's address holds). */
  deployedBytecode: Hex;
}

/** An artifact missing from the installed `@eth-optimism/contracts-bedrock`. */
export class OpArtifactError extends ChainError {
  override name = 'OpArtifactError';
}

const cache = new Map<OpContractName, OpArtifact>();

/**
 * The ABI and code of an OP Stack contract, read as published (forge artifacts of
 * `@eth-optimism/contracts-bedrock` 0.17.3, whose OptimismPortal supports a custom gas token).
 *
 * @example
 * const portal = opArtifact('OptimismPortal');
 * await walletClient.deployContract({ abi: portal.abi, bytecode: portal.bytecode });
 */
export function opArtifact(name: OpContractName): OpArtifact {
  const hit = cache.get(name);
  if (hit) return hit;
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve(`@eth-optimism/contracts-bedrock/forge-artifacts/${name}.sol/${name}.json`);
  } catch {
    throw new OpArtifactError(`no artifact ${name} in @eth-optimism/contracts-bedrock (is it installed?)`);
  }
  const json = JSON.parse(readFileSync(path, 'utf8')) as { abi: Abi; bytecode: { object: Hex }; deployedBytecode: { object: Hex } };
  const artifact = { abi: json.abi, bytecode: json.bytecode.object, deployedBytecode: json.deployedBytecode.object };
  cache.set(name, artifact);
  return artifact;
}
