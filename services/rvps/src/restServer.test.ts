/**
 * Invariant: the REST API offers the same operations as gRPC with the same admin rules, ids may
 * contain `/`, and every failure is `{code, message}` with the registry's HTTP status.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryStore, parseStorageBackendConfig } from '@trustee/storage';
import { composeRvps, type ComposedRvps } from './compose.ts';
import type { AdminConfig } from './config.ts';
import { MAX_GRPC_MESSAGE_BYTES } from './grpcServer.ts';
import { CORIM_DIGEST, SWID_HASH, corimMessage, createAdminKeys, sampleMessage, swidMessage } from './testing/messages.ts';

const composed: ComposedRvps[] = [];

async function start(admin?: AdminConfig): Promise<ComposedRvps> {
  const rvps = await composeRvps(
    { storage: parseStorageBackendConfig({ storage_type: 'Memory' }), ...(admin === undefined ? {} : { admin }) },
    { store: new MemoryStore() },
  );
  composed.push(rvps);
  return rvps;
}

afterEach(async () => {
  for (const rvps of composed.splice(0)) await rvps.close();
});

describe('RVPS REST', () => {
  test('register and query every extractor type; ids with slashes', async () => {
    const { restServer } = await start();
    for (const message of [sampleMessage({ 'rvps/github.com/org/x': ['1'] }), swidMessage(), corimMessage()]) {
      const response = await restServer.inject({ method: 'POST', url: '/reference-value', payload: message, headers: { 'content-type': 'application/json' } });
      expect(response.statusCode).toBe(200);
    }
    const get = async (id: string) => restServer.inject({ method: 'GET', url: `/reference-value/${id}` });
    expect((await get('rvps/github.com/org/x')).json()).toEqual(['1']);
    expect((await get('Test_Vendor.GPU.measurement_3')).json()).toEqual([SWID_HASH]);
    expect((await get('Vendor/Board/kernel/digests')).json()).toEqual([CORIM_DIGEST]);
    expect((await get('Vendor%2FBoard%2Fkernel%2Fdigests')).json()).toEqual([CORIM_DIGEST]);
  });

  test.each<[string, { method: 'GET' | 'POST' | 'DELETE'; url: string; payload?: string | Buffer }, number, string]>([
    ['absent id', { method: 'GET', url: '/reference-value/nope' }, 404, 'not_found'],
    ['missing id', { method: 'GET', url: '/reference-value/' }, 400, 'invalid_argument'],
    ['bad version', { method: 'POST', url: '/reference-value', payload: sampleMessage({ a: 1 }, { version: '1.0.0' }) }, 400, 'invalid_argument'],
    ['unknown type', { method: 'POST', url: '/reference-value', payload: JSON.stringify({ type: 'x', payload: '' }) }, 400, 'invalid_argument'],
    ['empty body', { method: 'POST', url: '/reference-value', payload: '' }, 400, 'invalid_argument'],
    ['non-UTF-8 body', { method: 'POST', url: '/reference-value', payload: Buffer.from([0x7b, 0xff]) }, 400, 'invalid_argument'],
    ['oversized body', { method: 'POST', url: '/reference-value', payload: Buffer.alloc(MAX_GRPC_MESSAGE_BYTES + 1, 0x20) }, 413, 'payload_too_large'],
    ['list without admin config', { method: 'GET', url: '/reference-values' }, 403, 'permission_denied'],
    ['delete without admin config', { method: 'DELETE', url: '/reference-value/a' }, 403, 'permission_denied'],
    ['unknown route', { method: 'GET', url: '/kbs/v0/auth' }, 404, 'not_found'],
  ])('%s → %i %s', async (_name, request, statusCode, code) => {
    const { restServer } = await start();
    const response = await restServer.inject({ ...request, headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(statusCode);
    expect(response.json()).toMatchObject({ code });
  });

  test('admin list/delete with a bearer token; 401 without', async () => {
    const admin = createAdminKeys(mkdtempSync(join(tmpdir(), 'rvps-admin-')));
    const { restServer } = await start({ identityProviders: [{ publicKeyUri: admin.publicKeyPath }], protectRegister: false });
    await restServer.inject({ method: 'POST', url: '/reference-value', payload: sampleMessage({ 'a/b': ['1'] }) });
    const authorization = `Bearer ${await admin.token()}`;
    expect((await restServer.inject({ method: 'GET', url: '/reference-values' })).statusCode).toBe(401);
    expect((await restServer.inject({ method: 'DELETE', url: '/reference-value/a/b', headers: { authorization: 'Bearer x.y.z' } })).statusCode).toBe(401);
    const listed = await restServer.inject({ method: 'GET', url: '/reference-values', headers: { authorization } });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual([{ name: 'a/b', expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), value: ['1'] }]);
    expect((await restServer.inject({ method: 'DELETE', url: '/reference-value/a/b', headers: { authorization } })).statusCode).toBe(204);
    expect((await restServer.inject({ method: 'DELETE', url: '/reference-value/a/b', headers: { authorization } })).statusCode).toBe(404);
    expect((await restServer.inject({ method: 'GET', url: '/reference-value/a/b' })).statusCode).toBe(404);
  });

  test('protect_register: POST needs the admin token too', async () => {
    const admin = createAdminKeys(mkdtempSync(join(tmpdir(), 'rvps-admin-')));
    const { restServer } = await start({ identityProviders: [{ publicKeyUri: admin.publicKeyPath }], protectRegister: true });
    const message = sampleMessage({ guarded: ['1'] });
    expect((await restServer.inject({ method: 'POST', url: '/reference-value', payload: message })).statusCode).toBe(401);
    const authorized = await restServer.inject({ method: 'POST', url: '/reference-value', payload: message, headers: { authorization: `Bearer ${await admin.token()}` } });
    expect(authorized.statusCode).toBe(200);
    expect((await restServer.inject({ method: 'GET', url: '/reference-value/guarded' })).json()).toEqual(['1']);
  });

  test('healthz and metrics', async () => {
    const { restServer } = await start();
    await restServer.inject({ method: 'POST', url: '/reference-value', payload: sampleMessage({ a: 1 }) });
    await restServer.inject({ method: 'GET', url: '/reference-value/zzz' });
    expect((await restServer.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'SERVING' });
    const metrics = (await restServer.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('trustee_rvps_requests_total{transport="rest",operation="register",outcome="ok"} 1');
    expect(metrics).toContain('trustee_rvps_requests_total{transport="rest",operation="query",outcome="not_found"} 1');
    expect(metrics).toContain('trustee_rvps_registrations_total{type="sample"} 1');
  });
});
