/**
 * The KBS HTTP surface on fastify's own model: one route per endpoint under `/kbs/v0/` (the RCAR
 * steps and the admin API; a built-in's path may carry more segments, as upstream's routing
 * allows), the plugin routes behind them (`/kbs/v0/<plugin>/...`), plus `/metrics`, `/healthz`
 * (liveness, upstream's) and `/readyz` (readiness: the store and the AS/RVPS answer; ours).
 *
 * - Bodies are read raw whatever the content type (upstream accepts any); a route with a JSON
 *   body parses it in its `preValidation` hook with that step's upstream error for bad JSON, and
 *   fastify then validates it against the route's JSON schema (compiled once; no coercion).
 * - Admin authorization is a `preValidation` hook on the admin routes, after the body limit and
 *   before the body is parsed, as upstream orders them.
 * - Every failure — a step's, the schema's or fastify's own (bad URL, body limit, unknown route,
 *   malformed HTTP) — leaves through one error handler as upstream's ErrorInformation JSON.
 */
import { randomBytes } from 'node:crypto';
import type { Readiness } from '@trustee/grpc';
import { createServer, type ServerTls } from '@trustee/http';
import type { RootLogger } from '@trustee/log';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import { AdminDenied, type AdminAuthorizer, type AdminIdentity } from './admin/authorizer.ts';
import { ATTESTATION_POLICY_BODY_SCHEMA, attestationPolicyBodyNotJson, handleSetAttestationPolicy, parseAttestationPolicyBody } from './admin/attestationPolicy.ts';
import { handleQueryReferenceValue, handleRegisterReferenceValue } from './admin/referenceValue.ts';
import { handleListResourcePolicies, handleSetResourcePolicy, parseResourcePolicyBody, RESOURCE_POLICY_BODY_SCHEMA, resourcePolicyBodyNotJson } from './admin/resourcePolicyAdmin.ts';
import { ATTEST_BODY_SCHEMA, attestBodyNotJson, handleAttest, parseAttestBody } from './attest.ts';
import { auditFacts, evidenceDigest, jwtClaims, teeOfClaims } from './audit/hook.ts';
import type { AttestationPolicySelector } from './policies/attestationPolicyIds.ts';
import { AUTH_BODY_SCHEMA, authBodyNotJson, handleAuth, parseAuthBody } from './auth.ts';
import type { AttestationBackend, TokenVerifier } from './backends.ts';
import { KbsError, kbsErrors, parseJsonBody, unavailableDependency } from './errors.ts';
import type { KbsMetrics, RouteLabel } from './metrics.ts';
import { handlePluginRequest, type KbsPlugin } from './resource.ts';
import type { PerIpRateLimiter } from './rateLimit.ts';
import type { ResourcePolicy } from './resourcePolicy.ts';
import { handlePolicyAdmin, POLICY_ADMIN_SUBPATHS } from './policies/admin.ts';
import type { ResourcePolicies } from './policies/resourcePolicies.ts';
import { sessionCookie, type SessionManager } from './sessions.ts';

export const KBS_PREFIX = '/kbs/v0/';
const KBS_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

export interface KbsServerDeps {
  /** Present when an attestation service is configured (enables auth/attest/attestation-policy/reference-value). */
  readonly attestation?: { readonly backend: AttestationBackend; readonly sessions: SessionManager; readonly selector?: AttestationPolicySelector } | undefined;
  readonly tokenVerifier: TokenVerifier;
  readonly policy: ResourcePolicy;
  /** Global + scoped resource policies, decision log, explain and dry run (policies/). */
  readonly policies: ResourcePolicies;
  readonly admin: AdminAuthorizer;
  readonly plugins: ReadonlyMap<string, KbsPlugin>;
  readonly metrics: KbsMetrics;
  /** `payload_request_size` MiB in bytes. */
  readonly bodyLimitBytes: number;
  /** Root logger: `request.log` (with `reqId`) on every line of a request. */
  readonly log?: RootLogger | undefined;
  /** Key, certificate and the `[http_server]` TLS options (versions, ciphers, groups). */
  readonly https?: ServerTls | undefined;
  /** Per-IP limit on /auth (absent: off). */
  readonly authRateLimiter?: PerIpRateLimiter | undefined;
  /** Dependency checks behind `/readyz` (none: always ready). */
  readonly readiness?: Readiness | undefined;
  /** Modules that add hooks and routes of their own (audit trail, console), called once per app. */
  readonly extensions?: ReadonlyArray<(app: FastifyInstance) => void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    kbsRoute: RouteLabel;
    /** Who passed the admin check on this request (the audit line is written with the outcome). */
    kbsAdmin: AdminIdentity | undefined;
    /** The ErrorInformation type of a refused request, for the audit line. */
    kbsErrorCode: string | undefined;
  }
  interface FastifyContextConfig {
    /**
     * A JSON-body route's parser: the exact upstream error for a body its schema refused (the
     * schema is the fast gate; the parser words the refusal as upstream does).
     */
    kbsParseBody?: (json: unknown) => unknown;
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

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** The percent-decoded segments after `/kbs/v0/`; a segment that does not decode is an invalid path. */
function kbsSegments(path: string): string[] {
  try {
    return path.slice(KBS_PREFIX.length).split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    throw kbsErrors.invalidRequestPath(path);
  }
}

const EMPTY_BODY = new Uint8Array();
/** The query of a request without one (frozen: it is shared between requests). */
const NO_QUERY: Readonly<Record<string, string>> = Object.freeze({});

/** The raw body (fastify leaves it undefined when the request has none). */
function rawBody(request: FastifyRequest): Uint8Array {
  return (request.body as Buffer | undefined) ?? EMPTY_BODY;
}

/*
 * The hooks below run on every guest request; they are written in fastify's callback form
 * (`done`) rather than as async functions, which fastify would chain through a promise and a
 * microtask per hook.
 */

/** preValidation: names the route for metrics (first, so a refusal in a later hook is counted there too). */
function label(route: RouteLabel): preValidationHookHandler {
  return (request, _reply, done) => {
    request.kbsRoute = route;
    done();
  };
}

/** preValidation: the raw body becomes its JSON value, or the step's upstream error for bad JSON. */
function jsonBody(notJson: (message: string) => KbsError): preValidationHookHandler {
  return (request, _reply, done) => {
    try {
      request.body = parseJsonBody(rawBody(request), notJson);
    } catch (error) {
      done(error as KbsError);
      return;
    }
    done();
  };
}

/** A built-in's URLs: the step's own path and the same with more segments, which upstream routes to it too. */
function builtinUrls(name: string): string[] {
  return [`${KBS_PREFIX}${name}`, `${KBS_PREFIX}${name}/*`];
}

/** Fastify's body-validation schema for a route: no coercion, defaults or removal (see `ajv` below). */
function bodySchema(schema: object): { body: object } {
  return { body: schema };
}

export function buildKbsServer(deps: KbsServerDeps): FastifyInstance {
  const processTag = randomBytes(3).toString('hex');
  let requestCounter = 0;
  const app = createServer({
    ...(deps.https === undefined ? {} : { tls: deps.https }),
    ...(deps.log === undefined ? {} : { loggerInstance: deps.log }),
    bodyLimit: deps.bodyLimitBytes,
    routerOptions: { maxParamLength: 8192 },
    // The schemas only check; they never change a body (fastify's default coerces and fills defaults).
    ajv: { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false } },
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
    headersTimeout: HEADERS_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTION_CHECK_INTERVAL_MS,
    rewriteUrl: (request) => originFormUrl(request.url ?? '/'),
  });

  app.decorateRequest('kbsRoute', 'other');
  app.decorateRequest('kbsAdmin', undefined);
  app.decorateRequest('kbsErrorCode', undefined);
  app.decorateRequest('kbsAudit', undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onResponse', (request, reply, done) => {
    try {
      onResponse(request, reply);
    } finally {
      done();
    }
  });
  function onResponse(request: FastifyRequest, reply: FastifyReply): void {
    deps.metrics.observeRequest(request.kbsRoute, request.method, reply.statusCode, reply.elapsedTime / 1000, {
      request: Number(request.headers['content-length'] ?? 0) || 0,
      response: Number(reply.getHeader('content-length') ?? 0) || 0,
    });
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
  }

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
    } else if (error.code === 'FST_ERR_VALIDATION') {
      kbsError = refusedBody(request);
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

  /** A body the route's schema refused, worded by the route's parser (which refuses it too). */
  function refusedBody(request: FastifyRequest): KbsError {
    try {
      request.routeOptions.config.kbsParseBody?.(request.body);
    } catch (error) {
      if (error instanceof KbsError) return error;
    }
    return kbsErrors.serde('request body does not match the schema');
  }

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

  for (const extend of deps.extensions ?? []) extend(app);

  /** preValidation on the admin routes: the caller must pass the admin check for this URL. */
  const adminGuard: preValidationHookHandler = async (request) => {
    auditFacts(request).admin = true;
    try {
      request.kbsAdmin = await deps.admin.authorize(request.headers.authorization, request.url);
    } catch (error) {
      if (error instanceof AdminDenied) throw kbsErrors.adminAccess(splitUrl(request.url).path, error.message);
      throw error;
    }
  };

  const attestation = deps.attestation;
  if (attestation !== undefined) {
    const limiter = deps.authRateLimiter;
    // Without a per-IP limit (auth_rate_limit_per_ip = 0) the route has no hook for it.
    const authRateLimit: preValidationHookHandler[] =
      limiter === undefined
        ? []
        : [
            (request, _reply, done) => {
              if (limiter.take(request.ip)) done();
              else done(kbsErrors.tooManyRequests());
            },
          ];
    for (const url of builtinUrls('auth')) {
      app.post(url, { preValidation: [label('auth'), ...authRateLimit, jsonBody(authBodyNotJson)], schema: bodySchema(AUTH_BODY_SCHEMA), config: { kbsParseBody: parseAuthBody } }, async (request, reply) => {
        const { challenge, session } = await handleAuth(parseAuthBody(request.body), attestation.sessions, request.ip, attestation.selector);
        return reply.header('set-cookie', sessionCookie(session)).type('application/json').send(JSON.stringify(challenge));
      });
    }
    for (const url of builtinUrls('attest')) {
      app.post(url, { preValidation: [label('attest'), jsonBody(attestBodyNotJson)], schema: bodySchema(ATTEST_BODY_SCHEMA), config: { kbsParseBody: parseAttestBody } }, async (request, reply) => {
        const result = await handleAttest(request.headers.cookie, parseAttestBody(request.body), {
          sessions: attestation.sessions,
          attestation: attestation.backend,
          ...(attestation.selector === undefined ? {} : { selector: attestation.selector }),
          log: request.log,
          onOutcome: (tee, outcome, detail) => {
            deps.metrics.attestation(tee, outcome);
            const facts = auditFacts(request);
            facts.outcome = outcome;
            facts.tee = tee;
            facts.evidence = evidenceDigest(detail.evidence);
            const claims = detail.token === undefined ? undefined : jwtClaims(detail.token);
            if (claims !== undefined) facts.claims = claims;
          },
        });
        return reply.header('set-cookie', sessionCookie(result.session)).type('application/json').send(JSON.stringify({ token: result.token }));
      });
    }
    for (const url of builtinUrls('attestation-policy')) {
      const preValidation = [label('attestation-policy'), adminGuard, jsonBody(attestationPolicyBodyNotJson)];
      app.post(url, { preValidation, schema: bodySchema(ATTESTATION_POLICY_BODY_SCHEMA), config: { kbsParseBody: parseAttestationPolicyBody } }, async (request, reply) => {
        await handleSetAttestationPolicy(parseAttestationPolicyBody(request.body), attestation.backend, adminCredentials(request.headers.authorization));
        return reply.code(200).send();
      });
    }
    for (const url of builtinUrls('reference-value')) {
      app.post(url, { preValidation: [label('reference-value'), adminGuard] }, async (request, reply) => {
        // The registration message goes to the RVPS as it came (the RVPS parses it).
        await handleRegisterReferenceValue(rawBody(request), attestation.backend, adminCredentials(request.headers.authorization));
        return reply.type('application/json').send('');
      });
      app.get(url, { preValidation: [label('reference-value'), adminGuard] }, async (request, reply) => {
        const id = kbsSegments(splitUrl(request.url).path).slice(1).join('/');
        return reply.type('application/json').send(await handleQueryReferenceValue(id, attestation.backend));
      });
    }
  }

  for (const url of builtinUrls('resource-policy')) {
    const preValidation = [label('resource-policy'), adminGuard, jsonBody(resourcePolicyBodyNotJson)];
    app.post(url, { preValidation, schema: bodySchema(RESOURCE_POLICY_BODY_SCHEMA), config: { kbsParseBody: parseResourcePolicyBody } }, async (request, reply) => {
      await handleSetResourcePolicy(parseResourcePolicyBody(request.body), deps.policy);
      return reply.code(200).send();
    });
    app.get(url, { preValidation: [label('resource-policy'), adminGuard] }, async (_request, reply) => reply.type('application/json').send(await handleListResourcePolicies(deps.policy)));
  }

  // Ours below /kbs/v0/resource-policy/ (scoped policies, explain, decisions, dry run): admin only.
  for (const subpath of POLICY_ADMIN_SUBPATHS) {
    for (const url of builtinUrls(`resource-policy/${subpath}`)) {
      app.route({
        method: [...KBS_METHODS],
        url,
        preValidation: [label('resource-policy'), adminGuard],
        handler: async (request, reply) => {
          const rest = kbsSegments(splitUrl(request.url).path).slice(1);
          const answer = await handlePolicyAdmin(request.method, rest, rawBody(request), { policies: deps.policies, tokenVerifier: deps.tokenVerifier });
          return reply.code(answer.status).type('application/json').send(answer.body);
        },
      });
    }
  }

  // Everything else under /kbs/v0/ with a method the KBS serves is a plugin's: `<plugin>/<path...>`.
  app.route({
    method: [...KBS_METHODS],
    url: `${KBS_PREFIX}*`,
    handler: async (request, reply) => {
      const { path, query } = splitUrl(request.url);
      const segments = kbsSegments(path);
      request.kbsRoute = 'plugin';
      const response = await handlePluginRequest(segments[0] ?? '', { method: request.method, path: segments.slice(1), query: query === '' ? NO_QUERY : Object.fromEntries(new URLSearchParams(query)), body: rawBody(request) }, { cookie: request.headers.cookie, authorization: request.headers.authorization }, request.url, {
        plugins: deps.plugins,
        sessions: attestation?.sessions,
        tokenVerifier: deps.tokenVerifier,
        policies: deps.policies,
        log: request.log,
        authorizeAdmin: async (headers, uri) => {
          auditFacts(request).admin = true;
          try {
            request.kbsAdmin = await deps.admin.authorize(headers.authorization, uri);
          } catch (error) {
            if (error instanceof AdminDenied) throw kbsErrors.adminAuthInitialization(error.message);
            throw error;
          }
        },
        onPolicyDecision: (result) => deps.metrics.policyDecision(result),
        onDecision: ({ result, claims, decisionId, verdicts, globalPolicyHash }) => {
          // The decision log (policies/decisions.ts) keeps the claims under the same decision id.
          const facts = auditFacts(request);
          facts.outcome = result;
          if (decisionId !== undefined) facts.decision = decisionId;
          facts.policies = verdicts.length === 0 ? [{ id: 'resource-policy' }] : verdicts.map((verdict) => ({ id: verdict.policy, ...(verdict.policy === 'resource-policy' && globalPolicyHash !== undefined ? { hash: globalPolicyHash } : {}) }));
          const tee = teeOfClaims(claims);
          if (tee !== undefined) facts.tee = tee;
        },
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
