/**
 * REST transport (trustee-ts addition; upstream's standalone RVPS is gRPC only):
 * - `POST /reference-value` — body: the registration message JSON → 200 `{}`
 * - `GET /reference-value/<id…>` — the stored value's JSON (the id may contain `/`) → 404 if absent
 * - `GET /reference-values` — admin: `[{name, expiration, value}, …]`
 * - `DELETE /reference-value/<id…>` — admin: 204, or 404 if absent
 * - `GET /healthz` (liveness), `GET /readyz` (the store answers: 200, else 503), `GET /metrics`
 * Errors leave as `{"code", "message"}` with the status of the error registry.
 */
import type { Readiness } from '@trustee/grpc';
import { randomUUID } from 'node:crypto';
import { createServer } from '@trustee/http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_GRPC_MESSAGE_BYTES } from './grpcServer.ts';
import { logFailure, RvpsError, toRvpsError } from './errors.ts';
import { silentLogger, type RootLogger } from '@trustee/log';
import type { Operation, RvpsMetrics } from './metrics.ts';
import type { ReferenceValueOperations } from './referenceValues.ts';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface RestServerDeps {
  readonly operations: ReferenceValueOperations;
  readonly metrics: RvpsMetrics;
  readonly log?: RootLogger;
  readonly https?: { readonly key: Buffer; readonly cert: Buffer };
  /** Behind `/readyz` (none: always ready). */
  readonly readiness?: Readiness;
}

function sendError(reply: FastifyReply, error: RvpsError): FastifyReply {
  return reply.code(error.httpStatus).type('application/json').send(JSON.stringify({ code: error.code, message: error.message }));
}

function wildcardId(request: FastifyRequest): string {
  const id = (request.params as Record<string, unknown>)['*'];
  if (typeof id !== 'string' || id.length === 0) throw new RvpsError('invalid_argument', 'reference value id is missing');
  return id;
}

export function buildRestServer(deps: RestServerDeps): FastifyInstance {
  const { operations, metrics } = deps;
  const app = createServer({
    loggerInstance: deps.log ?? silentLogger,
    genReqId: () => randomUUID(),
    bodyLimit: MAX_GRPC_MESSAGE_BYTES,
    routerOptions: { maxParamLength: 8192 },
    ...(deps.https === undefined ? {} : { tls: { key: deps.https.key, cert: deps.https.cert } }),
  });

  // Bodies are taken raw whatever the content type: the registration message is parsed by the
  // RVPS core, so a malformed one gets the core's typed error, not a framework 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  function route(operation: Operation, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>) {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const started = process.hrtime.bigint();
      const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const sent = await handler(request, reply);
        metrics.observe('rest', operation, 'ok', seconds());
        return sent;
      } catch (caught) {
        const error = toRvpsError(caught, request.id);
        metrics.observe('rest', operation, error.code, seconds());
        logFailure(request.log, 'rest', operation, error, caught);
        return sendError(reply, error);
      }
    };
  }

  app.post(
    '/reference-value',
    route('register', async (request, reply) => {
      const body = request.body;
      if (!(body instanceof Buffer)) throw new RvpsError('invalid_argument', 'request body must be the registration message JSON');
      let message: string;
      try {
        message = UTF8.decode(body);
      } catch {
        throw new RvpsError('invalid_argument', 'registration message is not UTF-8');
      }
      await operations.register(message, request.headers.authorization);
      return reply.code(200).type('application/json').send('{}');
    }),
  );
  app.get(
    '/reference-value/*',
    route('query', async (request, reply) => {
      const id = wildcardId(request);
      const value = await operations.query(id);
      if (value === undefined) throw new RvpsError('not_found', `reference value ${JSON.stringify(id.slice(0, 256))} not found`);
      return reply.code(200).type('application/json').send(JSON.stringify(value));
    }),
  );
  app.get(
    '/reference-values',
    route('list', async (request, reply) => {
      const records = await operations.list(request.headers.authorization);
      return reply.code(200).type('application/json').send(JSON.stringify(records.map(({ name, expiration, value }) => ({ name, expiration, value }))));
    }),
  );
  app.delete(
    '/reference-value/*',
    route('delete', async (request, reply) => {
      const id = wildcardId(request);
      if (!(await operations.delete(id, request.headers.authorization))) throw new RvpsError('not_found', `reference value ${JSON.stringify(id.slice(0, 256))} not found`);
      return reply.code(204).send();
    }),
  );
  app.get('/healthz', async (_request, reply) => reply.code(200).type('application/json').send('{"status":"SERVING"}'));
  app.get('/readyz', async (_request, reply) => {
    const report = deps.readiness === undefined ? { ready: true, dependencies: [] } : await deps.readiness.report();
    return reply.code(report.ready ? 200 : 503).type('application/json').send(JSON.stringify(report));
  });
  app.get('/metrics', async (_request, reply) => reply.code(200).type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const rvpsError =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? new RvpsError('payload_too_large', `request body exceeds ${MAX_GRPC_MESSAGE_BYTES} bytes`)
        : (error.statusCode ?? 500) < 500
          ? new RvpsError('invalid_argument', error.message)
          : toRvpsError(error, request.id);
    return sendError(reply, rvpsError);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new RvpsError('not_found', `no route for ${request.method} ${request.url.split('?')[0]?.slice(0, 256) ?? ''}`)));
  return app;
}
