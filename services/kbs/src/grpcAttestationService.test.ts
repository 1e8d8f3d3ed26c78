/**
 * Invariant: a KBS with `[attestation_service] type = "coco_as_grpc"` speaks upstream's wire
 * encoding to a gRPC attestation service (evidence base64url-no-pad of its JSON text, runtime
 * data as JSON text, sha384, policy ["default"], policies base64url-no-pad), releases secrets
 * only on a token that service issued, answers 401 AttestationError when it refuses the
 * evidence, retries only UNAVAILABLE, bounds the RPCs in flight by pool_size, and starts
 * without the service: not ready and 503 ServiceUnavailable until it answers, then ready and
 * serving without a restart. The service here is a gRPC server over the real
 * attestation core of @trustee/attestation (real verification, real EAR tokens).
 */
import 'reflect-metadata';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createAttestationService, parseAttestationServiceConfig, type AttestationService } from '@trustee/attestation';
import { createBuiltinRvps } from '@trustee/rvps-core';
import { attestationServiceDefinition, healthServiceDefinition, referenceValueServiceDefinition, REQUEST_ID_METADATA } from '@trustee/grpc';
import { RecordingLogger } from '@trustee/log/testing/recordingLogger.ts';
import type { AttestationRequest, IndividualAttestationRequest, ReferenceValueQueryRequest, ReferenceValueRegisterRequest, SetPolicyRequest } from '@trustee/grpc';
import { b64url, type Json } from '@trustee/protocol';
import { MemoryStore } from '@trustee/storage';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import { composeKbs } from './compose.ts';
import { parseKbsConfig } from './config.ts';
import { devConfigToml, prepareDevEnvironment } from './devSetup.ts';
import { createGrpcAttestationBackend, RemoteAttestationError, toGrpcRequest } from './grpcAttestationService.ts';
import { cleanupHarnessDirs, errorOf, ERR, Guest, startHarness, type Harness } from './testing/fixture.ts';
import { selfSignedCert } from './testing/selfSignedCert.ts';

afterAll(() => cleanupHarnessDirs());

const UTF8 = new TextDecoder('utf-8', { fatal: true });

interface FakeAs {
  readonly address: string;
  readonly service: AttestationService;
  readonly received: AttestationRequest[];
  /** `authorization` metadata of each call, by method. */
  readonly authorizations: Array<[string, string | undefined]>;
  /** `x-request-id` metadata of each call, by method. */
  readonly requestIds: Array<[string, string | undefined]>;
  /** Failures to answer, in order, before behaving normally (a bare status gets generic details). */
  readonly failNext: Array<grpc.status | { readonly code: grpc.status; readonly details: string }>;
  readonly inFlight: { now: number; max: number };
  /** Delay of each AttestationEvaluate, ms. */
  delayMs: number;
  close(): Promise<void>;
}

/** The AS wire decoding, strict: anything but upstream's encoding is INVALID_ARGUMENT. */
function decodeIndividual(item: IndividualAttestationRequest): Parameters<AttestationService['evaluate']>[0][number] {
  const evidence = JSON.parse(UTF8.decode(b64url.decode(item.evidence))) as Json;
  const structured = item.runtime_data === 'structured_runtime_data' ? (JSON.parse(item.structured_runtime_data ?? '') as Json) : undefined;
  return {
    tee: item.tee as 'sample',
    evidence,
    runtimeDataHashAlgorithm: item.runtime_data_hash_algorithm as 'sha384',
    ...(structured === undefined ? {} : { runtimeData: { structured } }),
    ...(item.init_data === 'init_data_toml' ? { initData: { toml: item.init_data_toml ?? '' } } : {}),
  };
}

/** Releases to any token whose CPU appraisal is affirming (sample evidence included). */
const AFFIRMING_RESOURCE_POLICY = `package policy
import rego.v1

default allow := false

allow if input.submods.cpu0["ear.status"] == "affirming"
`;

async function startFakeAs(tls?: { readonly key: Buffer; readonly cert: Buffer }, port = 0): Promise<FakeAs & { readonly signerCert: string }> {
  const store = new MemoryStore();
  const rvps = createBuiltinRvps(store);
  const signer = await prepareDevEnvironment(mkdtempSync(join(tmpdir(), 'kbs-fake-as-')));
  const config = parseAttestationServiceConfig({ attestation_token_broker: { signer: { key_path: signer.tokenSignerKey, cert_path: signer.tokenSignerCert } } }, 'as');
  const service = await createAttestationService({ store, config, referenceValues: rvps });
  const server = new grpc.Server();
  const fake = {
    received: [] as AttestationRequest[],
    authorizations: [] as Array<[string, string | undefined]>,
    requestIds: [] as Array<[string, string | undefined]>,
    failNext: [] as FakeAs['failNext'],
    inFlight: { now: 0, max: 0 },
    delayMs: 0,
  };
  type Callback = grpc.sendUnaryData<object>;
  const unary =
    <Req>(handler: (request: Req) => Promise<object>) =>
    (call: grpc.ServerUnaryCall<Req, object>, callback: Callback): void => {
      const [authorization] = call.metadata.get('authorization');
      fake.authorizations.push([call.getPath().split('/').at(-1) ?? '', typeof authorization === 'string' ? authorization : undefined]);
      const [requestId] = call.metadata.get(REQUEST_ID_METADATA);
      fake.requestIds.push([call.getPath().split('/').at(-1) ?? '', typeof requestId === 'string' ? requestId : undefined]);
      const failure = fake.failNext.shift();
      if (failure !== undefined) {
        callback(typeof failure === 'number' ? { code: failure, details: `injected ${grpc.status[failure]}` } : failure);
        return;
      }
      handler(call.request).then(
        (response) => callback(null, response),
        (error: unknown) => callback({ code: grpc.status.PERMISSION_DENIED, details: `verification_failed: ${(error as Error).message}` }),
      );
    };
  server.addService(attestationServiceDefinition, {
    AttestationEvaluate: unary<AttestationRequest>(async (request) => {
      fake.received.push(request);
      fake.inFlight.now += 1;
      fake.inFlight.max = Math.max(fake.inFlight.max, fake.inFlight.now);
      try {
        if (fake.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fake.delayMs));
        return { attestation_token: await service.evaluate(request.verification_requests.map(decodeIndividual), request.policy_ids) };
      } finally {
        fake.inFlight.now -= 1;
      }
    }),
    SetAttestationPolicy: unary<SetPolicyRequest>(async (request) => {
      await service.setPolicy(request.policy_id, UTF8.decode(b64url.decode(request.policy)));
      return {};
    }),
  } as unknown as grpc.UntypedServiceImplementation);
  server.addService(referenceValueServiceDefinition, {
    QueryReferenceValue: unary<ReferenceValueQueryRequest>(async (request) => {
      const value = await rvps.query(request.reference_value_id);
      return value === undefined ? {} : { reference_value_results: JSON.stringify(value) };
    }),
    RegisterReferenceValue: unary<ReferenceValueRegisterRequest>(async (request) => {
      await rvps.register(request.message);
      return {};
    }),
  } as unknown as grpc.UntypedServiceImplementation);
  server.addService(healthServiceDefinition, {
    Check: (_call: unknown, callback: Callback) => callback(null, { status: 'SERVING' }),
  } as unknown as grpc.UntypedServiceImplementation);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `127.0.0.1:${port}`,
      tls === undefined ? grpc.ServerCredentials.createInsecure() : grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }], false),
      (error, bound) => (error === null ? resolve(bound) : reject(error)),
    ),
  );
  return {
    ...fake,
    signerCert: signer.tokenSignerCert,
    address: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${bound}`,
    service,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('KBS over a gRPC attestation service', () => {
  let as: Awaited<ReturnType<typeof startFakeAs>>;
  let h: Harness;
  const kbsLog: string[] = [];

  beforeAll(async () => {
    as = await startFakeAs();
    h = await startHarness({
      logLines: kbsLog,
      edit: (raw) => {
        raw['attestation_service'] = { type: 'coco_as_grpc', as_addr: as.address, pool_size: 2, timeout: 0.5, policy_id_map: { gpu: ['gpu'] } };
        raw['attestation_token'] = { trusted_certs_paths: [as.signerCert] };
      },
    });
    await h.kbs.policy.set(AFFIRMING_RESOURCE_POLICY);
  });

  afterAll(async () => {
    await h?.close();
    await as?.close();
  });

  afterEach(() => {
    as.failNext.length = 0;
    as.delayMs = 0;
  });

  test('RCAR: the token comes from the remote AS and releases the secret; the wire encoding is upstream\'s', async () => {
    const admin = { authorization: `Bearer ${await h.adminToken()}`, 'content-type': 'application/octet-stream' };
    expect((await h.app.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/remote', payload: 'remote-secret', headers: admin })).statusCode).toBe(200);
    const guest = new Guest(h.app);
    const token = await guest.rcar();
    expect(await h.kbs.tokenVerifier.verify(token)).toMatchObject({ iss: 'CoCo-Attestation-Service' });
    const response = await guest.getResource('default/key/remote');
    expect(response.statusCode, response.body).toBe(200);
    expect(guest.decrypt(response)).toBe('remote-secret');

    const sent = as.received.at(-1);
    expect(sent?.policy_ids).toEqual(['default']);
    const item = sent?.verification_requests[0];
    expect(item?.tee).toBe('sample');
    expect(item?.evidence).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(UTF8.decode(b64url.decode(item?.evidence ?? '')))).toMatchObject({ svn: '1' });
    expect(item?.runtime_data).toBe('structured_runtime_data');
    expect(JSON.parse(item?.structured_runtime_data ?? '')).toEqual({ 'tee-pubkey': guest.teePubKey, nonce: guest.nonce, 'additional-evidence': '' });
    expect(item?.runtime_data_hash_algorithm).toBe('sha384');
    expect(item?.init_data).toBeUndefined();
    // The /attest request's own id (the reqId of its KBS log lines) goes along, for the AS's log lines.
    const requestId = as.requestIds.filter(([method]) => method === 'AttestationEvaluate').at(-1)?.[1];
    expect(requestId).toMatch(/^[0-9a-f]{6}-[0-9a-z]+$/);
    // `<process tag>-<counter>`: the tag of this KBS's own log lines (the /attest call itself logs none on success).
    const tags = new Set(kbsLog.map((line) => (JSON.parse(line) as { reqId?: string }).reqId?.split('-')[0]));
    expect(tags.has(requestId?.split('-')[0])).toBe(true);
  });

  test('a guest naming attestation policy id `gpu` (extra-params.id) is appraised by the remote AS with policy_ids ["gpu"]', async () => {
    const admin = { authorization: `Bearer ${await h.adminToken()}`, 'content-type': 'application/json' };
    const policy = b64url.encode(new TextEncoder().encode('package policy\nimport rego.v1\n\ndefault executables := 2\ndefault hardware := 2\ndefault configuration := 2\n\ntrust_claims := {"executables": executables, "hardware": hardware, "configuration": configuration}\n'));
    const set = await h.app.inject({ method: 'POST', url: '/kbs/v0/attestation-policy', headers: admin, payload: JSON.stringify({ type: 'rego', policy_id: 'gpu_cpu', policy }) });
    expect(set.statusCode, set.body).toBe(200);
    const guest = new Guest(h.app);
    expect((await guest.auth({ version: '0.4.0', tee: 'sample', 'extra-params': { 'supported-hash-algorithms': ['sha384'], id: 'gpu' } })).statusCode).toBe(200);
    const attested = await guest.attest();
    expect(attested.statusCode, attested.body).toBe(200);
    expect(as.received.at(-1)?.policy_ids).toEqual(['gpu']);
    const claims = await h.kbs.tokenVerifier.verify((JSON.parse(attested.body) as { token: string }).token);
    expect((claims['submods'] as Record<string, Record<string, unknown>>)['cpu0']?.['ear.appraisal-policy-id']).toBe('gpu');
    const refused = await new Guest(h.app).auth({ version: '0.4.0', tee: 'sample', 'extra-params': { id: 'cpu-only' } });
    expect(errorOf(refused).detail).toBe('Attestation error: RCAR handshake Auth failed: attestation policy id "cpu-only" is not declared by this KBS');
  });

  test('attestation policies set through the KBS land in the remote AS (base64url-no-pad on the wire)', async () => {
    const source = 'package policy\nimport rego.v1\ndefault executables := 3\ndefault hardware := 2\ndefault configuration := 2\n';
    const authorization = `Bearer ${await h.adminToken()}`;
    const response = await h.app.inject({
      method: 'POST',
      url: '/kbs/v0/attestation-policy',
      payload: JSON.stringify({ policy_id: 'default_cpu', policy: b64url.encode(new TextEncoder().encode(source)) }),
      headers: { authorization, 'content-type': 'application/json' },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(await as.service.getPolicy('default_cpu')).toBe(source);
    // The admin's header travels on, for an AS that requires its own admin token (services/as `admin`).
    expect(as.authorizations.at(-1)).toEqual(['SetAttestationPolicy', authorization]);
  });

  test('evidence the AS refuses → 401 AttestationError, and the guest must start over', async () => {
    const guest = new Guest(h.app);
    await guest.auth();
    const refused = await guest.attest(guest.attestation({ reportData: Buffer.alloc(48, 3).toString('base64') }));
    expect(refused.statusCode).toBe(401);
    expect(errorOf(refused)).toEqual({ type: `${ERR}AttestationError`, detail: 'Attestation error: RCAR handshake Attest failed' });
    expect((await guest.attest()).statusCode).toBe(401);
  });

  test('reference values registered through the KBS admin API reach the AS\'s RVPS and read back', async () => {
    const headers = { authorization: `Bearer ${await h.adminToken()}`, 'content-type': 'application/json' };
    const message = JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify({ launch_digest: ['abcde'] })).toString('base64') });
    const registered = await h.app.inject({ method: 'POST', url: '/kbs/v0/reference-value', payload: message, headers });
    expect(registered.statusCode, registered.body).toBe(200);
    expect(as.authorizations.at(-1)).toEqual(['RegisterReferenceValue', headers.authorization]);
    const read = await h.app.inject({ method: 'GET', url: '/kbs/v0/reference-value/launch_digest', headers });
    expect(read.statusCode, read.body).toBe(200);
    expect(JSON.parse(read.body)).toEqual(['abcde']);
    const missing = await h.app.inject({ method: 'GET', url: '/kbs/v0/reference-value/absent', headers });
    expect(errorOf(missing).type).toBe(`${ERR}RvpsError`);
    const bad = await h.app.inject({ method: 'POST', url: '/kbs/v0/reference-value', payload: '{"type":"nope","payload":""}', headers });
    expect(bad.statusCode).toBe(401);
    expect(errorOf(bad).type).toBe(`${ERR}RvpsError`);
  });

  test('transport UNAVAILABLE is retried (evaluation included); other statuses and the AS\'s own UNAVAILABLE are not', async () => {
    as.failNext.push(grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE);
    const guest = new Guest(h.app);
    await expect(guest.rcar()).resolves.toMatch(/^ey/);
    expect(as.failNext).toEqual([]);

    as.failNext.push(grpc.status.INTERNAL, grpc.status.UNAVAILABLE);
    const second = new Guest(h.app);
    await second.auth();
    expect((await second.attest()).statusCode).toBe(401);
    expect(as.failNext).toEqual([grpc.status.UNAVAILABLE]);
    as.failNext.length = 0;

    // The AS answered UNAVAILABLE itself (its collateral source is down): final, not repeated.
    const third = new Guest(h.app);
    await third.auth();
    as.failNext.push({ code: grpc.status.UNAVAILABLE, details: 'collateral_unavailable: KDS did not answer' }, grpc.status.UNAVAILABLE);
    expect((await third.attest()).statusCode).toBe(401);
    expect(as.failNext).toEqual([grpc.status.UNAVAILABLE]);
  });

  test('pool_size bounds the evaluations in flight', async () => {
    as.delayMs = 50;
    as.inFlight.max = 0;
    const guests = Array.from({ length: 5 }, () => new Guest(h.app));
    await Promise.all(guests.map((guest) => guest.rcar()));
    expect(as.inFlight.max).toBeLessThanOrEqual(2);
    expect(as.inFlight.max).toBeGreaterThan(0);
  });
});

describe('the gRPC backend on its own', () => {
  test('errors carry the AS code when the AS sent one, the gRPC status otherwise', async () => {
    const as = await startFakeAs();
    const backend = createGrpcAttestationBackend({ asAddr: as.address, poolSize: 1, retries: 0 });
    try {
      as.failNext.push(grpc.status.UNAVAILABLE);
      await expect(backend.setPolicy('p', 'package p')).rejects.toMatchObject({ code: 'UNAVAILABLE', grpcStatus: grpc.status.UNAVAILABLE });
      const refused = await backend
        .evaluate([{ tee: 'sample', evidence: { svn: '1', report_data: 'AAAA' }, runtimeData: { structured: { nonce: 'n' } } }], ['default'])
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RemoteAttestationError);
      expect((refused as RemoteAttestationError).code).toBe('verification_failed');
      expect((refused as Error).message).toContain(`attestation service ${as.address} AttestationEvaluate: PERMISSION_DENIED`);
    } finally {
      backend.close();
      await as.close();
    }
  });

  test('AttestationEvaluate carries the KBS request id (the reqId of the request logger) as x-request-id; without one, none is sent', async () => {
    const as = await startFakeAs();
    const backend = createGrpcAttestationBackend({ asAddr: as.address, poolSize: 1, retries: 0 });
    const request = { tee: 'sample' as const, evidence: { svn: '1', report_data: 'AAAA' }, runtimeData: { structured: { nonce: 'n' } } };
    try {
      await backend.evaluate([request], ['default'], new RecordingLogger().child({ reqId: 'k3f9-1a' })).catch(() => undefined);
      await backend.evaluate([request], ['default']).catch(() => undefined);
      expect(as.requestIds).toEqual([
        ['AttestationEvaluate', 'k3f9-1a'],
        ['AttestationEvaluate', undefined],
      ]);
    } finally {
      backend.close();
      await as.close();
    }
  });

  test('raw runtime data and init-data digests are base64url-no-pad; a TOML init-data is sent as text', () => {
    expect(toGrpcRequest({ tee: 'se', evidence: {}, runtimeData: { raw: new Uint8Array([251, 255]) }, initData: { digest: new Uint8Array([255]) }, runtimeDataHashAlgorithm: 'sha512' })).toEqual({
      tee: 'se',
      evidence: b64url.encode(new TextEncoder().encode('{}')),
      raw_runtime_data: '-_8',
      init_data_digest: '_w',
      runtime_data_hash_algorithm: 'sha512',
    });
    expect(toGrpcRequest({ tee: 'sample', evidence: [1], initData: { toml: 'version = "0.1.0"' } })).toMatchObject({ init_data_toml: 'version = "0.1.0"', runtime_data_hash_algorithm: 'sha384' });
  });

  test('https:// as_addr with ca_cert_path: TLS to the AS, verified against that CA only', async () => {
    const selfSigned = async (): Promise<{ key: Buffer; cert: Buffer }> => {
      const { keyPem, certPem } = await selfSignedCert('as');
      return { key: Buffer.from(keyPem), cert: Buffer.from(certPem) };
    };
    const tls = await selfSigned();
    const other = await selfSigned();
    const as = await startFakeAs(tls);
    const paths = await prepareDevEnvironment(mkdtempSync(join(tmpdir(), 'kbs-grpc-tls-')));
    const configWith = (ca: Buffer): ReturnType<typeof parseKbsConfig> => {
      const raw = parseToml(devConfigToml(paths)) as Record<string, unknown>;
      delete raw['storage_backend'];
      const caPath = join(paths.dataDir, `ca-${ca === tls.cert ? 'right' : 'wrong'}.pem`);
      writeFileSync(caPath, ca);
      raw['attestation_service'] = { type: 'coco_as_grpc', as_addr: as.address, tls_mode: 'tls', ca_cert_path: caPath };
      return parseKbsConfig(raw);
    };
    try {
      const kbs = await composeKbs(configWith(tls.cert));
      try {
        await kbs.attestation?.setPolicy('tls_check', 'package policy\n');
        expect(await as.service.getPolicy('tls_check')).toBe('package policy\n');
      } finally {
        await kbs.close();
      }
      // A CA that does not match: the KBS starts but is not ready, naming the AS.
      const untrusting = await composeKbs(configWith(other.cert));
      try {
        const report = await untrusting.readiness.report();
        expect(report.ready).toBe(false);
        expect(report.dependencies.find((dependency) => !dependency.ready)?.name).toBe(`attestation service ${as.address}`);
      } finally {
        await untrusting.close();
      }
    } finally {
      await as.close();
    }
  }, 20_000);

  test('a KBS whose AS does not answer yet starts not ready, answers 503, and serves once the AS is up', async () => {
    const port = await freePort();
    const paths = await prepareDevEnvironment(mkdtempSync(join(tmpdir(), 'kbs-grpc-')));
    const raw = parseToml(devConfigToml(paths)) as Record<string, unknown>;
    delete raw['storage_backend'];
    raw['attestation_service'] = { type: 'coco_as_grpc', as_addr: `http://127.0.0.1:${port}` };
    const kbs = await composeKbs(parseKbsConfig(raw));
    let late: Awaited<ReturnType<typeof startFakeAs>> | undefined;
    try {
      const app = kbs.apps[0];
      if (app === undefined) throw new Error('no app');
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const notReady = await app.inject({ method: 'GET', url: '/readyz' });
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json()).toMatchObject({ ready: false, dependencies: expect.arrayContaining([expect.objectContaining({ name: `attestation service http://127.0.0.1:${port}`, ready: false })]) });

      // /auth needs only the store; /attest needs the AS: a fast, clear 503, not a 401 refusal.
      const guest = new Guest(app);
      await guest.auth();
      const started = performance.now();
      const attest = await guest.attest();
      expect(performance.now() - started).toBeLessThan(5000);
      expect(attest.statusCode, attest.body).toBe(503);
      expect(errorOf(attest)).toEqual({ type: `${ERR}ServiceUnavailable`, detail: 'Service unavailable: the attestation service does not answer, retry later' });
      expect(attest.headers['retry-after']).toBe('1');

      late = await startFakeAs(undefined, port);
      await expect.poll(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode, { timeout: 10_000, interval: 200 }).toBe(200);
      const retry = new Guest(app);
      const token = await retry.rcar();
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
      expect(claims['iss']).toBe('CoCo-Attestation-Service');
    } finally {
      await kbs.close();
      await late?.close();
    }
  }, 30_000);
});

describe('passport resource KBS (type = "none")', () => {
  let issuer: Harness;
  let resource: Harness;

  beforeAll(async () => {
    issuer = await startHarness();
    // Trusts the issuer's signer certificate, has no attestation service.
    resource = await startHarness({
      installTestPolicy: false,
      edit: (raw) => {
        raw['attestation_service'] = { type: 'none' };
        raw['attestation_token'] = { trusted_certs_paths: [issuer.paths.tokenSignerCert] };
      },
    });
    await resource.kbs.policy.set(AFFIRMING_RESOURCE_POLICY);
  });

  afterAll(async () => {
    await resource?.close();
    await issuer?.close();
  });

  test.each([
    ['POST', '/kbs/v0/auth', 'auth'],
    ['POST', '/kbs/v0/attest', 'attest'],
    ['POST', '/kbs/v0/attestation-policy', 'attestation-policy'],
    ['POST', '/kbs/v0/reference-value', 'reference-value'],
    ['GET', '/kbs/v0/reference-value/svn', 'reference-value'],
  ] as const)('%s %s → 404 PluginNotFound', async (method, url, name) => {
    const response = await resource.app.inject({ method, url, payload: '{}', headers: { authorization: `Bearer ${await resource.adminToken()}`, 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(404);
    expect(errorOf(response)).toEqual({ type: `${ERR}PluginNotFound`, detail: `Plugin ${name} not found` });
  });

  test('a token from the issuer KBS releases the resource; no token or a foreign one does not', async () => {
    const admin = { authorization: `Bearer ${await resource.adminToken()}`, 'content-type': 'application/octet-stream' };
    expect((await resource.app.inject({ method: 'POST', url: '/kbs/v0/resource/default/key/passport', payload: 'passport-secret', headers: admin })).statusCode).toBe(200);
    const guest = new Guest(issuer.app);
    const token = await guest.rcar();
    const atResource = guest.via(resource.app);
    const released = await atResource.getResource('default/key/passport', { bearer: token });
    expect(released.statusCode, released.body).toBe(200);
    expect(atResource.decrypt(released)).toBe('passport-secret');

    expect(errorOf(await atResource.getResource('default/key/passport', {})).type).toBe(`${ERR}TokenNotFound`);
    const foreignIssuer = await startHarness();
    try {
      const foreign = await new Guest(foreignIssuer.app).rcar();
      const refused = await atResource.getResource('default/key/passport', { bearer: foreign });
      expect(refused.statusCode).toBe(401);
      expect(errorOf(refused).type).toBe(`${ERR}TokenVerifierError`);
    } finally {
      await foreignIssuer.close();
    }
  });
});
