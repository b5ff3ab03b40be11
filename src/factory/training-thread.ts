/**
 * Entry of the worker thread a fine-tuning job runs in (so the node's event loop, its API and its
 * chain work stay responsive while the engine computes). Messages in: `{ type: 'cancel' }`.
 * Messages out: `progress`, then `done` (with the result) or `error`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createBackendFor, type BackendChoice } from '../model/create-backend-for.ts';
import { runTraining, type TrainingRunOptions } from './run-training.ts';

export type TrainingThreadInput = Pick<TrainingRunOptions, 'baseModelDir' | 'jobDir' | 'hyperparameters' | 'baseModelId'> & { threads?: number; backend?: BackendChoice };

const port = parentPort!;
const input = workerData as TrainingThreadInput;
const controller = new AbortController();
port.on('message', (m: { type: string }) => {
  if (m.type === 'cancel') controller.abort();
});

// the job's own device when the node trains on a GPU (Dawn works in worker threads)
const backend = await createBackendFor(input.backend ?? 'cpu', { ...(input.threads ? { threads: input.threads } : {}) });
// the backend is released before the outcome is posted: the parent terminates the thread once it
// has it, and a GPU device must not be torn down mid-call
let outcome: { type: 'done'; result: unknown } | { type: 'error'; message: string; stack: string | undefined };
try {
  const result = await runTraining({ ...input, backend, signal: controller.signal, onProgress: (p) => port.postMessage({ type: 'progress', progress: p }) });
  outcome = { type: 'done', result };
} catch (err) {
  outcome = { type: 'error', message: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined };
} finally {
  await backend.dispose();
}
port.postMessage(outcome);
port.close(); // nothing else keeps the thread alive
