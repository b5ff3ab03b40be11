import { z } from 'zod';
import type { ProtocolAddresses } from '../../chain/protocol.ts';
import { address, agree, hex, jsonObject, PG_BIGINT_MAX, type Agrees } from './common.ts';
import { defineRoute } from './route.ts';

// The node itself: health, status, the protocol events it indexed, metrics, its chain relay, the
// development accounts, and this API's own description.

export const protocolAddresses = z.object({
  openToken: address, governanceToken: address, timelock: address, governor: address, staking: address, datanetRegistry: address, modelRegistry: address, dataAvailabilityChallenge: address, inferenceEscrow: address, attributionSettlement: address, operatorRegistry: address,
  agentRegistry: address, skillRegistry: address, erc6551Registry: address, agentAccountImplementation: address,
  skillCallRoots: address, reputationRegistry: address, validationRegistry: address,
});
agree<Agrees<typeof protocolAddresses, ProtocolAddresses>>();

export const nodeStatus = z.object({
  version: z.string(),
  /** The chain's origin only (a provider's URL may carry its key), or the embedded chain's URL. */
  chain: z.object({ id: z.number().int(), rpcUrl: z.string(), embedded: z.boolean(), development: z.boolean(), blockNumber: z.string() }),
  store: z.object({ kind: z.enum(['pglite', 'postgres']) }),
  indexer: z.object({ blockNumber: z.string().nullable() }),
  /** The account that signs receipts and sends the node's transactions; requests are signed for it. */
  nodeAccount: address,
  contracts: protocolAddresses,
});

export const chainEvent = z.object({ id: z.string(), blockNumber: z.string(), blockHash: hex, txHash: hex, logIndex: z.number().int(), contract: z.string(), address, event: z.string(), args: jsonObject });

const jsonRpcCall = z.object({ jsonrpc: z.literal('2.0'), id: z.union([z.number(), z.string(), z.null()]).optional(), method: z.string().max(64), params: z.array(z.unknown()).max(16).optional() });

export const health = defineRoute({ id: 'health', method: 'GET', path: '/health', tag: 'node', auth: 'none', summary: 'Liveness', response: z.object({ ok: z.literal(true) }) });
export const getStatus = defineRoute({ id: 'getStatus', method: 'GET', path: '/status', tag: 'node', auth: 'none', summary: "The node's version, chain, store, indexer position, account and contracts", response: nodeStatus });
export const listChainEvents = defineRoute({
  id: 'listChainEvents', method: 'GET', path: '/chain/events', tag: 'node', auth: 'none', summary: 'Protocol events the indexer stored, newest first',
  query: z.object({
    contract: z.string().max(64).optional(),
    event: z.string().max(64).optional(),
    before: z.coerce.bigint().positive().max(PG_BIGINT_MAX).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  }),
  response: z.object({ events: z.array(chainEvent), next: z.string().nullable() }),
});
export const relayChainRpc = defineRoute({
  id: 'relayChainRpc', method: 'POST', path: '/chain/rpc', tag: 'node', auth: 'none',
  summary: "Relay JSON-RPC calls to the node's chain: reads, estimates and signed transactions (mining and time travel in development mode, to this machine)",
  body: z.union([jsonRpcCall, z.array(jsonRpcCall).min(1).max(50)]),
  response: z.unknown(),
});
export const metrics = defineRoute({ id: 'metrics', method: 'GET', path: '/metrics', tag: 'node', auth: 'none', summary: 'Prometheus metrics', produces: 'text/plain' });
export const devAccounts = defineRoute({
  id: 'devAccounts', method: 'GET', path: '/dev/accounts', tag: 'node', auth: 'none', summary: "The embedded chain's development mnemonic (development mode, to this machine; otherwise null)",
  response: z.object({ mnemonic: z.string().nullable() }),
});
export const openApiDocument = defineRoute({ id: 'openApiDocument', method: 'GET', path: '/openapi.json', tag: 'node', auth: 'none', summary: 'This API as an OpenAPI 3.1 document', response: jsonObject });
