/**
 * The KBS HTTP surface (spec §0): one dispatcher under `/kbs/v0/` whose first path segment
 * picks a built-in step or a plugin, plus `/metrics`, `/healthz` (liveness, upstream's) and
 * `/readyz` (readiness: the store and the AS/RVPS answer; ours, for probes and load balancers). Bodies are taken raw (the
 * steps parse them, so malformed JSON gets the step's upstream error, not a framework 400), and
 * every failure — ours or fastify's — leaves as ErrorInformation JSON.
 */
import { randomBytes } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';
import type { Readiness } from '@trustee/grpc';
import Fastify, { LogController, type FastifyError, type FastifyHttpsOptions, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { AdminDenied, type AdminAuthorizer, type AdminIdentity } from './admin/authorizer.ts';
import { handleSetAttestationPolicy } from './admin/attestationPolicy.ts';
import { handleQueryReferenceValue, handleRegisterReferenceValue } from './admin/referenceValue.ts';
import { handleListResourcePolicies, handleSetResourcePolicy } from './admin/resourcePolicyAdmin.ts';
import { handleAttest } from './attest.ts';
import { handleAuth } from './auth.ts';
import type { AttestationBackend, TokenVerifier } from './backends.ts';
import { KbsError, kbsErrors, unavailableDependency } from './errors.ts';
import type { KbsMetrics, RouteLabel } from './metrics.ts';
import { handlePluginRequest, type KbsPlugin, type RequestHeaders } from './resource.ts';
import type { PerIpRateLimiter } from './rateLimit.ts';
import type { ResourcePolicy } from './resourcePolicy.ts';
import { handlePolicyAdmin, isPolicyAdminPath } from './policies/admin.ts';
import type { ResourcePolicies } from './policies/resourcePolicies.ts';
import { sessionCookie, type SessionManager } from './sessions.ts';

export const KBS_PREFIX = '/kbs/v0/';
const KBS_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

export interface KbsServerDeps {
  /** Present when an attestation service is configured (enables auth/attest/attestation-policy/reference-value). */
  readonly attestation?: { readonly backend: AttestationBackend; readonly sessions: SessionManager } | undefined;
  readonly tokenVerifier: TokenVerifier;
  readonly policy: ResourcePolicy;
  /** Global + scoped resource policies, decision log, explain and dry run (policies/). */
  readonly policies: ResourcePolicies;
  readonly admin: AdminAuthorizer;
  readonly plugins: ReadonlyMap<string, KbsPlugin>;
  readonly metrics: KbsMetrics;
  /** `payload_request_size` MiB in bytes. */
  readonly bodyLimitBytes: number;
  readonly logger?: FastifyServerOptions['logger'];
  readonly https?: { readonly key: Buffer; readonly cert: Buffer } | undefined;
  /** Per-IP limit on /auth (absent: off). */
  readonly authRateLimiter?: PerIpRateLimiter | undefined;
  /** Dependency checks behind `/readyz` (none: always ready). */
  readonly readiness?: Readiness | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    kbsRoute: RouteLabel;
    /** Who passed the admin check on this request (the audit line is written with the outcome). */
    kbsAdmin: AdminIdentity | undefined;
    /** The ErrorInformation type of a refused request, for the audit line. */
    kbsErrorCode: string | undefined;
  }
}

/**
 * Connection bounds: a request (headers and body) must arrive within REQUEST_TIMEOUT_MS, its
 * headers within HEADERS_TIMEOUT_MS, checked every CONNECTION_CHECK_INTERVAL_MS, so a client
 * trickling bytes cannot hold a connection (fastify's default requestTimeout is 0: none).
 */
export const REQUEST_TIMEOUT_MS = 30_000;
export const HEADERS_TIMEOUT_MS = 10_000;
const CONNECTION_CHECK_INTERVAL_MS = 1_000;

/**
 * Absolute-form request targets (`POST http://host/kbs/v0/auth`, RFC 9112 §3.2.2) are served as
 * their origin form; everything downstream (routing, admin ACLs, audit) sees `/kbs/v0/...`.
 */
export function originFormUrl(url: string): string {
  if (url.startsWith('/') || !/^https?:\/\//i.test(url)) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

function errorReply(reply: FastifyReply, error: KbsError): FastifyReply {
  if (error.status === 503) void reply.header('retry-after', '1');
  return reply.code(error.status).type('application/json').send(JSON.stringify(error.toErrorInformation()));
}

function headersOf(request: FastifyRequest): RequestHeaders {
  return { cookie: request.headers.cookie, authorization: request.headers.authorization };
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function parseQuery(query: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(query));
}

const BUILTIN_ROUTES: Readonly<Record<string, RouteLabel>> = {
  auth: 'auth',
  attest: 'attest',
  'attestation-policy': 'attestation-policy',
  'resource-policy': 'resource-policy',
  'reference-value': 'reference-value',
};

export function buildKbsServer(deps: KbsServerDeps): FastifyInstance {
  const processTag = randomBytes(3).toString('hex');
  let requestCounter = 0;
  const options: FastifyServerOptions = {
    logger: deps.logger ?? false,
    bodyLimit: deps.bodyLimitBytes,
    // Per-request access lines would log at every RCAR step; we log failures ourselves.
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 8192 },
    genReqId: () => `${processTag}-${(requestCounter++).toString(36)}`,
    // A URL the router cannot decode (bad percent-encoding) is an invalid path, as JSON.
    frameworkErrors: (_error, request, reply) => {
      void errorReply(reply, kbsErrors.invalidRequestPath(splitUrl(request.url).path));
    },
    // Malformed HTTP never reaches a route: answer ErrorInformation on the raw socket, then close.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) return;
      const code = (error as NodeJS.ErrnoException).code;
      const kbsError = code === 'HPE_HEADER_OVERFLOW' ? kbsErrors.headersTooLarge() : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? kbsErrors.requestTimeout(REQUEST_TIMEOUT_MS) : kbsErrors.badRequest();
      const body = JSON.stringify(kbsError.toErrorInformation());
      const reason = { 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[kbsError.status as 408 | 431] ?? 'Bad Request';
      socket.end(
        `HTTP/1.1 ${kbsError.status} ${reason}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
    // Keep-alive connections from many guests: do not let fastify close idle ones too early.
    keepAliveTimeout: 75_000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    rewriteUrl: (request) => originFormUrl(request.url ?? '/'),
  };
  const serverTimeouts = { headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: CONNECTION_CHECK_INTERVAL_MS };
  const app =
    deps.https === undefined
      ? Fastify({ ...options, http: serverTimeouts })
      : (Fastify({ ...(options as unknown as FastifyHttpsOptions<HttpsServer>), https: { key: deps.https.key, cert: deps.https.cert, ...serverTimeouts } }) as unknown as FastifyInstance);

  app.decorateRequest('kbsRoute', 'other');
  app.decorateRequest('kbsAdmin', undefined);
  app.decorateRequest('kbsErrorCode', undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.observeRequest(request.kbsRoute, request.method, reply.statusCode, reply.elapsedTime / 1000);
    // Audit trail: every admin call that passed authorization, written once its outcome is known
    // (a write refused by path validation is recorded as refused), with who (role/sub/iss), never the token.
    const identity = request.kbsAdmin;
    if (identity !== undefined) {
      const outcome = reply.statusCode < 400 ? 'ok' : 'refused';
      request.log.info(
        { audit: 'admin', method: request.method, path: splitUrl(request.url).path, ...identity, outcome, status: reply.statusCode, ...(request.kbsErrorCode === undefined ? {} : { error: request.kbsErrorCode }) },
        `admin call ${outcome === 'ok' ? 'done' : 'refused'}`,
      );
    }
  });

  app.setErrorHandler((error: FastifyError | KbsError, request, reply) => {
    let kbsError: KbsError;
    const unavailable = unavailableDependency(error);
    if (unavailable !== undefined) {
      // Not a refusal: the store or the AS is away. Fast, clear, retryable (on another replica too).
      kbsError = kbsErrors.unavailable(unavailable, error.message);
      request.log.warn({ code: kbsError.code, dependency: unavailable, reason: error.message }, kbsError.detail);
      return errorReply(reply, kbsError);
    }
    if (error instanceof KbsError) {
      kbsError = error;
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      kbsError = kbsErrors.payloadTooLarge(deps.bodyLimitBytes);
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Malformed requests fastify rejects before a handler runs (bad content length, aborted body...).
      kbsError = kbsErrors.serde(error.code ?? 'malformed request');
    } else {
      request.log.error({ err: error }, 'unexpected error');
      return errorReply(reply, kbsErrors.internal(request.id));
    }
    request.log.info({ code: kbsError.code, status: kbsError.status, reason: kbsError.reason }, kbsError.detail);
    request.kbsErrorCode = kbsError.code;
    return errorReply(reply, kbsError);
  });

  app.setNotFoundHandler((request, reply) => {
    const { path } = splitUrl(request.url);
    if (path.startsWith(KBS_PREFIX) || path === '/metrics' || path === '/healthz' || path === '/readyz') {
      return errorReply(reply, kbsErrors.methodNotAllowed(request.method, path));
    }
    return errorReply(reply, kbsErrors.invalidRequestPath(path));
  });

  app.get('/healthz', async (request, reply) => {
    request.kbsRoute = 'healthz';
    return reply.code(200).send();
  });

  // 200 when every dependency answers, else 503; the body names each one (no secrets: store and
  // peer errors carry no credentials).
  app.get('/readyz', async (request, reply) => {
    request.kbsRoute = 'readyz';
    const report = deps.readiness === undefined ? { ready: true, dependencies: [] } : await deps.readiness.report();
    return reply.code(report.ready ? 200 : 503).type('application/json').send(JSON.stringify(report));
  });

  app.get('/metrics', async (request, reply) => {
    request.kbsRoute = 'metrics';
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.post('/metrics', async (request, reply) => {
    request.kbsRoute = 'metrics';
    return errorReply(reply, kbsErrors.methodNotAllowed('POST', '/metrics'));
  });

  const authorizeBuiltin = async (request: FastifyRequest, endpoint: string): Promise<void> => {
    try {
      request.kbsAdmin = await deps.admin.authorize(request.headers.authorization, request.url);
    } catch (error) {
      if (error instanceof AdminDenied) throw kbsErrors.adminAccess(endpoint, error.message);
      throw error;
    }
  };

  app.route({
    method: [...KBS_METHODS],
    url: `${KBS_PREFIX}*`,
    handler: async (request, reply) => {
      const { path, query } = splitUrl(request.url);
      const rawSegments = path.slice(KBS_PREFIX.length).split('/');
      let segments: string[];
      try {
        segments = rawSegments.map((segment) => decodeURIComponent(segment));
      } catch {
        throw kbsErrors.invalidRequestPath(path);
      }
      const name = segments[0] ?? '';
      const rest = segments.slice(1);
      const body = (request.body as Buffer | undefined) ?? new Uint8Array();
      const method = request.method;
      const attestation = deps.attestation;
      request.kbsRoute = BUILTIN_ROUTES[name] ?? 'plugin';

      if (attestation !== undefined && name === 'auth' && method === 'POST') {
        if (deps.authRateLimiter !== undefined && !deps.authRateLimiter.take(request.ip)) throw kbsErrors.tooManyRequests();
        const { challenge, session } = await handleAuth(body, attestation.sessions, request.ip);
        return reply.header('set-cookie', sessionCookie(session)).type('application/json').send(JSON.stringify(challenge));
      }
      if (attestation !== undefined && name === 'attest' && method === 'POST') {
        const result = await handleAttest(request.headers.cookie, body, {
          sessions: attestation.sessions,
          attestation: attestation.backend,
          onOutcome: (tee, outcome) => deps.metrics.attestation(tee, outcome),
        });
        return reply.header('set-cookie', sessionCookie(result.session)).type('application/json').send(JSON.stringify({ token: result.token }));
      }
      if (attestation !== undefined && name === 'attestation-policy' && method === 'POST') {
        await authorizeBuiltin(request, path);
        await handleSetAttestationPolicy(body, attestation.backend, adminCredentials(request.headers.authorization));
        return reply.code(200).send();
      }
      if (name === 'resource-policy' && isPolicyAdminPath(rest)) {
        await authorizeBuiltin(request, path);
        const answer = await handlePolicyAdmin(method, rest, body, { policies: deps.policies, tokenVerifier: deps.tokenVerifier });
        return reply.code(answer.status).type('application/json').send(answer.body);
      }
      if (name === 'resource-policy' && method === 'POST') {
        await authorizeBuiltin(request, path);
        await handleSetResourcePolicy(body, deps.policy);
        return reply.code(200).send();
      }
      if (name === 'resource-policy' && method === 'GET') {
        await authorizeBuiltin(request, path);
        return reply.type('application/json').send(await handleListResourcePolicies(deps.policy));
      }
      if (attestation !== undefined && name === 'reference-value' && method === 'POST') {
        await authorizeBuiltin(request, path);
        await handleRegisterReferenceValue(body, attestation.backend, adminCredentials(request.headers.authorization));
        return reply.type('application/json').send('');
      }
      if (attestation !== undefined && name === 'reference-value' && method === 'GET') {
        await authorizeBuiltin(request, path);
        return reply.type('application/json').send(await handleQueryReferenceValue(rest.join('/'), attestation.backend));
      }

      request.kbsRoute = 'plugin';
      const response = await handlePluginRequest(name, { method, path: rest, query: parseQuery(query), body }, headersOf(request), request.url, {
        plugins: deps.plugins,
        sessions: attestation?.sessions,
        tokenVerifier: deps.tokenVerifier,
        policies: deps.policies,
        authorizeAdmin: async (headers, uri) => {
          try {
            request.kbsAdmin = await deps.admin.authorize(headers.authorization, uri);
          } catch (error) {
            if (error instanceof AdminDenied) throw kbsErrors.adminAuthInitialization(error.message);
            throw error;
          }
        },
        onPolicyDecision: (result) => deps.metrics.policyDecision(result),
        onRelease: (event) => request.log.info({ audit: 'release', ...event }, 'plugin answer released to an attested TEE'),
      });
      const payload = typeof response.body === 'string' ? response.body : Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
      return reply.type(response.contentType).send(payload);
    },
  });

  return app;
}

/** The admin's header, passed on to a remote attestation service that checks it too. */
function adminCredentials(authorization: string | undefined): { authorization?: string } {
  return authorization === undefined ? {} : { authorization };
}
