import { mnemonicToAccount, type HDAccount } from 'viem/accounts';
import { startAnvil, type AnvilProcess } from '../anvil.ts';
import { connectChain, type ChainClients } from '../clients.ts';
import { memoryRecorder } from '../deploy.ts';
import { genesisPredeploys, installPredeploys } from '../predeploys.ts';
import { TEST_MNEMONIC } from '../test-chain.ts';
import { DEVNET_L1_CHAIN_ID } from './devnet.ts';
import { deployL1, devnetL1Params, oracleStart, type L1Addresses, type L1Params } from './deploy-l1.ts';

/** Two throw-away anvils wired as an L1 + L2 development network, for tests. */
export interface TestDevnet {
  l1: AnvilProcess;
  l2: AnvilProcess;
  accounts: HDAccount[];
  l1Addresses: L1Addresses;
  /** The L1 block the deployment started in (where the relay starts reading). */
  l1StartBlock: bigint;
  params: L1Params;
  /** Clients signing as dev account `i` on the L1 / the L2. */
  l1Clients(i: number): Promise<ChainClients>;
  l2Clients(i: number): Promise<ChainClients>;
  stop(): Promise<void>;
}


/**
 * Starts an L1 anvil (Prague, chain 900) with the OP Stack L1 contracts deployed (OPEN as the L2's
 * gas token) and an L2 anvil (OP chain type, chain 31337) with OpenLedger's L2 predeploys; nothing
 * relayed yet. Both are plain anvils (no journal), so `evm_snapshot` works on them.
 *
 * @example
 * const d = await startTestDevnet();
 * await d.stop();
 */
export async function startTestDevnet(overrides: Partial<L1Params> = {}): Promise<TestDevnet> {
  const l1 = await startAnvil({ chainId: DEVNET_L1_CHAIN_ID, mnemonic: TEST_MNEMONIC, optimism: false, hardfork: 'prague' });
  const l2 = await startAnvil({ chainId: 31337, mnemonic: TEST_MNEMONIC });
  try {
    await installPredeploys(l2.url, genesisPredeploys(true));
    const accounts = Array.from({ length: 10 }, (_, i) => mnemonicToAccount(TEST_MNEMONIC, { addressIndex: i }));
    const cache = new Map<string, ChainClients>();
    const clientsOf = (url: string) => async (i: number) => {
      const key = `${url}#${i}`;
      let c = cache.get(key);
      if (!c) cache.set(key, (c = await connectChain(url, accounts[i]!, { pollingInterval: 20 })));
      return c;
    };
    const l1Clients = clientsOf(l1.url);
    const l2Clients = clientsOf(l2.url);
    const admin = await l1Clients(0);
    const l2Head = await (await l2Clients(0)).publicClient.getBlock();
    const params = { ...devnetL1Params(accounts[0]!.address, oracleStart(l2Head)), ...overrides };
    const l1StartBlock = await admin.publicClient.getBlockNumber();
    const l1Addresses = await deployL1(admin, params, memoryRecorder());
    return {
      l1, l2, accounts, l1Addresses, l1StartBlock, params, l1Clients, l2Clients,
      async stop() {
        await Promise.all([l1.stop(), l2.stop()]);
      },
    };
  } catch (err) {
    await Promise.all([l1.stop(), l2.stop()]);
    throw err;
  }
}
