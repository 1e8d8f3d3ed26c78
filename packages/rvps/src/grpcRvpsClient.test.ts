/**
 * Invariant: the remote RVPS client behaves like the built-in RVPS it talks to (register, query,
 * list, delete round-trip over real gRPC), dials upstream's address forms, and turns an outage
 * into a typed `rvps_error` after its retries instead of hanging or throwing a raw gRPC error.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { referenceValueServiceDefinition, REQUEST_ID_METADATA } from '@trustee/grpc';
import { MemoryStore } from '@trustee/storage';
import { ReferenceValueError } from './referenceValueError.ts';
import { createBuiltinRvps } from './builtinRvps.ts';
import { createGrpcRvpsClient, rvpsTarget, type GrpcRvpsClient } from './grpcRvpsClient.ts';

function message(values: Record<string, unknown>): string {
  return JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64') });
}

type Handler = (call: { request: Record<string, string> }, callback: grpc.sendUnaryData<object>) => void;

function serveBuiltin(): { server: grpc.Server; handlers: Record<string, Handler>; healthQueries: () => number } {
  const rvps = createBuiltinRvps(new MemoryStore());
  let healthQueries = 0;
  const fail = (callback: grpc.sendUnaryData<object>, error: unknown): void =>
    callback({ code: error instanceof ReferenceValueError && error.code === 'invalid_reference_value' ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details: (error as Error).message });
  const handlers: Record<string, Handler> = {
    QueryReferenceValue: (call, callback) => {
      const id = call.request.reference_value_id ?? '';
      if (id === '__healthcheck__') healthQueries += 1;
      rvps.query(id).then((value) => callback(null, value === undefined ? {} : { reference_value_results: JSON.stringify(value) }), (error) => fail(callback, error));
    },
    RegisterReferenceValue: (call, callback) => {
      rvps.register(call.request.message ?? '').then(() => callback(null, {}), (error) => fail(callback, error));
    },
    ListReferenceValues: (_call, callback) => {
      rvps
        .list()
        .then(async (ids) => Promise.all(ids.map(async (id) => JSON.stringify(await rvps.getRecord(id)))))
        .then((records) => callback(null, { reference_values: records }), (error) => fail(callback, error));
    },
    DeleteReferenceValue: (call, callback) => {
      rvps.delete(call.request.reference_value_id ?? '').then((deleted) => callback(null, { deleted }), (error) => fail(callback, error));
    },
  };
  const server = new grpc.Server();
  server.addService(referenceValueServiceDefinition, handlers as unknown as grpc.UntypedServiceImplementation);
  return { server, handlers, healthQueries: () => healthQueries };
}

function bind(server: grpc.Server, address = '127.0.0.1:0'): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => (error === null ? resolve(port) : reject(error))));
}

describe('rvpsTarget: upstream address forms', () => {
  test.each([
    ['127.0.0.1:50003', 'http://127.0.0.1:50003', '127.0.0.1:50003', false],
    ['http://rvps:50003', 'http://rvps:50003', 'rvps:50003', false],
    ['https://rvps.example:8443', 'https://rvps.example:8443', 'rvps.example:8443', true],
    ['http://rvps', 'http://rvps', 'rvps:80', false],
  ])('%s', (address, url, target, tls) => {
    expect(rvpsTarget(address)).toEqual({ url, target, tls });
  });

  test.each(['unix:///tmp/rvps.sock', 'ftp://rvps:21', 'http://rvps:50003/path', 'http://[::1']) ('%s is rejected as invalid_config', (address) => {
    expect(() => rvpsTarget(address)).toThrow(expect.objectContaining({ code: 'invalid_config' }) as Error);
  });
});

describe('createGrpcRvpsClient against a real RVPS server', () => {
  const served = serveBuiltin();
  let client: GrpcRvpsClient;

  beforeAll(async () => {
    const port = await bind(served.server);
    client = createGrpcRvpsClient({ address: `127.0.0.1:${port}` });
  });
  afterAll(() => {
    client.close();
    served.server.forceShutdown();
  });

  test('register, query, list, delete round-trip', async () => {
    await client.register(message({ svn: ['1'], 'launch-digest': ['abc'] }));
    expect(await client.query('svn')).toEqual(['1']);
    expect(await client.query('absent')).toBeUndefined();
    expect(await client.list()).toEqual(['launch-digest', 'svn']);
    const records = (await client.listRecords()).map((text) => JSON.parse(text) as { name: string; value: unknown; expiration: string });
    expect(records.map((r) => [r.name, r.value])).toEqual([
      ['launch-digest', ['abc']],
      ['svn', ['1']],
    ]);
    expect(await client.delete('svn')).toBe(true);
    expect(await client.delete('svn')).toBe(false);
    expect(await client.query('svn')).toBeUndefined();
  });

  test('a message the RVPS rejects is invalid_reference_value, with the remote reason', async () => {
    const error = await client.register(JSON.stringify({ version: '9.9.9', type: 'sample', payload: '' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReferenceValueError);
    expect(error).toMatchObject({ code: 'invalid_reference_value' });
    expect((error as Error).message).toMatch(/INVALID_ARGUMENT/);
  });

  test('health probes with the upstream health-check id', async () => {
    const before = served.healthQueries();
    await client.health();
    expect(served.healthQueries()).toBe(before + 1);
  });
});

describe('createGrpcRvpsClient when the RVPS is down', () => {
  test('UNAVAILABLE is retried, then reported as rvps_error with the attempt count', async () => {
    const probe = new grpc.Server();
    const port = await bind(probe);
    probe.forceShutdown();
    const client = createGrpcRvpsClient({ address: `http://127.0.0.1:${port}`, retries: 2, backoffMs: 10 });
    try {
      const error = await client.query('svn').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReferenceValueError);
      expect(error).toMatchObject({ code: 'rvps_error' });
      expect((error as Error).message).toMatch(/UNAVAILABLE after 3 attempts/);
      await expect(client.health(500)).rejects.toMatchObject({ code: 'rvps_error' });
    } finally {
      client.close();
    }
  });

  test('a server that comes up while the client backs off is reached', async () => {
    const probe = new grpc.Server();
    const port = await bind(probe);
    probe.forceShutdown();
    const client = createGrpcRvpsClient({ address: `127.0.0.1:${port}`, retries: 8, backoffMs: 20 });
    const late = serveBuiltin();
    try {
      const pending = client.register(message({ late: [true] }));
      await bind(late.server, `127.0.0.1:${port}`);
      await pending;
      expect(await client.query('late')).toEqual([true]);
    } finally {
      client.close();
      late.server.forceShutdown();
    }
  });
});

describe('createGrpcRvpsClient: the caller\'s credentials go to the RVPS, its answers keep their meaning', () => {
  let server: grpc.Server;
  let client: GrpcRvpsClient;
  const seen: Array<string | undefined> = [];
  let answer: { code: grpc.status; details: string } | undefined;
  let calls = 0;

  beforeAll(async () => {
    const reply = (metadata: grpc.Metadata, callback: grpc.sendUnaryData<object>, ok: object): void => {
      calls += 1;
      const [authorization] = metadata.get('authorization');
      seen.push(typeof authorization === 'string' ? authorization : undefined);
      if (answer === undefined) callback(null, ok);
      else callback(answer);
    };
    server = new grpc.Server();
    server.addService(referenceValueServiceDefinition, {
      QueryReferenceValue: (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => reply(call.metadata, callback, { reference_value_results: '"v"' }),
      RegisterReferenceValue: (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => reply(call.metadata, callback, {}),
      ListReferenceValues: (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => reply(call.metadata, callback, { reference_values: [] }),
      DeleteReferenceValue: (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => reply(call.metadata, callback, { deleted: true }),
    } as unknown as grpc.UntypedServiceImplementation);
    const port = await bind(server);
    client = createGrpcRvpsClient({ address: `127.0.0.1:${port}`, retries: 3, backoffMs: 10 });
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  test('authorization metadata is forwarded on register, list and delete (and only when the caller sent one)', async () => {
    answer = undefined;
    seen.length = 0;
    await client.register(message({ a: ['1'] }), { authorization: 'Bearer abc.def.ghi' });
    await client.listRecords({ authorization: 'Bearer list' });
    await client.delete('a', { authorization: 'Bearer delete' });
    await client.delete('a');
    expect(seen).toEqual(['Bearer abc.def.ghi', 'Bearer list', 'Bearer delete', undefined]);
  });

  test.each<[string, grpc.status, string, string]>([
    ['UNAUTHENTICATED', grpc.status.UNAUTHENTICATED, 'DeleteReferenceValue', 'unauthenticated'],
    ['PERMISSION_DENIED', grpc.status.PERMISSION_DENIED, 'ListReferenceValues', 'permission_denied'],
    ['NOT_FOUND', grpc.status.NOT_FOUND, 'DeleteReferenceValue', 'not_found'],
    ['INVALID_ARGUMENT on register', grpc.status.INVALID_ARGUMENT, 'RegisterReferenceValue', 'invalid_reference_value'],
    ['INVALID_ARGUMENT on delete', grpc.status.INVALID_ARGUMENT, 'DeleteReferenceValue', 'invalid_request'],
    ['ABORTED (upstream\'s answer to a bad registration)', grpc.status.ABORTED, 'RegisterReferenceValue', 'invalid_reference_value'],
    ['INTERNAL', grpc.status.INTERNAL, 'ListReferenceValues', 'rvps_failed'],
  ])('%s → %s, not retried, not rvps_error', async (_name, code, method, expected) => {
    answer = { code, details: 'remote says no' };
    calls = 0;
    const run = (): Promise<unknown> => (method === 'RegisterReferenceValue' ? client.register(message({ a: ['1'] })) : method === 'ListReferenceValues' ? client.listRecords() : client.delete('a'));
    const error = await run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReferenceValueError);
    expect(error).toMatchObject({ code: expected });
    expect((error as Error).message).toContain('remote says no');
    expect(calls).toBe(1);
  });
});

describe('createGrpcRvpsClient: values are checked like registrations', () => {
  test('a value the RVPS returns that our RVPS would refuse fails the query (closed), naming the rule', async () => {
    const deep = `${'['.repeat(100)}"1"${']'.repeat(100)}`;
    const server = new grpc.Server();
    server.addService(referenceValueServiceDefinition, {
      QueryReferenceValue: (_call: unknown, callback: grpc.sendUnaryData<object>) => callback(null, { reference_value_results: deep }),
    } as unknown as grpc.UntypedServiceImplementation);
    const client = createGrpcRvpsClient({ address: `127.0.0.1:${await bind(server)}` });
    try {
      const error = await client.query('svn').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'rvps_error' });
      expect((error as Error).message).toMatch(/unusable reference value "svn": value is nested deeper than 32 levels/);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe('request ids', () => {
  test("every call made for a request carries its id as x-request-id metadata; a call without one sends none", async () => {
    const seen: Array<[string, unknown]> = [];
    const answer = (method: string, response: object) => (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
      seen.push([method, call.metadata.get(REQUEST_ID_METADATA)[0]]);
      callback(null, response);
    };
    const server = new grpc.Server();
    server.addService(referenceValueServiceDefinition, {
      QueryReferenceValue: answer('QueryReferenceValue', {}),
      RegisterReferenceValue: answer('RegisterReferenceValue', {}),
      ListReferenceValues: answer('ListReferenceValues', { reference_values: [] }),
      DeleteReferenceValue: answer('DeleteReferenceValue', { deleted: false }),
    });
    const client = createGrpcRvpsClient({ address: `127.0.0.1:${await bind(server)}` });
    try {
      const context = { requestId: 'as-0f5c3a1e' };
      await client.query('svn', context);
      await client.register(message({ svn: ['1'] }), { authorization: 'Bearer t' }, context);
      await client.list(undefined, context);
      await client.delete('svn', undefined, context);
      await client.query('svn');
      await client.health();
      expect(seen).toEqual([
        ['QueryReferenceValue', 'as-0f5c3a1e'],
        ['RegisterReferenceValue', 'as-0f5c3a1e'],
        ['ListReferenceValues', 'as-0f5c3a1e'],
        ['DeleteReferenceValue', 'as-0f5c3a1e'],
        ['QueryReferenceValue', undefined],
        ['QueryReferenceValue', undefined],
      ]);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
