import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPublicClient, createWalletClient, defineChain, hexToBytes, http, keccak256, sliceHex, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { startAnvil, type AnvilProcess } from '../../chain/anvil.ts';
import type { ChainClients } from '../../chain/clients.ts';
import { TEST_MNEMONIC } from '../../chain/test-chain.ts';
import { EIP4844_DA_LAYER, decodeCommitment, genericCommitment, keccakCommitment } from './commitment.ts';
import { DaCommitmentMismatchError, DaNotFoundError, DaTooLargeError, DaUnsupportedCommitmentError } from './errors.ts';
import { MAX_BYTES_PER_PUT, l1BlobBackend } from './l1-blob-backend.ts';
import { kzgUnavailable } from '../../chain/kzg.ts';

// the optional c-kzg binding builds at npm install where a C compiler is; without it blobs cannot be made
const skip = kzgUnavailable();

let l1: AnvilProcess;
let clients: ChainClients;
before(async () => {
  if (skip) return;
  // An L1 (not the OP chain type: an OP Stack chain refuses blob transactions) at Prague, whose blob
  // transactions carry blob proofs (Osaka's PeerDAS wants cell proofs).
  l1 = await startAnvil({ mnemonic: TEST_MNEMONIC, optimism: false, hardfork: 'prague' });
  // anvil took more than viem's default 10 s to answer a blob transaction on a loaded machine: allow more.
  const chain = defineChain({ id: 31337, name: 'l1', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [l1.url] } } });
  const transport = http(l1.url, { timeout: 120_000, retryCount: 0 });
  const account = mnemonicToAccount(TEST_MNEMONIC);
  clients = { chain, account, publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }), walletClient: createWalletClient({ account, chain, transport, pollingInterval: 50 }) };
});
after(() => l1?.stop());

const payloadOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) % 251);

test('L1 blobs: put sends one blob transaction and gives 0x01 0x48 ‖ versioned hashes; get reads the blobs back through them', { skip }, async () => {
  const da = l1BlobBackend({ clients });
  const small = payloadOf(1000);
  const commitment = await da.put(small);
  const decoded = decodeCommitment(commitment);
  assert.equal(decoded.type, 'generic');
  assert.equal(decoded.type === 'generic' && decoded.daLayer, EIP4844_DA_LAYER);
  assert.equal(decoded.type === 'generic' && decoded.payload.length, 2 + 64, 'one blob');
  assert.equal(sliceHex(commitment, 2, 3), '0x01', 'a versioned hash starts with the KZG version byte');
  assert.deepEqual(await da.get(commitment), small);

  // 200 kB takes two blobs (about 126 kB of data each in viem's encoding).
  const large = payloadOf(200_000);
  const two = await da.put(large);
  assert.equal(two.length, 2 + 2 * (2 + 64));
  assert.equal(keccak256(await da.get(two)), keccak256(large));
});

test('L1 blobs: a blob that does not match its versioned hash is refused; unknown blobs, foreign commitments and too much data too', { skip }, async () => {
  const honest = l1BlobBackend({ clients });
  const commitment = await honest.put(payloadOf(3000));
  const read = (vh: Hex) => clients.publicClient.request({ method: 'anvil_getBlobByHash', params: [vh] } as never) as Promise<Hex | null>;
  // A blob source that hands out a changed blob (one byte of the data flipped).
  const lying = l1BlobBackend({
    clients,
    readBlob: async (vh) => {
      const blob = hexToBytes((await read(vh))!);
      blob[100]! ^= 1;
      return `0x${Buffer.from(blob).toString('hex')}`;
    },
  });
  await assert.rejects(lying.get(commitment), DaCommitmentMismatchError);
  const unknown = genericCommitment(EIP4844_DA_LAYER, `0x01${'ab'.repeat(31)}`);
  await assert.rejects(honest.get(unknown), DaNotFoundError);
  await assert.rejects(honest.get(keccakCommitment(payloadOf(10))), DaUnsupportedCommitmentError);
  await assert.rejects(honest.get(genericCommitment(0, `0x01${'ab'.repeat(31)}`)), DaUnsupportedCommitmentError);
  await assert.rejects(honest.put(payloadOf(MAX_BYTES_PER_PUT + 1)), DaTooLargeError);
  assert.equal(MAX_BYTES_PER_PUT, 761_855);
});
