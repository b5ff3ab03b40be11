/**
 * Authorisations the escrow would not pay cannot buy free inference or hold an epoch hostage
 * (issue 16, items 5 and 6): the node accepts only authorisations that live long enough to be
 * drawn, never lets a shorter one replace one it can still draw, stops serving shortly before
 * expiry and draws what it served before the expiry; it checks signatures as the escrow does
 * (ERC-1271 for consumers with code) and leaves out a draw that would revert.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { keccak256, parseEther, stringToBytes, type Hex } from 'viem';
import { signSpendAuthorization, type SpendAuthorization } from '../chain/spend-authorization.ts';
import { startTestProtocol, type TestProtocol } from '../chain/test-chain.ts';
import type { PublishedModel } from '../factory/published-models.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { acceptAuthorization, MIN_AUTHORIZATION_LIFETIME_SECONDS, SERVE_MARGIN_SECONDS } from './authorizations.ts';
import { recordCharge } from './charges.ts';
import { drawEarly } from './draw-early.ts';
import { drawRefusal } from './simulate-draw.ts';
import { callJsonRpc } from '../chain/json-rpc.ts';
import { createEscrowMeter } from './meter.ts';

const NODE = 0, CONSUMER = 7;
let t: TestProtocol;
let db: Database;
const deployment = () => ({ chainId: 31337, escrow: t.addresses.inferenceEscrow });
const addr = (i: number) => t.accounts[i]!.address;
const chainNow = async () => (await (await t.clients(0)).publicClient.getBlock()).timestamp;

async function offer(nonce: bigint, expiry: bigint, cap = parseEther('1'), now?: bigint) {
  const auth: SpendAuthorization = { consumer: addr(CONSUMER), operator: addr(NODE), cumulativeAmount: cap, nonce, expiry };
  return acceptAuthorization(db, { ...deployment(), client: (await t.clients(NODE)).publicClient }, addr(NODE), auth, await signSpendAuthorization(t.accounts[CONSUMER]!, deployment(), auth), now);
}

before(async () => {
  [t, db] = await Promise.all([startTestProtocol(), openDatabase({ memory: true })]);
  await migrate(db);
  const node = await t.as(NODE);
  await t.mined(node.openToken.write.approve([t.addresses.staking, parseEther('1000')]));
  await t.mined(node.staking.write.stake([0, 0n, parseEther('1000')]));
  await t.mined(node.openToken.write.transfer([addr(CONSUMER), parseEther('10')]));
  const consumer = await t.as(CONSUMER);
  await t.mined(consumer.openToken.write.approve([t.addresses.inferenceEscrow, parseEther('5')]));
  await t.mined(consumer.inferenceEscrow.write.deposit([addr(CONSUMER), parseEther('5')]));
});
after(async () => {
  await db?.close();
  await t?.stop();
});

test('an authorisation that expires before it could be drawn is refused, and so is a shorter one replacing a longer', async () => {
  const now = await chainNow();
  await assert.rejects(offer(1n, now + 600n, parseEther('1'), now), (e: Error & { code?: string }) => e.code === 'expires_too_soon' && /at least 3600 s/.test(e.message));
  await offer(1n, now + 2n * MIN_AUTHORIZATION_LIFETIME_SECONDS, parseEther('1'), now);
  // a later, shorter one (still long enough on its own) may not replace the one the node can draw
  await assert.rejects(offer(2n, now + MIN_AUTHORIZATION_LIFETIME_SECONDS + 60n, parseEther('2'), now), (e: Error & { code?: string }) => e.code === 'shorter_expiry');
  await offer(2n, now + 3n * MIN_AUTHORIZATION_LIFETIME_SECONDS, parseEther('2'), now);
});

test('the node stops serving against an authorisation shortly before it expires, and draws what it served before the expiry', async () => {
  const now = await chainNow();
  const { auth } = (await offer(3n, now + 4n * MIN_AUTHORIZATION_LIFETIME_SECONDS, parseEther('2'), now));
  const model = { name: 'paid', pricePer1kTokens: parseEther('0.01').toString() } as PublishedModel;
  const meterAt = async (at: bigint) => createEscrowMeter({ db, contracts: await t.as(NODE), operator: addr(NODE), now: () => at });
  const served = await (await meterAt(now)).reserve(addr(CONSUMER), parseEther('0.1'), model.name);
  await served.release();
  // a receipt of what was served (fee 0.1 OPEN), not settled yet
  const id = keccak256(stringToBytes('receipt served before expiry')) as Hex;
  await recordCharge(db, { receiptId: id, consumer: addr(CONSUMER), fee: parseEther('0.1') });
  const node = { db, clients: await t.clients(NODE), contracts: await t.as(NODE) };
  assert.equal(await drawEarly(node), 0n, 'far from expiry, without a withdrawal, the epoch draws it');
  // within the serve margin: no more serving against it
  const late = auth.expiry - SERVE_MARGIN_SECONDS + 1n;
  await assert.rejects((await meterAt(late)).reserve(addr(CONSUMER), parseEther('0.1'), model.name), (e: Error & { code?: string }) => e.code === 'insufficient_funds' && /no unexpired spend authorisation/.test(e.message));
  // and the worker draws what was served while the authorisation can still be drawn
  await t.increaseTime(late - (await chainNow()));
  assert.equal(await drawEarly(node), parseEther('0.1'));
  assert.equal(await (await t.as(0)).inferenceEscrow.read.drawn([addr(CONSUMER), addr(NODE)]), parseEther('0.1'));
  assert.equal(await drawEarly(node), 0n, 'drawn once');
});

test('a consumer with code (a contract wallet, an EIP-7702 account) is checked as the escrow checks it; its failing draw is left out, not reverting the others', async () => {
  const WALLET = 8;
  const admin = await t.as(NODE);
  await t.mined(admin.openToken.write.transfer([addr(WALLET), parseEther('1')]));
  const w = await t.as(WALLET);
  await t.mined(w.openToken.write.approve([t.addresses.inferenceEscrow, parseEther('1')]));
  await t.mined(w.inferenceEscrow.write.deposit([addr(WALLET), parseEther('1')]));
  const now = await chainNow();
  const client = (await t.clients(NODE)).publicClient;
  const sign = async (nonce: bigint) => {
    const auth: SpendAuthorization = { consumer: addr(WALLET), operator: addr(NODE), cumulativeAmount: parseEther('1'), nonce, expiry: now + MIN_AUTHORIZATION_LIFETIME_SECONDS + 100n };
    return { auth, signature: await signSpendAuthorization(t.accounts[WALLET]!, deployment(), auth) };
  };
  const first = await sign(1n);
  await acceptAuthorization(db, { ...deployment(), client }, addr(NODE), first.auth, first.signature, now);
  await recordCharge(db, { receiptId: keccak256(stringToBytes('wallet receipt')), consumer: addr(WALLET), fee: parseEther('0.1') });
  // the account gets code whose ERC-1271 answer is not the magic value (32 zero bytes)
  await callJsonRpc(t.anvil.url, 'anvil_setCode', [addr(WALLET), '0x60206000f3']);
  const node = { db, clients: await t.clients(NODE), contracts: await t.as(NODE) };
  assert.equal(await drawRefusal(node, { ...first, drawTo: parseEther('0.1') }), 'InferenceEscrowInvalidSignature');
  // the node now refuses its ECDSA signatures, as the escrow does
  const second = await sign(2n);
  await assert.rejects(acceptAuthorization(db, { ...deployment(), client }, addr(NODE), second.auth, second.signature, now), (e: Error & { code?: string }) => e.code === 'invalid_signature' && /has code/.test(e.message));
  // near expiry the early draw leaves it out and says why, instead of reverting
  await t.increaseTime(first.auth.expiry - SERVE_MARGIN_SECONDS - (await chainNow()));
  const lines: string[] = [];
  assert.equal(await drawEarly(node, (l) => lines.push(l)), 0n);
  assert.ok(lines.some((l) => /would revert \(InferenceEscrowInvalidSignature\)/.test(l)), lines.join('\n'));
});
