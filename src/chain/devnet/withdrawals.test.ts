import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { erc20Abi, parseEther, type Abi } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { connectChain } from '../clients.ts';
import { memoryCursor } from './relay-cursor.ts';
import { L2_TO_L1_MESSAGE_PASSER_ADDRESS } from '../profiles.ts';
import { depositOpen } from './deposit-open.ts';
import { opArtifact } from './op-artifacts.ts';
import { hashOutputRootProof, outputAt } from './output-root.ts';
import { proposeOutputs } from './propose-outputs.ts';
import { finalizeWithdrawal, proveWithdrawal, withdrawalStatus } from './prove-withdrawal.ts';
import { relayDeposits } from './relay-deposits.ts';
import { startTestDevnet, type TestDevnet } from './test-devnet.ts';
import { burnWithdrawnOpen, withdrawOpen } from './withdraw-open.ts';

describe('withdrawals from L2 to L1 (L2ToL1MessagePasser → output root → prove → finalise)', () => {
  let d: TestDevnet;
  before(async () => {
    d = await startTestDevnet();
  });
  after(async () => {
    await d?.stop();
  });

  it('pays exactly the withdrawn OPEN to the target on L1 after the finalisation period, and only once', async () => {
    const cursor = memoryCursor();
    const relay = async () => relayDeposits({ l1: (await d.l1Clients(0)).publicClient, l2Url: d.l2.url, portal: d.l1Addresses.optimismPortal, fromBlock: d.l1StartBlock, cursor });
    const l1Admin = await d.l1Clients(0);
    const user = privateKeyToAccount(generatePrivateKey());
    const l1Target = privateKeyToAccount(generatePrivateKey()).address;
    const deposited = parseEther('10');
    await depositOpen(l1Admin, d.l1Addresses, { to: user.address, amount: deposited });
    await relay();
    const l2User = await connectChain(d.l2.url, user, { pollingInterval: 20 });
    assert.equal(await l2User.publicClient.getBalance({ address: user.address }), deposited);
    const portalBalance = (address: `0x${string}`) => l1Admin.publicClient.readContract({ address, abi: opArtifact('OptimismPortal').abi as Abi, functionName: 'balance' }) as Promise<bigint>;
    const lockedBefore = await portalBalance(d.l1Addresses.optimismPortal);

    const amount = parseEther('3.25');
    const { receipt, withdrawal } = await withdrawOpen(l2User, { target: l1Target, amount });
    const fee = receipt.gasUsed * receipt.effectiveGasPrice;
    assert.equal(await l2User.publicClient.getBalance({ address: user.address }), deposited - amount - fee);
    assert.equal(withdrawal.value, amount);
    const l2Admin = await d.l2Clients(0);
    assert.equal(await burnWithdrawnOpen(l2Admin), amount);
    assert.equal(await l2Admin.publicClient.getBalance({ address: L2_TO_L1_MESSAGE_PASSER_ADDRESS }), 0n);

    const status = () => withdrawalStatus(l1Admin, d.l1Addresses, withdrawal, receipt.blockNumber);
    assert.equal(await status(), 'waiting-for-output');
    const proposed = await proposeOutputs({ l1: l1Admin, l2OutputOracle: d.l1Addresses.l2OutputOracle, l2Url: d.l2.url, fillBlocks: true });
    assert.ok(proposed.length >= 1);
    for (const o of proposed) assert.equal(hashOutputRootProof(o.proof), o.outputRoot);
    assert.equal(proposed.at(-1)!.outputRoot, (await outputAt(d.l2.url, proposed.at(-1)!.l2BlockNumber)).outputRoot);
    assert.equal(await status(), 'ready-to-prove');
    await proveWithdrawal(l1Admin, d.l1Addresses, d.l2.url, withdrawal, receipt.blockNumber);
    assert.equal(await status(), 'proven');
    await assert.rejects(finalizeWithdrawal(l1Admin, d.l1Addresses, withdrawal));
    await new Promise((r) => setTimeout(r, Number(d.params.finalizationPeriodSeconds + 1n) * 1000));
    assert.equal(await status(), 'ready-to-finalize');
    await finalizeWithdrawal(l1Admin, d.l1Addresses, withdrawal);
    assert.equal(await status(), 'finalized');
    assert.equal(await l1Admin.publicClient.readContract({ address: d.l1Addresses.openToken, abi: erc20Abi, functionName: 'balanceOf', args: [l1Target] }), amount);
    assert.equal(await portalBalance(d.l1Addresses.optimismPortal), lockedBefore - amount);
    await assert.rejects(finalizeWithdrawal(l1Admin, d.l1Addresses, withdrawal));
    assert.equal(await l1Admin.publicClient.readContract({ address: d.l1Addresses.openToken, abi: erc20Abi, functionName: 'balanceOf', args: [l1Target] }), amount);
  });
});
