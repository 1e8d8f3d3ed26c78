/**
 * Invariant: the REST AS keeps upstream's routes and bodies (raw token text, `[{"policy-id"}]`,
 * empty challenge) and answers every client mistake with a 4xx `{type, detail}` from the error
 * registry, never upstream's blanket 500; the JWKS verifies the issued token; metrics count it.
 */
import { compactVerify, importJWK, type JWK } from 'jose';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, REQUEST_ID_HEADER } from '@trustee/log';
import { jsonLines, requestIdRuleViolations } from '@trustee/log/testing/jsonLines.ts';
import { MemoryStore } from '@trustee/storage';
import { composeAs } from './compose.ts';
import { parseAsConfig } from './config.ts';
import { AS_ERROR_CODES, AS_ERRORS } from './errors.ts';
import { buildAsRestServer } from './restServer.ts';
import { b64urlJson, composeTestAs, createTestAdmin, RUNTIME_DATA, sampleEvidence, type TestAs } from './testing/fixtures.ts';

let as: TestAs;
let app: FastifyInstance;

beforeAll(async () => {
  as = await composeTestAs();
  app = buildAsRestServer(as.composed, { bodyLimitBytes: 64 * 1024 });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await as.composed.close();
});

const attestationBody = (item: Record<string, unknown>, policyIds: unknown = ['default']): Record<string, unknown> => ({ verification_requests: [item], policy_ids: policyIds });
const goodItem = { tee: 'sample', evidence: b64urlJson(sampleEvidence()), runtime_data: { structured: RUNTIME_DATA } };
const rego = 'package policy\nimport rego.v1\ndefault hardware := 2\ntrust_claims := {"hardware": hardware}\n';

describe('POST /attestation', () => {
  test('returns the raw EAR token, verifiable with GET /.well-known/jwks.json', async () => {
    const response = await app.inject({ method: 'POST', url: '/attestation', payload: attestationBody(goodItem) });
    expect(response.statusCode).toBe(200);
    const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{ keys: JWK[] }>();
    const { payload } = await compactVerify(response.body, await importJWK(jwks.keys[0] as JWK, 'ES256'));
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ iss: 'CoCo-Attestation-Service' });
  });

  test('raw runtime data and an init-data digest are accepted (externally tagged)', async () => {
    const evidence = { svn: '1', report_data: Buffer.from('hello').toString('base64') };
    const response = await app.inject({
      method: 'POST',
      url: '/attestation',
      payload: attestationBody({ tee: 'sample', evidence: b64urlJson(evidence), runtime_data: { raw: Buffer.from('hello').toString('base64url') }, init_data: { init_data_digest: Buffer.alloc(32, 1).toString('base64url') } }, []),
    });
    expect(response.statusCode).toBe(200);
  });

  test.each<[string, unknown, number, string, RegExp]>([
    ['no policy_ids key (upstream: required)', { verification_requests: [goodItem] }, 400, 'invalid_request', /missing field `policy_ids`/],
    ['runtime_data with two tags', attestationBody({ ...goodItem, runtime_data: { raw: '', structured: {} } }), 400, 'invalid_request', /exactly one of raw, structured/],
    ['init_data with an unknown tag', attestationBody({ ...goodItem, init_data: { init_data_hash: 'x' } }), 400, 'invalid_request', /init_data_digest, init_data_toml/],
    ['unknown TEE', attestationBody({ ...goodItem, tee: 'sev' }), 400, 'invalid_request', /unknown TEE "sev"/],
    ['TEE without a verifier', attestationBody({ ...goodItem, tee: 'csv', evidence: b64urlJson({}) }), 400, 'unsupported_tee', /csv/],
    ['bad base64url', attestationBody({ ...goodItem, evidence: '***' }), 400, 'invalid_request', /evidence: not base64url/],
    ['policy_ids not strings', attestationBody(goodItem, [1]), 400, 'invalid_request', /policy_ids/],
    ['evidence not bound to the runtime data', attestationBody({ ...goodItem, runtime_data: { structured: { nonce: 'x' } } }), 403, 'verification_failed', /report_data/],
    ['unknown policy', attestationBody(goodItem, ['missing']), 404, 'policy_not_found', /missing_cpu/],
  ])('%s', async (_name, payload, status, type, detail) => {
    const response = await app.inject({ method: 'POST', url: '/attestation', payload: payload as Record<string, unknown> });
    expect(response.statusCode).toBe(status);
    const body = response.json<{ type: string; detail: string }>();
    expect(body.type).toBe(type);
    expect(body.detail).toMatch(detail);
  });

  test('syntax errors, wrong content type and oversized bodies are 4xx JSON', async () => {
    const syntax = await app.inject({ method: 'POST', url: '/attestation', headers: { 'content-type': 'application/json' }, payload: '{"verification_requests": [' });
    expect(syntax.statusCode).toBe(400);
    expect(syntax.json()).toMatchObject({ type: 'invalid_request' });
    const text = await app.inject({ method: 'POST', url: '/attestation', headers: { 'content-type': 'text/plain' }, payload: 'x' });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ type: 'unsupported_media_type' });
    const big = await app.inject({ method: 'POST', url: '/attestation', payload: attestationBody({ ...goodItem, evidence: 'A'.repeat(70 * 1024) }) });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ type: 'payload_too_large' });
  });
});

describe('policies', () => {
  test('POST, GET list, GET one (raw Rego), DELETE', async () => {
    const set = await app.inject({ method: 'POST', url: '/policy', payload: { policy_id: 'rest_cpu', policy: Buffer.from(rego).toString('base64url'), type: 'rego' } });
    expect(set.statusCode).toBe(200);
    expect(set.body).toBe('');
    const list = await app.inject({ method: 'GET', url: '/policy' });
    expect(list.json()).toEqual(expect.arrayContaining([{ 'policy-id': 'default_cpu' }, { 'policy-id': 'rest_cpu' }]));
    const one = await app.inject({ method: 'GET', url: '/policy/rest_cpu' });
    expect(one.statusCode).toBe(200);
    expect(one.body).toBe(rego);
    expect((await app.inject({ method: 'DELETE', url: '/policy/rest_cpu' })).statusCode).toBe(200);
    const gone = await app.inject({ method: 'GET', url: '/policy/rest_cpu' });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ type: 'not_found' });
    expect((await app.inject({ method: 'DELETE', url: '/policy/rest_cpu' })).statusCode).toBe(404);
  });

  test.each<[string, unknown, string]>([
    ['padded base64', { policy_id: 'p', policy: `${Buffer.from(rego).toString('base64url')}=` }, 'invalid_request'],
    ['bad Rego', { policy_id: 'p', policy: Buffer.from('package').toString('base64url') }, 'invalid_policy'],
    ['recursive Rego', { policy_id: 'p', policy: Buffer.from('package policy\nf(x) if f(x)\nallow if f(1)').toString('base64url') }, 'invalid_policy'],
    ['no policy_id', { policy: Buffer.from(rego).toString('base64url') }, 'invalid_request'],
  ])('POST /policy with %s → 400 %s', async (_name, payload, type) => {
    const response = await app.inject({ method: 'POST', url: '/policy', payload: payload as Record<string, unknown> });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ type });
  });
});

describe('policies with admin.protect_policies', () => {
  test('every policy route needs the admin token: none or a foreign one → 401 unauthenticated and nothing stored', async () => {
    const admin = createTestAdmin();
    const gated = await composeTestAs({ admin: { bearer_jwt: admin.bearerJwt, protect_policies: true } });
    const server = buildAsRestServer(gated.composed);
    try {
      const body = { policy_id: 'gated', policy: Buffer.from(rego).toString('base64url') };
      for (const authorization of [undefined, `Bearer ${await admin.token(undefined, { foreign: true })}`]) {
        const headers = authorization === undefined ? {} : { authorization };
        for (const [method, url] of [['POST', '/policy'], ['GET', '/policy'], ['GET', '/policy/default_cpu'], ['DELETE', '/policy/default_cpu']] as const) {
          const response = await server.inject({ method, url, headers, ...(method === 'POST' ? { payload: body } : {}) });
          expect(response.statusCode, `${method} ${url}`).toBe(401);
          expect(response.json()).toMatchObject({ type: 'unauthenticated' });
        }
      }
      expect(await gated.composed.service.listPolicies()).not.toContain('gated');
      const headers = { authorization: `Bearer ${await admin.token()}` };
      expect((await server.inject({ method: 'POST', url: '/policy', headers, payload: body })).statusCode).toBe(200);
      expect((await server.inject({ method: 'GET', url: '/policy/gated', headers })).body).toBe(rego);
      // Attestation stays open.
      expect((await server.inject({ method: 'POST', url: '/attestation', payload: attestationBody(goodItem) })).statusCode).toBe(200);
    } finally {
      await server.close();
      await gated.composed.close();
    }
  });
});

describe('challenge, health, metrics, unknown routes', () => {
  test('POST /challenge', async () => {
    const ok = await app.inject({ method: 'POST', url: '/challenge', payload: { tee: 'snp', tee_params: '' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('');
    expect((await app.inject({ method: 'POST', url: '/challenge', payload: { tee: 'se', tee_params: '' } })).json()).toMatchObject({ type: 'unsupported_tee' });
    expect((await app.inject({ method: 'POST', url: '/challenge', payload: { tee: 1 } })).statusCode).toBe(400);
  });

  test('GET /healthz and GET /metrics', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/trustee_as_attestations_total\{tee="sample",outcome="ok"\} \d+/);
    expect(metrics.body).toMatch(/trustee_as_attestations_total\{tee="sample",outcome="verification_failed"\} \d+/);
    expect(metrics.body).toMatch(/trustee_as_verification_duration_seconds_bucket\{le="[^"]+",tee="sample",outcome="ok"\}/);
    expect(metrics.body).toMatch(/trustee_as_verifier_duration_seconds_count\{tee="sample",outcome="ok"\} [1-9]/);
    expect(metrics.body).toMatch(/trustee_as_verifier_duration_seconds_count\{tee="sample",outcome="verification_failed"\} [1-9]/);
    expect(metrics.body).toMatch(/trustee_as_requests_total\{transport="http",method="POST attestation",code="403"\} \d+/);
  });

  test('unknown route → 404 JSON', async () => {
    const response = await app.inject({ method: 'GET', url: '/kbs/v0/auth' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ type: 'not_found' });
  });
});

describe('CORS (-r/--allowed_origin)', () => {
  test('allowed origins get upstream\'s preflight answer, others get no CORS headers', async () => {
    const cors = buildAsRestServer(as.composed, { allowedOrigins: ['https://ui.example'] });
    try {
      const preflight = await cors.inject({ method: 'OPTIONS', url: '/attestation', headers: { origin: 'https://ui.example', 'access-control-request-method': 'POST' } });
      expect(preflight.statusCode).toBe(200);
      expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': 'https://ui.example', 'access-control-allow-methods': 'POST, GET, OPTIONS', 'access-control-max-age': '86400' });
      const get = await cors.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://ui.example' } });
      expect(get.headers['access-control-allow-origin']).toBe('https://ui.example');
      const other = await cors.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      expect((await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://ui.example' } })).headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await cors.close();
    }
  });
});

describe('error registry', () => {
  test('every code has a 4xx/5xx status and a title', () => {
    for (const code of AS_ERROR_CODES) {
      expect(AS_ERRORS[code].http).toBeGreaterThanOrEqual(400);
      expect(AS_ERRORS[code].title.length).toBeGreaterThan(0);
    }
  });
});

describe('request ids over REST', () => {
  test("a caller's x-request-id is the reqId of the request's log lines; a missing, too long, spaced or non-ASCII one is replaced by a UUID", async () => {
    const { stream, lines } = jsonLines();
    const composed = await composeAs(parseAsConfig({}), { store: new MemoryStore(), log: createLogger({ stream }) });
    const logged = buildAsRestServer(composed);
    // A request without verification requests is refused (400) with one `request refused` line.
    const refusedReqId = async (requestId: string | undefined): Promise<unknown> => {
      const before = lines.length;
      const response = await logged.inject({
        method: 'POST',
        url: '/attestation',
        headers: requestId === undefined ? {} : { [REQUEST_ID_HEADER]: requestId },
        payload: { verification_requests: [], policy_ids: [] },
      });
      expect(response.statusCode).toBe(400);
      const refused = lines.slice(before).filter((line) => line['msg'] === 'request refused');
      expect(refused).toHaveLength(1);
      return refused[0]?.['reqId'];
    };
    try {
      expect(await requestIdRuleViolations(refusedReqId, 'kbs7f3a-1c', ['caf\u00e9'])).toEqual([]);
    } finally {
      await logged.close();
      await composed.close();
    }
  });
});
