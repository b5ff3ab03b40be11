import { existsSync, readFileSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import type { DeploymentRecorder, DeploymentStep } from '../deploy.ts';

/**
 * A {@link DeploymentRecorder} kept in one JSON file (written atomically), for a deployment with no
 * database: the development network's L1 contracts, recorded in its data directory.
 *
 * @example
 * const recorder = fileRecorder('.openledger/devnet/l1-deployment.json');
 */
export function fileRecorder(path: string): DeploymentRecorder {
  const read = (): Record<string, Record<string, DeploymentStep>> => (existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {});
  return {
    async load(chainId) {
      return { ...(read()[chainId] ?? {}) };
    },
    async save(chainId, step) {
      const all = read();
      all[chainId] = { ...(all[chainId] ?? {}), [step.name]: step };
      await writeFileAtomic(path, JSON.stringify(all, null, 1));
    },
    async reset(chainId) {
      const all = read();
      delete all[chainId];
      await writeFileAtomic(path, JSON.stringify(all, null, 1));
    },
  };
}
