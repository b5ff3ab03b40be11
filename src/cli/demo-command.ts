import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatEther, type Address } from 'viem';
import { callJsonRpc } from '../chain/json-rpc.ts';
import { loadConfig } from '../config.ts';
import { generatePlantedFacts } from '../model/corpus/planted-facts.ts';
import { routes } from '../api/contract/index.ts';
import { callRoute, CliError, signingAccount } from './api-client.ts';
import { startNode } from './node.ts';

const OWNER = '1', CONTRIBUTORS = ['2', '3', '4'], BUILDER = '5', CONSUMER = '6', VALIDATOR = '7';

/**
 * `openledger demo`: the whole lifecycle on a throw-away node (embedded chain, PGlite, local blobs):
 * a datanet of generated facts from three contributors → a LoRA fine-tune of the shipped base
 * model → paid, attributed answers → two agents selling skills, one calling the other, paid once
 * by a consumer with x402 → an epoch settled on chain (and verified) → every contributor claims; then each contributor's earnings with the answers and quotes that justified them. Every
 * step is a real `openledger` command against the node, so its output shows how to do it by hand.
 */
export function demoCommand(program: Command, run: (argv: string[]) => Promise<number>): void {
  program
    .command('demo')
    .description('run the whole lifecycle on a throw-away node and print who earned what, and why')
    .option('--keep <dir>', 'keep the node’s data in this folder instead of a temporary one')
    .option('--facts <n>', 'facts in the datanet', (v) => Number(v), 12)
    .action(async (o: { keep?: string; facts: number }) => {
      const dataDir = o.keep ?? mkdtempSync(join(tmpdir(), 'openledger-demo-'));
      const step = (title: string) => console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}`);
      step('starting a node on the embedded chain');
      const node = await startNode(loadConfig({ dataDir, port: 0, rpcPort: 0, epochSeconds: 0, logLevel: 'silent', development: true }), (m) => console.log(`  ${m}`));
      /** Runs an `openledger` command against the node, printing it and its output; answers what it printed. */
      const cli = async (...args: string[]): Promise<string> => {
        console.log(`\n$ openledger ${args.map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
        const printed: string[] = [];
        const log = console.log;
        console.log = (...xs: unknown[]) => {
          printed.push(xs.join(' '));
          log(...xs);
        };
        try {
          const code = await run([...args, '--api', node.apiUrl, ...(args.includes('--account') ? ['--data-dir', dataDir] : [])]);
          if (code !== 0) throw new CliError(`openledger ${args[0]} failed (exit ${code})`);
        } finally {
          console.log = log;
        }
        return printed.join('\n');
      };
      const address = (account: string): Address => signingAccount({ api: node.apiUrl, dataDir, account }).address;
      try {
        step('1. a datanet, and contributions from three people');
        await cli('datanet', 'create', '--name', 'zorvania-facts', '--licence', 'CC-BY-4.0', '--account', OWNER);
        const facts = generatePlantedFacts({ seed: 11, facts: o.facts });
        const records = [...facts.train, ...facts.heldOut];
        for (const [i, c] of CONTRIBUTORS.entries()) {
          const file = join(dataDir, `contributor-${c}.jsonl`);
          writeFileSync(file, records.filter((_, k) => k % CONTRIBUTORS.length === i).map((r) => JSON.stringify({ prompt: r.prompt, response: r.response })).join('\n'));
          await cli('contribute', '1', file, '--account', c);
        }
        await new Promise((r) => setTimeout(r, 1000)); // the datanet worker anchors the accepted batches
        await cli('snapshot', '1', '--account', OWNER);

        step('2. ModelFactory: a LoRA adapter on the shipped base model');
        // the factory's default settings: sized from the datanet, stopped early when the held-out loss stops improving
        await cli('train', '--name', 'zorvania-qa', '--snapshot', '1', '--base', 'openledger-tiny', '--price', '0.01', '--account', BUILDER);

        step('3. paid, attributed answers');
        await cli('transfer', address(CONSUMER), '10', '--account', '0');
        await cli('deposit', '2', '--account', CONSUMER);
        // three questions about three different facts, worded as in training
        const asked = facts.train.filter((r, i, all) => all.findIndex((x) => x.factId === r.factId) === i).slice(0, 3);
        for (const r of asked) await cli('infer', '--model', 'zorvania-qa', '--prompt', `### Question: ${r.prompt}\n### Answer:`, '--max-tokens', '24', '--account', CONSUMER);

        step('4. the skills marketplace: an agent sells a skill that pays another agent\'s skill');
        // two agents (ERC-8004 tokens with ERC-6551 treasuries) run by this node; their owner bonds their skills
        await cli('transfer', address(OWNER), '5', '--account', '0');
        await cli('agent', 'create', 'answerer', '--account', OWNER);
        await cli('agent', 'create', 'fact-checker', '--account', OWNER);
        const skillFolder = (name: string, price: string, description: string, workflow: unknown) => {
          const dir = join(dataDir, 'skills', name);
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, 'SKILL.md'), `---\nname: ${name}\ndescription: ${description}\nlicense: Apache-2.0\nmetadata:\n  openledger-models: zorvania-qa\n  openledger-pricing: flat\n  openledger-price: "${price}"\n  openledger-data-royalty-bps: "2000"\n---\nAnswer questions about Zorvania from the zorvania-facts datanet.\n`);
          writeFileSync(join(dir, 'workflow.json'), JSON.stringify(workflow, null, 2));
          return dir;
        };
        const answer = { id: 'answer', prompt: '### Question: {{input}}\n### Answer:', maxTokens: 24 };
        const published = await cli('skill', 'publish', skillFolder('answer-fact', '0.02', 'Answers one question about Zorvania', { steps: [answer] }), '--agent', 'answerer', '--account', OWNER);
        const answerFact = /\((0x[0-9a-f]{64})\)/.exec(published)![1]!;
        await cli('skill', 'publish', skillFolder('check-fact', '0.05', 'Answers a question about Zorvania, and has a second agent answer it too', { steps: [answer, { id: 'second', call: answerFact, input: '{{input}}', maxPrice: '0.02' }], output: '{{steps.answer}} | second opinion: {{steps.second}}' }), '--agent', 'fact-checker', '--account', OWNER);
        await cli('skill', 'list');
        const called = await cli('skill', 'call', 'check-fact', asked[0]!.prompt, '--account', CONSUMER);
        const callId = /^call (0x[0-9a-f]{64})/m.exec(called)![1]!;

        step('5. settlement: one epoch, verified, then the challenge window passes');
        await cli('settlement', 'run', '--account', '0');
        await cli('settlement', 'verify', '1', '--account', CONSUMER);
        await callJsonRpc(node.rpcUrl, 'evm_increaseTime', [3601]);
        await callJsonRpc(node.rpcUrl, 'evm_mine', []);
        console.log('\n(the embedded chain moved one hour forward: epoch 1 is final)');

        step('6. every contributor claims');
        for (const c of CONTRIBUTORS) await cli('claim', '--account', c);

        step("7. the skill call: whom it paid, its payer's rating, a validator's re-run");
        await cli('skill', 'tree', callId);
        // the consumer rates the call it paid for (feedback needs the paid call's proof against the epoch's call root)
        await cli('skill', 'rate', callId, '90', '--account', CONSUMER);
        await cli('skill', 'list', '--q', 'check-fact');
        // a staked validator re-runs the call from what was recorded, at the agent owner's request
        await cli('transfer', address(VALIDATOR), '10', '--account', '0');
        await cli('validator', 'stake', '10', '--account', VALIDATOR);
        await cli('skill', 'request-validation', callId, '--validator', address(VALIDATOR), '--account', OWNER);
        await cli('skill', 'validate', callId, '--respond', '--account', VALIDATOR);
        await cli('skill', 'list', '--q', 'check-fact');

        step('who earned what, and why');
        for (const c of CONTRIBUTORS) {
          const who = address(c);
          const r = await callRoute(node.apiUrl, routes.getRewards, { params: { address: who } });
          const { evidence } = await callRoute(node.apiUrl, routes.getRewardEvidence, { params: { address: who } });
          console.log(`\ncontributor ${who} (account ${c}): earned ${formatEther(BigInt(r.earned))} OPEN, claimed ${formatEther(BigInt(r.claimed))} OPEN`);
          if (evidence.length === 0) console.log('  no answer credited its records');
          else console.log(`  credited ${evidence.length} time${evidence.length === 1 ? '' : 's'} in the answers; the largest shares:`);
          for (const e of [...evidence].sort((a, b) => b.sharePpm - a.sharePpm).slice(0, 3)) {
            const quotes = e.quotes.length ? `  quoted ${e.quotes.map((q) => JSON.stringify(q)).join(', ')}` : '';
            console.log(`  ${(e.sharePpm / 10_000).toFixed(1).padStart(5)} % of an answer by ${e.model} (receipt ${e.receiptId.slice(0, 10)}…)${quotes}`);
            console.log(`         record: ${e.record.length > 100 ? `${e.record.slice(0, 100)}…` : e.record}`);
          }
        }
      } finally {
        step('stopping the node');
        await node.stop();
        if (!o.keep) rmSync(dataDir, { recursive: true, force: true });
      }
    });
}
