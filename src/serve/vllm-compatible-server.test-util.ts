import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { Engine, ServedModel } from './engine.ts';

/**
 * A server speaking the part of vLLM's OpenAI-compatible API the remote engine uses — runtime LoRA
 * loading (`/v1/load_lora_adapter`, `/v1/unload_lora_adapter`, vLLM's error texts) and streamed
 * `/v1/completions` with token-id prompts — backed by a real engine, so the remote engine is tested
 * over HTTP against real generation. `forget()` drops every adapter, as a vLLM restart would.
 *
 * @example
 * const server = await startVllmCompatibleServer({ engine, baseName: 'tiny', base, tokenizer });
 */
export async function startVllmCompatibleServer(o: { engine: Engine; baseName: string; base: ServedModel['base']; tokenizer: Tokenizer }): Promise<{ url: string; loads: string[]; forget(): void; close(): Promise<void> }> {
  const app: FastifyInstance = Fastify();
  const adapters = new Map<string, ServedModel>();
  const loads: string[] = [];
  const error = (status: number, message: string) => ({ error: { message, type: 'BadRequestError', code: status } });

  app.post('/v1/load_lora_adapter', async (request, reply) => {
    const { lora_name: name, lora_path: path } = request.body as { lora_name: string; lora_path: string };
    if (adapters.has(name)) return reply.status(400).send(error(400, `The lora adapter '${name}' has already been loaded.`));
    const files = { 'adapter_config.json': await readFile(join(path, 'adapter_config.json')), 'adapter_model.safetensors': await readFile(join(path, 'adapter_model.safetensors')) };
    adapters.set(name, { name, base: o.base, adapter: { key: name, files: async () => files } });
    loads.push(name);
    return reply.type('text/plain').send(`Success: LoRA adapter '${name}' added successfully.`);
  });

  app.post('/v1/unload_lora_adapter', async (request, reply) => {
    const { lora_name: name } = request.body as { lora_name: string };
    if (!adapters.delete(name)) return reply.status(404).send(error(404, `The lora adapter '${name}' cannot be found.`));
    return reply.type('text/plain').send(`Success: LoRA adapter '${name}' removed successfully.`);
  });

  app.post('/v1/completions', async (request, reply) => {
    const b = request.body as { model: string; prompt: number[]; max_tokens: number; temperature: number; top_p: number; seed: number; stop?: string[]; stream?: boolean };
    const served = b.model === o.baseName ? { name: o.baseName, base: o.base, adapter: null } : adapters.get(b.model);
    if (!served) return reply.status(404).send(error(404, `The model \`${b.model}\` does not exist.`));
    // the engine takes text: the ids (after [bos]) decode back to the prompt they were encoded from
    const prompt = o.tokenizer.decode(b.prompt.slice(o.tokenizer.bosId !== undefined ? 1 : 0), { skipSpecialTokens: false });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (data: unknown) => reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
    const head = { id: 'cmpl-test', object: 'text_completion', created: 0, model: b.model };
    const c = await o.engine.complete(served, {
      prompt, maxTokens: b.max_tokens, temperature: b.temperature, topP: b.top_p, seed: b.seed, stop: b.stop ?? [],
      onText: (text) => send({ ...head, choices: [{ index: 0, text, finish_reason: null, logprobs: null }] }),
    });
    send({ ...head, choices: [{ index: 0, text: '', finish_reason: c.finishReason === 'length' ? 'length' : 'stop', logprobs: null }] });
    send({ ...head, choices: [], usage: { prompt_tokens: c.promptTokens, completion_tokens: c.completionTokens, total_tokens: c.promptTokens + c.completionTokens } });
    reply.raw.end('data: [DONE]\n\n');
  });

  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `${url}/v1`, loads, forget: () => adapters.clear(), close: () => app.close() };
}
