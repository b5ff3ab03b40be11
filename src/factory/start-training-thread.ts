import { Worker } from 'node:worker_threads';
import type { TrainingProgress } from './factory-types.ts';
import type { TrainingRunResult } from './run-training.ts';
import type { TrainingThreadInput } from './training-thread.ts';

/** A fine-tuning run in its own thread. */
export interface TrainingThread {
  /** Settles when the run ends: completed, cancelled, or an error (including a crashed thread). */
  result: Promise<TrainingRunResult>;
  /** Asks the run to stop after its current step (it checkpoints first). */
  cancel(): void;
  /** Stops the thread at once (no checkpoint; the run resumes from the previous one). */
  terminate(): Promise<void>;
}

/**
 * Starts {@link runTraining} in a worker thread, reporting each step to `onProgress`.
 *
 * @example
 * const run = startTrainingThread({ baseModelDir, jobDir, hyperparameters, baseModelId }, (p) => log(p));
 * const { status, evaluation } = await run.result;
 */
export function startTrainingThread(input: TrainingThreadInput, onProgress: (p: TrainingProgress) => void): TrainingThread {
  const worker = new Worker(new URL('./training-thread.ts', import.meta.url), { workerData: input });
  const result = new Promise<TrainingRunResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: { type: 'progress'; progress: TrainingProgress } | { type: 'done'; result: TrainingRunResult } | { type: 'error'; message: string; stack?: string }) => {
      if (m.type === 'progress') onProgress(m.progress);
      else if (m.type === 'done') {
        settled = true;
        resolve(m.result);
      } else {
        settled = true;
        const err = new Error(m.message);
        if (m.stack) err.stack = m.stack;
        reject(err);
      }
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`the training thread exited (code ${code}) before finishing`));
    });
  });
  // a finished run's thread is not needed any more, whatever it is still holding
  result.then(() => worker.terminate(), () => worker.terminate()).catch(() => {});
  return {
    result,
    cancel: () => worker.postMessage({ type: 'cancel' }),
    terminate: async () => void (await worker.terminate()),
  };
}
