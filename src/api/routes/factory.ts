import type { FastifyInstance } from 'fastify';
import * as contract from '../contract/factory.ts';
import { serveRoute } from '../serve-route.ts';
import type { NodeContext } from '../../store/node-context.ts';
import { addBaseModel, getBaseModel, listBaseModels } from '../../factory/base-models.ts';
import type { TrainingJob } from '../../factory/factory-types.ts';
import { cancelTrainingJob, createTrainingJob, getTrainingJob, jobProgress, listTrainingJobs } from '../../factory/jobs.ts';
import { UnsupportedConfigError } from '../../model/config.ts';
import { ModelDirError } from '../../model/model-dir.ts';
import { authenticate, forbidden } from '../authenticate.ts';
import { createStreamLimit } from '../stream-limit.ts';
import { CodedError } from '../../util/coded-error.ts';

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

  serveRoute(app, contract.listBaseModels, async () => ({ baseModels: await listBaseModels(ctx.db) }));
  serveRoute(app, contract.getBaseModel, async ({ params }) => getBaseModel(ctx.db, params.name));

  serveRoute(app, contract.addBaseModel, async (input, request, reply) => {
    const who = await signer(request);
    if (who.toLowerCase() !== ctx.clients.account.address.toLowerCase()) throw forbidden(who, "this node's operator");
    const body = input.body;
    try {
      return reply.status(201).send(await addBaseModel(ctx.db, body.name, body.path));
    } catch (err) {
      // the folder is the caller's input: one that is not a loadable model is a 400 saying why
      if (err instanceof ModelDirError || err instanceof UnsupportedConfigError) throw new CodedError('invalid_model_dir', `path: ${err.message}`);
      throw err;
    }
  });

  serveRoute(app, contract.createTrainingJob, async (input, request, reply) => {
    const owner = await signer(request);
    return reply.status(201).send(await createTrainingJob(ctx, owner, input.body));
  });

  serveRoute(app, contract.listTrainingJobs, async ({ query }) => ({ jobs: await listTrainingJobs(ctx.db, query) }));

  serveRoute(app, contract.getTrainingJob, async ({ params }) => getTrainingJob(ctx.db, params.id));

  serveRoute(app, contract.getTrainingProgress, async (input) => {
    const { id } = input.params;
    const { after } = input.query;
    await getTrainingJob(ctx.db, id);
    return { points: await jobProgress(ctx.db, id, after) };
  });

  // The published adapter's PEFT files (adapter_config.json, adapter_model.safetensors).
  serveRoute(app, contract.getTrainingAdapterFile, async (input, _request, reply) => {
    const { id, file } = input.params;
    const job = await getTrainingJob(ctx.db, id);
    const hash = file === 'adapter_config.json' ? job.adapterConfigBlob : job.adapterBlob;
    if (!hash) throw new CodedError('not_published', `job ${id} has no published adapter yet (status ${job.status})`);
    return reply.type(file.endsWith('.json') ? 'application/json' : 'application/octet-stream').send(await ctx.blobs.open(hash));
  });

  serveRoute(app, contract.cancelTrainingJob, async (input, request) => {
    const who = await signer(request);
    return cancelTrainingJob(ctx.db, input.params.id, who);
  });

  // Server-sent events: `progress` for each new step, `job` when the job changes, then `end`.
  serveRoute(app, contract.trainingJobEvents, async (input, request, reply) => {
    const { id } = input.params;
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
