/**
 * Invariant: over real loopback gRPC, the RVPS registers every extractor type and answers
 * queries like upstream (absent → field absent, expired → absent), refuses List/Delete unless a
 * valid admin token is presented (PERMISSION_DENIED without admin config, UNAUTHENTICATED with
 * a missing/forged/expired token), and maps bad messages to INVALID_ARGUMENT.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryStore, parseStorageBackendConfig } from '@trustee/storage';
import { REQUEST_ID_METADATA, ReferenceValueProviderServiceClient, type ReferenceValueDeleteResponse, type ReferenceValueListResponse, type ReferenceValueQueryResponse } from '@trustee/grpc';
import { createLogger } from '@trustee/log';
import { jsonLines, requestIdRuleViolations } from '@trustee/log/testing/jsonLines.ts';
import { composeRvps, type ComposedRvps } from './compose.ts';
import type { AdminConfig, RvpsConfig } from './config.ts';
import { bindGrpcServer } from './grpcServer.ts';
import { grpcCaller, type GrpcCaller } from './testing/grpcCall.ts';
import { CORIM_DIGEST, SWID_HASH, corimMessage, createAdminKeys, sampleMessage, swidMessage, type AdminKeys } from './testing/messages.ts';

const memoryConfig: RvpsConfig = { storage: parseStorageBackendConfig({ storage_type: 'Memory' }) };

interface Running {
  rvps: ComposedRvps;
  client: GrpcCaller;
  clock: { now: Date };
}

const running: Running[] = [];

async function start(admin?: AdminConfig): Promise<Running> {
  const clock = { now: new Date('2026-06-01T12:00:00Z') };
  const store = new MemoryStore(() => clock.now.getTime());
  const rvps = await composeRvps({ ...memoryConfig, ...(admin === undefined ? {} : { admin }) }, { now: () => clock.now, store });
  const port = await bindGrpcServer(rvps.grpcServer, '127.0.0.1', 0);
  const instance = { rvps, client: grpcCaller(`127.0.0.1:${port}`), clock };
  running.push(instance);
  return instance;
}

afterEach(async () => {
  for (const instance of running.splice(0)) {
    instance.client.close();
    await instance.rvps.close();
  }
});

/** The optional field only (grpc-js also reports the synthetic oneof's member name). */
async function queryResult(client: GrpcCaller, id: string): Promise<string | undefined> {
  return (await client.call<ReferenceValueQueryResponse>('QueryReferenceValue', { reference_value_id: id })).reference_value_results;
}

function newAdmin(): AdminKeys {
  return createAdminKeys(mkdtempSync(join(tmpdir(), 'rvps-admin-')));
}

describe('RVPS gRPC', () => {
  test('register sample, swid and corim messages, then query each', async () => {
    const { client } = await start();
    await client.call('RegisterReferenceValue', { message: sampleMessage({ svn: ['1'], 'rvps/github.com/x': { a: 1 } }) });
    await client.call('RegisterReferenceValue', { message: swidMessage() });
    await client.call('RegisterReferenceValue', { message: corimMessage() });
    expect(await queryResult(client, 'svn')).toBe('["1"]');
    expect(await queryResult(client, 'rvps/github.com/x')).toBe('{"a":1}');
    expect(await queryResult(client, 'Test_Vendor.GPU.measurement_3')).toBe(JSON.stringify([SWID_HASH]));
    expect(await queryResult(client, 'Vendor/Board/kernel/digests')).toBe(JSON.stringify([CORIM_DIGEST]));
  });

  test('an unknown id answers with the field absent (the AS health probe id included)', async () => {
    const { client } = await start();
    const response = await client.call<ReferenceValueQueryResponse>('QueryReferenceValue', { reference_value_id: '__healthcheck__' });
    expect(Object.hasOwn(response, 'reference_value_results')).toBe(false);
    expect(await queryResult(client, '')).toBeUndefined();
  });

  test('an expired value reads as absent', async () => {
    const { client, clock } = await start();
    await client.call('RegisterReferenceValue', { message: sampleMessage({ svn: ['1'] }) });
    clock.now = new Date('2027-06-01T11:59:59Z');
    expect(await queryResult(client, 'svn')).toBe('["1"]');
    clock.now = new Date('2027-06-01T12:00:00Z');
    expect(await queryResult(client, 'svn')).toBeUndefined();
  });

  test.each<[string, string, string]>([
    ['other version', sampleMessage({ a: 1 }, { version: '0.2.0' }), 'Version unmatched!'],
    ['unknown type', JSON.stringify({ type: 'in-toto', payload: '' }), 'Could not find extractor for in-toto'],
    ['not JSON', '{', 'not valid JSON'],
    ['provenance instead of payload', JSON.stringify({ type: 'sample', provenance: 'e30=' }), 'payload must be a string'],
    ['bad swid payload', JSON.stringify({ type: 'swid', payload: Buffer.from('<a/>').toString('base64') }), 'Could not find meta information.'],
    ['signed corim', JSON.stringify({ type: 'corim', payload: Buffer.from([0xd2, 0x80]).toString('base64') }), 'signed CoRIMs'],
  ])('bad message (%s) → INVALID_ARGUMENT', async (_name, message, text) => {
    const { client } = await start();
    const error = await client.fail('RegisterReferenceValue', { message });
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toContain(text);
  });

  test('a registration yielding more than MAX_VALUES_PER_REGISTRATION values is INVALID_ARGUMENT and writes nothing', async () => {
    const { client } = await start();
    const values = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, 1]));
    const error = await client.fail('RegisterReferenceValue', { message: sampleMessage(values) });
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toContain('more than the limit of 10000');
    expect(await queryResult(client, 'k0')).toBeUndefined();
  });

  test('a message over the 4 MiB gRPC limit is RESOURCE_EXHAUSTED', async () => {
    const { client } = await start();
    expect((await client.fail('RegisterReferenceValue', { message: 'x'.repeat(4 * 1024 * 1024 + 1) })).code).toBe(status.RESOURCE_EXHAUSTED);
  });

  test('an over-long id is INVALID_ARGUMENT', async () => {
    const { client } = await start();
    expect((await client.fail('QueryReferenceValue', { reference_value_id: 'x'.repeat(5000) })).code).toBe(status.INVALID_ARGUMENT);
  });

  test('without admin config List and Delete are PERMISSION_DENIED, even with a token', async () => {
    const { client } = await start();
    const token = await newAdmin().token();
    expect((await client.fail('ListReferenceValues', {})).code).toBe(status.PERMISSION_DENIED);
    expect((await client.fail('ListReferenceValues', {}, token)).code).toBe(status.PERMISSION_DENIED);
    expect((await client.fail('DeleteReferenceValue', { reference_value_id: 'svn' }, token)).code).toBe(status.PERMISSION_DENIED);
  });

  test('with admin config List and Delete need a valid bearer token', async () => {
    const admin = newAdmin();
    const { client, clock } = await start({ identityProviders: [{ publicKeyUri: admin.publicKeyPath, issuer: 'ops' }], protectRegister: false });
    await client.call('RegisterReferenceValue', { message: sampleMessage({ b: 2, a: ['1'] }) });
    const good = await admin.token({ now: clock.now, issuer: 'ops' });
    const forged = await admin.token({ now: clock.now, issuer: 'ops', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey });
    const expired = await admin.token({ now: new Date(clock.now.getTime() - 3_600_000), issuer: 'ops', expiresInSeconds: 60 });
    const wrongIssuer = await admin.token({ now: clock.now, issuer: 'someone-else' });
    for (const token of [undefined, forged, expired, wrongIssuer, 'not-a-jwt']) {
      expect((await client.fail('ListReferenceValues', {}, token)).code).toBe(status.UNAUTHENTICATED);
      expect((await client.fail('DeleteReferenceValue', { reference_value_id: 'a' }, token)).code).toBe(status.UNAUTHENTICATED);
    }
    const listed = await client.call<ReferenceValueListResponse>('ListReferenceValues', {}, good);
    expect(listed.reference_values.map((text) => JSON.parse(text) as unknown)).toEqual([
      { name: 'a', expiration: '2027-06-01T12:00:00Z', value: ['1'] },
      { name: 'b', expiration: '2027-06-01T12:00:00Z', value: 2 },
    ]);
    expect(await client.call<ReferenceValueDeleteResponse>('DeleteReferenceValue', { reference_value_id: 'a' }, good)).toEqual({ deleted: true });
    expect(await client.call<ReferenceValueDeleteResponse>('DeleteReferenceValue', { reference_value_id: 'a' }, good)).toEqual({ deleted: false });
    expect(await queryResult(client, 'a')).toBeUndefined();
  });

  test('protect_register puts Register behind the admin token', async () => {
    const admin = newAdmin();
    const { client, clock } = await start({ identityProviders: [{ publicKeyUri: admin.publicKeyPath }], protectRegister: true });
    expect((await client.fail('RegisterReferenceValue', { message: sampleMessage({ a: 1 }) })).code).toBe(status.UNAUTHENTICATED);
    await client.call('RegisterReferenceValue', { message: sampleMessage({ a: 1 }) }, await admin.token({ now: clock.now }));
    expect(await queryResult(client, 'a')).toBe('1');
  });

  test('close() completes while a client still holds its channel open', async () => {
    const instance = await start();
    await instance.client.call('RegisterReferenceValue', { message: sampleMessage({ a: 1 }) });
    await instance.rvps.close();
    await expect(queryResult(instance.client, 'a')).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });

  test('grpc.health.v1 reports SERVING for the service and the server', async () => {
    const { client } = await start();
    expect(await client.health('')).toEqual({ status: 'SERVING' });
    expect(await client.health('reference.ReferenceValueProviderService')).toEqual({ status: 'SERVING' });
    await expect(client.health('attestation.AttestationService')).rejects.toMatchObject({ code: status.NOT_FOUND });
  });
});

describe('request ids over gRPC', () => {
  test("a caller's x-request-id (an AS's) is the reqId of the call's log line; a missing, too long or spaced one is replaced by the RVPS's own", async () => {
    const { stream, lines } = jsonLines();
    const rvps = await composeRvps(memoryConfig, { store: new MemoryStore(), log: createLogger({ stream }) });
    const port = await bindGrpcServer(rvps.grpcServer, '127.0.0.1', 0);
    const client = new ReferenceValueProviderServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    // A message that is not JSON is refused (INVALID_ARGUMENT) with one `request rejected` line.
    const rejectedReqId = async (requestId: string | undefined): Promise<unknown> => {
      const metadata = new Metadata();
      if (requestId !== undefined) metadata.set(REQUEST_ID_METADATA, requestId);
      const register = (client as unknown as Record<string, (request: object, metadata: Metadata, callback: (error: ServiceError | null) => void) => void>)['RegisterReferenceValue'];
      const before = lines.length;
      const code = await new Promise((resolve) => register?.call(client, { message: 'not json' }, metadata, (error) => resolve(error?.code)));
      expect(code).toBe(status.INVALID_ARGUMENT);
      const rejected = lines.slice(before).filter((line) => line['msg'] === 'request rejected' && line['operation'] === 'register');
      expect(rejected).toHaveLength(1);
      return rejected[0]?.['reqId'];
    };
    try {
      expect(await requestIdRuleViolations(rejectedReqId, 'as-0f5c3a1e')).toEqual([]);
    } finally {
      client.close();
      await rvps.close();
    }
  });
});
