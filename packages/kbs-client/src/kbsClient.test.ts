// Invariant: the client puts on the wire exactly what guest-components' RCAR client does (member
// names, cookie, hash algorithms, runtime-data digests of the fixed vector), follows the upstream
// retry rules, and surfaces every KBS failure as a typed error with its ErrorInformation.
import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { b64std, b64url, canonicalJson, type Json, type TeePubKey } from '@trustee/protocol';
import { commandAttester, sampleDeviceAttester, type Attester } from './attesters.ts';
import { KbsClient, type KbsClientOptions } from './kbsClient.ts';
import { KbsClientError } from './kbsClientError.ts';
import { FakeKbs, type FakeKbsOptions } from './testing/fakeKbs.ts';
import { generateTeeKey, type TeeKeyPair } from './teeKey.ts';

const VECTOR_KEY: TeePubKey = {
  kty: 'EC',
  crv: 'P-256',
  alg: 'ECDH-ES+A256KW',
  x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA',
  y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs',
};
const VECTOR_NONCE = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const vectorTeeKey: TeeKeyPair = {
  privateKey: createPrivateKey({ key: { ...VECTOR_KEY, d: b64url.encode(Buffer.from('45b230cf32333599ba58acfee0cb502c9ff86002ad707037a211296dc986806b', 'hex')) }, format: 'jwk' }),
  publicJwk: VECTOR_KEY,
};

const running: FakeKbs[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function setup(options: FakeKbsOptions = {}, client: Partial<KbsClientOptions> = {}): Promise<{ kbs: FakeKbs; client: KbsClient }> {
  const kbs = await FakeKbs.start(options);
  running.push(kbs);
  return { kbs, client: new KbsClient({ url: kbs.url, deviceAttesters: [], rcarRetryDelayMs: 0, ...client }) };
}

function bodyOf(kbs: FakeKbs, prefix: string, index = 0): string {
  const request = kbs.requestsTo(prefix)[index];
  if (request === undefined) throw new Error(`no request to ${prefix}`);
  return request.body.toString('utf8');
}

describe('RCAR handshake', () => {
  it('sends the upstream auth and attest bodies and binds the fixed-vector digest', async () => {
    const { kbs, client } = await setup({ nonce: VECTOR_NONCE }, { teeKey: vectorTeeKey });
    const token = await client.attest();
    expect(token.split('.')).toHaveLength(3);

    expect(bodyOf(kbs, '/kbs/v0/auth')).toBe('{"version":"0.4.0","tee":"sample","extra-params":{"supported-hash-algorithms":["sha256","sha384","sha512","sm3"]}}');
    expect(kbs.requestsTo('/kbs/v0/auth')[0]?.headers['content-type']).toBe('application/json');
    expect(bodyOf(kbs, '/kbs/v0/attest')).toBe(
      '{"init-data":null,"runtime-data":{"nonce":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","tee-pubkey":{"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":"MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA","y":"1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs"}},' +
        '"tee-evidence":{"primary_evidence":{"svn":"1","report_data":"JKyMwM37njDW/5J04wxPi6gtNyZd3KE3AXVYXH4csWDqJX8UJJVnaiCudOMtAFyQ"},"additional_evidence":""}}',
    );
    const setCookieId = /kbs-session-id=([0-9a-f]{32})/.exec(kbs.requestsTo('/kbs/v0/attest')[0]?.headers.cookie ?? '')?.[1];
    expect(setCookieId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('uses the hash the challenge selects (case-insensitive)', async () => {
    const { kbs, client } = await setup({ nonce: VECTOR_NONCE, challengeExtraParams: { 'selected-hash-algorithm': 'SHA512' } }, { teeKey: vectorTeeKey });
    await client.attest();
    const attest = JSON.parse(bodyOf(kbs, '/kbs/v0/attest')) as { 'tee-evidence': { primary_evidence: { report_data: string } } };
    const expected = createHash('sha512')
      .update(canonicalJson({ 'additional-evidence': '', nonce: VECTOR_NONCE, 'tee-pubkey': VECTOR_KEY }))
      .digest();
    expect(b64std.decode(attest['tee-evidence'].primary_evidence.report_data)).toEqual(new Uint8Array(expected));
  });

  it.each<[string, Json]>([
    ['a non-string selection', { 'selected-hash-algorithm': 384 }],
    ['an unknown algorithm', { 'selected-hash-algorithm': 'md5' }],
  ])('rejects %s', async (_name, extra) => {
    const { client } = await setup({ challengeExtraParams: extra }, { rcarMaxAttempts: 1 });
    await expect(client.attest()).rejects.toMatchObject({ code: 'protocol' });
  });

  it('adds sampledevice evidence bound to the device digest and folds it into the primary digest', async () => {
    const { kbs, client } = await setup({ nonce: VECTOR_NONCE }, { teeKey: vectorTeeKey, deviceAttesters: [sampleDeviceAttester] });
    await client.attest();
    const attest = JSON.parse(bodyOf(kbs, '/kbs/v0/attest')) as { 'tee-evidence': { primary_evidence: { report_data: string }; additional_evidence: string } };
    const additional = attest['tee-evidence'].additional_evidence;
    const device = (JSON.parse(additional) as { sampledevice: { svn: string; report_data: string } }).sampledevice;
    expect(device.svn).toBe('2');
    expect(Buffer.from(b64std.decode(device.report_data)).toString('hex')).toBe(
      '90296af3cb94a661fdadb93f37cef4f9d075cc3a0cde20c5d6d1bc5f078cdb6f738aaa3958718d77aad01bdfb71b8f94',
    );
    const primary = createHash('sha384').update(canonicalJson({ 'additional-evidence': additional, nonce: VECTOR_NONCE, 'tee-pubkey': VECTOR_KEY })).digest('base64');
    expect(attest['tee-evidence'].primary_evidence.report_data).toBe(primary);
  });

  it('sends init-data as toml and hands its digest to the attester', async () => {
    const initData = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"a.toml" = "x"\n';
    const seen: Array<Uint8Array | undefined> = [];
    const attester: Attester = { tee: 'sample', getEvidence: (reportData, initDigest) => (seen.push(initDigest), Promise.resolve({ svn: '1', report_data: b64std.encode(reportData) })) };
    const { kbs, client } = await setup({}, { initData, attester });
    await client.attest();
    const attest = JSON.parse(bodyOf(kbs, '/kbs/v0/attest')) as { 'init-data': unknown };
    expect(attest['init-data']).toEqual({ format: 'toml', body: initData });
    expect(seen[0]).toEqual(new Uint8Array(createHash('sha256').update(initData).digest()));
  });

  it('runs an evidence command with the report data in $1 and the environment', async () => {
    const command = `f() { printf '{"tee":"%s","rd":"%s","env":"%s"}' "$KBS_TEE" "$1" "$KBS_REPORT_DATA"; }; f`;
    const { kbs, client } = await setup({}, { attester: commandAttester('snp', command) });
    await client.attest(); // the fake KBS only checks sample evidence
    const auth = JSON.parse(bodyOf(kbs, '/kbs/v0/auth')) as { tee: string };
    expect(auth.tee).toBe('snp');
    const attest = JSON.parse(bodyOf(kbs, '/kbs/v0/attest')) as { 'runtime-data': { nonce: string }; 'tee-evidence': { primary_evidence: { tee: string; rd: string; env: string } } };
    const evidence = attest['tee-evidence'].primary_evidence;
    expect(evidence.tee).toBe('snp');
    const expected = createHash('sha384').update(canonicalJson({ 'additional-evidence': '', nonce: attest['runtime-data'].nonce, 'tee-pubkey': client.teePublicKey })).digest('hex');
    expect(evidence.rd).toBe(expected);
    expect(evidence.env).toBe(expected);
  });

  it('reports a failing evidence command as an evidence error', async () => {
    const { client } = await setup({}, { attester: commandAttester('tdx', 'echo broken >&2; exit 3'), rcarMaxAttempts: 1 });
    await expect(client.attest()).rejects.toMatchObject({ code: 'evidence', message: expect.stringContaining('status 3: broken') });
  });

  it('retries the handshake and gives up after the configured attempts with the ErrorInformation', async () => {
    const { kbs, client } = await setup({ failAuthTimes: 2 }, { rcarMaxAttempts: 3 });
    await client.attest();
    expect(kbs.requestsTo('/kbs/v0/auth')).toHaveLength(3);

    const { kbs: refusing, client: giving } = await setup({ failAuthTimes: 5 }, { rcarMaxAttempts: 2 });
    const error = await giving.attest().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KbsClientError);
    expect(error).toMatchObject({ code: 'kbs', status: 401, variant: 'AttestationError' });
    expect(refusing.requestsTo('/kbs/v0/auth')).toHaveLength(2);
    expect(giving.token).toBeUndefined();
  });

  it('reuses a current token and re-attests when it has expired', async () => {
    let now = Date.now();
    const { kbs, client } = await setup({ tokenTtlSeconds: 60 }, { now: () => now });
    const first = await client.attest();
    expect(await client.attest()).toBe(first);
    expect(kbs.requestsTo('/kbs/v0/auth')).toHaveLength(1);
    now += 61_000;
    await client.attest();
    expect(kbs.requestsTo('/kbs/v0/auth')).toHaveLength(2);
  });
});

describe('resources', () => {
  it.each([
    ['EC P-256', 'ECDH-ES+A256KW-P256'],
    ['EC P-521', 'ECDH-ES+A256KW-P521'],
    ['RSA-OAEP-256', 'RSA-OAEP-256'],
  ] as const)('attests, sends the session cookie and decrypts (%s)', async (_name, algorithm) => {
    const { kbs, client } = await setup({}, { teeKeyAlgorithm: algorithm });
    kbs.resources.set('default/key/testfile', Buffer.from('top secret'));
    expect(Buffer.from(await client.getResource('default/key/testfile')).toString()).toBe('top secret');
    const get = kbs.requestsTo('/kbs/v0/resource/')[0];
    expect(get?.method).toBe('GET');
    expect(get?.headers.cookie).toMatch(/^kbs-session-id=[0-9a-f]{32}$/);
    expect(get?.headers.authorization).toBeUndefined();
  });

  it('accepts kbs:/// resource URIs', async () => {
    const { kbs, client } = await setup();
    kbs.resources.set('repo/type/tag', Buffer.from([0, 1, 2]));
    expect(await client.getResource('kbs:///repo/type/tag')).toEqual(new Uint8Array([0, 1, 2]));
  });

  it('re-handshakes on 401 and ends with a typed PolicyDeny', async () => {
    const { kbs, client } = await setup({ allow: () => false });
    kbs.resources.set('default/key/testfile', Buffer.from('x'));
    const error = await client.getResource('default/key/testfile').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'unauthorized', status: 401, variant: 'PolicyDeny', info: { detail: 'Access denied by policy' } });
    expect(kbs.requestsTo('/kbs/v0/resource/')).toHaveLength(3);
    expect(kbs.requestsTo('/kbs/v0/auth')).toHaveLength(3);
  });

  it('stops at 404', async () => {
    const { kbs, client } = await setup();
    const error = await client.getResource('kbs+nosuchplugin:///a/b/c?x=1').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'not_found', status: 404, variant: 'PluginNotFound' });
    expect(kbs.requestsTo('/kbs/v0/nosuchplugin/a/b/c?x=1')).toHaveLength(1);
  });

  it('passport mode: Bearer token, no cookie, no attestation', async () => {
    const { kbs } = await setup();
    kbs.resources.set('a/b/c', Buffer.from('passport'));
    const teeKey = generateTeeKey('ECDH-ES+A256KW-P256');
    const attesting = new KbsClient({ url: kbs.url, teeKey, deviceAttesters: [] });
    const token = await attesting.attest();
    const requestsBefore = kbs.requestsTo('/kbs/v0/auth').length;
    const passport = new KbsClient({ url: kbs.url, teeKey, token });
    expect(Buffer.from(await passport.getResource('a/b/c')).toString()).toBe('passport');
    const get = kbs.requestsTo('/kbs/v0/resource/').at(-1);
    expect(get?.headers.authorization).toBe(`Bearer ${token}`);
    expect(get?.headers.cookie).toBeUndefined();
    expect(kbs.requestsTo('/kbs/v0/auth')).toHaveLength(requestsBefore);
    await expect(passport.attest()).rejects.toMatchObject({ code: 'usage' });
  });

  it('a response encrypted to another key is a decrypt error', async () => {
    const { kbs } = await setup();
    kbs.resources.set('a/b/c', Buffer.from('x'));
    const token = await new KbsClient({ url: kbs.url, deviceAttesters: [] }).attest();
    const wrongKey = { privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, publicJwk: VECTOR_KEY };
    await expect(new KbsClient({ url: kbs.url, teeKey: wrongKey, token }).getResource('a/b/c')).rejects.toMatchObject({ code: 'decrypt' });
  });

  it.each(['a/../b/c', 'a//c', '', '/'])('refuses the path %j before any request', async (path) => {
    const { kbs, client } = await setup();
    await expect(client.getResource(path)).rejects.toMatchObject({ code: 'usage' });
    expect(kbs.requests).toHaveLength(0);
  });
});

describe('admin calls', () => {
  it('send the upstream bodies with the admin bearer token', async () => {
    const { kbs, client } = await setup({ adminToken: 'admin-jwt' }, { adminToken: 'admin-jwt' });
    await client.setResource('repo/key/one', Buffer.from([1, 2, 255]));
    const post = kbs.requestsTo('/kbs/v0/resource/repo/key/one')[0];
    expect(post?.headers['content-type']).toBe('application/octet-stream');
    expect(post?.headers.authorization).toBe('Bearer admin-jwt');
    expect(kbs.resources.get('repo/key/one')).toEqual(new Uint8Array([1, 2, 255]));
    await client.deleteResource('repo/key/one');
    expect(kbs.resources.has('repo/key/one')).toBe(false);

    await client.setAttestationPolicy('package policy\n');
    await client.setAttestationPolicy(Buffer.from('package x\n'), { id: 'default_gpu', type: 'rego' });
    await client.setResourcePolicy('package policy\ndefault allow := true\n');
    expect(bodyOf(kbs, '/kbs/v0/attestation-policy')).toBe(`{"type":"rego","policy_id":"default_cpu","policy":"${b64url.encode(Buffer.from('package policy\n'))}"}`);
    expect(kbs.policies.map((policy) => policy.body)).toEqual([
      { type: 'rego', policy_id: 'default_cpu', policy: 'cGFja2FnZSBwb2xpY3kK' },
      { type: 'rego', policy_id: 'default_gpu', policy: 'cGFja2FnZSB4Cg' },
      { policy: b64url.encode(Buffer.from('package policy\ndefault allow := true\n')) },
    ]);
    expect(await client.getResourcePolicy()).toEqual(['resource-policy']);

    await client.setSampleReferenceValue('launch_digest', ['abcde']);
    const message = JSON.parse(bodyOf(kbs, '/kbs/v0/reference-value')) as { version: string; type: string; payload: string };
    expect(message.version).toBe('0.1.0');
    expect(message.type).toBe('sample');
    expect(Buffer.from(b64std.decode(message.payload)).toString()).toBe('{"launch_digest":["abcde"]}');
    expect(await client.getReferenceValue('launch_digest')).toEqual(['abcde']);
  });

  it('turn KBS errors into typed errors', async () => {
    const { client } = await setup({ adminToken: 'right' }, { adminToken: 'wrong' });
    await expect(client.setResource('a/b/c', Buffer.from('x'))).rejects.toMatchObject({ code: 'kbs', status: 401, variant: 'AdminAuthAccess' });
    const { client: admin } = await setup();
    await expect(admin.getReferenceValue('nope')).rejects.toMatchObject({ variant: 'RvpsError' });
    await expect(admin.deleteResource('a/b/missing')).rejects.toMatchObject({ variant: 'PluginInternalError' });
  });

  it('an error body that is not ErrorInformation is still an error', async () => {
    const client = new KbsClient({
      url: 'http://kbs.invalid',
      transport: () => Promise.resolve({ status: 413, headers: {}, body: Buffer.from('Payload too large') }),
    });
    const error = await client.setResource('a/b/c', Buffer.alloc(1)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'kbs', status: 413, info: undefined });
    expect((error as Error).message).toContain('Payload too large');
  });
});

describe('construction', () => {
  it.each(['not a url', 'ftp://kbs'])('rejects the URL %j', (url) => {
    expect(() => new KbsClient({ url })).toThrow(KbsClientError);
  });

  it('keeps a base path and drops trailing slashes', async () => {
    const seen: string[] = [];
    const client = new KbsClient({
      url: 'http://kbs.example:9/prefix/',
      adminToken: 't',
      transport: (request) => (seen.push(request.url.href), Promise.resolve({ status: 200, headers: {}, body: Buffer.from('[]') })),
    });
    await client.getResourcePolicy();
    expect(seen).toEqual(['http://kbs.example:9/prefix/kbs/v0/resource-policy']);
  });
});
