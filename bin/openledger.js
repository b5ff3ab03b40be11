#!/usr/bin/env node
// Runs the TypeScript CLI with a Node that strips types (>= 22.18). When started by an older Node
// (the machine's Node 20, say), re-runs itself with the Node 24 that the project installs as a dev
// dependency (node_modules/.bin/node).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
const stripsTypes = major > 22 || (major === 22 && minor >= 18);
if (stripsTypes) {
  const { runCli } = await import('../src/cli/main.ts');
  process.exitCode = await runCli(process.argv.slice(2));
} else {
  const projectNode = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
  if (!existsSync(projectNode)) {
    console.error(`openledger needs Node >= 22.18 (this is ${process.version}); run \`npm install\` in the project first`);
    process.exit(2);
  }
  const child = spawn(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // what is sent to this process (a service manager's SIGTERM, a terminal's SIGINT) goes to the
  // node doing the work, which stops cleanly; this one then exits as it did
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (!signal) process.exit(code ?? 1);
    for (const s of signals) process.removeAllListeners(s);
    process.kill(process.pid, signal);
  });
}
