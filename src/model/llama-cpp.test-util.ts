/**
 * llama.cpp through node-llama-cpp's prebuilt CPU binary, for tests that compare the engine (or an
 * exported file) with it: loaded once per test file and disposed after, or a sentence saying why not.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';

type NodeLlamaCpp = typeof import('node-llama-cpp');
export type Token = import('node-llama-cpp').Token;
type ControlledEvaluateInputItem = import('node-llama-cpp').ControlledEvaluateInputItem;
type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;

let loaded: Promise<{ lib: NodeLlamaCpp; llama: Llama } | string> | undefined;
/** node-llama-cpp's CPU prebuilt, loaded once, or why it cannot be. */
export function loadLlama(): Promise<{ lib: NodeLlamaCpp; llama: Llama } | string> {
  loaded ??= (async () => {
    try {
      const lib = await import('node-llama-cpp');
      const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error, progressLogs: false });
      return { lib, llama };
    } catch (e) {
      return `node-llama-cpp could not be loaded (${(e as Error).message.split('\n')[0]}); is its prebuilt CPU binary (@node-llama-cpp/${process.platform}-${process.arch}) installed?`;
    }
  })();
  return loaded;
}

after(async () => {
  const env = await loaded;
  if (env && typeof env !== 'string') await env.llama.dispose();
});


/**
 * llama.cpp's logits after each of `tokens`, full vocabulary, via controlledEvaluate. The KV cache
 * is F32 unless asked (llama.cpp's default F16 cache rounds keys and values).
 */
export async function llamaCppLogits(llama: Llama, modelPath: string, tokens: readonly number[], vocab: number, adapterPath?: string, kvCache: 'F32' | 'F16' = 'F32'): Promise<Float64Array[]> {
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const context = await model.createContext({
      contextSize: 64,
      batchSize: 64,
      threads: 1,
      flashAttention: false,
      experimentalKvCacheKeyType: kvCache,
      experimentalKvCacheValueType: kvCache,
      ...(adapterPath ? { lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } } : {}),
    });
    try {
      const sequence = context.getSequence();
      const input: ControlledEvaluateInputItem[] = tokens.map((t) => [t as Token, { generateNext: { logits: true } }]);
      const results = await sequence.controlledEvaluate(input);
      return tokens.map((_, i) => {
        const logits = results[i]?.next.logits;
        assert.ok(logits, `no logits for position ${i}`);
        assert.equal(logits.size, vocab);
        const row = new Float64Array(vocab);
        for (const [token, value] of logits) row[token] = value;
        return row;
      });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

export function maxAbsDiff(a: Float64Array[], b: Float64Array[]): number {
  let max = 0;
  a.forEach((row, t) => row.forEach((v, i) => (max = Math.max(max, Math.abs(v - b[t]![i]!)))));
  return max;
}

export function maxAbs(a: Float64Array[]): number {
  return Math.max(...a.map((row) => Math.max(...row.map(Math.abs))));
}

