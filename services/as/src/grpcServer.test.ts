/**
 * Invariant: the gRPC AS speaks upstream's wire contract over a real loopback socket. Evidence
 * bound to its runtime data yields an EAR that verifies with the service's JWKS (sample, SNP and
 * TDX through the test PKIs); every malformed or rejected request gets the status of the error
 * registry with a message naming the problem; policies and reference values round-trip, the
 * latter also through a second AS configured with `GrpcRemote` pointing at the first.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { compactVerify, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AttestationServiceClient, HealthClient, REQUEST_ID_METADATA, ReferenceValueProviderServiceClient, referenceValueServiceDefinition, type AttestationResponse, type HealthCheckResponse } from '@trustee/grpc';
import { createLogger } from '@trustee/log';
import { jsonLines, requestIdRuleViolations } from '@trustee/log/testing/jsonLines.ts';
import { canonicalJson } from '@trustee/protocol';
import { MemoryStore } from '@trustee/storage';
import { createTestSnpReport } from '@trustee/verifiers/testing/snpFactory.ts';
import { tdxEvidence } from '@trustee/verifiers/testing/tdxFactory.ts';
import { composeAs } from './compose.ts';
import { parseAsConfig } from './config.ts';
import { buildAsRestServer } from './restServer.ts';
import { startListeners, type RunningAs } from './serve.ts';
import { b64urlJson, composeTestAs, createTestAdmin, FIXTURE_NOW, RUNTIME_DATA, rpc, rpcError, sampleEvidence, type TestAs } from './testing/fixtures.ts';

type Claims = Record<string, unknown>;

let as: TestAs;
let running: RunningAs;
let client: grpc.Client;
let rvpsClient: grpc.Client;
const admin = createTestAdmin();
let bearer: string;

beforeAll(async () => {
  bearer = `Bearer ${await admin.token()}`;
  as = await composeTestAs({ admin: { bearer_jwt: admin.bearerJwt } });
  running = await startListeners(as.composed, { grpcSocket: '127.0.0.1:0' });
  const address = running.grpc?.address ?? '';
  client = new AttestationServiceClient(address, grpc.credentials.createInsecure());
  rvpsClient = new ReferenceValueProviderServiceClient(address, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  rvpsClient.close();
  await running.close();
});

async function verifiedPayload(token: string): Promise<Claims> {
  const jwks = as.composed.service.jwks() as { keys: JWK[] };
  const key = await importJWK(jwks.keys[0] as JWK, 'ES256');
  const { payload } = await compactVerify(token, key, { algorithms: ['ES256'] });
  return JSON.parse(new TextDecoder().decode(payload)) as Claims;
}

function cpu0(payload: Claims): Claims {
  return (payload['submods'] as Claims)['cpu0'] as Claims;
}

function request(item: Record<string, unknown>, policyIds: string[] = []): object {
  return { verification_requests: [item], policy_ids: policyIds };
}

describe('AttestationEvaluate', () => {
  test('sample evidence bound to structured runtime data → EAR verifying with the JWKS', async () => {
    const response = await rpc<AttestationResponse>(
      client,
      'AttestationEvaluate',
      request({ tee: 'sample', evidence: b64urlJson(sampleEvidence()), structured_runtime_data: JSON.stringify(RUNTIME_DATA), runtime_data_hash_algorithm: '' }),
    );
    const payload = await verifiedPayload(response.attestation_token);
    const submod = cpu0(payload);
    expect(submod['ear.appraisal-policy-id']).toBe('default');
    expect((submod['ear.veraison.annotated-evidence'] as Claims)['runtime_data_claims']).toEqual(RUNTIME_DATA);
  });

  test('sha512 runtime-data hash and init-data TOML are honoured', async () => {
    const runtime = { nonce: 'n', 'tee-pubkey': RUNTIME_DATA['tee-pubkey'] };
    const evidence = { svn: '1', report_data: createHash('sha512').update(canonicalJson(runtime)).digest('base64') };
    const toml = 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = "x = 1"\n';
    const response = await rpc<AttestationResponse>(
      client,
      'AttestationEvaluate',
      request({ tee: 'sample', evidence: b64urlJson(evidence), structured_runtime_data: JSON.stringify(runtime), runtime_data_hash_algorithm: 'sha512', init_data_toml: toml }),
    );
    const annotated = cpu0(await verifiedPayload(response.attestation_token))['ear.veraison.annotated-evidence'] as Claims;
    expect(annotated['init_data_claims']).toEqual({ 'aa.toml': { x: 1 } });
  });

  test('primary CPU evidence plus device evidence → cpu0 and gpu0 submods', async () => {
    const device = { nonce: RUNTIME_DATA.nonce, 'tee-pubkey': RUNTIME_DATA['tee-pubkey'] };
    const response = await rpc<AttestationResponse>(client, 'AttestationEvaluate', {
      verification_requests: [
        { tee: 'sample', evidence: b64urlJson(sampleEvidence()), structured_runtime_data: JSON.stringify(RUNTIME_DATA) },
        { tee: 'sampledevice', evidence: b64urlJson(sampleEvidence(device)), structured_runtime_data: JSON.stringify(device) },
      ],
      policy_ids: ['default'],
    });
    expect(Object.keys((await verifiedPayload(response.attestation_token))['submods'] as Claims)).toEqual(['cpu0', 'gpu0']);
  });

  test('SNP factory evidence with raw runtime data, trusted through the configured test PKI', async () => {
    const nonce = new Uint8Array(64).fill(0x5a);
    const snp = await createTestSnpReport({ product: 'Milan', reportData: nonce });
    const response = await rpc<AttestationResponse>(client, 'AttestationEvaluate', request({ tee: 'snp', evidence: b64urlJson(snp.evidence), raw_runtime_data: Buffer.from(nonce).toString('base64url') }));
    const annotated = cpu0(await verifiedPayload(response.attestation_token))['ear.veraison.annotated-evidence'] as Claims;
    expect(annotated['report_data']).toBe(Buffer.from(nonce).toString('hex'));
    expect(annotated['snp']).toMatchObject({ policy_debug_allowed: expect.anything() as unknown });
  });

  test('TDX factory evidence with the platform collateral', async () => {
    const nonce = new Uint8Array(64).fill(0x11);
    const evidence = tdxEvidence(as.tdx.quote({ reportData: nonce }));
    const response = await rpc<AttestationResponse>(client, 'AttestationEvaluate', request({ tee: 'tdx', evidence: b64urlJson(evidence), raw_runtime_data: Buffer.from(nonce).toString('base64url') }));
    const annotated = cpu0(await verifiedPayload(response.attestation_token))['ear.veraison.annotated-evidence'] as Claims;
    expect(annotated['tdx']).toMatchObject({ quote: expect.anything() as unknown });
  });

  test.each<[string, Record<string, unknown>, grpc.status, RegExp]>([
    ['padded base64url evidence', { tee: 'sample', evidence: `${b64urlJson(sampleEvidence())}=` }, grpc.status.INVALID_ARGUMENT, /invalid_request: verification_requests\[0\]\.evidence: not base64url/],
    ['evidence that is not JSON', { tee: 'sample', evidence: Buffer.from('not json').toString('base64url') }, grpc.status.INVALID_ARGUMENT, /evidence: not a JSON document/],
    ['unknown TEE', { tee: 'quantum', evidence: b64urlJson(sampleEvidence()) }, grpc.status.INVALID_ARGUMENT, /unknown TEE "quantum"/],
    ['TEE without a verifier', { tee: 'cca', evidence: b64urlJson({}) }, grpc.status.INVALID_ARGUMENT, /unsupported_tee/],
    ['unknown hash algorithm', { tee: 'sample', evidence: b64urlJson(sampleEvidence()), runtime_data_hash_algorithm: 'md5' }, grpc.status.INVALID_ARGUMENT, /unsupported hash algorithm "md5"/],
    ['structured runtime data that is not JSON', { tee: 'sample', evidence: b64urlJson(sampleEvidence()), structured_runtime_data: '{' }, grpc.status.INVALID_ARGUMENT, /structured_runtime_data: not a JSON document/],
    ['bad init-data TOML', { tee: 'sample', evidence: b64urlJson(sampleEvidence()), init_data_toml: 'version = ' }, grpc.status.INVALID_ARGUMENT, /invalid_request/],
    ['malformed SNP evidence', { tee: 'snp', evidence: b64urlJson({ attestation_report: 5 }) }, grpc.status.INVALID_ARGUMENT, /malformed_evidence/],
    ['runtime data the evidence is not bound to', { tee: 'sample', evidence: b64urlJson(sampleEvidence()), structured_runtime_data: '{"nonce":"other"}' }, grpc.status.PERMISSION_DENIED, /verification_failed: .*report_data/],
  ])('%s → typed status', async (_name, item, status, message) => {
    const error = await rpcError(client, 'AttestationEvaluate', request(item));
    expect(grpc.status[error.code]).toBe(grpc.status[status]);
    expect(error.details).toMatch(message);
  });

  test('no verification requests → INVALID_ARGUMENT', async () => {
    const error = await rpcError(client, 'AttestationEvaluate', { verification_requests: [], policy_ids: [] });
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/No verification requests provided/);
  });

  test('an unknown policy id → NOT_FOUND naming <id>_cpu', async () => {
    const error = await rpcError(client, 'AttestationEvaluate', request({ tee: 'sample', evidence: b64urlJson(sampleEvidence()), structured_runtime_data: JSON.stringify(RUNTIME_DATA) }, ['nope']));
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    expect(error.details).toMatch(/nope_cpu/);
  });
});

describe('policies', () => {
  const rego = 'package policy\nimport rego.v1\ndefault executables := 3\ndefault hardware := 2\ndefault configuration := 2\ntrust_claims := {"executables": executables, "hardware": hardware, "configuration": configuration}\n';

  test('set / list / get / delete, and evaluation with the new policy', async () => {
    await rpc(client, 'SetAttestationPolicy', { policy_id: 'mine_cpu', policy: Buffer.from(rego).toString('base64url') });
    expect((await rpc<{ policy_ids: string[] }>(client, 'ListAttestationPolicies', {})).policy_ids).toEqual(expect.arrayContaining(['default_cpu', 'mine_cpu']));
    const got = await rpc<{ policy: string }>(client, 'GetAttestationPolicy', { policy_id: 'mine_cpu' });
    expect(Buffer.from(got.policy, 'base64url').toString('utf8')).toBe(rego);

    const response = await rpc<AttestationResponse>(client, 'AttestationEvaluate', request({ tee: 'sample', evidence: b64urlJson(sampleEvidence()), structured_runtime_data: JSON.stringify(RUNTIME_DATA) }, ['mine']));
    expect(cpu0(await verifiedPayload(response.attestation_token))['ear.status']).toBe('affirming');

    await rpc(client, 'DeleteAttestationPolicy', { policy_id: 'mine_cpu' });
    expect((await rpcError(client, 'GetAttestationPolicy', { policy_id: 'mine_cpu' })).code).toBe(grpc.status.NOT_FOUND);
    expect((await rpcError(client, 'DeleteAttestationPolicy', { policy_id: 'mine_cpu' })).code).toBe(grpc.status.NOT_FOUND);
  });

  test.each<[string, object, RegExp]>([
    ['padded base64url', { policy_id: 'p', policy: `${Buffer.from(rego).toString('base64url')}=` }, /policy: not base64url/],
    ['Rego that does not parse', { policy_id: 'p', policy: Buffer.from('package policy\nallow if {').toString('base64url') }, /invalid_policy: invalid Rego policy/],
    ['recursive Rego', { policy_id: 'p', policy: Buffer.from('package policy\na if b\nb if a').toString('base64url') }, /invalid_policy: invalid Rego policy.*rego_recursion_error/],
    ['a path-traversal id', { policy_id: '../x', policy: Buffer.from(rego).toString('base64url') }, /invalid_policy: policy id/],
  ])('SetAttestationPolicy with %s → INVALID_ARGUMENT', async (_name, body, message) => {
    const error = await rpcError(client, 'SetAttestationPolicy', body);
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(message);
  });
});

describe('challenge and health', () => {
  test('GetAttestationChallenge is empty for every TEE but se', async () => {
    expect(await rpc(client, 'GetAttestationChallenge', { inner: { tee: 'tdx', tee_params: '' } })).toEqual({ attestation_challenge: '' });
    expect((await rpcError(client, 'GetAttestationChallenge', { inner: { tee: 'se' } })).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await rpcError(client, 'GetAttestationChallenge', { inner: {} })).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test('grpc.health.v1 reports SERVING', async () => {
    const health = new HealthClient(running.grpc?.address ?? '', grpc.credentials.createInsecure());
    try {
      expect(await rpc<HealthCheckResponse>(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
      expect(await rpc<HealthCheckResponse>(health, 'Check', { service: 'attestation.AttestationService' })).toEqual({ status: 'SERVING' });
      expect((await rpcError(health, 'Check', { service: 'nope' })).code).toBe(grpc.status.NOT_FOUND);
    } finally {
      health.close();
    }
  });
});

describe('reference values', () => {
  const message = (values: Record<string, unknown>): string => JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64') });

  test('register / query / list / delete through the AS', async () => {
    await rpc(rvpsClient, 'RegisterReferenceValue', { message: message({ svn: ['1'] }) });
    type Query = { reference_value_results?: string };
    expect((await rpc<Query>(rvpsClient, 'QueryReferenceValue', { reference_value_id: 'svn' })).reference_value_results).toBe('["1"]');
    expect((await rpc<Query>(rvpsClient, 'QueryReferenceValue', { reference_value_id: 'absent' })).reference_value_results).toBeUndefined();
    const listed = await rpc<{ reference_values: string[] }>(rvpsClient, 'ListReferenceValues', {}, bearer);
    expect(listed.reference_values.map((text) => (JSON.parse(text) as { name: string }).name)).toContain('svn');
    expect(await rpc(rvpsClient, 'DeleteReferenceValue', { reference_value_id: 'svn' }, bearer)).toEqual({ deleted: true });
    const bad = await rpcError(rvpsClient, 'RegisterReferenceValue', { message: '{"version":"0.1.0","type":"nope","payload":""}' });
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/Could not find extractor for nope/);
  });

  test('a second AS with rvps_config GrpcRemote reads and writes the first one\'s values', async () => {
    const remote = await composeAs(parseAsConfig({ rvps_config: { type: 'GrpcRemote', address: running.grpc?.address } }), { store: new MemoryStore() });
    try {
      await remote.rvps.register(message({ launch_digest: ['abcde'] }));
      expect(await as.composed.rvps.query('launch_digest')).toEqual(['abcde']);
      expect(await remote.service.queryReferenceValue('launch_digest')).toEqual(['abcde']);
      // The caller's credentials travel to the RVPS, which answers with its own statuses.
      await expect(remote.rvps.delete('launch_digest')).rejects.toMatchObject({ code: 'unauthenticated' });
      await expect(remote.rvps.delete('launch_digest', { authorization: `Bearer ${await admin.token(FIXTURE_NOW, { foreign: true })}` })).rejects.toMatchObject({ code: 'unauthenticated' });
      expect(await remote.rvps.delete('launch_digest', { authorization: bearer })).toBe(true);
      expect(await as.composed.rvps.query('launch_digest')).toBeUndefined();
    } finally {
      await remote.close();
    }
  });

  test('a GrpcRemote AS passes the RVPS\'s statuses through: UNAUTHENTICATED stays UNAUTHENTICATED (not UNAVAILABLE)', async () => {
    const remote = await composeAs(parseAsConfig({ rvps_config: { type: 'GrpcRemote', address: running.grpc?.address } }), { store: new MemoryStore() });
    const front = await startListeners(remote, { grpcSocket: '127.0.0.1:0' });
    const frontClient = new ReferenceValueProviderServiceClient(front.grpc?.address ?? '', grpc.credentials.createInsecure());
    try {
      for (const [method, body] of [['ListReferenceValues', {}], ['DeleteReferenceValue', { reference_value_id: 'x' }]] as const) {
        const denied = await rpcError(frontClient, method, body);
        expect(denied.code).toBe(grpc.status.UNAUTHENTICATED);
        expect(denied.details).toMatch(/^unauthenticated: remote RVPS .* UNAUTHENTICATED: unauthenticated: admin operation requires/);
      }
      expect(await rpc(frontClient, 'DeleteReferenceValue', { reference_value_id: 'never-registered' }, bearer)).toEqual({ deleted: false });
    } finally {
      frontClient.close();
      await front.close();
    }
  });

  test('GrpcRemote pointing at nothing yet: the AS starts NOT_SERVING (liveness SERVING) and turns SERVING once the RVPS answers', async () => {
    const probe = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) => probe.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e === null ? resolve(p) : reject(e))));
    probe.forceShutdown();
    const waiting = await startListeners(await composeAs(parseAsConfig({ rvps_config: { type: 'GrpcRemote', address: `127.0.0.1:${port}` } })), { grpcSocket: '127.0.0.1:0' });
    const health = new HealthClient(waiting.grpc?.address ?? '', grpc.credentials.createInsecure());
    let rvps: RunningAs | undefined;
    try {
      expect(await rpc<HealthCheckResponse>(health, 'Check', { service: '' })).toEqual({ status: 'NOT_SERVING' });
      expect(await rpc<HealthCheckResponse>(health, 'Check', { service: 'liveness' })).toEqual({ status: 'SERVING' });
      // Another AS serves reference.ReferenceValueProviderService on the address the first one dials.
      rvps = await startListeners((await composeTestAs()).composed, { grpcSocket: `127.0.0.1:${port}` });
      await expect.poll(async () => (await rpc<HealthCheckResponse>(health, 'Check', { service: '' })).status, { timeout: 10_000, interval: 250 }).toBe('SERVING');
    } finally {
      health.close();
      await rvps?.close();
      await waiting.close();
    }
  }, 20_000);
});

describe('admin gates (config "admin")', () => {
  const message = JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from('{"svn": ["1"]}').toString('base64') });
  const policy = { policy_id: 'gated', policy: Buffer.from('package policy\ndefault allow := true\n').toString('base64url') };

  async function serve(rawConfig: unknown): Promise<{ attestation: grpc.Client; reference: grpc.Client; close(): Promise<void> }> {
    const gated = await composeTestAs(rawConfig);
    const listening = await startListeners(gated.composed, { grpcSocket: '127.0.0.1:0' });
    const address = listening.grpc?.address ?? '';
    const attestation = new AttestationServiceClient(address, grpc.credentials.createInsecure());
    const reference = new ReferenceValueProviderServiceClient(address, grpc.credentials.createInsecure());
    return {
      attestation,
      reference,
      async close() {
        attestation.close();
        reference.close();
        await listening.close();
      },
    };
  }

  test('BuiltIn RVPS without an admin section: List/Delete are PERMISSION_DENIED even with a token; the rest stays open as upstream', async () => {
    const open = await serve({});
    try {
      await rpc(open.reference, 'RegisterReferenceValue', { message });
      expect((await rpcError(open.reference, 'ListReferenceValues', {})).code).toBe(grpc.status.PERMISSION_DENIED);
      expect((await rpcError(open.reference, 'DeleteReferenceValue', { reference_value_id: 'svn' }, bearer)).code).toBe(grpc.status.PERMISSION_DENIED);
      expect((await rpc<{ reference_value_results?: string }>(open.reference, 'QueryReferenceValue', { reference_value_id: 'svn' })).reference_value_results).toBe('["1"]');
      await rpc(open.attestation, 'SetAttestationPolicy', policy);
    } finally {
      await open.close();
    }
  });

  test('protect_policies and protect_register: no token, a foreign or expired token → UNAUTHENTICATED and nothing changes; the admin token passes', async () => {
    const gated = await serve({ admin: { bearer_jwt: admin.bearerJwt, protect_policies: true, protect_register: true } });
    try {
      const bad = [undefined, `Bearer ${await admin.token(FIXTURE_NOW, { foreign: true })}`, `Bearer ${await admin.token(new Date(FIXTURE_NOW.getTime() - 3600_000))}`, 'Basic YTpi'];
      for (const authorization of bad) {
        for (const [target, method, body] of [
          [gated.attestation, 'SetAttestationPolicy', policy],
          [gated.attestation, 'GetAttestationPolicy', { policy_id: 'default_cpu' }],
          [gated.attestation, 'ListAttestationPolicies', {}],
          [gated.attestation, 'DeleteAttestationPolicy', { policy_id: 'default_cpu' }],
          [gated.reference, 'RegisterReferenceValue', { message }],
          [gated.reference, 'ListReferenceValues', {}],
          [gated.reference, 'DeleteReferenceValue', { reference_value_id: 'svn' }],
        ] as const) {
          expect((await rpcError(target, method, body, authorization)).code, `${method} with ${String(authorization).slice(0, 12)}`).toBe(grpc.status.UNAUTHENTICATED);
        }
      }
      expect((await rpc<{ reference_value_results?: string }>(gated.reference, 'QueryReferenceValue', { reference_value_id: 'svn' })).reference_value_results).toBeUndefined();
      await rpc(gated.attestation, 'SetAttestationPolicy', policy, bearer);
      await rpc(gated.reference, 'RegisterReferenceValue', { message }, bearer);
      expect((await rpc<{ policy_ids: string[] }>(gated.attestation, 'ListAttestationPolicies', {}, bearer)).policy_ids).toContain('gated');
      expect((await rpc<{ reference_values: string[] }>(gated.reference, 'ListReferenceValues', {}, bearer)).reference_values).toHaveLength(1);
      // Evaluation and queries stay open.
      expect((await rpc<{ reference_value_results?: string }>(gated.reference, 'QueryReferenceValue', { reference_value_id: 'svn' })).reference_value_results).toBe('["1"]');
    } finally {
      await gated.close();
    }
  });
});

describe('request ids over gRPC', () => {
  test("a caller's x-request-id (a KBS's) is the reqId of the call's log lines; a missing, too long or non-printable one is replaced by the AS's own", async () => {
    const { stream, lines } = jsonLines();
    const composed = await composeAs(parseAsConfig({}), { store: new MemoryStore(), log: createLogger({ stream }) });
    const listening = await startListeners(composed, { grpcSocket: '127.0.0.1:0' });
    const target = new AttestationServiceClient(listening.grpc?.address ?? '', grpc.credentials.createInsecure());
    // An empty request is refused (INVALID_ARGUMENT) with one `request refused` line.
    const refusedReqId = async (requestId: string | undefined): Promise<unknown> => {
      const metadata = new grpc.Metadata();
      if (requestId !== undefined) metadata.set(REQUEST_ID_METADATA, requestId);
      const evaluate = (target as unknown as Record<string, (request: object, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null) => void) => void>)['AttestationEvaluate'];
      const code = await new Promise((resolve) => evaluate?.call(target, { verification_requests: [], policy_ids: [] }, metadata, (error) => resolve(error?.code)));
      expect(code).toBe(grpc.status.INVALID_ARGUMENT);
      const refused = lines.filter((line) => line['msg'] === 'request refused' && line['route'] === 'grpc AttestationEvaluate');
      expect(refused.length).toBeGreaterThan(0);
      return refused.at(-1)?.['reqId'];
    };
    try {
      expect(await requestIdRuleViolations(refusedReqId, 'kbs7f3a-1c')).toEqual([]);
    } finally {
      target.close();
      await listening.close();
    }
  });
});

describe('request ids to a remote RVPS (rvps_config GrpcRemote)', () => {
  test("the request's id travels on with each reference value query of its evaluation (gRPC and REST) and with a forwarded QueryReferenceValue", async () => {
    // A stand-in RVPS that records the x-request-id of every query but the AS's health probe.
    const seen: Array<[string, unknown]> = [];
    const rvps = new grpc.Server();
    rvps.addService(referenceValueServiceDefinition, {
      QueryReferenceValue: (call: grpc.ServerUnaryCall<{ reference_value_id: string }, object>, callback: grpc.sendUnaryData<object>) => {
        if (call.request.reference_value_id !== '__healthcheck__') seen.push([call.request.reference_value_id, call.metadata.get(REQUEST_ID_METADATA)[0]]);
        callback(null, {});
      },
    });
    const port = await new Promise<number>((resolve, reject) => rvps.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))));
    const front = await composeAs(parseAsConfig({ rvps_config: { type: 'GrpcRemote', address: `127.0.0.1:${port}` } }), { store: new MemoryStore(), now: () => FIXTURE_NOW });
    const listening = await startListeners(front, { grpcSocket: '127.0.0.1:0' });
    const rest = buildAsRestServer(front);
    const target = new AttestationServiceClient(listening.grpc?.address ?? '', grpc.credentials.createInsecure());
    const reference = new ReferenceValueProviderServiceClient(listening.grpc?.address ?? '', grpc.credentials.createInsecure());
    const call = (on: grpc.Client, method: string, body: object, requestId: string): Promise<unknown> => {
      const metadata = new grpc.Metadata();
      metadata.set(REQUEST_ID_METADATA, requestId);
      const fn = (on as unknown as Record<string, (request: object, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response?: unknown) => void) => void>)[method];
      return new Promise((resolve, reject) => fn?.call(on, body, metadata, (error, response) => (error === null ? resolve(response) : reject(error))));
    };
    const idsOf = (from: number): unknown[] => [...new Set(seen.slice(from).map(([, id]) => id))];
    try {
      // default_cpu queries the sample TEE's reference values (launch_digest, svn, ...).
      let from = seen.length;
      await call(target, 'AttestationEvaluate', request({ tee: 'sample', evidence: b64urlJson(sampleEvidence()), structured_runtime_data: JSON.stringify(RUNTIME_DATA) }), 'kbs7f3a-1c');
      expect(seen.length).toBeGreaterThan(from);
      expect(idsOf(from)).toEqual(['kbs7f3a-1c']);

      from = seen.length;
      const response = await rest.inject({
        method: 'POST',
        url: '/attestation',
        headers: { 'x-request-id': 'rest-client-7' },
        payload: { verification_requests: [{ tee: 'sample', evidence: b64urlJson(sampleEvidence()), runtime_data: { structured: RUNTIME_DATA } }], policy_ids: [] },
      });
      expect(response.statusCode).toBe(200);
      expect(seen.length).toBeGreaterThan(from);
      expect(idsOf(from)).toEqual(['rest-client-7']);

      from = seen.length;
      expect(await call(reference, 'QueryReferenceValue', { reference_value_id: 'svn' }, 'kbs7f3a-2d')).not.toHaveProperty('reference_value_results');
      expect(seen.slice(from)).toEqual([['svn', 'kbs7f3a-2d']]);
    } finally {
      target.close();
      reference.close();
      await rest.close();
      await listening.close();
      rvps.forceShutdown();
    }
  });
});
