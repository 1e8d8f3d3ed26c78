/**
 * Invariant: every route answers exactly as upstream's KBS does on the wire (status,
 * ErrorInformation type and detail), and a rejected request never changes stored state.
 * Runs the real composition (builtin AS, token verifier, Rego policy, admin JWTs) in-process.
 */
import { generateKeyPairSync } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { CompactSign, SignJWT } from 'jose';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_KEY_LENGTH, MemoryStore, type SetOptions } from '@trustee/storage';
import { DEFAULT_RESOURCE_POLICY } from '@trustee/protocol';
import { ALLOW_ALL_RESOURCE_POLICY } from './resourcePolicy.ts';
import { originFormUrl } from './server.ts';
import { cleanupHarnessDirs, ERR, errorOf, Guest, policyBody, startHarness, type Harness } from './testing/fixture.ts';

const NAMESPACES = ['kbs', 'repository', 'kbs_protocol_session', 'attestation_service_policy', 'reference_value'];

async function snapshot(store: MemoryStore): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  for (const namespace of NAMESPACES) {
    for (const key of await store.list(namespace)) {
      state[`${namespace}/${key}`] = Buffer.from((await store.get(namespace, key)) ?? new Uint8Array()).toString('hex');
    }
  }
  return state;
}

let h: Harness;
let admin: string;

async function setResource(path: string, value: string): Promise<void> {
  const response = await h.app.inject({ method: 'POST', url: `/kbs/v0/resource/${path}`, payload: value, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' } });
  expect(response.statusCode).toBe(200);
}

async function setResourcePolicy(source: string): Promise<void> {
  const response = await h.app.inject({ method: 'POST', url: '/kbs/v0/resource-policy', payload: policyBody(source), headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
  expect(response.statusCode, response.body).toBe(200);
}

beforeEach(async () => {
  h = await startHarness();
  admin = await h.adminToken();
  await setResource('default/key/one', 'secret-one');
});
afterEach(async () => {
  await h.close();
});
afterAll(() => cleanupHarnessDirs());

describe('POST /kbs/v0/auth', () => {
  test('answers a 32-byte standard-base64 nonce, extra-params "" and the upstream cookie', async () => {
    const guest = new Guest(h.app);
    const response = await guest.auth();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(response.body) as { nonce: string; 'extra-params': unknown };
    expect(Object.keys(body)).toEqual(['nonce', 'extra-params']);
    expect(Buffer.from(body.nonce, 'base64')).toHaveLength(32);
    expect(body.nonce).toHaveLength(44);
    expect(body['extra-params']).toBe('');
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(/^kbs-session-id=[0-9a-f]{32}; Expires=\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(new Date(cookie.split('Expires=')[1] ?? '').getTime()).toBe(h.clock.now + 5 * 60_000);
  });

  test.each([
    [{ version: '0.3.0', tee: 'sample', 'extra-params': {} }, 'Attestation error: RCAR handshake Auth failed: KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is 0.3.0'],
    [{ version: '0.4.1', tee: 'sample', 'extra-params': {} }, 'Attestation error: RCAR handshake Auth failed: KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is 0.4.1'],
    [{ version: '0.4.0-rc1', tee: 'sample', 'extra-params': {} }, 'Attestation error: RCAR handshake Auth failed: KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is 0.4.0-rc1'],
    [{ version: 'v0.4.0', tee: 'sample', 'extra-params': {} }, 'Attestation error: RCAR handshake Auth failed: failed to parse the protocol version "v0.4.0" as semver'],
    [{ version: '0.4.0', tee: 'sev', 'extra-params': {} }, 'Attestation error: RCAR handshake Auth failed: invalid request body: unknown tee "sev"'],
    [{ version: '0.4.0', 'extra-params': {} }, 'Attestation error: RCAR handshake Auth failed: invalid request body: auth request.tee must be a string'],
    [[1, 2], 'Attestation error: RCAR handshake Auth failed: invalid request body: auth request must be a JSON object'],
  ])('rejects %j with 401 AttestationError and opens no session', async (body, detail) => {
    const before = await snapshot(h.store);
    const response = await new Guest(h.app).auth(body);
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual({ type: `${ERR}AttestationError`, detail });
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(await snapshot(h.store)).toEqual(before);
  });

  test('malformed JSON and invalid UTF-8 are AttestationError, not a framework 400', async () => {
    for (const payload of ['{"version":', Buffer.from([0x7b, 0xff, 0x7d])]) {
      const response = await h.app.inject({ method: 'POST', url: '/kbs/v0/auth', payload, headers: { 'content-type': 'application/json' } });
      expect(response.statusCode).toBe(401);
      expect(errorOf(response).type).toBe(`${ERR}AttestationError`);
      expect(errorOf(response).detail).toMatch(/^Attestation error: RCAR handshake Auth failed: invalid request body: /);
    }
  });

  test('deeply nested extra-params → 401 AttestationError, never a 500 (nothing stored)', async () => {
    for (const depth of [33, 5_000, 100_000]) {
      const payload = `{"version":"0.4.0","tee":"sample","extra-params":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const response = await h.app.inject({ method: 'POST', url: '/kbs/v0/auth', payload, headers: { 'content-type': 'application/json' } });
      expect(response.statusCode).toBe(401);
      expect(errorOf(response).type).toBe(`${ERR}AttestationError`);
    }
    expect(await h.store.list('kbs_protocol_session')).toEqual([]);
    expect((await new Guest(h.app).auth({ version: '0.4.0', tee: 'sample', 'extra-params': { a: { b: { c: [1, [2]] } } } })).statusCode).toBe(200);
  });

  test('extra-params over 4096 bytes → 401 AttestationError, nothing stored', async () => {
    const big = await new Guest(h.app).auth({ version: '0.4.0', tee: 'sample', 'extra-params': 'x'.repeat(4095) });
    expect(big.statusCode).toBe(401);
    expect(errorOf(big)).toEqual({ type: `${ERR}AttestationError`, detail: 'Attestation error: RCAR handshake Auth failed: invalid request body: extra-params larger than 4096 bytes' });
    expect(await h.store.list('kbs_protocol_session')).toEqual([]);
    expect((await new Guest(h.app).auth({ version: '0.4.0', tee: 'sample', 'extra-params': 'x'.repeat(4094) })).statusCode).toBe(200);
  });

  test.each(['sampledevice', 'nvidia', 'nvidiadpu', 'hygondcu'])('a device TEE (%s) as the primary TEE → 401 AttestationError', async (tee) => {
    const response = await new Guest(h.app).auth({ version: '0.4.0', tee, 'extra-params': '' });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual({
      type: `${ERR}AttestationError`,
      detail: `Attestation error: RCAR handshake Auth failed: invalid request body: tee "${tee}" is a device TEE; it can only be sent as additional evidence beside a CPU TEE`,
    });
    expect(await h.store.list('kbs_protocol_session')).toEqual([]);
  });

  test('per-IP open-session quota → 401 for that address only', async () => {
    await h.close();
    h = await startHarness({ edit: (raw) => Object.assign(raw['http_server'] as Record<string, unknown>, { max_sessions_per_ip: 2 }) });
    expect((await new Guest(h.app).auth()).statusCode).toBe(200);
    expect((await new Guest(h.app).auth()).statusCode).toBe(200);
    const third = await new Guest(h.app).auth();
    expect(third.statusCode).toBe(401);
    expect(errorOf(third).detail).toBe('Attestation error: RCAR handshake Auth failed: too many open sessions from this address, retry later');
    const other = await h.app.inject({ method: 'POST', url: '/kbs/v0/auth', remoteAddress: '10.1.2.3', payload: JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' }) });
    expect(other.statusCode).toBe(200);
  });

  test('per-IP /auth rate limit → 429 ErrorInformation once the burst is spent, refilled over time', async () => {
    await h.close();
    h = await startHarness({ edit: (raw) => Object.assign(raw['http_server'] as Record<string, unknown>, { auth_rate_limit_per_ip: 1, auth_rate_burst_per_ip: 2 }) });
    expect((await new Guest(h.app).auth()).statusCode).toBe(200);
    expect((await new Guest(h.app).auth()).statusCode).toBe(200);
    const limited = await new Guest(h.app).auth();
    expect(limited.statusCode).toBe(429);
    expect(errorOf(limited)).toEqual({ type: `${ERR}TooManyRequests`, detail: 'Too many /auth requests from this address, retry later' });
    h.clock.now += 1000;
    expect((await new Guest(h.app).auth()).statusCode).toBe(200);
  });

  test('GET /kbs/v0/auth is an unknown plugin (404), like upstream', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/kbs/v0/auth' });
    expect(response.statusCode).toBe(404);
    expect(errorOf(response)).toEqual({ type: `${ERR}PluginNotFound`, detail: 'Plugin auth not found' });
  });

  test('the session store is bounded', async () => {
    await h.close();
    h = await startHarness({ maxSessions: 2 });
    expect((await new Guest(h.app).auth()).statusCode).toBe(200);
    expect((await new Guest(h.app).auth()).statusCode).toBe(200);
    const third = await new Guest(h.app).auth();
    expect(third.statusCode).toBe(401);
    expect(errorOf(third).detail).toBe('Attestation error: RCAR handshake Auth failed: too many open sessions, retry later');
    h.clock.now += 5 * 60_000;
    expect((await new Guest(h.app).auth()).statusCode).toBe(200);
  });
});

describe('POST /kbs/v0/attest', () => {
  const ATTEST_FAILED = { type: `${ERR}AttestationError`, detail: 'Attestation error: RCAR handshake Attest failed' };

  test('sample evidence yields an EAR token carrying the tee-pubkey; the session becomes Attested', async () => {
    const guest = new Guest(h.app);
    await guest.auth();
    const response = await guest.attest();
    expect(response.statusCode, response.body).toBe(200);
    expect(String(response.headers['set-cookie'])).toContain(guest.cookie ?? 'missing');
    const { token } = JSON.parse(response.body) as { token: string };
    const claims = await h.kbs.tokenVerifier.verify(token);
    expect(h.kbs.tokenVerifier.extractTeePubKey(claims)).toEqual(guest.teePubKey);
  });

  test('re-attesting an Attested session returns the stored token without re-verifying', async () => {
    const guest = new Guest(h.app);
    const token = await guest.rcar();
    const again = await guest.attest(guest.attestation({ reportData: 'AAAA' }));
    expect(again.statusCode).toBe(200);
    expect((JSON.parse(again.body) as { token: string }).token).toBe(token);
  });

  test('no cookie → 401', async () => {
    const guest = new Guest(h.app);
    await guest.auth();
    const response = await guest.attest(guest.attestation(), null);
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual(ATTEST_FAILED);
  });

  test('unknown or malformed session id → 401', async () => {
    const guest = new Guest(h.app);
    await guest.auth();
    for (const cookie of ['kbs-session-id=00000000000000000000000000000000', 'kbs-session-id=../../etc', 'kbs-session-id=']) {
      const response = await guest.attest(guest.attestation(), cookie);
      expect(response.statusCode).toBe(401);
      expect(errorOf(response)).toEqual(ATTEST_FAILED);
    }
  });

  test('wrong nonce → 401 and the session stays usable', async () => {
    const guest = new Guest(h.app);
    await guest.auth();
    const before = await snapshot(h.store);
    const response = await guest.attest(guest.attestation({ nonce: Buffer.alloc(32, 7).toString('base64') }));
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual(ATTEST_FAILED);
    expect(await snapshot(h.store)).toEqual(before);
    expect((await guest.attest()).statusCode).toBe(200);
  });

  test('tampered report_data → 401; the nonce is spent, a replay with correct evidence fails too', async () => {
    const guest = new Guest(h.app);
    await guest.auth();
    const good = guest.attestation();
    const tampered = guest.attestation({ reportData: Buffer.alloc(48, 1).toString('base64') });
    const response = await guest.attest(tampered);
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual(ATTEST_FAILED);
    const replay = await guest.attest(good);
    expect(replay.statusCode).toBe(401);
    expect(await h.store.list('kbs_protocol_session')).toEqual([]);
  });

  test('concurrent attestations of one challenge: exactly one verification wins', async () => {
    const guest = new Guest(h.app);
    await guest.auth();
    const responses = await Promise.all([guest.attest(), guest.attest(), guest.attest()]);
    const ok = responses.filter((response) => response.statusCode === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    const tokens = new Set(ok.map((response) => (JSON.parse(response.body) as { token: string }).token));
    expect(tokens.size).toBe(1);
  });

  test('expired session → 401 and the session is deleted', async () => {
    const guest = new Guest(h.app);
    await guest.auth();
    h.clock.now += 5 * 60_000;
    const response = await guest.attest();
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual(ATTEST_FAILED);
    expect(await h.store.list('kbs_protocol_session')).toEqual([]);
  });

  test.each([
    ['not JSON', '{'],
    ['missing runtime-data', JSON.stringify({ 'tee-evidence': { primary_evidence: {}, additional_evidence: '' } })],
    ['tee-pubkey of unknown kty', JSON.stringify({ 'runtime-data': { nonce: 'x', 'tee-pubkey': { kty: 'oct', k: 'AA' } }, 'tee-evidence': { primary_evidence: {}, additional_evidence: '' } })],
    ['init-data format json', 'INIT_JSON'],
    ['additional_evidence not JSON', 'ADDITIONAL_BAD'],
    ['additional_evidence with unknown tee', 'ADDITIONAL_UNKNOWN'],
  ])('%s → 401 AttestationError, state unchanged', async (_name, payload) => {
    const guest = new Guest(h.app);
    await guest.auth();
    let body: string = payload;
    if (payload === 'INIT_JSON') body = JSON.stringify({ ...guest.attestation(), 'init-data': { format: 'json', body: '{}' } });
    if (payload === 'ADDITIONAL_BAD') body = JSON.stringify(guest.attestation({ additional: '{not json' }));
    if (payload === 'ADDITIONAL_UNKNOWN') body = JSON.stringify(guest.attestation({ additional: '{"floppy":{}}' }));
    const before = await snapshot(h.store);
    const response = await h.app.inject({ method: 'POST', url: '/kbs/v0/attest', payload: body, headers: { cookie: guest.cookie ?? '', 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual(ATTEST_FAILED);
    expect(await snapshot(h.store)).toEqual(before);
  });
});

describe('GET /kbs/v0/resource/...', () => {
  test('default policy denies sample evidence (401 PolicyDeny)', async () => {
    const guest = new Guest(h.app);
    await guest.rcar();
    const response = await guest.getResource('default/key/one');
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual({ type: `${ERR}PolicyDeny`, detail: 'Access denied by policy' });
  });

  test('with a permissive policy: cookie session and Bearer token both get a JWE for the TEE key', async () => {
    await setResourcePolicy(ALLOW_ALL_RESOURCE_POLICY);
    const guest = new Guest(h.app);
    const token = await guest.rcar();
    const viaCookie = await guest.getResource('default/key/one');
    expect(viaCookie.statusCode, viaCookie.body).toBe(200);
    expect(viaCookie.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(JSON.parse(viaCookie.body) as object)).toEqual(['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag']);
    expect(guest.decrypt(viaCookie)).toBe('secret-one');
    const viaBearer = await guest.getResource('default/key/one', { bearer: token });
    expect(viaBearer.statusCode).toBe(200);
    expect(guest.decrypt(viaBearer)).toBe('secret-one');
  });

  test('policy sees data {plugin, resource-path segments, query}', async () => {
    await setResourcePolicy(`package policy
import rego.v1
default allow := false
allow if {
  data.plugin == "resource"
  data["resource-path"] == ["default", "key", "one"]
  data.query.v == "2"
}
`);
    const guest = new Guest(h.app);
    await guest.rcar();
    expect((await guest.getResource('default/key/one?v=2')).statusCode).toBe(200);
    expect((await guest.getResource('default/key/one?v=3')).statusCode).toBe(401);
  });

  test('no session and no Bearer → 401 TokenNotFound', async () => {
    const response = await new Guest(h.app).getResource('default/key/one', {});
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual({ type: `${ERR}TokenNotFound`, detail: 'Attestation Token not found' });
  });

  test('an Authed (not attested) session does not count as a token', async () => {
    const guest = new Guest(h.app);
    await guest.auth();
    const response = await guest.getResource('default/key/one');
    expect(errorOf(response).type).toBe(`${ERR}TokenNotFound`);
  });

  test('forged, foreign-signed, expired and garbage Bearer tokens → 401 TokenVerifierError', async () => {
    await setResourcePolicy(ALLOW_ALL_RESOURCE_POLICY);
    const guest = new Guest(h.app);
    const token = await guest.rcar();
    const [header = '', payload = ''] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;

    // Same claims, signed by an attacker key carried in the header (no x5c chaining to a trusted cert).
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), alg: 'ES256' };
    const foreign = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ typ: 'JWT', alg: 'ES256', jwk: attackerJwk })
      .sign(attacker.privateKey);
    // Same header (trusted x5c) but tampered claims.
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: (claims['exp'] as number) + 3600 })).toString('base64url')}.${token.split('.')[2] ?? ''}`;
    const noKey = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(attacker.privateKey);

    for (const bad of [foreign, tampered, noKey, 'not.a.jwt', 'x']) {
      const response = await guest.getResource('default/key/one', { bearer: bad });
      expect(response.statusCode).toBe(401);
      expect(errorOf(response)).toEqual({ type: `${ERR}TokenVerifierError`, detail: 'Token Verifier error' });
    }

    h.clock.now += 6 * 60_000 + 61_000; // past exp (5 min) + 60 s leeway
    const expired = await guest.getResource('default/key/one', { bearer: token });
    expect(errorOf(expired)).toEqual({ type: `${ERR}TokenVerifierError`, detail: 'Token Verifier error' });
  });

  // (Dot segments are normalised away by the inject client; the raw-socket test below sends them as-is.)
  test.each([
    ['default/key/one/extra'],
    ['default/key'],
    ['default/key/.hidden'],
    ['default/key/one%2Fx'],
    ['default//one'],
  ])('resource path %s → 401 PluginInternalError (after the policy passed)', async (path) => {
    await setResourcePolicy(ALLOW_ALL_RESOURCE_POLICY);
    const guest = new Guest(h.app);
    await guest.rcar();
    const response = await guest.getResource(path);
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual({ type: `${ERR}PluginInternalError`, detail: 'Plugin internal error' });
  });

  test('missing resource → 401 PluginInternalError (upstream code, not 404)', async () => {
    await setResourcePolicy(ALLOW_ALL_RESOURCE_POLICY);
    const guest = new Guest(h.app);
    await guest.rcar();
    const response = await guest.getResource('default/key/absent');
    expect(errorOf(response)).toEqual({ type: `${ERR}PluginInternalError`, detail: 'Plugin internal error' });
  });

  test('a Rego runtime error in the policy → 401 PolicyEngineError', async () => {
    await setResourcePolicy(`package policy
import rego.v1
allow := x if { x := 1 / 0 }
`);
    const guest = new Guest(h.app);
    await guest.rcar();
    const response = await guest.getResource('default/key/one');
    expect(response.statusCode).toBe(401);
    expect([`${ERR}PolicyEngineError`, `${ERR}PolicyDeny`]).toContain(errorOf(response).type);
  });
});

describe('plugins', () => {
  test('unknown plugin → 404 PluginNotFound', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/kbs/v0/nebula-ca/credential' });
    expect(response.statusCode).toBe(404);
    expect(errorOf(response)).toEqual({ type: `${ERR}PluginNotFound`, detail: 'Plugin nebula-ca not found' });
  });

  test('resource admin writes need the admin token; failures use upstream\'s AdminAuthInitialization quirk', async () => {
    const before = await snapshot(h.store);
    const response = await h.app.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/two', payload: 'x' });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toEqual({ type: `${ERR}AdminAuthInitialization`, detail: 'failed to initialize [admin] configuration: Failed to parse HTTP Auth Bearer header' });
    expect(await snapshot(h.store)).toEqual(before);
  });

  test('resource POST stores raw bytes (text/xml empty 200); DELETE removes; DELETE of a missing one → PluginInternalError', async () => {
    const post = await h.app.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/bin', payload: Buffer.from([0, 255, 1]), headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' } });
    expect(post.statusCode).toBe(200);
    expect(post.headers['content-type']).toMatch(/^text\/xml/);
    expect(post.body).toBe('');
    expect(await h.store.get('repository', 'default/key/bin')).toEqual(new Uint8Array([0, 255, 1]));
    const del = await h.app.inject({ method: 'DELETE', url: '/kbs/v0/resource/default/key/bin', headers: { authorization: `Bearer ${admin}` } });
    expect(del.statusCode).toBe(200);
    const again = await h.app.inject({ method: 'DELETE', url: '/kbs/v0/resource/default/key/bin', headers: { authorization: `Bearer ${admin}` } });
    expect(errorOf(again)).toEqual({ type: `${ERR}PluginInternalError`, detail: 'Plugin internal error' });
  });

  test('admin resource write with a traversal path is rejected and stores nothing', async () => {
    const before = await snapshot(h.store);
    for (const path of ['a/b', 'a/b/c/d', 'a/.b/c', 'a/b/c%2Fd']) {
      const response = await h.app.inject({ method: 'POST', url: `/kbs/v0/resource/${path}`, payload: 'x', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' } });
      expect(response.statusCode).toBe(401);
      expect(errorOf(response).type).toBe(`${ERR}PluginInternalError`);
    }
    expect(await snapshot(h.store)).toEqual(before);
  });

  test('sample plugin (configured) answers admins only', async () => {
    await h.close();
    h = await startHarness({ edit: (raw) => ((raw['plugins'] as unknown[]).push({ name: 'sample', item: 'value' })) });
    admin = await h.adminToken();
    const ok = await h.app.inject({ method: 'GET', url: '/kbs/v0/sample/anything', headers: { authorization: `Bearer ${admin}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('sample plugin response');
    const denied = await h.app.inject({ method: 'GET', url: '/kbs/v0/sample/anything' });
    expect(errorOf(denied).type).toBe(`${ERR}AdminAuthInitialization`);
  });
});

describe('admin endpoints', () => {
  test('resource-policy: GET lists ids; POST stores a syntax-checked policy', async () => {
    const list = await h.app.inject({ method: 'GET', url: '/kbs/v0/resource-policy', headers: { authorization: `Bearer ${admin}` } });
    expect(list.statusCode).toBe(200);
    expect(JSON.parse(list.body)).toEqual(['resource-policy']);
    expect(new TextDecoder().decode(await h.store.get('kbs', 'resource-policy.rego'))).toBe(DEFAULT_RESOURCE_POLICY);
    await setResourcePolicy(ALLOW_ALL_RESOURCE_POLICY);
    expect(new TextDecoder().decode(await h.store.get('kbs', 'resource-policy.rego'))).toBe(ALLOW_ALL_RESOURCE_POLICY);
  });

  test.each([
    ['padded base64', JSON.stringify({ policy: Buffer.from('package policy\n').toString('base64url') + '=' }), 'ParsePolicyError'],
    ['standard alphabet', JSON.stringify({ policy: '+/+/' }), 'ParsePolicyError'],
    ['not JSON', '{', 'ParsePolicyError'],
    ['policy missing', JSON.stringify({}), 'ParsePolicyError'],
    ['invalid Rego', policyBody('package policy\nallow if {'), 'PolicyEngineError'],
    ['not UTF-8', JSON.stringify({ policy: Buffer.from([0xff, 0xfe]).toString('base64url') }), 'ParsePolicyError'],
  ])('resource-policy POST with %s → 401 %s, policy unchanged', async (_name, payload, variant) => {
    const before = await snapshot(h.store);
    const response = await h.app.inject({ method: 'POST', url: '/kbs/v0/resource-policy', payload, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response).type).toBe(`${ERR}${variant}`);
    expect(errorOf(response).detail).toMatch(variant === 'ParsePolicyError' ? /^Failed to parse policy: / : /^Policy engine error: /);
    expect(await snapshot(h.store)).toEqual(before);
  });

  test('without / with a bad admin token → 401 AdminAuthAccess with upstream reasons, nothing stored', async () => {
    const before = await snapshot(h.store);
    const otherKey = generateKeyPairSync('ed25519').privateKey;
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'Failed to parse HTTP Auth Bearer header'],
      [{ authorization: 'Basic abc' }, 'Failed to parse HTTP Auth Bearer header'],
      [{ authorization: `Bearer ${await h.adminToken({ role: 'admin' }, { key: otherKey })}` }, 'Admin access denied: Cannot verify token with any of the issuers'],
      [{ authorization: `Bearer ${await h.adminToken({ role: 'admin' }, { issuer: 'someone-else' })}` }, 'Admin access denied: Cannot verify token with any of the issuers'],
      [{ authorization: `Bearer ${await h.adminToken({ role: 'admin' }, { expiresInS: -61 })}` }, 'Admin access denied: Cannot verify token with any of the issuers'],
      [{ authorization: `Bearer ${await h.adminToken({})}` }, 'Admin access denied: Missing required `role` claim in JWT'],
      [{ authorization: `Bearer ${await h.adminToken({ role: 'reader' })}` }, 'Admin access denied: Role reader not allowed for path /kbs/v0/resource-policy'],
    ];
    for (const [headers, reason] of cases) {
      const response = await h.app.inject({ method: 'POST', url: '/kbs/v0/resource-policy', payload: policyBody(ALLOW_ALL_RESOURCE_POLICY), headers: { ...headers, 'content-type': 'application/json' } });
      expect(response.statusCode).toBe(401);
      expect(errorOf(response)).toEqual({ type: `${ERR}AdminAuthAccess`, detail: `admin access denied for endpoint /kbs/v0/resource-policy: ${reason}` });
    }
    expect(await snapshot(h.store)).toEqual(before);
  });

  test('DenyAll refuses every admin call; InsecureAllowAll needs no token', async () => {
    await h.close();
    h = await startHarness({ edit: (raw) => (raw['admin'] = { authorization_mode: 'DenyAll' }) });
    const denied = await h.app.inject({ method: 'GET', url: '/kbs/v0/resource-policy', headers: { authorization: `Bearer ${admin}` } });
    expect(errorOf(denied)).toEqual({
      type: `${ERR}AdminAuthAccess`,
      detail: 'admin access denied for endpoint /kbs/v0/resource-policy: Admin access denied: Admin access denied as DenyAll authorization_mode is enabled',
    });
    await h.close();
    h = await startHarness({ edit: (raw) => (raw['admin'] = { authorization_mode: 'InsecureAllowAll' }) });
    expect((await h.app.inject({ method: 'GET', url: '/kbs/v0/resource-policy' })).statusCode).toBe(200);
  });

  test('attestation-policy: stores valid Rego, rejects bad bodies with Set Attestation Policy failed', async () => {
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const ok = await h.app.inject({ method: 'POST', url: '/kbs/v0/attestation-policy', headers, payload: JSON.stringify({ type: 'rego', policy_id: 'custom_cpu', policy: JSON.parse(policyBody('package policy\n')).policy }) });
    expect(ok.statusCode, ok.body).toBe(200);
    const before = await snapshot(h.store);
    for (const payload of [
      '{',
      JSON.stringify({ policy_id: 'x', policy: 'cGFja2FnZQ==' }),
      JSON.stringify({ policy_id: '../x', policy: JSON.parse(policyBody('package policy\n')).policy }),
      JSON.stringify({ policy_id: 'bad_cpu', policy: JSON.parse(policyBody('package policy\nallow if {')).policy }),
    ]) {
      const response = await h.app.inject({ method: 'POST', url: '/kbs/v0/attestation-policy', headers, payload });
      expect(response.statusCode).toBe(401);
      expect(errorOf(response)).toEqual({ type: `${ERR}AttestationError`, detail: 'Attestation error: Set Attestation Policy failed' });
    }
    expect(await snapshot(h.store)).toEqual(before);
  });

  test('reference-value: register then query by an id containing "/"; missing → RvpsError', async () => {
    const headers = { authorization: `Bearer ${admin}` };
    const message = JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify({ 'svn/x': ['1'] })).toString('base64') });
    const post = await h.app.inject({ method: 'POST', url: '/kbs/v0/reference-value', headers, payload: message });
    expect(post.statusCode, post.body).toBe(200);
    expect(post.headers['content-type']).toMatch(/^application\/json/);
    const get = await h.app.inject({ method: 'GET', url: '/kbs/v0/reference-value/svn/x', headers });
    expect(get.statusCode, get.body).toBe(200);
    expect(JSON.parse(get.body)).toEqual(['1']);
    const missing = await h.app.inject({ method: 'GET', url: '/kbs/v0/reference-value/nothing', headers });
    expect(missing.statusCode).toBe(401);
    expect(errorOf(missing).type).toBe(`${ERR}RvpsError`);
    const bad = await h.app.inject({ method: 'POST', url: '/kbs/v0/reference-value', headers, payload: '{"version":"9"}' });
    expect(bad.statusCode).toBe(401);
    expect(errorOf(bad).detail).toMatch(/^RVPS configuration failed: Failed to register reference value: /);
  });
});

describe('raw HTTP (no client-side path normalisation)', () => {
  async function rawRequest(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
    if (!h.app.server.listening) await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    return new Promise((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  test.each([['/kbs/v0/resource/default/key/../one'], ['/kbs/v0/resource/default/key/%2e%2e'], ['/kbs/v0/resource/%2e%2e/%2e%2e/one'], ['/kbs/v0/resource/default/key/..%2Fone']])(
    'GET %s with an attested session → 401 PluginInternalError',
    async (path) => {
      await setResourcePolicy(ALLOW_ALL_RESOURCE_POLICY);
      const guest = new Guest(h.app);
      await guest.rcar();
      const response = await rawRequest('GET', path, { cookie: guest.cookie ?? '' });
      expect(response.status).toBe(401);
      expect(JSON.parse(response.body)).toEqual({ type: `${ERR}PluginInternalError`, detail: 'Plugin internal error' });
    },
  );

  test('admin POST to a dot-segment path stores nothing; a body without content-type is accepted', async () => {
    const before = await snapshot(h.store);
    const response = await rawRequest('POST', '/kbs/v0/resource/default/../x', { authorization: `Bearer ${admin}` }, 'x');
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body)).toEqual({ type: `${ERR}PluginInternalError`, detail: 'Plugin internal error' });
    expect(await snapshot(h.store)).toEqual(before);
    const plain = await rawRequest('POST', '/kbs/v0/resource/default/key/plain', { authorization: `Bearer ${admin}` }, 'no-content-type');
    expect(plain.status).toBe(200);
  });
});

test('one resource key limit for every backend: a 201-character key → 401 PluginInternalError before storage', async () => {
  const before = await snapshot(h.store);
  const tag = (length: number): string => 't'.repeat(length - 'default/key/'.length);
  const long = await h.app.inject({ method: 'POST', url: `/kbs/v0/resource/default/key/${tag(MAX_KEY_LENGTH + 1)}`, payload: 'x', headers: { authorization: `Bearer ${admin}` } });
  expect(long.statusCode).toBe(401);
  expect(errorOf(long)).toEqual({ type: `${ERR}PluginInternalError`, detail: 'Plugin internal error' });
  expect(await snapshot(h.store)).toEqual(before);
  await setResource(`default/key/${tag(MAX_KEY_LENGTH)}`, 'fits');
});

test('absolute-form request targets are served as their origin form (admin ACL and routing included)', async () => {
  if (!h.app.server.listening) await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const send = (raw: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(raw));
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const head = text.indexOf('\r\n\r\n');
        const length = /content-length: (\d+)/i.exec(text);
        if (head >= 0 && length !== null && text.length >= head + 4 + Number(length[1])) socket.end();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
  const unauthenticated = await send(`POST http://127.0.0.1:${port}/kbs/v0/resource-policy HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`);
  expect(unauthenticated).toMatch(/^HTTP\/1\.1 401 /);
  expect(unauthenticated).toContain(`${ERR}AdminAuthAccess`);
  const listed = await send(`GET http://127.0.0.1:${port}/kbs/v0/resource-policy HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin}\r\n\r\n`);
  expect(listed).toMatch(/^HTTP\/1\.1 200 /);
  const health = await send(`GET http://kbs.example/healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
  expect(health).toMatch(/^HTTP\/1\.1 200 /);
});

test.each([
  ['/kbs/v0/auth', '/kbs/v0/auth'],
  ['http://host:8080/kbs/v0/resource/a/b/c?x=1', '/kbs/v0/resource/a/b/c?x=1'],
  ['HTTPS://host/kbs/v0/auth', '/kbs/v0/auth'],
  ['*', '*'],
  ['host:8080', 'host:8080'],
  ['http://[bad', 'http://[bad'],
])('originFormUrl(%j) → %j', (url, expected) => {
  expect(originFormUrl(url)).toBe(expected);
});

test('malformed HTTP and oversized headers get ErrorInformation on the raw socket', async () => {
  if (!h.app.server.listening) await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const send = (raw: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(raw));
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
  const garbage = await send('NOT HTTP AT ALL\r\n\r\n');
  expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
  expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4))).toEqual({ type: `${ERR}BadRequest`, detail: 'Malformed HTTP request' });
  const huge = await send(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
  expect(huge).toMatch(/^HTTP\/1\.1 431 /);
  expect(huge).toContain(`${ERR}HeadersTooLarge`);
});

test('audit log: admin identity and releases are logged; tokens, keys and evidence never are', async () => {
  const lines: string[] = [];
  await h.close();
  h = await startHarness({ logLines: lines });
  admin = await h.adminToken({ role: 'admin', sub: 'alice' });
  await setResource('default/key/one', 'secret-one');
  await setResourcePolicy(ALLOW_ALL_RESOURCE_POLICY);
  const guest = new Guest(h.app);
  const token = await guest.rcar();
  expect((await guest.getResource('default/key/one')).statusCode).toBe(200);
  expect((await guest.getResource('default/key/one', { cookie: guest.cookie, bearer: 'forged.token.value' })).statusCode).toBe(200); // the session token comes first
  await guest.attest(guest.attestation({ reportData: 'AAAA' }));
  const bad = new Guest(h.app);
  await bad.auth();
  await bad.attest(bad.attestation({ reportData: Buffer.alloc(48, 9).toString('base64') }));
  // An admin write refused by path validation is audited after the refusal, with its outcome.
  const refused = await h.app.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/bad%20tag', payload: 'x', headers: { authorization: `Bearer ${admin}` } });
  expect(refused.statusCode).toBe(401);
  const auditRecords = lines.filter((line) => line.includes('"audit":"admin"')).map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(auditRecords.find((r) => r['path'] === '/kbs/v0/resource/default/key/bad%20tag')).toMatchObject({ outcome: 'refused', status: 401, error: 'PluginInternalError', subject: 'alice' });
  expect(auditRecords.find((r) => r['path'] === '/kbs/v0/resource/default/key/one')).toMatchObject({ outcome: 'ok', status: 200 });
  const log = lines.join('');
  expect(log).toContain('"audit":"admin"');
  expect(log).toContain('"role":"admin"');
  expect(log).toContain('"subject":"alice"');
  expect(log).toContain('"audit":"release"');
  expect(log).toContain('"path":"default/key/one"');
  for (const secret of [admin, token, token.split('.')[2] ?? 'x', 'secret-one', guest.nonce ?? 'x', bad.nonce ?? 'x', guest.teePubKey.kty === 'EC' ? guest.teePubKey.x : 'x']) {
    expect(log).not.toContain(secret);
  }
});

describe('storage wiring', () => {
  test('LocalFs storage also serves a nested CSI-style tree under <dir_path>/repository', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kbs-localfs-'));
    try {
      mkdirSync(join(dir, 'repository', 'default', 'akv'), { recursive: true });
      writeFileSync(join(dir, 'repository', 'default', 'akv', 'coco_one'), 'from-csi-mount');
      writeFileSync(join(dir, 'outside-secret'), 'never');
      await h.close();
      h = await startHarness({ edit: (raw) => (raw['storage_backend'] = { storage_type: 'LocalFs', backends: { local_fs: { dir_path: dir } } }), useConfiguredStore: true });
      admin = await h.adminToken();
      await setResourcePolicy(ALLOW_ALL_RESOURCE_POLICY);
      const guest = new Guest(h.app);
      await guest.rcar();
      const response = await guest.getResource('default/akv/coco_one');
      expect(response.statusCode, response.body).toBe(200);
      expect(guest.decrypt(response)).toBe('from-csi-mount');
      expect(errorOf(await guest.getResource('default/akv/missing')).type).toBe(`${ERR}PluginInternalError`);
      // Flat upstream layout for what the KBS itself writes.
      await setResource('default/key/flat', 'flat-value');
      expect(readFileSync(join(dir, 'repository', 'default\\x2Fkey\\x2Fflat'), 'utf8')).toBe('flat-value');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a failing store: resource backend errors are PluginInternalError; anything unexpected is a generic 500 with a request id', async () => {
    class FailingStore extends MemoryStore {
      failing = new Set<string>();
      override async get(namespace: string, key: string): Promise<Uint8Array | undefined> {
        if (this.failing.has(namespace)) throw new Error('disk on fire /secret/path');
        return super.get(namespace, key);
      }
      override async set(namespace: string, key: string, value: Uint8Array, options?: SetOptions): Promise<boolean> {
        if (this.failing.has(namespace)) throw new Error('disk on fire /secret/path');
        return super.set(namespace, key, value, options);
      }
    }
    const store = new FailingStore();
    await h.close();
    h = await startHarness({ store });
    admin = await h.adminToken();
    await setResourcePolicy(ALLOW_ALL_RESOURCE_POLICY);
    const guest = new Guest(h.app);
    await guest.rcar();
    store.failing.add('repository');
    expect(errorOf(await guest.getResource('default/key/one'))).toEqual({ type: `${ERR}PluginInternalError`, detail: 'Plugin internal error' });
    store.failing.add('kbs_protocol_session');
    const response = await new Guest(h.app).auth();
    expect(response.statusCode).toBe(500);
    const body = errorOf(response);
    expect(body.type).toBe(`${ERR}InternalError`);
    expect(body.detail).toMatch(/^Internal error \(request id [0-9a-f]+-[0-9a-z]+\)$/);
    expect(response.body).not.toContain('disk on fire');
  });
});

describe('framework edges', () => {
  test('oversized body → 413 ErrorInformation, nothing stored', async () => {
    await h.close();
    h = await startHarness({ edit: (raw) => ((raw['http_server'] as Record<string, unknown>)['payload_request_size'] = 1) });
    admin = await h.adminToken();
    const before = await snapshot(h.store);
    const response = await h.app.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/big', payload: Buffer.alloc(1024 * 1024 + 1), headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' } });
    expect(response.statusCode).toBe(413);
    expect(errorOf(response).type).toBe(`${ERR}PayloadTooLarge`);
    expect(await snapshot(h.store)).toEqual(before);
    const fits = await h.app.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/big', payload: Buffer.alloc(1024 * 1024), headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' } });
    expect(fits.statusCode).toBe(200);
  });

  test.each([
    ['PATCH', '/kbs/v0/resource/a/b/c', 405, 'MethodNotAllowed'],
    ['OPTIONS', '/kbs/v0/auth', 405, 'MethodNotAllowed'],
    ['POST', '/metrics', 405, 'MethodNotAllowed'],
    ['GET', '/nothing/here', 404, 'InvalidRequestPath'],
    ['GET', '/kbs/v1/resource/a/b/c', 404, 'InvalidRequestPath'],
    ['GET', '/kbs/v0/%E0%A4%A', 404, 'InvalidRequestPath'],
  ])('%s %s → %d %s as ErrorInformation JSON', async (method, url, status, variant) => {
    const response = await h.app.inject({ method: method as 'GET', url });
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(errorOf(response).type).toBe(`${ERR}${variant}`);
  });

  test("/healthz is 200; /metrics exposes upstream's kbs_ series (auth, attestation, policy, sizes, build info) beside ours", async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await new Guest(h.app).rcar();
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('kbs_http_requests_total{route="attest",method="POST",status="200"} 1');
    expect(metrics.body).toContain('kbs_auth_requests_total 1');
    expect(metrics.body).toContain('kbs_auth_successes_total 1');
    expect(metrics.body).toContain('kbs_attestation_requests_total 1');
    expect(metrics.body).toContain('kbs_attestation_successes_total{tee_type="sample"} 1');
    expect(metrics.body).toMatch(/kbs_http_request_size_bytes_count \d+/);
    expect(metrics.body).toMatch(/kbs_http_response_size_bytes_bucket\{le="32"\} \d+/);
    expect(metrics.body).toMatch(/kbs_build_info\{version="[^"]+",git_hash="[^"]+",build_date="[^"]+"\} 1/);
    expect(metrics.body).not.toContain('trustee_kbs_');
    const failing = new Guest(h.app);
    await failing.auth();
    await failing.attest(failing.attestation({ reportData: Buffer.alloc(48).toString('base64') }));
    const after = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(after.body).toContain('kbs_attestation_failures_total{tee_type="sample"} 1');
    expect(after.body).toContain('kbs_attestation_requests_total 2');
    expect(after.body).toContain('kbs_auth_requests_total 2');
  });
});
