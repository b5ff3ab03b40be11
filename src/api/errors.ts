import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { CodedError } from '../util/coded-error.ts';
import { statusOf } from './error-statuses.ts';

/** Installs the JSON error format: `{ error: code, message, issues? }` with a 4xx/5xx status. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | CodedError | ZodError, request, reply) => {
    if (err instanceof ZodError) {
      const issues = err.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
      return reply.status(400).send({
        error: 'bad_request',
        message: issues.map((i) => `${i.field || 'input'}: ${i.message}`).join('; '),
        issues,
      });
    }
    if (err instanceof CodedError) {
      if ('retryAfterSeconds' in err) reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.status(statusOf(err)).send({ error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
    }
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 500) request.log.error(err);
    const tooLarge = (err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE';
    return reply.status(status).send(frameworkBody(err as FastifyError, status, tooLarge ? `the body is larger than this route takes (${request.routeOptions.bodyLimit} bytes); send less per request, or upload a file` : err.message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url}` }),
  );
}

/**
 * Fastify's `frameworkErrors` option: what the router refuses before any route or error handler
 * runs (a URL whose percent-encoding does not decode, a path parameter past the router's length
 * limit) in the same JSON format, e.g. `{ error: 'fst_err_bad_url', message }` with a 400.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode ?? 400;
  void reply.status(status).send(frameworkBody(err, status));
}

/** The JSON body of an error Fastify raised: its code in lower case and its message; a 5xx says only that it is internal. */
function frameworkBody(err: FastifyError, status: number, message = err.message): { error: string; message: string } {
  return status >= 500 ? { error: 'internal_error', message: 'internal error' } : { error: (err.code ?? 'bad_request').toLowerCase(), message };
}
