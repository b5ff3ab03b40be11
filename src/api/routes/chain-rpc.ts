import type { FastifyInstance } from 'fastify';
import { relayChainRpc } from '../contract/node.ts';
import { serveRoute } from '../serve-route.ts';
import { isLoopback } from '../../util/allowed-host.ts';
import { CodedError } from '../../util/coded-error.ts';

/** JSON-RPC methods any caller may relay: reads, gas estimates and already-signed transactions. */
const PUBLIC_METHOD = /^(eth_(blockNumber|call|chainId|estimateGas|feeHistory|gasPrice|getBalance|getBlockBy(Hash|Number)|getCode|getLogs|getStorageAt|getTransactionBy(Hash|BlockNumberAndIndex)|getTransactionCount|getTransactionReceipt|maxPriorityFeePerGas|sendRawTransaction|getBlockTransactionCountBy(Hash|Number))|net_version|web3_clientVersion)$/;
/** Development methods (mine, move time), relayed only in development mode and only to this machine. */
const DEV_METHOD = /^(anvil_mine|evm_mine|evm_increaseTime)$/;

/**
 * `POST /chain/rpc`: the node relays the web app's JSON-RPC calls to its chain, so the browser
 * talks to one origin whatever the chain's CORS policy. Only reads, estimates and signed
 * transactions pass (signing stays in the browser); mining and time travel only in development
 * mode (the embedded chain, started with --development) and to loopback callers — behind a
 * same-host reverse proxy every caller is loopback unless `trustProxy` says where they come from.
 */
export function chainRpcRoutes(app: FastifyInstance, ctx: { rpcUrl: string; development?: boolean }): void {
  serveRoute(app, relayChainRpc, async (input, request, reply) => {
    const parsed = input.body;
    const loopback = isLoopback(request.ip);
    for (const c of Array.isArray(parsed) ? parsed : [parsed]) {
      const allowed = PUBLIC_METHOD.test(c.method) || (DEV_METHOD.test(c.method) && ctx.development === true && loopback);
      if (!allowed) throw new CodedError('method_not_relayed', `the node does not relay ${c.method}`);
    }
    const res = await fetch(ctx.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(parsed) });
    return reply.status(res.status).type('application/json').send(await res.text());
  });
}
