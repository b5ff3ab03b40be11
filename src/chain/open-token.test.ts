import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  encodeDeployData,
  getAddress,
  maxUint256,
  parseEther,
  parseEventLogs,
  parseSignature,
  zeroAddress,
  type Address,
  type Hex,
} from 'viem';
import type { HDAccount } from 'viem/accounts';
import { callJsonRpc } from './json-rpc.ts';
import { openTokenAbi, openTokenBytecode } from './generated/index.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

let t: TestProtocol;
let treasury: Address;
const addr = (i: number): Address => t.accounts[i]!.address;

async function latestTimestamp(): Promise<bigint> {
  const { publicClient } = await t.clients(0);
  return (await publicClient.getBlock()).timestamp;
}

const permitTypes = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** Signs an EIP-2612 permit as `owner` and returns the arguments of `permit`. */
async function signPermit(owner: HDAccount, spender: Address, value: bigint, nonce: bigint, deadline: bigint) {
  const { walletClient, chain } = await t.clients(t.accounts.indexOf(owner));
  const signature = await walletClient.signTypedData({
    account: owner,
    domain: { name: 'OpenLedger', version: '1', chainId: chain.id, verifyingContract: t.addresses.openToken },
    types: permitTypes,
    primaryType: 'Permit',
    message: { owner: owner.address, spender, value, nonce, deadline },
  });
  const { r, s, v } = parseSignature(signature);
  assert.ok(v !== undefined);
  return [owner.address, spender, value, deadline, Number(v), r, s] as const;
}

before(async () => {
  t = await startTestProtocol();
  treasury = addr(0);
});
after(() => t.stop());

describe('OpenToken genesis', () => {
  test('mints the whole genesis supply to the treasury and nothing to anyone else', async () => {
    const p = await t.as(1);
    assert.equal(await p.openToken.read.name(), 'OpenLedger');
    assert.equal(await p.openToken.read.symbol(), 'OPEN');
    assert.equal(await p.openToken.read.decimals(), 18);
    assert.equal(await p.openToken.read.totalSupply(), t.params.genesisSupply);
    assert.equal(await p.openToken.read.balanceOf([treasury]), t.params.genesisSupply);
    assert.equal(await p.openToken.read.balanceOf([addr(1)]), 0n);
  });

  test('a zero treasury is refused with ZeroTreasury; any other treasury gets the supply', async () => {
    const { publicClient, walletClient } = await t.clients(1);
    const data = encodeDeployData({ abi: openTokenAbi, bytecode: openTokenBytecode, args: [zeroAddress, 1000n] });
    await expectRevert(publicClient.call({ data }), 'OpenTokenInvalidTreasury');

    const hash = await walletClient.deployContract({ abi: openTokenAbi, bytecode: openTokenBytecode, args: [addr(7), 1234n] });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    assert.ok(receipt.contractAddress);
    assert.equal(await publicClient.readContract({ address: receipt.contractAddress, abi: openTokenAbi, functionName: 'totalSupply' }), 1234n);
    assert.equal(
      await publicClient.readContract({ address: receipt.contractAddress, abi: openTokenAbi, functionName: 'balanceOf', args: [addr(7)] }),
      1234n,
    );
  });
});

describe('OpenToken transfers and allowances', () => {
  test('transfer moves balances and emits Transfer; over-balance and zero receiver revert', async () => {
    const p0 = await t.as(0);
    const p1 = await t.as(1);
    const receipt = await t.mined(p0.openToken.write.transfer([addr(1), parseEther('100')]));
    const [ev] = parseEventLogs({ abi: openTokenAbi, logs: receipt.logs, eventName: 'Transfer' });
    assert.deepEqual(ev?.args, { from: treasury, to: addr(1), value: parseEther('100') });
    assert.equal(await p1.openToken.read.balanceOf([addr(1)]), parseEther('100'));
    assert.equal(await p1.openToken.read.balanceOf([treasury]), t.params.genesisSupply - parseEther('100'));

    await expectRevert(p1.openToken.write.transfer([addr(2), parseEther('100') + 1n]), 'ERC20InsufficientBalance', [
      addr(1),
      parseEther('100'),
      parseEther('100') + 1n,
    ]);
    await expectRevert(p1.openToken.write.transfer([zeroAddress, 1n]), 'ERC20InvalidReceiver', [zeroAddress]);

    await t.mined(p1.openToken.write.transfer([addr(2), parseEther('40')]));
    assert.equal(await p1.openToken.read.balanceOf([addr(1)]), parseEther('60'));
    assert.equal(await p1.openToken.read.balanceOf([addr(2)]), parseEther('40'));
    assert.equal(await p1.openToken.read.totalSupply(), t.params.genesisSupply);
  });

  test('approve + transferFrom spends the allowance; beyond it reverts; an infinite allowance is not spent', async () => {
    const p0 = await t.as(0);
    const p3 = await t.as(3);
    const receipt = await t.mined(p0.openToken.write.approve([addr(3), 50n]));
    const [ev] = parseEventLogs({ abi: openTokenAbi, logs: receipt.logs, eventName: 'Approval' });
    assert.deepEqual(ev?.args, { owner: treasury, spender: addr(3), value: 50n });
    assert.equal(await p3.openToken.read.allowance([treasury, addr(3)]), 50n);

    await t.mined(p3.openToken.write.transferFrom([treasury, addr(4), 30n]));
    assert.equal(await p3.openToken.read.allowance([treasury, addr(3)]), 20n);
    assert.equal(await p3.openToken.read.balanceOf([addr(4)]), 30n);
    await expectRevert(p3.openToken.write.transferFrom([treasury, addr(4), 21n]), 'ERC20InsufficientAllowance', [addr(3), 20n, 21n]);
    // The spender's own balance does not matter, only the allowance.
    await expectRevert(p3.openToken.write.transferFrom([addr(4), addr(3), 1n]), 'ERC20InsufficientAllowance', [addr(3), 0n, 1n]);

    await t.mined(p0.openToken.write.approve([addr(3), maxUint256]));
    await t.mined(p3.openToken.write.transferFrom([treasury, addr(4), 5n]));
    assert.equal(await p3.openToken.read.allowance([treasury, addr(3)]), maxUint256);
    await expectRevert(p0.openToken.write.approve([zeroAddress, 1n]), 'ERC20InvalidSpender', [zeroAddress]);
  });
});

describe('OpenToken permit (EIP-2612)', () => {
  test('the EIP-712 domain is OpenLedger v1 on this chain and token', async () => {
    const p = await t.as(0);
    const { chain } = await t.clients(0);
    const [, name, version, chainId, verifyingContract] = await p.openToken.read.eip712Domain();
    assert.equal(name, 'OpenLedger');
    assert.equal(version, '1');
    assert.equal(chainId, BigInt(chain.id));
    assert.equal(verifyingContract, getAddress(t.addresses.openToken));
  });

  test('an owner signs, someone else submits; the allowance is set, the nonce moves and a replay fails', async () => {
    const owner = t.accounts[5]!;
    const spender = addr(6);
    const relayer = await t.as(7);
    const p0 = await t.as(0);
    await t.mined(p0.openToken.write.transfer([owner.address, 1000n]));
    const nonce = await relayer.openToken.read.nonces([owner.address]);
    assert.equal(nonce, 0n);
    const deadline = (await latestTimestamp()) + 3600n;
    const args = await signPermit(owner, spender, 600n, nonce, deadline);

    const receipt = await t.mined(relayer.openToken.write.permit(args));
    const [ev] = parseEventLogs({ abi: openTokenAbi, logs: receipt.logs, eventName: 'Approval' });
    assert.deepEqual(ev?.args, { owner: owner.address, spender, value: 600n });
    assert.equal(await relayer.openToken.read.allowance([owner.address, spender]), 600n);
    assert.equal(await relayer.openToken.read.nonces([owner.address]), 1n);

    // The same signature again: the nonce is now 1, so it recovers to another signer.
    await expectRevert(relayer.openToken.write.permit(args), 'ERC2612InvalidSigner');

    // The spender uses the allowance.
    const ps = await t.as(6);
    await t.mined(ps.openToken.write.transferFrom([owner.address, spender, 600n]));
    assert.equal(await ps.openToken.read.balanceOf([spender]), 600n);
    assert.equal(await ps.openToken.read.allowance([owner.address, spender]), 0n);
  });

  test('expired, tampered and wrong-signer permits fail', async () => {
    const owner = t.accounts[8]!;
    const relayer = await t.as(7);
    const now = await latestTimestamp();
    const nonce = await relayer.openToken.read.nonces([owner.address]);

    const expired = await signPermit(owner, addr(6), 10n, nonce, now - 1n);
    await expectRevert(relayer.openToken.write.permit(expired), 'ERC2612ExpiredSignature', [now - 1n]);

    const good = await signPermit(owner, addr(6), 10n, nonce, now + 3600n);
    const tampered = [good[0], good[1], 11n, good[3], good[4], good[5], good[6]] as const;
    await expectRevert(relayer.openToken.write.permit(tampered), 'ERC2612InvalidSigner');
    const otherSpender = [good[0], addr(7), good[2], good[3], good[4], good[5], good[6]] as const;
    await expectRevert(relayer.openToken.write.permit(otherSpender), 'ERC2612InvalidSigner');

    // Signed by account 9 but claiming to be the owner's.
    const forged = await signPermit(t.accounts[9]!, addr(6), 10n, nonce, now + 3600n);
    await expectRevert(relayer.openToken.write.permit([owner.address, forged[1], forged[2], forged[3], forged[4], forged[5], forged[6]]), 'ERC2612InvalidSigner');

    // A permit signed for a future nonce is not valid yet.
    const future = await signPermit(owner, addr(6), 10n, nonce + 1n, now + 3600n);
    await expectRevert(relayer.openToken.write.permit(future), 'ERC2612InvalidSigner');

    assert.equal(await relayer.openToken.read.nonces([owner.address]), nonce, 'failed permits use no nonce');
    await t.mined(relayer.openToken.write.permit(good));
    assert.equal(await relayer.openToken.read.allowance([owner.address, addr(6)]), 10n);
  });
});

describe('OpenToken votes (ERC-5805)', () => {
  test('balances carry no votes until delegated; delegation, transfers and history', async () => {
    const voter = t.accounts[2]!;
    const delegatee = addr(3);
    const p0 = await t.as(0);
    const pv = await t.as(2);
    const { publicClient } = await t.clients(0);
    assert.equal(await pv.openToken.read.CLOCK_MODE(), 'mode=blocknumber&from=default');

    const funded = await t.mined(p0.openToken.write.transfer([voter.address, 1000n]));
    const balance = await pv.openToken.read.balanceOf([voter.address]);
    assert.equal(await pv.openToken.read.getVotes([voter.address]), 0n);
    assert.equal(await pv.openToken.read.delegates([voter.address]), zeroAddress);

    const selfDelegated = await t.mined(pv.openToken.write.delegate([voter.address]));
    const [dc] = parseEventLogs({ abi: openTokenAbi, logs: selfDelegated.logs, eventName: 'DelegateChanged' });
    assert.deepEqual(dc?.args, { delegator: voter.address, fromDelegate: zeroAddress, toDelegate: voter.address });
    assert.equal(await pv.openToken.read.getVotes([voter.address]), balance);
    assert.equal(await pv.openToken.read.delegates([voter.address]), voter.address);

    // Past votes need a past block.
    // (a block far ahead: other tests of this file may mine one between reading the head and the call)
    const future = (await publicClient.getBlockNumber()) + 1000n;
    await expectRevert(pv.openToken.read.getPastVotes([voter.address, future]), 'ERC5805FutureLookup');
    await t.mine(2);
    assert.equal(await pv.openToken.read.getPastVotes([voter.address, selfDelegated.blockNumber]), balance);
    assert.equal(await pv.openToken.read.getPastVotes([voter.address, funded.blockNumber]), 0n);

    // Receiving tokens adds votes to the delegate; sending them removes them.
    const more = await t.mined(p0.openToken.write.transfer([voter.address, 500n]));
    assert.equal(await pv.openToken.read.getVotes([voter.address]), balance + 500n);
    const sent = await t.mined(pv.openToken.write.transfer([addr(4), 300n]));
    assert.equal(await pv.openToken.read.getVotes([voter.address]), balance + 200n);

    // Moving the delegation moves all the votes.
    const moved = await t.mined(pv.openToken.write.delegate([delegatee]));
    assert.equal(await pv.openToken.read.getVotes([voter.address]), 0n);
    assert.equal(await pv.openToken.read.getVotes([delegatee]), balance + 200n);
    await t.mine(1);
    assert.equal(await pv.openToken.read.getPastVotes([voter.address, more.blockNumber]), balance + 500n);
    assert.equal(await pv.openToken.read.getPastVotes([voter.address, sent.blockNumber]), balance + 200n);
    assert.equal(await pv.openToken.read.getPastVotes([voter.address, moved.blockNumber]), 0n);
    assert.equal(await pv.openToken.read.getPastVotes([delegatee, moved.blockNumber - 1n]), 0n);
    assert.equal(await pv.openToken.read.getPastVotes([delegatee, moved.blockNumber]), balance + 200n);
    assert.equal(await pv.openToken.read.getPastTotalSupply([moved.blockNumber]), t.params.genesisSupply);
  });

  test('delegateBySig delegates for the signer and cannot be replayed', async () => {
    const signer = t.accounts[9]!;
    const p0 = await t.as(0);
    const relayer = await t.as(7);
    const { walletClient, chain } = await t.clients(9);
    await t.mined(p0.openToken.write.transfer([signer.address, 77n]));
    const nonce = await relayer.openToken.read.nonces([signer.address]);
    const expiry = (await latestTimestamp()) + 3600n;
    const signature = await walletClient.signTypedData({
      account: signer,
      domain: { name: 'OpenLedger', version: '1', chainId: chain.id, verifyingContract: t.addresses.openToken },
      types: {
        Delegation: [
          { name: 'delegatee', type: 'address' },
          { name: 'nonce', type: 'uint256' },
          { name: 'expiry', type: 'uint256' },
        ],
      },
      primaryType: 'Delegation',
      message: { delegatee: addr(1), nonce, expiry },
    });
    const { r, s, v } = parseSignature(signature);
    const args = [addr(1), nonce, expiry, Number(v), r, s] as const;
    const before = await relayer.openToken.read.getVotes([addr(1)]);
    await t.mined(relayer.openToken.write.delegateBySig(args));
    assert.equal(await relayer.openToken.read.delegates([signer.address]), addr(1));
    assert.equal(await relayer.openToken.read.getVotes([addr(1)]), before + 77n);
    await expectRevert(relayer.openToken.write.delegateBySig(args), 'InvalidAccountNonce', [signer.address, nonce + 1n]);
  });
});

describe('OpenToken conservation (property)', () => {
  type Op =
    | { kind: 'transfer'; from: number; to: number; amount: bigint }
    | { kind: 'approve'; owner: number; spender: number; amount: bigint }
    | { kind: 'transferFrom'; spender: number; from: number; to: number; amount: bigint }
    | { kind: 'approveAndTransferFrom'; spender: number; from: number; to: number; allowance: bigint; amount: bigint }
    | { kind: 'permit'; owner: number; spender: number; relayer: number; amount: bigint }
    | { kind: 'replayPermit'; relayer: number };

  // Five accounts (dev accounts 1..5), each funded with START wei; amounts sometimes exceed what is available.
  const holders = [1, 2, 3, 4, 5];
  const START = 1000n;
  const who = fc.constantFrom(...holders);
  const amount = fc.oneof(fc.bigInt({ min: 0n, max: 600n }), fc.bigInt({ min: 0n, max: 2500n }));
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('transfer' as const), from: who, to: who, amount }),
    fc.record({ kind: fc.constant('approve' as const), owner: who, spender: who, amount }),
    fc.record({ kind: fc.constant('transferFrom' as const), spender: who, from: who, to: who, amount }),
    fc.record({ kind: fc.constant('approveAndTransferFrom' as const), spender: who, from: who, to: who, allowance: amount, amount }),
    fc.record({ kind: fc.constant('permit' as const), owner: who, spender: who, relayer: who, amount }),
    fc.record({ kind: fc.constant('replayPermit' as const), relayer: who }),
  );

  test('over random transfers, approvals, transferFroms and permits, totalSupply is constant and equals the sum of balances', async () => {
    const p0 = await t.as(0);
    const { publicClient } = await t.clients(0);
    // Give every holder exactly START; each run starts from this state (restored by evm_revert).
    for (const i of holders) {
      const bal = await p0.openToken.read.balanceOf([addr(i)]);
      if (bal > START) await t.mined((await t.as(i)).openToken.write.transfer([treasury, bal - START]));
      else if (bal < START) await t.mined(p0.openToken.write.transfer([addr(i), START - bal]));
    }
    // Every OPEN is held by a dev account or a protocol contract; nothing else was ever touched.
    const holdersOfRecord = [...t.accounts.map((a) => a.address), ...Object.values(t.addresses)];
    const baseline = new Map<Address, bigint>();
    for (const a of holdersOfRecord) baseline.set(a, await p0.openToken.read.balanceOf([a]));
    const sum = (m: Map<Address, bigint>) => [...m.values()].reduce((x, y) => x + y, 0n);
    assert.equal(sum(baseline), t.params.genesisSupply);

    const handles = new Map<number, Awaited<ReturnType<TestProtocol['as']>>>();
    for (const i of holders) handles.set(i, await t.as(i));
    const h = (i: number) => handles.get(i)!;

    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        runs++;
        const snapshot = await callJsonRpc<Hex>(t.anvil.url, 'evm_snapshot');
        try {
          const balances = new Map(baseline);
          const allowances = new Map<string, bigint>();
          const nonces = new Map<number, bigint>();
          for (const i of holders) nonces.set(i, await p0.openToken.read.nonces([addr(i)]));
          const allowanceKey = (o: number, s: number) => `${o}:${s}`;
          let lastPermit: Awaited<ReturnType<typeof signPermit>> | undefined;
          const move = (from: number, to: number, value: bigint) => {
            balances.set(addr(from), balances.get(addr(from))! - value);
            balances.set(addr(to), balances.get(addr(to))! + value);
          };

          for (const o of ops) {
            if (o.kind === 'transfer') {
              const have = balances.get(addr(o.from))!;
              if (o.amount > have) {
                await expectRevert(h(o.from).openToken.write.transfer([addr(o.to), o.amount]), 'ERC20InsufficientBalance');
              } else {
                await t.mined(h(o.from).openToken.write.transfer([addr(o.to), o.amount]));
                move(o.from, o.to, o.amount);
              }
            } else if (o.kind === 'approve') {
              await t.mined(h(o.owner).openToken.write.approve([addr(o.spender), o.amount]));
              allowances.set(allowanceKey(o.owner, o.spender), o.amount);
            } else if (o.kind === 'transferFrom' || o.kind === 'approveAndTransferFrom') {
              if (o.kind === 'approveAndTransferFrom') {
                await t.mined(h(o.from).openToken.write.approve([addr(o.spender), o.allowance]));
                allowances.set(allowanceKey(o.from, o.spender), o.allowance);
              }
              const allowed = allowances.get(allowanceKey(o.from, o.spender)) ?? 0n;
              const have = balances.get(addr(o.from))!;
              const call = h(o.spender).openToken.write.transferFrom([addr(o.from), addr(o.to), o.amount]);
              if (o.amount > allowed) await expectRevert(call, 'ERC20InsufficientAllowance');
              else if (o.amount > have) await expectRevert(call, 'ERC20InsufficientBalance');
              else {
                await t.mined(call);
                allowances.set(allowanceKey(o.from, o.spender), allowed - o.amount);
                move(o.from, o.to, o.amount);
              }
            } else if (o.kind === 'permit') {
              const nonce = nonces.get(o.owner)!;
              const deadline = (await latestTimestamp()) + 3600n;
              lastPermit = await signPermit(t.accounts[o.owner]!, addr(o.spender), o.amount, nonce, deadline);
              await t.mined(h(o.relayer).openToken.write.permit(lastPermit));
              nonces.set(o.owner, nonce + 1n);
              allowances.set(allowanceKey(o.owner, o.spender), o.amount);
            } else if (lastPermit) {
              await expectRevert(h(o.relayer).openToken.write.permit(lastPermit), 'ERC2612InvalidSigner');
            }

            assert.equal(await p0.openToken.read.totalSupply(), t.params.genesisSupply);
          }

          let onChain = 0n;
          for (const a of holdersOfRecord) {
            const bal = await p0.openToken.read.balanceOf([a]);
            assert.equal(bal, balances.get(a), `balance of ${a}`);
            onChain += bal;
          }
          assert.equal(onChain, t.params.genesisSupply);
          for (const [key, value] of allowances) {
            const [o, s] = key.split(':').map(Number) as [number, number];
            assert.equal(await p0.openToken.read.allowance([addr(o), addr(s)]), value, `allowance ${key}`);
          }
          for (const i of holders) assert.equal(await p0.openToken.read.nonces([addr(i)]), nonces.get(i));
        } finally {
          assert.equal(await callJsonRpc<boolean>(t.anvil.url, 'evm_revert', [snapshot]), true);
        }
      }),
      { numRuns: 30 },
    );
    assert.ok(runs >= 30);
    assert.equal(await publicClient.readContract({ address: t.addresses.openToken, abi: openTokenAbi, functionName: 'totalSupply' }), t.params.genesisSupply);
  });
});
