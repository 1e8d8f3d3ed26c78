/**
 * Invariant: one evaluate call verifies every evidence, appraises each claim set with
 * `<policy>_<class>` and returns an ES256 EAR whose structure, member order, trust vector and
 * status follow upstream; the signing key survives a restart on the same store.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { describe, expect, test } from 'vitest';
import { canonicalJson, type JsonObject } from '@trustee/protocol';
import { MemoryStore } from '@trustee/storage';
import { AttestationError } from './attestationError.ts';
import { createAttestationService, MAX_ANNOTATED_EVIDENCE_BYTES, MAX_TOKEN_CLAIMS_BYTES, type AttestationService, type VerificationRequest } from './attestationService.ts';
import { parseAttestationServiceConfig } from './config.ts';
import { SIGNING_KEY_NAME, SIGNING_KEY_NAMESPACE } from './token/tokenSigner.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const teePubKey = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA', y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs' };
const nonce = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

function sampleRequest(runtimeData: JsonObject, tee: 'sample' | 'sampledevice' = 'sample', svn = '1'): VerificationRequest {
  const digest = createHash('sha384').update(canonicalJson(runtimeData)).digest();
  return { tee, evidence: { svn, report_data: digest.toString('base64') }, runtimeData: { structured: runtimeData } };
}

const primaryRuntimeData = { 'tee-pubkey': teePubKey, nonce, 'additional-evidence': '' };

function rvMessage(values: Record<string, unknown>): string {
  return JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64') });
}

async function newService(options: { store?: MemoryStore; config?: unknown } = {}): Promise<AttestationService> {
  return createAttestationService({
    store: options.store ?? new MemoryStore(),
    config: parseAttestationServiceConfig(options.config ?? {}, 'attestation_service'),
    now: () => NOW,
  });
}

async function verifiedPayload(service: AttestationService, token: string): Promise<JsonObject> {
  const jwk = service.jwks().keys;
  const key = await importJWK((jwk as JsonObject[])[0] as Parameters<typeof importJWK>[0], 'ES256');
  const { payload } = await compactVerify(token, key, { algorithms: ['ES256'] });
  return JSON.parse(new TextDecoder().decode(payload)) as JsonObject;
}

function rawSegment(token: string, index: number): string {
  return Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8');
}

async function failure(promise: Promise<unknown>): Promise<AttestationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AttestationError) return error;
    throw error;
  }
  throw new Error('expected an AttestationError');
}

describe('createAttestationService: EAR token', () => {
  test('sample with nothing registered → hardware 97, contraindicated, exact structure and order', async () => {
    const service = await newService();
    const token = await service.evaluate([sampleRequest(primaryRuntimeData)], ['default']);

    const header = rawSegment(token, 0);
    const jwk = service.jwks().keys as JsonObject[];
    expect(header).toBe(JSON.stringify({ typ: 'JWT', alg: 'ES256', jwk: jwk[0] }));
    expect(Object.keys(jwk[0]!)).toEqual(['kty', 'crv', 'alg', 'x', 'y']);
    expect(Buffer.from(jwk[0]!.x as string, 'base64url')).toHaveLength(32);
    expect(Buffer.from(jwk[0]!.y as string, 'base64url')).toHaveLength(32);

    const payload = await verifiedPayload(service, token);
    expect(Object.keys(payload)).toEqual(['eat_profile', 'iat', 'ear.verifier-id', 'submods', 'exp', 'iss']);
    const iat = Math.floor(NOW.getTime() / 1000);
    expect(payload).toMatchObject({
      eat_profile: 'tag:github.com,2024:confidential-containers/Trustee',
      iat,
      'ear.verifier-id': { developer: 'https://confidentialcontainers.org', build: 'attestation-service 0.1.0' },
      exp: iat + 300,
      iss: 'CoCo-Attestation-Service',
    });
    expect(Object.keys(payload['ear.verifier-id'] as JsonObject)).toEqual(['developer', 'build']);
    const cpu0 = (payload.submods as JsonObject).cpu0 as JsonObject;
    expect(Object.keys(cpu0)).toEqual([
      'ear.status',
      'ear.trustworthiness-vector',
      'ear.appraisal-policy-id',
      'ear.veraison.annotated-evidence',
      'ear.trustee.identifiers',
    ]);
    expect(cpu0['ear.status']).toBe('contraindicated');
    expect(cpu0['ear.trustworthiness-vector']).toEqual({
      'instance-identity': 0,
      configuration: 2,
      executables: 33,
      'file-system': 0,
      hardware: 97,
      'runtime-opaque': 0,
      'storage-opaque': 0,
      'sourced-data': 0,
    });
    expect(Object.keys(cpu0['ear.trustworthiness-vector'] as JsonObject)).toEqual([
      'instance-identity',
      'configuration',
      'executables',
      'file-system',
      'hardware',
      'runtime-opaque',
      'storage-opaque',
      'sourced-data',
    ]);
    expect(cpu0['ear.appraisal-policy-id']).toBe('default');
    const evidence = cpu0['ear.veraison.annotated-evidence'] as JsonObject;
    expect(Object.keys(evidence)).toEqual(['report_data', 'runtime_data_claims', 'sample']);
    expect(evidence.runtime_data_claims).toEqual(primaryRuntimeData);
    expect(evidence.sample).toEqual({ svn: '1', launch_digest: 'abcde', platform_version: { major: 1, minor: 4 }, debug: false });
    expect(cpu0['ear.trustee.identifiers']).toEqual({ validated: {} });
  });

  test('sample with all reference values registered → affirming 3/2/2', async () => {
    const service = await newService();
    await service.registerReferenceValue(rvMessage({ launch_digest: ['abcde'], svn: ['1'], major_version: 1, minimum_minor_version: 4 }));
    const payload = await verifiedPayload(service, await service.evaluate([sampleRequest(primaryRuntimeData)], ['default']));
    const cpu0 = (payload.submods as JsonObject).cpu0 as JsonObject;
    expect(cpu0['ear.status']).toBe('affirming');
    expect(cpu0['ear.trustworthiness-vector']).toMatchObject({ executables: 3, hardware: 2, configuration: 2 });
  });

  test.each<[string, Record<string, unknown>, number, number]>([
    ['wrong svn', { launch_digest: ['abcde'], svn: ['2'], major_version: 1, minimum_minor_version: 4 }, 3, 97],
    ['minor version too new', { launch_digest: ['abcde'], svn: ['1'], major_version: 1, minimum_minor_version: 5 }, 3, 97],
    ['svn as a scalar, not a list', { launch_digest: ['abcde'], svn: '1', major_version: 1, minimum_minor_version: 4 }, 3, 97],
    ['major wrapped in a list', { launch_digest: ['abcde'], svn: ['1'], major_version: [1], minimum_minor_version: 4 }, 3, 97],
    ['launch digest unknown', { launch_digest: ['x'], svn: ['1'], major_version: 1, minimum_minor_version: 4 }, 33, 2],
  ])('sample default policy: %s', async (_name, values, executables, hardware) => {
    const service = await newService();
    await service.registerReferenceValue(rvMessage(values));
    const payload = await verifiedPayload(service, await service.evaluate([sampleRequest(primaryRuntimeData)], ['default']));
    const vector = ((payload.submods as JsonObject).cpu0 as JsonObject)['ear.trustworthiness-vector'] as JsonObject;
    expect(vector.executables).toBe(executables);
    expect(vector.hardware).toBe(hardware);
  });

  test('submods are named per class: cpu0, gpu0, gpu1', async () => {
    const service = await newService();
    const device = { nonce, 'tee-pubkey': teePubKey };
    const token = await service.evaluate(
      [sampleRequest(primaryRuntimeData), sampleRequest(device, 'sampledevice', '2'), sampleRequest(device, 'sampledevice', '3')],
      ['default'],
    );
    const payload = await verifiedPayload(service, token);
    const submods = payload.submods as JsonObject;
    expect(Object.keys(submods)).toEqual(['cpu0', 'gpu0', 'gpu1']);
    const gpu1 = submods.gpu1 as JsonObject;
    expect((gpu1['ear.veraison.annotated-evidence'] as JsonObject).sampledevice).toEqual({ svn: '3' });
    expect(gpu1['ear.status']).toBe('contraindicated');
    await service.registerReferenceValue(rvMessage({ device_svn: ['2'] }));
    const again = await verifiedPayload(service, await service.evaluate([sampleRequest(device, 'sampledevice', '2')], ['default']));
    expect(((again.submods as JsonObject).gpu0 as JsonObject)['ear.trustworthiness-vector']).toMatchObject({ hardware: 2 });
  });

  test('init-data TOML: digest reaches the verifier, claims reach the token, identifiers extension', async () => {
    const service = await newService();
    const policy = 'policy_data := {"containers": [{"OCI": {"Annotations": {"io.kubernetes.cri.image-name": "nginx"}, "Process": {"User": {"UID": 0}}}}]}';
    const toml = `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = '''\n${policy}\n'''\n`;
    const request = { ...sampleRequest(primaryRuntimeData), initData: { toml } };
    const cpu0 = ((await verifiedPayload(service, await service.evaluate([request], ['default']))).submods as JsonObject).cpu0 as JsonObject;
    const evidence = cpu0['ear.veraison.annotated-evidence'] as JsonObject;
    expect(Object.keys(evidence)).toEqual(['init_data', 'init_data_claims', 'report_data', 'runtime_data_claims', 'sample']);
    expect(evidence.init_data).toBe(createHash('sha256').update(toml).digest('base64'));
    expect(evidence.init_data_claims).toEqual({ agent_policy_claims: { containers: [{ OCI: { Annotations: { 'io.kubernetes.cri.image-name': 'nginx' }, Process: { User: { UID: 0 } } } }] } });
    expect(cpu0['ear.trustee.identifiers']).toEqual({ validated: { container_images: ['nginx'], container_uids: [0] } });
  });

  test('verbose_token = false drops additional-evidence from runtime_data_claims', async () => {
    const service = await newService({ config: { attestation_token_broker: { verbose_token: false, duration_min: 1, issuer_name: 'test-as' } } });
    const payload = await verifiedPayload(service, await service.evaluate([sampleRequest(primaryRuntimeData)], ['default']));
    const evidence = ((payload.submods as JsonObject).cpu0 as JsonObject)['ear.veraison.annotated-evidence'] as JsonObject;
    expect(evidence.runtime_data_claims).toEqual({ 'tee-pubkey': teePubKey, nonce });
    expect(payload.exp).toBe((payload.iat as number) + 60);
    expect(payload.iss).toBe('test-as');
  });

  test('report_data bound to other runtime data fails the whole call', async () => {
    const service = await newService();
    const request = { ...sampleRequest(primaryRuntimeData), runtimeData: { structured: { ...primaryRuntimeData, nonce: 'other' } } };
    const error = await failure(service.evaluate([request], ['default']));
    expect(error.code).toBe('verification_failed');
    const second = await failure(service.evaluate([sampleRequest(primaryRuntimeData), { ...request, tee: 'sampledevice' }], ['default']));
    expect(second.code).toBe('verification_failed');
  });

  test.each<[string, () => [VerificationRequest[], string[]], string]>([
    ['no requests', () => [[], ['default']], 'invalid_request'],
    ['unsupported TEE', () => [[{ ...sampleRequest(primaryRuntimeData), tee: 'cca' }], ['default']], 'unsupported_tee'],
    ['missing class policy', () => [[sampleRequest(primaryRuntimeData)], ['custom']], 'policy_not_found'],
    ['bad init-data', () => [[{ ...sampleRequest(primaryRuntimeData), initData: { toml: 'x' } }], ['default']], 'invalid_init_data'],
  ])('rejects %s', async (_name, build, code) => {
    const service = await newService();
    const [requests, ids] = build();
    expect((await failure(service.evaluate(requests, ids))).code).toBe(code);
  });

  test('claims copied into a token are bounded per submodule and per token (invalid_request, no token)', async () => {
    const service = await newService();
    const bigInit = `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = '''\n${'x'.repeat(MAX_ANNOTATED_EVIDENCE_BYTES)}\n'''\n`;
    const tooBig = await failure(service.evaluate([{ ...sampleRequest(primaryRuntimeData), initData: { toml: bigInit } }], ['default']));
    expect(tooBig.code).toBe('invalid_request');
    expect(tooBig.message).toContain(`at most ${MAX_ANNOTATED_EVIDENCE_BYTES} per submodule`);
    // Each submodule fits, together they do not.
    const half = { ...primaryRuntimeData, 'additional-evidence': 'y'.repeat(MAX_TOKEN_CLAIMS_BYTES / 2) };
    const device = { nonce, 'tee-pubkey': teePubKey, pad: 'z'.repeat(MAX_TOKEN_CLAIMS_BYTES / 2) };
    const together = await failure(service.evaluate([sampleRequest(half), sampleRequest(device, 'sampledevice')], ['default']));
    expect(together.code).toBe('invalid_request');
    expect(together.message).toContain(`${MAX_TOKEN_CLAIMS_BYTES} per token`);
  });

  test('empty policy id list means default; the appraisal policy id is the first id', async () => {
    const service = await newService();
    await service.setPolicy('custom_cpu', 'package policy\n\ntrust_claims := {"hardware": 2}\n');
    const custom = await verifiedPayload(service, await service.evaluate([sampleRequest(primaryRuntimeData)], ['custom', 'ignored']));
    const cpu0 = (custom.submods as JsonObject).cpu0 as JsonObject;
    expect(cpu0['ear.appraisal-policy-id']).toBe('custom');
    expect(cpu0['ear.trustworthiness-vector']).toEqual({ hardware: 2 });
    expect(cpu0['ear.status']).toBe('affirming');
    expect(Object.keys(cpu0)).not.toContain('ear.trustee.identifiers');
    const defaulted = await verifiedPayload(service, await service.evaluate([sampleRequest(primaryRuntimeData)], []));
    expect(((defaulted.submods as JsonObject).cpu0 as JsonObject)['ear.appraisal-policy-id']).toBe('default');
  });
});

describe('createAttestationService: trust_claims / extensions rule semantics', () => {
  test.each<[string, string, Record<string, number> | string]>([
    ['rule absent → all 8 claims 0, status none', 'allow := true', { 'instance-identity': 0, configuration: 0, executables: 0, 'file-system': 0, hardware: 0, 'runtime-opaque': 0, 'storage-opaque': 0, 'sourced-data': 0 }],
    ['defined but undefined → error', 'trust_claims := {"hardware": 2} if { false }', 'invalid_policy_result'],
    ['non-object → error', 'trust_claims := [2]', 'invalid_policy_result'],
    ['empty object → error', 'trust_claims := {}', 'invalid_policy_result'],
    ['unknown key → typed error', 'trust_claims := {"hardwar": 2}', 'invalid_policy_result'],
    ['float → error', 'trust_claims := {"hardware": 2.5}', 'invalid_policy_result'],
    ['i8 wrap 200 → -56', 'trust_claims := {"hardware": 200}', { hardware: -56 }],
    ['conflicting values → evaluation error', 'default x := 1\nx := 2 if { true }\nx := 3 if { true }\ntrust_claims := {"hardware": x}', 'policy_evaluation_failed'],
    ['extensions not a list → error', 'trust_claims := {"hardware": 2}\nextensions := {"name": "x"}', 'invalid_policy_result'],
  ])('%s', async (_name, rules, expected) => {
    const service = await newService();
    await service.setPolicy('t_cpu', `package policy\n\nimport rego.v1\n\n${rules}\n`);
    const outcome = service.evaluate([sampleRequest(primaryRuntimeData)], ['t']);
    if (typeof expected === 'string') {
      expect((await failure(outcome)).code).toBe(expected);
      return;
    }
    const cpu0 = ((await verifiedPayload(service, await outcome)).submods as JsonObject).cpu0 as JsonObject;
    expect(cpu0['ear.trustworthiness-vector']).toEqual(expected);
  });

  test('extensions are emitted after the fixed members, sorted by name', async () => {
    const service = await newService();
    await service.setPolicy(
      't_cpu',
      'package policy\n\ntrust_claims := {"hardware": 2}\nextensions := [{"name": "z.ext", "key": -2, "value": 1}, {"name": "a.ext", "key": -1, "value": {"k": true}}]\n',
    );
    const cpu0 = ((await verifiedPayload(service, await service.evaluate([sampleRequest(primaryRuntimeData)], ['t']))).submods as JsonObject).cpu0 as JsonObject;
    expect(Object.keys(cpu0).slice(-2)).toEqual(['a.ext', 'z.ext']);
    expect(cpu0['a.ext']).toEqual({ k: true });
  });

  test('query_reference_value values that depend on other values are resolved', async () => {
    const service = await newService();
    await service.registerReferenceValue(rvMessage({ pointer: 'target', target: ['1'] }));
    await service.setPolicy(
      't_cpu',
      'package policy\n\nimport rego.v1\n\ndefault hardware := 97\nhardware := 2 if { input.sample.svn in query_reference_value(query_reference_value("pointer")) }\ntrust_claims := {"hardware": hardware}\n',
    );
    for (let round = 0; round < 2; round++) {
      const cpu0 = ((await verifiedPayload(service, await service.evaluate([sampleRequest(primaryRuntimeData)], ['t']))).submods as JsonObject).cpu0 as JsonObject;
      expect(cpu0['ear.trustworthiness-vector']).toEqual({ hardware: 2 });
    }
  });
});

describe('createAttestationService: policies', () => {
  test('defaults are stored at startup without overwriting user edits', async () => {
    const store = new MemoryStore();
    const first = await newService({ store });
    expect(await first.listPolicies()).toEqual(['default_cpu', 'default_gpu', 'default_ppcie', 'default_switch']);
    const custom = 'package policy\n\ntrust_claims := {"hardware": 3}\n';
    await first.setPolicy('default_cpu', custom);
    const second = await newService({ store });
    expect(await second.getPolicy('default_cpu')).toBe(custom);
  });

  test('a policy replaced through another service on the same store (another worker or replica) appraises the next evaluation', async () => {
    const store = new MemoryStore();
    const worker = await newService({ store });
    const admin = await newService({ store });
    const vector = async (): Promise<unknown> =>
      (((await verifiedPayload(worker, await worker.evaluate([sampleRequest(primaryRuntimeData)], ['t']))).submods as JsonObject).cpu0 as JsonObject)['ear.trustworthiness-vector'];
    await admin.setPolicy('t_cpu', 'package policy\n\ntrust_claims := {"hardware": 2}\n');
    expect(await vector()).toEqual({ hardware: 2 });
    expect(await vector()).toEqual({ hardware: 2 });
    await admin.setPolicy('t_cpu', 'package policy\n\ntrust_claims := {"hardware": 97}\n');
    expect(await vector()).toEqual({ hardware: 97 });
    // Back to a text compiled before: still the stored text that decides.
    await admin.setPolicy('t_cpu', 'package policy\n\ntrust_claims := {"hardware": 2}\n');
    expect(await vector()).toEqual({ hardware: 2 });
    expect(await admin.deletePolicy('t_cpu')).toBe(true);
    expect((await failure(worker.evaluate([sampleRequest(primaryRuntimeData)], ['t']))).code).toBe('policy_not_found');
  });

  test('CRUD and syntax check', async () => {
    const service = await newService();
    await service.setPolicy('mine', 'package policy\n\nallow := true\n');
    expect(await service.getPolicy('mine')).toBe('package policy\n\nallow := true\n');
    expect(await service.listPolicies()).toContain('mine');
    expect(await service.deletePolicy('mine')).toBe(true);
    expect(await service.deletePolicy('mine')).toBe(false);
    expect(await service.getPolicy('mine')).toBeUndefined();
    const bad = await failure(service.setPolicy('mine', 'package policy\n\nallow {\n'));
    expect(bad.code).toBe('invalid_policy');
    const v0 = await failure(service.setPolicy('mine', 'package policy\n\nallow { true }\n'));
    expect(v0.code).toBe('invalid_policy');
    expect((await failure(service.setPolicy('../x', 'package policy\n'))).code).toBe('invalid_policy');
    const unsafe = await failure(service.setPolicy('mine', 'package policy\n\nimport rego.v1\n\nallow if { x == 1 }\n'));
    expect(unsafe.code).toBe('invalid_policy');
    const unknownFunction = await failure(service.setPolicy('mine', 'package policy\n\nimport rego.v1\n\nallow if { no_such_fn(1) }\n'));
    expect(unknownFunction.code).toBe('invalid_policy');
    await service.setPolicy('mine', 'package policy\n\nimport rego.v1\n\nallow if { query_reference_value("a") == 1 }\n');
  });

  test('every default policy parses', async () => {
    const service = await newService();
    for (const id of await service.listPolicies()) await service.setPolicy(`copy_${id}`, (await service.getPolicy(id))!);
  });
});

describe('createAttestationService: signing key', () => {
  test('the generated key is persisted and reused by a new service on the same store', async () => {
    const store = new MemoryStore();
    const first = await newService({ store });
    const token = await first.evaluate([sampleRequest(primaryRuntimeData)], ['default']);
    expect(await store.get(SIGNING_KEY_NAMESPACE, SIGNING_KEY_NAME)).toBeDefined();
    const second = await newService({ store });
    expect(second.jwks()).toEqual(first.jwks());
    await verifiedPayload(second, token);
    const third = await newService();
    expect(third.jwks()).not.toEqual(first.jwks());
    await expect(verifiedPayload(third, token)).rejects.toThrow();
  });

  test('a configured P-256 key and certificate URL are used', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-signer-'));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyPath = join(dir, 'key.pem');
    writeFileSync(keyPath, privateKey.export({ type: 'sec1', format: 'pem' }));
    const service = await newService({ config: { attestation_token_broker: { signer: { key_path: keyPath, cert_url: 'https://as.example/cert.pem' } } } });
    const jwk = (service.jwks().keys as JsonObject[])[0]!;
    expect(jwk.x5u).toBe('https://as.example/cert.pem');
    expect(createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string }, format: 'jwk' }).equals(createPublicKey(privateKey))).toBe(true);
    const token = await service.evaluate([sampleRequest(primaryRuntimeData)], ['default']);
    expect(decodeProtectedHeader(token).jwk).toEqual(jwk);
  });

  test.each<[string, () => string]>([
    ['P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['Ed25519', () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
  ])('a configured %s key is a startup error', async (_name, makePem) => {
    const dir = mkdtempSync(join(tmpdir(), 'as-signer-'));
    const keyPath = join(dir, 'key.pem');
    writeFileSync(keyPath, makePem());
    const error = await failure(newService({ config: { attestation_token_broker: { signer: { key_path: keyPath } } } }));
    expect(error.message).toBe('Only P-256 attestation token signing keys are supported');
  });

  test('an unreadable key path is a startup error', async () => {
    const error = await failure(newService({ config: { attestation_token_broker: { signer: { key_path: '/nonexistent/key.pem' } } } }));
    expect(error.code).toBe('invalid_config');
  });

  test('empty build_name makes issuance fail like upstream', async () => {
    const service = await newService({ config: { attestation_token_broker: { build_name: '' } } });
    expect((await failure(service.evaluate([sampleRequest(primaryRuntimeData)], ['default']))).code).toBe('token_issue_failed');
  });
});
