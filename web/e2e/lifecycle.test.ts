/**
 * The whole lifecycle in a real browser (Debian's Chromium through playwright-core) against
 * `openledger up` on the embedded defaults: connect development accounts, create a datanet, upload
 * a file of records, take a snapshot, run a tiny training job to completion in the wizard, chat
 * with the model and see its answer's attributed spans, let the epoch settle and claim the
 * contributor's rewards. A screenshot of every main page goes to `artifacts/web/`. Skips, saying
 * why, where Chromium is not installed (`scripts/install-test-deps.sh` installs it as root).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { mnemonicToAccount } from 'viem/accounts';
import { callJsonRpc } from '../../src/chain/json-rpc.ts';
import { up, type Up } from '../../src/cli/test-node.ts';
import { generatePlantedFacts } from '../../src/model/corpus/planted-facts.ts';

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
  for (let k = 1; !ok && k < facts.train.length; k++) {
    await go('/');
    await go('/playground?model=e2e-qa');
    await page.getByTestId('playground-input').fill(facts.train[k]!.prompt);
    await page.getByTestId('playground-send').click();
    await page.getByTestId('playground-receipt').waitFor({ timeout: 120_000 });
    ok = await credited();
  }
  assert.ok(ok, 'an answer credits the contributor, its spans highlighted');
  await shot('playground');

  // 6. the epochs settle; after the challenge window the contributor claims. An answer that
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

  // 7. governance and the explorer render from the chain
  await go('/governance');
  await page.getByTestId('gov-fee-split').filter({ hasText: /3000|30/ }).waitFor({ timeout: 30_000 });
  await shot('governance');
  await go('/explorer');
  await page.getByText("Watchtower: other operators' epochs").waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await shot('explorer');
  assert.deepEqual(errors, [], 'no uncaught errors in the pages');
}

