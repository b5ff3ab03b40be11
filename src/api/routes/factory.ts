import type { FastifyInstance } from 'fastify';
import { getAddress, isAddress } from 'viem';
import { z } from 'zod';
import type { NodeContext } from '../../store/node-context.ts';
import { addBaseModel, getBaseModel, listBaseModels } from '../../factory/base-models.ts';
import type { TrainingJob } from '../../factory/factory-types.ts';
import { cancelTrainingJob, createTrainingJob, getTrainingJob, jobProgress, listTrainingJobs, type JobRequest } from '../../factory/jobs.ts';
import { UnsupportedConfigError } from '../../model/config.ts';
import { ModelDirError } from '../../model/model-dir.ts';
import { authenticate, forbidden } from '../authenticate.ts';
import { createStreamLimit } from '../stream-limit.ts';
import { PG_INTEGER_MAX } from '../input-guard.ts';
import { CodedError } from '../../util/coded-error.ts';

const address = z.string().refine(isAddress, 'must be an address').transform((a) => getAddress(a));
const jobParams = z.object({ id: z.string().uuid('must be a job id') });
const finished = new Set<TrainingJob['status']>(['succeeded', 'failed', 'cancelled']);

/**
 * ModelFactory routes: base models, fine-tuning jobs (create, list, show, cancel), the loss curve,
 * and a server-sent-event stream of a job's progress. Creating and cancelling a job is signed by
 * the builder's wallet; adding a base model from the node's disk only by the node's own account.
 */
export function factoryRoutes(app: FastifyInstance, ctx: NodeContext & { maxStreamsPerCaller?: number }): void {
  const streams = createStreamLimit(ctx.maxStreamsPerCaller ?? 16);
  const chainId = ctx.clients.chain.id;
  const signer = (request: Parameters<typeof authenticate>[2]) => authenticate(ctx.db, { chainId, node: ctx.clients.account.address }, request);

  app.get('/factory/base-models', async () => ({ baseModels: await listBaseModels(ctx.db) }));
  app.get('/factory/base-models/:name', async (request) => getBaseModel(ctx.db, z.object({ name: z.string().max(100) }).parse(request.params).name));

  app.post('/factory/base-models', async (request, reply) => {
    const who = await signer(request);
    if (who.toLowerCase() !== ctx.clients.account.address.toLowerCase()) throw forbidden(who, "this node's operator");
    const body = z.object({ name: z.string().min(1).max(64), path: z.string().min(1).max(4096) }).strict().parse(request.body);
    try {
      return reply.status(201).send(await addBaseModel(ctx.db, body.name, body.path));
    } catch (err) {
      // the folder is the caller's input: one that is not a loadable model is a 400 saying why
      if (err instanceof ModelDirError || err instanceof UnsupportedConfigError) throw new CodedError('invalid_model_dir', `path: ${err.message}`);
      throw err;
    }
  });

  app.post('/factory/jobs', async (request, reply) => {
    const owner = await signer(request);
    return reply.status(201).send(await createTrainingJob(ctx, owner, request.body as JobRequest));
  });

  app.get('/factory/jobs', async (request) => {
    const q = z.object({
      owner: address.optional(),
      status: z.enum(['queued', 'preparing', 'training', 'publishing', 'succeeded', 'failed', 'cancelled']).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }).parse(request.query);
    return { jobs: await listTrainingJobs(ctx.db, q) };
  });

  app.get('/factory/jobs/:id', async (request) => getTrainingJob(ctx.db, jobParams.parse(request.params).id));

  app.get('/factory/jobs/:id/progress', async (request) => {
    const { id } = jobParams.parse(request.params);
    const { after } = z.object({ after: z.coerce.number().int().min(0).max(PG_INTEGER_MAX).default(0) }).parse(request.query);
    await getTrainingJob(ctx.db, id);
    return { points: await jobProgress(ctx.db, id, after) };
  });

  // The published adapter's PEFT files (adapter_config.json, adapter_model.safetensors).
  app.get('/factory/jobs/:id/adapter/:file', async (request, reply) => {
    const { id, file } = jobParams.extend({ file: z.enum(['adapter_config.json', 'adapter_model.safetensors']) }).parse(request.params);
    const job = await getTrainingJob(ctx.db, id);
    const hash = file === 'adapter_config.json' ? job.adapterConfigBlob : job.adapterBlob;
    if (!hash) throw new CodedError('not_published', `job ${id} has no published adapter yet (status ${job.status})`);
    return reply.type(file.endsWith('.json') ? 'application/json' : 'application/octet-stream').send(await ctx.blobs.open(hash));
  });

  app.post('/factory/jobs/:id/cancel', async (request) => {
    const who = await signer(request);
    return cancelTrainingJob(ctx.db, jobParams.parse(request.params).id, who);
  });

  // Server-sent events: `progress` for each new step, `job` when the job changes, then `end`.
  app.get('/factory/jobs/:id/events', async (request, reply) => {
    const { id } = jobParams.parse(request.params);
    let job = await getTrainingJob(ctx.db, id);
    const close = streams.open(request.ip);
    reply.raw.on('close', close);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n\n`);
    let closed = false;
    request.raw.on('close', () => (closed = true));
    send('job', job);
    let lastStep = 0, lastUpdate = '';
    while (!closed) {
      for (const p of await jobProgress(ctx.db, id, lastStep)) {
        send('progress', p);
        lastStep = p.step;
      }
      job = await getTrainingJob(ctx.db, id);
      const update = `${job.status}/${job.modelId ?? ''}/${job.error ?? ''}`;
      if (update !== lastUpdate) {
        send('job', job);
        lastUpdate = update;
      }
      if (finished.has(job.status)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (!closed) {
      send('end', { status: job.status });
      res.end();
    }
    close();
  });
}
