import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupHarnessDirs, startHarness, type Harness } from '../testing/fixture.ts';
import { CONSOLE_CSP } from './security.ts';

/** The in-process KBS with the console: admin gate, ACL mapping, cross-site refusal, CSP, fixed asset set. */
describe('console routes', () => {
  let harness: Harness;
  let admin: string;

  beforeAll(async () => {
    harness = await startHarness({
      edit: (raw) => {
        const acl = ((raw['admin'] as Record<string, Record<string, Record<string, unknown>>>)['authorization'] ?? {})['regex_acl'] as { acls: Array<Record<string, string>> };
        acl.acls.push({ role: 'policy-only', allowed_endpoints: '^/kbs/v0/resource-policy$' }, { role: 'console-reader', allowed_endpoints: '^/kbs/v0/console/api/(session|overview)$' });
      },
    });
    admin = await harness.adminToken();
  });

  afterAll(async () => {
    await harness?.close();
    cleanupHarnessDirs();
  });

  const get = (url: string, headers: Record<string, string> = {}) => harness.app.inject({ method: 'GET', url, headers });

  it('answers the API only to an admin the [admin] ACL lets in, as /kbs/v0/console/api/<name>', async () => {
    expect((await get('/console/api/session')).statusCode).toBe(401);
    expect((await get('/console/api/session', { authorization: 'Bearer not-a-jwt' })).statusCode).toBe(401);
    const session = await get('/console/api/session', { authorization: `Bearer ${admin}` });
    expect(session.statusCode).toBe(200);
    expect(JSON.parse(session.body)).toMatchObject({ identity: { role: 'admin' }, audit: true });
    const policyOnly = await harness.adminToken({ role: 'policy-only' });
    expect((await get('/console/api/session', { authorization: `Bearer ${policyOnly}` })).statusCode).toBe(401);
    const reader = await harness.adminToken({ role: 'console-reader' });
    expect((await get('/console/api/overview', { authorization: `Bearer ${reader}` })).statusCode).toBe(200);
    const refused = await harness.app.inject({ method: 'POST', url: '/console/api/resources/reveal', headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, payload: JSON.stringify({ path: 'default/key/x' }) });
    expect(refused.statusCode).toBe(401);
  });

  it('refuses cross-site requests even with a valid token', async () => {
    const authorization = `Bearer ${admin}`;
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example' }, { origin: 'null' }]) {
      const response = await get('/console/api/session', { authorization, host: 'kbs.local', ...headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(403);
    }
    expect((await get('/console/api/session', { authorization, host: 'kbs.local', origin: 'http://kbs.local', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
  });

  it('a reveal is audited before the value leaves, with who revealed it', async () => {
    await harness.app.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/shown', headers: { authorization: `Bearer ${admin}` }, payload: Buffer.from('v4lue') });
    const reveal = await harness.app.inject({ method: 'POST', url: '/console/api/resources/reveal', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: JSON.stringify({ path: 'default/key/shown' }) });
    expect(reveal.statusCode).toBe(200);
    expect(JSON.parse(reveal.body)).toMatchObject({ path: 'default/key/shown', text: 'v4lue' });
    const records = (JSON.parse((await get('/console/api/audit', { authorization: `Bearer ${admin}` })).body) as { records: Array<Record<string, unknown>> }).records;
    expect(records.find((record) => record['kind'] === 'reveal')).toMatchObject({ resource: 'default/key/shown', outcome: 'ok', admin: { role: 'admin' } });
    // Listing never carries values.
    const list = await get('/console/api/resources', { authorization: `Bearer ${admin}` });
    expect(list.body).toContain('default/key/shown');
    expect(list.body).not.toContain('v4lue');
    expect(list.body).not.toContain(Buffer.from('v4lue').toString('base64'));
    for (const path of ['../../etc/passwd', 'default/key', 'a/b/c/d']) {
      const bad = await harness.app.inject({ method: 'POST', url: '/console/api/resources/reveal', headers: { authorization: `Bearer ${admin}` }, payload: JSON.stringify({ path }) });
      expect(bad.statusCode, path).toBe(400);
    }
  });

  it('policies/check refuses bad Rego and network builtins without storing anything', async () => {
    const check = async (source: string) =>
      JSON.parse((await harness.app.inject({ method: 'POST', url: '/console/api/policies/check', headers: { authorization: `Bearer ${admin}` }, payload: JSON.stringify({ source }) })).body) as { ok: boolean; error?: string };
    expect(await check('package policy\ndefault allow := false\n')).toEqual({ ok: true });
    expect((await check('package policy\ndefault allow := \n')).ok).toBe(false);
    expect((await check('package policy\nallow if { http.send({"url": "http://x"}) }\n')).ok).toBe(false);
  });

  it('serves the built assets with a strict CSP, and nothing outside them', async () => {
    const index = await get('/console/');
    if (index.statusCode === 503) {
      expect(index.body).toContain('pnpm build:console');
    } else {
      expect(index.statusCode).toBe(200);
      expect(index.headers['content-type']).toContain('text/html');
    }
    expect(index.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.headers['x-frame-options']).toBe('DENY');
    for (const url of ['/console/assets/../../package.json', '/console/assets/%2e%2e/%2e%2e/package.json', '/console/assets/nope.js']) {
      const response = await get(url);
      expect([404, 503], url).toContain(response.statusCode);
      expect(response.body).not.toContain('"name"');
    }
    expect((await get('/console/api/nope', { authorization: `Bearer ${admin}` })).statusCode).toBe(404);
  });

  it('an unbuilt console answers 503 with how to build it; a built one serves index.html and its assets', async () => {
    const { registerConsole } = await import('./routes.ts');
    const { default: Fastify } = await import('fastify');
    const dir = mkdtempSync(join(tmpdir(), 'console-assets-'));
    try {
      const deps = { admin: { mode: 'DenyAll' as const, authorize: async () => ({}) }, store: harness.store, auditStore: harness.store, policies: undefined as never, metrics: undefined as never, readiness: harness.kbs.readiness, audit: undefined, resources: undefined };
      const empty = Fastify();
      registerConsole(empty, { ...deps, assetsDir: join(dir, 'missing') });
      expect((await empty.inject({ method: 'GET', url: '/console/' })).statusCode).toBe(503);
      mkdirSync(join(dir, 'assets'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
      writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log(1)');
      const built = Fastify();
      registerConsole(built, { ...deps, assetsDir: dir });
      expect((await built.inject({ method: 'GET', url: '/console/' })).body).toContain('<title>t</title>');
      const script = await built.inject({ method: 'GET', url: '/console/assets/app-1.js' });
      expect(script.headers['content-type']).toContain('text/javascript');
      expect(script.headers['cache-control']).toContain('immutable');
      expect((await built.inject({ method: 'GET', url: '/console' })).statusCode).toBe(302);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
