import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseEther } from 'viem';
import { CliError } from './api-client.ts';

/** Parses an amount of OPEN (`100`, `0.5`) into wei. */
export function openArg(value: string): bigint {
  try {
    return parseEther(value);
  } catch {
    throw new InvalidArgumentError('must be an amount of OPEN, e.g. 100 or 0.5');
  }
}

/** Reads and parses a JSON file named on the command line. */
export function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${what} from ${path}: ${(err as Error).message}`);
  }
}

/** `--api <url>`: the node a command talks to. */
export function apiOption(urlArg: (v: string) => string): Option {
  return new Option('--api <url>', 'the node').default('http://127.0.0.1:8080').argParser(urlArg).env('OPENLEDGER_API');
}

/** Adds the options shared by commands that talk to a node and sign. */
export function nodeOptions(cmd: Command, urlArg: (v: string) => string): Command {
  return cmd
    .addOption(apiOption(urlArg))
    .addOption(new Option('--key <hex>', 'private key to sign with').env('OPENLEDGER_KEY'))
    .addOption(new Option('--account <n>', "dev account of the embedded chain's mnemonic to sign with").default('0'))
    .addOption(new Option('--data-dir <dir>', 'data directory of the embedded chain (for --account)').env('OPENLEDGER_DATA_DIR'));
}

