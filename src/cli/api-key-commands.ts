import type { Command } from 'commander';
import { routes } from '../api/contract/index.ts';
import { callRoute, signingAccount, type NodeOptions } from './api-client.ts';
import { nodeOptions } from './options.ts';

/** `openledger api-key create|list|revoke`: keys for the OpenAI-compatible API, bound to the signing account. */
export function apiKeyCommands(program: Command, urlArg: (v: string) => string): void {
  const keys = program.command('api-key').description('API keys for the OpenAI-compatible API (/v1), bound to your account');

  nodeOptions(keys.command('create').description('create a key; it is printed once (the node keeps only its hash)'), urlArg)
    .option('--name <name>', 'a label for the key', '')
    .action(async (o: NodeOptions & { name: string }) => {
      const { key, apiKey } = await callRoute(o.api, routes.createApiKey, { body: { name: o.name } }, { signer: signingAccount(o) });
      console.log(key);
      console.error(`API key ${apiKey.id} for ${apiKey.account}: use it as "Authorization: Bearer <key>" (OpenAI clients: apiKey) against ${o.api}/v1`);
    });

  nodeOptions(keys.command('list').description('your keys (never their secrets)'), urlArg).action(async (o: NodeOptions) => {
    const { apiKeys } = await callRoute(o.api, routes.listApiKeys, {}, { signer: signingAccount(o) });
    if (apiKeys.length === 0) return console.log('no API keys');
    for (const k of apiKeys) console.log(`${k.id}  ${k.revokedAt ? 'revoked' : 'active '}  created ${k.createdAt}  last used ${k.lastUsedAt ?? 'never'}  ${k.name}`);
  });

  nodeOptions(keys.command('revoke').description('revoke one of your keys').argument('<id>'), urlArg).action(async (id: string, o: NodeOptions) => {
    await callRoute(o.api, routes.revokeApiKey, { params: { id } }, { signer: signingAccount(o) });
    console.log(`API key ${id} revoked`);
  });
}
