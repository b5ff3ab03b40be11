import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { createApiClient } from '../api/contract/client.ts';
import { routes } from '../api/contract/index.ts';
import { protocolAddresses } from '../api/contract/node.ts';
import type { ProtocolAddresses } from '../chain/protocol.ts';
import { ConfigError } from '../config.ts';

/**
 * The protocol addresses `--join` names: a node's API URL (its `GET /status`, which must be on
 * `chainId`) or a JSON file holding the addresses (a saved `/status`, or its `contracts` object).
 * Nothing here is trusted: the node checks the addresses on chain before using them
 * (chain/verify-protocol.ts).
 *
 * @example
 * const offered = await joinSource('https://node-1.example', 31337);
 */
export async function joinSource(source: string, chainId: number): Promise<ProtocolAddresses> {
  if (/^https?:\/\//i.test(source)) {
    let status;
    try {
      status = await createApiClient({ baseUrl: source.replace(/\/+$/, ''), signer: null }).call(routes.getStatus, {});
    } catch (err) {
      throw new ConfigError(`--join ${source}: cannot read the node's /status (${(err as Error).message})`);
    }
    if (status.chain.id !== chainId) throw new ConfigError(`--join ${source}: that node is on chain ${status.chain.id}, this one on chain ${chainId} (--rpc-url)`);
    return status.contracts;
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(source, 'utf8'));
  } catch (err) {
    throw new ConfigError(`--join ${source}: not a node's URL, nor a readable JSON file (${(err as Error).message})`);
  }
  const parsed = z.union([protocolAddresses, z.object({ contracts: protocolAddresses })]).safeParse(json);
  if (!parsed.success) throw new ConfigError(`--join ${source}: the file holds no protocol addresses (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
  return 'contracts' in parsed.data ? parsed.data.contracts : parsed.data;
}
