/**
 * The REST transport (upstream's restful-as routes, `attestation-service/src/bin/restful/mod.rs`)
 * plus `GET /policy/:id` and `DELETE /policy/:id`, `GET /metrics`. Bodies are JSON (`Content-Type:
 * application/json`, 2 MiB like actix); errors are `{"type": "<code>", "detail": "..."}` with the
 * registry's status instead of upstream's blanket 500 text.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from '@trustee/http';
import { REQUEST_ID_HEADER, usableRequestId } from '@trustee/log';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { ComposedAs } from './compose.ts';
import { attestationChallenge, decodePolicyText, decodeRestAttestationRequest } from './decodeRequest.ts';
import { AsError, reportFailure, toAsError } from './errors.ts';

export const REST_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

export interface RestServerOptions {
  readonly https?: { readonly key: Buffer; readonly cert: Buffer };
  readonly bodyLimitBytes?: number;
  /** CORS origins (upstream restful-as `-r/--allowed_origin`); none = no CORS headers. */
  readonly allowedOrigins?: readonly string[];
}

type RouteLabel = 'attestation' | 'policy' | 'challenge' | 'jwks' | 'healthz' | 'readyz' | 'metrics' | 'other';

declare module 'fastify' {
  interface FastifyRequest {
    asRoute: string;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function buildAsRestServer(as: ComposedAs, options: RestServerOptions = {}): FastifyInstance {
  const bodyLimit = options.bodyLimitBytes ?? REST_BODY_LIMIT_BYTES;
  const app = createServer({
    loggerInstance: as.log,
    // The caller's `x-request-id` (a KBS's, or any client's) when usable, so its log and ours share
    // the id; the same rule as gRPC callers' (packages/log/src/requestId.ts). Read here rather than
    // through fastify's `requestIdHeader`, which takes any value verbatim.
    genReqId: (request) => usableRequestId(request.headers[REQUEST_ID_HEADER]) ?? randomUUID(),
    bodyLimit,
    routerOptions: { maxParamLength: 1024 },
    ...(options.https === undefined ? {} : { tls: { key: options.https.key, cert: options.https.cert } }),
  });

  // Like actix's JSON extractor: bodies must be application/json.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('asRoute', 'other');
  const route = (label: RouteLabel) => async (request: { asRoute: string }) => {
    request.asRoute = label;
  };
  app.addHook('onResponse', async (request, reply) => {
    as.metrics.request('http', `${request.method} ${request.asRoute}`, String(reply.statusCode));
  });

  app.setErrorHandler((error: FastifyError | AsError, request, reply) => {
    let classified: AsError;
    if (error instanceof AsError) classified = error;
    else if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') classified = new AsError('payload_too_large', `request body is larger than ${bodyLimit} bytes`);
    else if ((error as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') classified = new AsError('unsupported_media_type', 'Content-Type must be application/json');
    else if (typeof (error as FastifyError).statusCode === 'number' && ((error as FastifyError).statusCode ?? 500) < 500) {
      // JSON syntax errors and similar rejections fastify makes before a handler runs.
      classified = new AsError('invalid_request', `malformed request: ${error.message}`);
    } else classified = toAsError(error);
    const detail = reportFailure(request.log, request.id, `http ${request.method} ${request.asRoute}`, classified, error);
    return reply.code(classified.httpStatus).send({ type: classified.code, detail });
  });
  const origins = new Set(options.allowedOrigins ?? []);
  if (origins.size > 0) {
    // Upstream's actix-cors settings: POST/GET/OPTIONS, Content-Type and Authorization, 24 h preflight cache.
    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || !origins.has(origin)) return;
      void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
        return reply
          .code(200)
          .header('access-control-allow-methods', 'POST, GET, OPTIONS')
          .header('access-control-allow-headers', 'content-type, authorization')
          .header('access-control-max-age', '86400')
          .send();
      }
    });
  }
  app.setNotFoundHandler((_request, reply) => {
    // The status comes from the one table (errors.ts), like every other failure's.
    const notFound = new AsError('not_found', 'no such route');
    return reply.code(notFound.httpStatus).send({ type: notFound.code, detail: notFound.message });
  });

  app.post('/attestation', { onRequest: route('attestation') }, async (request, reply) => {
    const { requests, policyIds } = decodeRestAttestationRequest(request.body);
    const token = await as.evaluate(requests, policyIds, request.log);
    return reply.type('text/plain; charset=utf-8').send(token);
  });

  // Policies: admin token when `admin.protect_policies` (see adminGuard.ts).
  const policyGuard = async (request: FastifyRequest): Promise<void> => as.admin.check('policy', request.headers.authorization);

  app.post('/policy', { onRequest: route('policy'), preHandler: policyGuard }, async (request, reply) => {
    const body = request.body;
    if (!isObject(body) || typeof body['policy_id'] !== 'string') throw new AsError('invalid_request', 'body: expected {"policy_id": string, "policy": base64url}');
    await as.service.setPolicy(body['policy_id'], decodePolicyText(body['policy'], 'policy'));
    return reply.code(200).send();
  });

  app.get('/policy', { onRequest: route('policy'), preHandler: policyGuard }, async (_request, reply) => {
    const ids = await as.service.listPolicies();
    return reply.type('application/json').send(JSON.stringify(ids.map((id) => ({ 'policy-id': id }))));
  });

  app.get<{ Params: { id: string } }>('/policy/:id', { onRequest: route('policy'), preHandler: policyGuard }, async (request, reply) => {
    const policy = await as.service.getPolicy(request.params.id);
    if (policy === undefined) throw new AsError('not_found', `policy ${JSON.stringify(request.params.id.slice(0, 200))} not found`);
    return reply.type('text/plain; charset=utf-8').send(policy);
  });

  app.delete<{ Params: { id: string } }>('/policy/:id', { onRequest: route('policy'), preHandler: policyGuard }, async (request, reply) => {
    if (!(await as.service.deletePolicy(request.params.id))) throw new AsError('not_found', `policy ${JSON.stringify(request.params.id.slice(0, 200))} not found`);
    return reply.code(200).send();
  });

  app.post('/challenge', { onRequest: route('challenge') }, async (request, reply) => {
    const body = request.body;
    if (!isObject(body) || !Object.values(body).every((v) => typeof v === 'string')) throw new AsError('invalid_request', 'body: expected a JSON object of strings');
    return reply.type('text/plain; charset=utf-8').send(attestationChallenge(body));
  });

  app.get('/.well-known/jwks.json', { onRequest: route('jwks') }, async (_request, reply) => reply.type('application/json').send(as.service.jwks()));

  app.get('/healthz', { onRequest: route('healthz') }, async (_request, reply) => reply.code(200).send());

  // Readiness (ours): 200 when the store and the remote RVPS answer, else 503 naming what does not.
  app.get('/readyz', { onRequest: route('readyz') }, async (_request, reply) => {
    const report = await as.readiness.report();
    return reply.code(report.ready ? 200 : 503).send(report);
  });

  app.get('/metrics', { onRequest: route('metrics') }, async (_request, reply) => reply.type(as.metrics.registry.contentType).send(await as.metrics.registry.metrics()));

  return app;
}

