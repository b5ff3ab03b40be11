/**
 * The whole lifecycle in a real browser (Debian's Chromium through playwright-core) against
 * `openledger up` on the embedded defaults: connect development accounts, create a datanet, upload
 * a file of records, take a snapshot, run a tiny training job to completion in the wizard, chat
 * with the model and see its answer's attributed spans, buy a call of an agent's skill over that
 * model in the marketplace and follow its price down to the contributor, let the epoch settle and
 * claim the contributor's rewards. A screenshot of every main page goes to `artifacts/web/`.
 * Skips, saying why, where Chromium is not installed (`scripts/install-test-deps.sh` installs it
 * as root).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseEther, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { createApiClient } from '../../src/api/contract/client.ts';
import { routes } from '../../src/api/contract/index.ts';
import { grantSessionKey, registerAgent } from '../../src/chain/agent-accounts.ts';
import { callJsonRpc } from '../../src/chain/json-rpc.ts';
import { chainFor } from '../../src/cli/api-client.ts';
import { up, type Up } from '../../src/cli/test-node.ts';
import { generatePlantedFacts } from '../../src/model/corpus/planted-facts.ts';
import { readSkillFolder } from '../../src/skills/skill-folder.ts';
import { skillTermsHash } from '../../src/skills/skill-listings.ts';
import { payOpen, sendOpen } from '../../src/chain/open-payment.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const WEB_BUILT = existsSync(join(import.meta.dirname, '../dist/index.html'));
const ARTIFACTS = join(import.meta.dirname, '../../artifacts/web');
const dataDir = mkdtempSync(join(tmpdir(), 'openledger-web-e2e-'));
let node: Up | undefined;
let browser: Browser | undefined;

after(async () => {
  await browser?.close();
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const skip = !CHROMIUM ? 'Chromium is not installed (scripts/install-test-deps.sh installs Debian’s chromium as root)' : !WEB_BUILT ? 'the web app is not built (npm run build:web)' : false;

test('a person runs the whole lifecycle in the browser', { skip, timeout: 600_000 }, async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  rmSync(join(ARTIFACTS, 'failure.png'), { force: true });
  try {
    await lifecycle();
  } catch (err) {
    // what the page showed when it failed, for the log and the artifacts
    const page = browser?.contexts()[0]?.pages()[0];
    if (page) {
      await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
      (err as Error).message += `\n--- page ${page.url()} ---\n${await page.evaluate('document.body.innerText').catch(() => '')}`;
    }
    throw err;
  }
});

async function lifecycle(): Promise<void> {
  // the settlement epoch runs every few seconds here, so a claim becomes possible within the test
  node = await up(dataDir, { OPENLEDGER_EPOCH_SECONDS: '3' });
  browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const go = async (hash: string) => {
    await page.goto(`${node!.apiUrl}/#${hash}`);
    await page.waitForLoadState('networkidle');
  };
  const connect = async (account: number) => {
    await go('/');
    await page.getByTestId(`connect-dev-${account}`).click();
    await page.getByTestId('connected-address').waitFor();
  };

  // 1. connect the datanet owner and create a datanet
  await connect(1);
  await shot('connect');
  await go('/datanets');
  await page.getByTestId('create-datanet-name').fill('e2e-facts');
  await page.getByTestId('create-datanet-licence').fill('CC-BY-4.0');
  await page.getByTestId('create-datanet-submit').click();
  await page.waitForURL(/#\/datanets\/1/, { timeout: 60_000 });

  // 2. a contributor uploads a file of records; every record is validated and accepted
  const facts = generatePlantedFacts({ seed: 21, facts: 8 });
  const file = join(dataDir, 'facts.jsonl');
  writeFileSync(file, [...facts.train, ...facts.heldOut].map((r) => JSON.stringify({ prompt: r.prompt, response: r.response })).join('\n'));
  await connect(2);
  await go('/datanets/1');
  await page.getByTestId('upload-input').setInputFiles(file);
  await page.getByTestId('upload-result').filter({ hasText: /accepted/ }).waitFor({ timeout: 60_000 });
  await shot('datanet');

  // 3. the owner takes a snapshot
  await connect(1);
  await go('/datanets/1');
  await page.getByTestId('snapshot-create').click();
  await page.getByTestId('snapshot-list').filter({ hasText: /1/ }).waitFor({ timeout: 60_000 });

  // 4. a builder trains a model in the wizard and watches it finish
  await connect(3);
  await go('/factory');
  await page.getByTestId('wizard-base-openledger-tiny').click();
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('wizard-snapshot-1').click();
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('wizard-next').click(); // template: the defaults
  await page.getByTestId('wizard-model-name').fill('e2e-qa');
  await page.getByTestId('wizard-price').fill('0.01');
  // the wizard's defaults ('auto' epochs, rank and learning rate, early stopping), as `openledger demo` uses
  await page.getByTestId('wizard-submit').click();
  await page.waitForURL(/#\/factory\/jobs\//, { timeout: 30_000 });
  await page.getByTestId('job-status').filter({ hasText: /succeeded/ }).waitFor({ timeout: 240_000 });
  await page.getByTestId('job-model-id').waitFor({ timeout: 60_000 });
  await page.getByTestId('loss-chart').waitFor();
  await shot('job');
  await go('/factory');
  await shot('factory');

  // 5. a consumer (the treasury holds the OPEN) funds the escrow and asks; the answer is attributed
  await connect(0);
  await go('/playground?model=e2e-qa');
  const ask = async () => {
    await page.getByTestId('playground-input').fill(facts.train[0]!.prompt);
    await page.getByTestId('playground-send').click();
  };
  await ask();
  await page.getByTestId('fund-amount').waitFor({ timeout: 60_000 }); // 402: no deposit yet
  await page.getByTestId('fund-amount').fill('2');
  await page.getByTestId('fund-submit').click();
  // the question is asked again once funded
  await page.getByTestId('playground-receipt').waitFor({ timeout: 120_000 });
  const answer = await page.getByTestId('playground-answer').last().textContent();
  assert.ok(answer && answer.trim().length > 0, 'an answer');
  // an answer that states its fact credits its contributor, with attributed spans; the tiny model
  // does not learn every fact, and an answer that mixes facts up abstains (its share goes to the
  // datanet's pool), so the training questions are asked in turn, each in a fresh chat, until one is
  const credited = async () => {
    await page.getByTestId('attribution-evidence').waitFor({ timeout: 60_000 }); // the full receipt is loaded
    return (await page.getByTestId('attributed-span').count()) > 0 && (await page.getByTestId('attribution-contribution').count()) > 0;
  };
  let ok = await credited();
  let asked = facts.train[0]!.prompt;
  for (let k = 1; !ok && k < facts.train.length; k++) {
    await go('/');
    await go('/playground?model=e2e-qa');
    asked = facts.train[k]!.prompt;
    await page.getByTestId('playground-input').fill(asked);
    await page.getByTestId('playground-send').click();
    await page.getByTestId('playground-receipt').waitFor({ timeout: 120_000 });
    ok = await credited();
  }
  assert.ok(ok, 'an answer credits the contributor, its spans highlighted');
  await shot('playground');

  // 6. the marketplace: a seller's agent sells a skill over the model; the consumer buys a call of it
  const skillCall = await marketplace({ page, go, shot, connect }, asked);

  // 7. the epochs settle; after the challenge window the contributor claims. An answer that
  //    abstained paid the datanet's pool, not the contributor, and an epoch waits for the one before
  //    it to be final: time moves on, an epoch at a time, until the contributor has something final
  const contributor = mnemonicToAccount(readFileSync(join(dataDir, 'chain', 'mnemonic'), 'utf8').trim(), { addressIndex: 2 }).address;
  for (let round = 1; round <= 4; round++) {
    for (let i = 0; i < 60; i++) {
      const epochs = (await (await fetch(`${node.apiUrl}/settlement/epochs`)).json()) as { epochs: Array<{ status: string }> };
      if (epochs.epochs.filter((e) => e.status === 'posted').length >= round) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await callJsonRpc(node.rpcUrl, 'evm_increaseTime', [3601]);
    await callJsonRpc(node.rpcUrl, 'evm_mine', []);
    const rewards = (await (await fetch(`${node.apiUrl}/settlement/rewards/${contributor}`)).json()) as { claimable: string };
    if (BigInt(rewards.claimable) > 0n) break;
  }
  await connect(2);
  await go('/rewards');
  await page.getByTestId('rewards-claim').click();
  await page.getByTestId('rewards-claimed').filter({ hasText: /[1-9]/ }).waitFor({ timeout: 60_000 });
  await page.getByTestId('rewards-chart').waitFor();
  await shot('rewards');
  // anyone can recompute a posted epoch in the browser (the CLI's `settlement verify`, shared)
  await page.getByTestId('epoch-verify-1').click();
  await page.getByTestId('epoch-verdict-1').filter({ hasText: 'checks out' }).waitFor({ timeout: 60_000 });
  // the skill call of step 6 is settled by an epoch once the one before it is final
  await go(`/marketplace/calls/${skillCall}`);
  await page.getByTestId('call-epoch').filter({ hasText: /Settled in epoch \d+/ }).waitFor({ timeout: 60_000 });

  // 8. governance and the explorer render from the chain
  await go('/governance');
  await page.getByTestId('gov-fee-split').filter({ hasText: /3000|30/ }).waitFor({ timeout: 30_000 });
  await shot('governance');
  await go('/explorer');
  await page.getByText("Watchtower: other operators' epochs").waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await shot('explorer');
  assert.deepEqual(errors, [], 'no uncaught errors in the pages');
}

/**
 * Step 6: a seller (dev account 4) has the node run an agent and lists a skill over the trained
 * model, as `openledger agent create` and `openledger skill publish` do (the agent registered on
 * chain, the node's session key granted, the folder listed and bonded); the seller, who has no
 * deposit, is refused with the node's message; the consumer (account 0, funded in the Playground)
 * finds the skill in the marketplace, calls it from its page with the question the model answered
 * with credit, and follows the price down the call tree to the data royalty and the contributor;
 * the agent's page, its listings and the skill's paid-call reputation follow.
 */
async function marketplace(ui: { page: Page; go: (hash: string) => Promise<void>; shot: (name: string) => Promise<unknown>; connect: (account: number) => Promise<void> }, question: string): Promise<string> {
  const { page, go, shot, connect } = ui;
  const mnemonic = readFileSync(join(dataDir, 'chain', 'mnemonic'), 'utf8').trim();
  const seller = mnemonicToAccount(mnemonic, { addressIndex: 4 });
  // the treasury gives the seller the OPEN of its listing bond; the node and the browser send from
  // the same account meanwhile, so a transfer that lost the race for a nonce is sent again
  for (let attempt = 1; ; attempt++) {
    try {
      const treasury = await chainFor(node!.apiUrl, mnemonicToAccount(mnemonic, { addressIndex: 0 }));
      const hash = await sendOpen({ contracts: treasury.contracts, walletClient: treasury.clients.walletClient }, seller.address, parseEther('1'));
      assert.equal((await treasury.clients.publicClient.waitForTransactionReceipt({ hash })).status, 'success');
      break;
    } catch (err) {
      if (attempt >= 5 || !/nonce/i.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const chain = await chainFor(node!.apiUrl, seller);
  const mined = async (hash: Hex) => assert.equal((await chain.clients.publicClient.waitForTransactionReceipt({ hash })).status, 'success');
  const api = createApiClient({ baseUrl: node!.apiUrl, signer: seller });
  const { agentId, account } = await registerAgent(chain.clients, chain.contracts, `${node!.apiUrl}/agents/e2e-answerer/registration.json`);
  const hosted = await api.call(routes.createAgent, { body: { name: 'e2e-answerer', agentId: agentId.toString() } });
  await grantSessionKey(chain.clients, account, hosted.sessionKey, { perCallCap: 0n, periodCap: 0n, periodSeconds: 0n, expiry: BigInt(Math.floor(Date.now() / 1000) + 30 * 86_400), canSign: true, allowedTargets: [] });
  const dir = join(dataDir, 'skills', 'answer-e2e-fact');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'SKILL.md'), '---\nname: answer-e2e-fact\ndescription: Answers a question about the e2e facts datanet\nlicense: Apache-2.0\nmetadata:\n  openledger-models: e2e-qa\n  openledger-datanets: "1"\n  openledger-pricing: flat\n  openledger-price: "0.05"\n  openledger-data-royalty-bps: "2000"\n---\nAnswer the question from the e2e facts.\n');
  writeFileSync(join(dir, 'workflow.json'), JSON.stringify({ steps: [{ id: 'answer', prompt: '### Question: {{input}}\n### Answer:', maxTokens: 24 }] }));
  const folder = await readSkillFolder(dir);
  const files = folder.files.map((f) => ({ path: f.path, base64: readFileSync(join(dir, f.path)).toString('base64') }));
  const listed = await api.call(routes.listSkill, { body: { agent: 'e2e-answerer', name: folder.name, files } });
  const bond = await chain.contracts.skillRegistry.read.minimumListingBond();
  const payment = await payOpen(chain.contracts, chain.contracts.skillRegistry.address, bond, mined);
  await mined(await chain.contracts.skillRegistry.write.list([agentId, folder.id, skillTermsHash(folder), `${node!.apiUrl}/skills/${folder.id}`, bond], payment));

  // an account without a deposit is told by the node what to do, with the fund form
  await connect(4);
  await go(`/marketplace/skills/${listed.id}`);
  await page.getByTestId('skill-call-input').fill(question);
  await page.getByTestId('skill-call-submit').click();
  await page.getByRole('alert').filter({ hasText: /Deposit and authorise more/ }).waitFor({ timeout: 30_000 });
  await page.getByTestId('fund-amount').waitFor();

  // the consumer finds it by searching, with its price and bond, and opens it
  await connect(0);
  await go('/marketplace');
  await page.getByTestId('skill-search').fill('e2e facts');
  const row = page.getByTestId('skill-row-answer-e2e-fact');
  await row.getByTestId('skill-bond').filter({ hasText: '1 OPEN' }).waitFor({ timeout: 30_000 });
  assert.match(await row.getByTestId('skill-price').textContent() ?? '', /0\.05 OPEN a call/);
  assert.match(await row.getByTestId('skill-reputation').textContent() ?? '', /^0 /);
  await row.getByTestId('skill-link-answer-e2e-fact').click();
  await page.waitForURL(new RegExp(`#/marketplace/skills/${listed.id}`));
  await page.getByTestId('skill-royalty').filter({ hasText: '20 %' }).waitFor();

  // a call paid from the consumer's escrow (a signed request): the output, its price, and where the price went
  await page.getByTestId('skill-call-input').fill(question);
  await page.getByTestId('skill-call-submit').click();
  await page.getByTestId('skill-call-output').waitFor({ timeout: 120_000 });
  assert.ok((await page.getByTestId('skill-call-output').textContent())?.trim(), 'the skill answered');
  assert.equal(await page.getByTestId('skill-call-price').textContent(), '0.05 OPEN');
  const tree = page.getByTestId('call-tree');
  await tree.getByTestId('payout-data_royalty').waitFor({ timeout: 30_000 });
  await tree.getByTestId('payout-contributor').waitFor();
  await tree.getByTestId('call-contribution').first().waitFor();
  assert.equal(await tree.getByTestId('call-sum').getAttribute('data-balanced'), 'yes', "the call's payouts add up to its price");
  await shot('skill-call');
  // the call's own page (step 8 sees it settled)
  const callId = (await page.getByTestId('skill-call-link').getAttribute('href'))!.split('/').pop()!;
  await page.getByTestId('skill-call-link').click();
  await page.waitForURL(new RegExp(`#/marketplace/calls/${callId}`));
  await page.getByTestId('call-tree').getByTestId('payout-data_royalty').waitFor({ timeout: 30_000 });
  const payouts = await api.call(routes.getSkillCall, { params: { id: callId } });
  const contributor = mnemonicToAccount(mnemonic, { addressIndex: 2 }).address;
  assert.ok(payouts.root.payouts.some((p) => p.role === 'data_royalty' && p.payee.toLowerCase() === contributor.toLowerCase()), 'the data royalty pays the contributor');

  // the agent's page, and the skill's paid-call reputation in the marketplace
  await go('/marketplace/agents/e2e-answerer');
  await page.getByTestId('agent-can-sign').filter({ hasText: 'yes' }).waitFor();
  assert.equal(await page.getByTestId('agent-account').textContent(), account);
  for (const link of ['agent-card-link', 'agent-registration-link']) {
    const listing = await fetch(`${node!.apiUrl}${await page.getByTestId(link).getAttribute('href')}`);
    assert.equal(listing.status, 200, link);
  }
  await shot('agent');
  await go('/marketplace');
  await page.getByTestId('skill-row-answer-e2e-fact').getByTestId('skill-reputation').filter({ hasText: '1 (0.05 OPEN)' }).waitFor();
  await shot('marketplace');
  return callId;
}
