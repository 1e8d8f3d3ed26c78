/**
 * Invariant (issue 8, findings 9–13): the AS, the RVPS and a passport KBS, run as real processes
 * and probed as an attacker would, fail safe:
 * - 9: the AS's ListReferenceValues / DeleteReferenceValue never answer without the admin token
 *   (PERMISSION_DENIED without an `admin` section, UNAUTHENTICATED with one); with
 *   `admin.protect_policies` / `protect_register` policy and registration calls need it too, on
 *   gRPC and REST, and the standalone RVPS gates registration the same way.
 * - 10: a reference value nested 3,000 or 10,000 deep is refused with a 4xx naming the rule (no
 *   500, no stack overflow), and appraisals keep working afterwards.
 * - 11: a passport KBS accepts a token only from an x5c leaf that may sign, under RFC 5280 path
 *   rules; 12: a token whose `nbf` is an hour ahead is refused.
 * - 13: an AS with a remote RVPS forwards the caller's credentials and keeps the RVPS's statuses
 *   (UNAUTHENTICATED stays UNAUTHENTICATED, not a retryable UNAVAILABLE); a CoRIM with a 2^64
 *   length gets our error text, not the CBOR library's.
 */
import 'reflect-metadata';
import { webcrypto, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { AttestationServiceClient, ReferenceValueProviderServiceClient } from '@trustee/grpc';
import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kbsConfigToml } from './harness/configs.ts';
import { describeResponse, expectErrorInformation } from './harness/errors.ts';
import { startAs, startKbs, startRvps, type AsProcess, type KbsProcess, type RvpsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys, writeSignerChain } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { IndependentGuest } from './independent/guest.ts';
import { httpRequest, jsonBody } from './independent/http.ts';
import { IndependentOperator, mintAdminToken, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

type X509Crypto = Parameters<typeof x509.cryptoProvider.set>[0];
type X509KeyPair = x509.X509CertificateCreateSelfSignedParams['keys'];
type X509Key = x509.X509CertificateCreateWithKeyParams['signingKey'];
type UnaryMethod = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: unknown) => void) => void;

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

/** One unary call; resolves `{ok}` or `{code, details}` (never throws for a gRPC status). */
function call(client: grpc.Client, method: string, request: object, authorization?: string): Promise<{ ok?: unknown; code?: grpc.status; details?: string }> {
  return new Promise((resolve) => {
    const fn = (client as unknown as Record<string, UnaryMethod>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    const metadata = new grpc.Metadata();
    if (authorization !== undefined) metadata.set('authorization', authorization);
    fn.call(client, request, metadata, { deadline: Date.now() + 30_000 }, (error, response) =>
      resolve(error === null ? { ok: response } : { code: error.code, details: error.details }),
    );
  });
}

function sampleMessage(payloadJson: string): string {
  return JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(payloadJson).toString('base64') });
}

const nested = (depth: number): string => `{"svn": ${'['.repeat(depth)}"1"${']'.repeat(depth)}}`;

/** A CoRIM (tag 501) whose first item declares an array of 2^64-1 elements. */
const HUGE_LENGTH_CORIM = JSON.stringify({ version: '0.1.0', type: 'corim', payload: Buffer.from([0xd9, 0x01, 0xf5, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).toString('base64') });

/** Sample evidence without runtime data, as a REST /attestation body. */
const SAMPLE_ATTESTATION = JSON.stringify({
  verification_requests: [{ tee: 'sample', evidence: Buffer.from(JSON.stringify({ svn: '1', report_data: '' })).toString('base64url') }],
  policy_ids: [],
});

describe.skipIf(!capabilities.as || !capabilities.rvps)('hostile callers against the AS and RVPS processes (findings 9, 10, 13)', () => {
  let dir: string;
  let adminKey: KeyObject;
  let adminPublicKeyPath: string;
  let openAs: AsProcess;
  let gatedAs: AsProcess;
  let rvps: RvpsProcess;
  let frontAs: AsProcess;
  const clients: grpc.Client[] = [];
  const bearer = (): string => `Bearer ${mintAdminToken(adminKey, { expiresIn: 600 })}`;
  const foreignBearer = (): string => `Bearer ${mintAdminToken(writeAdminKeys(dir, 'foreign').privateKey, { expiresIn: 600 })}`;

  function clientsOf(service: AsProcess | RvpsProcess): { attestation: grpc.Client; reference: grpc.Client } {
    const attestation = new AttestationServiceClient(service.grpcAddress, grpc.credentials.createInsecure());
    const reference = new ReferenceValueProviderServiceClient(service.grpcAddress, grpc.credentials.createInsecure());
    clients.push(attestation, reference);
    return { attestation, reference };
  }

  function sub(name: string): string {
    const path = join(dir, name);
    mkdirSync(path, { recursive: true });
    return path;
  }

  beforeAll(async () => {
    dir = makeTempDir();
    const admin = writeAdminKeys(dir);
    adminKey = admin.privateKey;
    adminPublicKeyPath = admin.publicKeyPath;
    const bearerJwt = { identity_providers: [{ issuer: 'TrusteeInDocker', public_key_uri: adminPublicKeyPath }] };
    [openAs, gatedAs, rvps] = await Promise.all([
      // Upstream's default: builtin RVPS, no admin section.
      startAs({ rvps_config: { type: 'BuiltIn' } }, { dir: sub('open-as') }),
      startAs({ rvps_config: { type: 'BuiltIn' }, admin: { bearer_jwt: bearerJwt, protect_policies: true, protect_register: true } }, { dir: sub('gated-as') }),
      startRvps({ storage: { storage_type: 'Memory' }, admin: { bearer_jwt: bearerJwt, protect_register: true } }, { dir: sub('rvps') }),
    ]);
    // An AS without an admin section in front of the RVPS: the RVPS decides on its admin calls.
    frontAs = await startAs({ rvps_config: { type: 'GrpcRemote', address: `http://${rvps.grpcAddress}` } }, { dir: sub('front-as') });
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all([openAs?.stop(), gatedAs?.stop(), rvps?.stop(), frontAs?.stop()]);
    if (dir !== undefined) removeTempDir(dir);
  });

  it('finding 9: with rvps_config BuiltIn and no admin section, List/Delete answer PERMISSION_DENIED to anyone and delete nothing', async () => {
    const { reference } = clientsOf(openAs);
    expect((await call(reference, 'RegisterReferenceValue', { message: sampleMessage('{"launch_digest": ["abcde"]}') })).ok).toBeDefined();
    for (const authorization of [undefined, bearer()]) {
      expect((await call(reference, 'ListReferenceValues', {}, authorization)).code).toBe(grpc.status.PERMISSION_DENIED);
      expect((await call(reference, 'DeleteReferenceValue', { reference_value_id: 'launch_digest' }, authorization)).code).toBe(grpc.status.PERMISSION_DENIED);
    }
    expect((await call(reference, 'QueryReferenceValue', { reference_value_id: 'launch_digest' })).ok).toMatchObject({ reference_value_results: '["abcde"]' });
    expect(openAs.output()).toMatch(/WARNING: .*answer ANYONE who can reach this AS/);
  });

  it('finding 9: with admin.protect_* every call that changes or reveals policies or reference values needs the admin token, on gRPC and REST', async () => {
    const { attestation, reference } = clientsOf(gatedAs);
    const policy = { policy_id: 'hostile', policy: Buffer.from('package policy\ndefault allow := true\n').toString('base64url') };
    const calls: Array<[grpc.Client, string, object]> = [
      [attestation, 'SetAttestationPolicy', policy],
      [attestation, 'GetAttestationPolicy', { policy_id: 'hostile' }],
      [attestation, 'ListAttestationPolicies', {}],
      [attestation, 'DeleteAttestationPolicy', { policy_id: 'hostile' }],
      [reference, 'RegisterReferenceValue', { message: sampleMessage('{"svn": ["9"]}') }],
      [reference, 'ListReferenceValues', {}],
      [reference, 'DeleteReferenceValue', { reference_value_id: 'svn' }],
    ];
    for (const authorization of [undefined, foreignBearer(), 'Bearer not.a.jwt']) {
      for (const [client, method, request] of calls) {
        const answer = await call(client, method, request, authorization);
        expect(answer.code, `${method} ${String(authorization).slice(0, 10)}: ${answer.details ?? 'ok'}`).toBe(grpc.status.UNAUTHENTICATED);
      }
      const rest = await httpRequest(gatedAs.restUrl, {
        method: 'POST',
        path: '/policy',
        headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
        body: JSON.stringify(policy),
      });
      expect(rest.status, describeResponse(rest)).toBe(401);
      expect(jsonBody(rest)).toMatchObject({ type: 'unauthenticated' });
      expect((await httpRequest(gatedAs.restUrl, { method: 'GET', path: '/policy', headers: authorization === undefined ? {} : { authorization } })).status).toBe(401);
    }
    expect((await call(reference, 'QueryReferenceValue', { reference_value_id: 'svn' })).ok).toEqual({});
    for (const [client, method, request] of calls) {
      const answer = await call(client, method, request, bearer());
      expect(answer.code, `${method}: ${answer.details ?? ''}`).toBeUndefined();
    }
    // Appraisal stays open.
    const token = await httpRequest(gatedAs.restUrl, { method: 'POST', path: '/attestation', headers: { 'content-type': 'application/json' }, body: SAMPLE_ATTESTATION });
    expect(token.status, describeResponse(token)).toBe(200);
  });

  it('finding 9: the standalone RVPS with admin.bearer_jwt and protect_register refuses registration without the admin token', async () => {
    const { reference } = clientsOf(rvps);
    const message = { message: sampleMessage('{"gated": ["1"]}') };
    expect((await call(reference, 'RegisterReferenceValue', message)).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await call(reference, 'RegisterReferenceValue', message, foreignBearer())).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await call(reference, 'QueryReferenceValue', { reference_value_id: 'gated' })).ok).toEqual({});
    expect((await call(reference, 'RegisterReferenceValue', message, bearer())).ok).toEqual({});
  });

  it('finding 10: sample values nested 3,000 and 10,000 deep are refused with a 4xx naming the rule; appraisals keep working', async () => {
    const { reference } = clientsOf(openAs);
    for (const depth of [3000, 10_000]) {
      const answer = await call(reference, 'RegisterReferenceValue', { message: sampleMessage(nested(depth)) });
      expect(answer.code, answer.details).toBe(grpc.status.INVALID_ARGUMENT);
      expect(answer.details).toContain('reference value "svn": value is nested deeper than 32 levels');
      const direct = await httpRequest(rvps.restUrl, {
        method: 'POST',
        path: '/reference-value',
        headers: { 'content-type': 'application/json', authorization: bearer() },
        body: sampleMessage(nested(depth)),
      });
      expect(direct.status, describeResponse(direct)).toBe(400);
      expect(direct.body.toString()).toContain('nested deeper than 32 levels');
    }
    for (const [payload, text] of [
      ['{"svn": null}', 'null is not a reference value'],
      ['{"svn": ["1", null]}', 'null is not a reference value'],
    ] as const) {
      const answer = await call(reference, 'RegisterReferenceValue', { message: sampleMessage(payload) });
      expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(answer.details).toContain(text);
    }
    expect(openAs.output() + rvps.output()).not.toMatch(/Maximum call stack|RangeError/);
    expect((await call(reference, 'QueryReferenceValue', { reference_value_id: 'svn' })).ok).toEqual({});
    for (let round = 0; round < 3; round += 1) {
      const token = await httpRequest(openAs.restUrl, { method: 'POST', path: '/attestation', headers: { 'content-type': 'application/json' }, body: SAMPLE_ATTESTATION });
      expect(token.status, describeResponse(token)).toBe(200);
    }
  });

  it('finding 13: through an AS with a remote RVPS the caller\'s credentials reach the RVPS and its statuses stay what they are', async () => {
    const { reference } = clientsOf(frontAs);
    expect((await call(reference, 'RegisterReferenceValue', { message: sampleMessage('{"remote": ["1"]}') }, bearer())).ok).toEqual({});
    for (const [method, request] of [
      ['ListReferenceValues', {}],
      ['DeleteReferenceValue', { reference_value_id: 'remote' }],
      ['RegisterReferenceValue', { message: sampleMessage('{"remote": ["2"]}') }],
    ] as const) {
      for (const authorization of [undefined, foreignBearer()]) {
        const answer = await call(reference, method, request, authorization);
        expect(answer.code, `${method}: ${answer.details ?? 'ok'}`).toBe(grpc.status.UNAUTHENTICATED);
        expect(answer.details).toMatch(/^unauthenticated: /);
        expect(answer.details).not.toMatch(/rvps_unavailable|UNAVAILABLE after/);
      }
    }
    const listed = await call(reference, 'ListReferenceValues', {}, bearer());
    expect((listed.ok as { reference_values: string[] }).reference_values.map((text) => (JSON.parse(text) as { name: string }).name)).toContain('remote');
    const invalid = await call(reference, 'RegisterReferenceValue', { message: '{"version":"9.9.9","type":"sample","payload":""}' }, bearer());
    expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(invalid.details).toContain('Version unmatched!');
    expect((await call(reference, 'DeleteReferenceValue', { reference_value_id: 'remote' }, bearer())).ok).toEqual({ deleted: true });
    const rest = await httpRequest(frontAs.restUrl, { method: 'GET', path: '/healthz' });
    expect(rest.status).toBe(200);
  });

  it('finding 13: a CoRIM declaring a 2^64-element array is refused in our words, on the AS and the RVPS', async () => {
    for (const [client, authorization] of [
      [clientsOf(openAs).reference, undefined],
      [clientsOf(frontAs).reference, bearer()],
    ] as const) {
      const answer = await call(client, 'RegisterReferenceValue', { message: HUGE_LENGTH_CORIM }, authorization);
      expect(answer.code, answer.details).toBe(grpc.status.INVALID_ARGUMENT);
      expect(answer.details).toContain('corim: CoRIM is not well-formed CBOR: an array, map or string declares a length larger than the document');
      expect(answer.details).not.toMatch(/4294967295|JavaScript/);
    }
  });
});

describe.skipIf(!capabilities.kbs)('hostile tokens against a passport KBS (findings 11, 12)', () => {
  let dir: string;
  let kbs: KbsProcess;
  let root: { keys: webcrypto.CryptoKeyPair; cert: x509.X509Certificate };
  let intermediate: { keys: webcrypto.CryptoKeyPair; cert: x509.X509Certificate };
  const teeKey = generateTeeKey('P-256');
  const guest = (): IndependentGuest => new IndependentGuest(kbs.url, teeKey);
  let serial = 16;

  async function certificate(
    subject: string,
    issuer: { keys: webcrypto.CryptoKeyPair; cert: x509.X509Certificate } | undefined,
    extensions: x509.Extension[],
    validity: { notBefore: Date; notAfter: Date } = { notBefore: new Date(Date.now() - DAY_MS), notAfter: new Date(Date.now() + 30 * DAY_MS) },
  ): Promise<{ keys: webcrypto.CryptoKeyPair; cert: x509.X509Certificate }> {
    const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    serial += 1;
    const common = { serialNumber: serial.toString(16).padStart(2, '0'), ...validity, signingAlgorithm: EC, extensions };
    const cert =
      issuer === undefined
        ? await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: subject, keys: keys as unknown as X509KeyPair })
        : await x509.X509CertificateGenerator.create({ ...common, subject, issuer: issuer.cert.subject, publicKey: keys.publicKey as unknown as X509Key, signingKey: issuer.keys.privateKey as unknown as X509Key });
    return { keys, cert };
  }

  const ca = (pathLength?: number): x509.Extension[] => [new x509.BasicConstraintsExtension(true, pathLength, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)];
  const endEntity = (usages: number, ...ekus: string[]): x509.Extension[] => [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usages, true),
    ...(ekus.length === 0 ? [] : [new x509.ExtendedKeyUsageExtension(ekus)]),
  ];

  /** An EAR-shaped token signed by `signer`, its x5c = `chain`, binding the guest's TEE key. */
  async function token(signer: { keys: webcrypto.CryptoKeyPair; cert: x509.X509Certificate }, chain: x509.X509Certificate[], times: { nbf?: number } = {}): Promise<string> {
    const jwk = await webcrypto.subtle.exportKey('jwk', signer.keys.publicKey);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iat: now,
      exp: now + 300,
      ...(times.nbf === undefined ? {} : { nbf: times.nbf }),
      iss: 'hostile-e2e',
      submods: { cpu0: { 'ear.status': 'affirming', 'ear.veraison.annotated-evidence': { runtime_data_claims: { 'tee-pubkey': teeKey.publicJwk } } } },
    };
    const header = { alg: 'ES256', typ: 'JWT', jwk: { kty: 'EC', crv: 'P-256', x: jwk.x ?? '', y: jwk.y ?? '', alg: 'ES256', x5c: chain.map((cert) => Buffer.from(cert.rawData).toString('base64')) } };
    return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header).sign(signer.keys.privateKey);
  }

  beforeAll(async () => {
    x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);
    dir = makeTempDir();
    root = await certificate('CN=hostile-e2e root', undefined, ca(1));
    intermediate = await certificate('CN=hostile-e2e intermediate', root, ca(0));
    const rootPath = join(dir, 'trusted-root.pem');
    writeFileSync(rootPath, root.cert.toString('pem'));
    const admin = writeAdminKeys(dir);
    const own = await writeSignerChain(dir, 'own');
    kbs = await startKbs(
      kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: { kind: 'Memory' }, tokenTrust: { kind: 'cert-chain', signerKeyPath: own.keyPath, signerCertChainPath: own.certChainPath, caCertPath: rootPath } }),
      { dir },
    );
    const operator = new IndependentOperator(kbs.url, mintAdminToken(admin.privateKey));
    expect((await operator.setResource('default/key/passport', Buffer.from('passport secret'))).status).toBe(200);
    expect((await operator.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
  });

  afterAll(async () => {
    await kbs?.stop();
    if (dir !== undefined) removeTempDir(dir);
  });

  it('finding 11: a valid chain root → intermediate → signing leaf is accepted and the secret released', async () => {
    const leaf = await certificate('CN=AS signer', intermediate, endEntity(x509.KeyUsageFlags.digitalSignature));
    const response = await guest().getResource('default/key/passport', { bearer: await token(leaf, [leaf.cert, intermediate.cert]), cookie: null });
    expect(response.status, describeResponse(response)).toBe(200);
    expect(guest().decrypt(response).plaintext.toString()).toBe('passport secret');
  });

  it.each<[string, () => Promise<{ signer: { keys: webcrypto.CryptoKeyPair; cert: x509.X509Certificate }; chain: x509.X509Certificate[] }>]>([
    [
      'a keyEncipherment-only leaf',
      async () => {
        const leaf = await certificate('CN=kex only', intermediate, endEntity(x509.KeyUsageFlags.keyEncipherment));
        return { signer: leaf, chain: [leaf.cert, intermediate.cert] };
      },
    ],
    [
      'a serverAuth-only EKU leaf (a TLS key of the same CA)',
      async () => {
        const leaf = await certificate('CN=tls server', intermediate, endEntity(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, x509.ExtendedKeyUsage.serverAuth));
        return { signer: leaf, chain: [leaf.cert, intermediate.cert] };
      },
    ],
    [
      'a CA:TRUE leaf with keyCertSign',
      async () => {
        const leaf = await certificate('CN=ca leaf', root, [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)]);
        return { signer: leaf, chain: [leaf.cert] };
      },
    ],
    ['the intermediate CA used as leaf', async () => ({ signer: intermediate, chain: [intermediate.cert] })],
    ['the trusted root used as leaf', async () => ({ signer: root, chain: [root.cert] })],
    [
      'a leaf under an expired intermediate',
      async () => {
        const expired = await certificate('CN=expired intermediate', root, ca(0), { notBefore: new Date(Date.now() - 10 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
        const leaf = await certificate('CN=signer under expired', expired, endEntity(x509.KeyUsageFlags.digitalSignature), { notBefore: new Date(Date.now() - 5 * DAY_MS), notAfter: new Date(Date.now() + DAY_MS) });
        return { signer: leaf, chain: [leaf.cert, expired.cert] };
      },
    ],
  ])('finding 11: refuses %s with 401 TokenVerifierError', async (_name, make) => {
    const { signer, chain } = await make();
    expectErrorInformation(await guest().getResource('default/key/passport', { bearer: await token(signer, chain), cookie: null }), 401, 'TokenVerifierError');
  });

  it('finding 12: a token whose nbf is one hour ahead is refused; within the 60 s leeway it is accepted', async () => {
    const leaf = await certificate('CN=AS signer nbf', intermediate, endEntity(x509.KeyUsageFlags.digitalSignature));
    const now = Math.floor(Date.now() / 1000);
    expectErrorInformation(await guest().getResource('default/key/passport', { bearer: await token(leaf, [leaf.cert, intermediate.cert], { nbf: now + 3600 }), cookie: null }), 401, 'TokenVerifierError');
    const soon = await guest().getResource('default/key/passport', { bearer: await token(leaf, [leaf.cert, intermediate.cert], { nbf: now + 30 }), cookie: null });
    expect(soon.status, describeResponse(soon)).toBe(200);
  });
});
