/**
 * Invariant: a KBS started from an upstream-format config (AuthenticatedAuthorization with an
 * Ed25519 public_key_uri, insecure_http, builtin AS, LocalFs storage) is interoperable with a
 * second, independent implementation of the guest (RCAR 0.4.0 + sample attester + JWE with the
 * Rust client's rebuilt-AAD rule) and of the operator (hand-minted EdDSA admin JWT), and denies
 * sample evidence under its built-in default resource policy.
 *
 * Nothing here imports @trustee/protocol or @trustee/kbs-client: the client side is
 * tests/e2e/src/independent/, written from upstream trustee `kbs/docs/kbs_attestation_protocol.md`
 * and the guest-components client with node:crypto only.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kbsConfigToml, localFsStorage } from './harness/configs.ts';
import { describeResponse, expectErrorInformation } from './harness/errors.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { writeAdminKeys, type AdminKeys } from './harness/keys.ts';
import { capabilities } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { b64stdDecode, b64stdEncode, b64urlDecode } from './independent/base64.ts';
import { decodeJwt, IndependentGuest, SESSION_COOKIE, verifyWithHeaderJwk } from './independent/guest.ts';
import { httpRequest, jsonBody, parseSetCookies } from './independent/http.ts';
import { es256HeaderJwk, signEs256Jwt } from './independent/jwt.ts';
import { IndependentOperator, mintAdminToken, POLICIES } from './independent/operator.ts';
import { generateTeeKey, type TeeKeyKind } from './independent/teeKey.ts';

const RESOURCE_PATH = 'default/key/independent';
const SECRET = Buffer.from('independent secret \u2603 \u0000\u00ff', 'utf8');

describe.skipIf(!capabilities.kbs)('independent guest and operator against a KBS from an upstream config', () => {
  let dir: string;
  let admin: AdminKeys;
  let kbs: KbsProcess;
  let operator: IndependentOperator;
  let configToml: string;

  beforeAll(async () => {
    dir = makeTempDir();
    admin = writeAdminKeys(dir);
    configToml = kbsConfigToml({ adminPublicKeyPath: admin.publicKeyPath, storage: localFsStorage(dir), tokenTrust: { kind: 'insecure-header-jwk' } });
    kbs = await startKbs(configToml, { dir });
    operator = new IndependentOperator(kbs.url, mintAdminToken(admin.privateKey));
  });

  afterAll(async () => {
    await kbs?.stop();
    if (dir !== undefined) removeTempDir(dir);
  });

  it('answers /auth with a 32-byte standard-base64 nonce, extra-params "" and a kbs-session-id cookie', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const before = Date.now();
    const response = await guest.auth();
    expect(response.status, describeResponse(response)).toBe(200);
    expect(String(response.headers['content-type'])).toMatch(/^application\/json/);
    const challenge = jsonBody(response) as Record<string, unknown>;
    expect(Object.keys(challenge).sort()).toEqual(['extra-params', 'nonce']);
    expect(challenge['extra-params']).toBe('');
    expect(challenge.nonce).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(b64stdDecode(challenge.nonce as string)).toHaveLength(32);
    const cookie = parseSetCookies(response).find((c) => c.name === SESSION_COOKIE);
    expect(cookie?.value).toMatch(/^[0-9a-f]{32}$/);
    const expires = Date.parse(cookie?.attributes.expires ?? '');
    // Default session timeout is 5 minutes; allow for clock granularity of the HTTP-date.
    expect(expires).toBeGreaterThan(before + 4 * 60_000);
    expect(expires).toBeLessThan(before + 6 * 60_000);

    const second = await new IndependentGuest(kbs.url, guest.teeKey).auth();
    expect((jsonBody(second) as { nonce: string }).nonce).not.toBe(challenge.nonce);
  });

  it('lets the operator upload a resource with a hand-minted EdDSA admin token', async () => {
    const response = await operator.setResource(RESOURCE_PATH, SECRET);
    expect(response.status, describeResponse(response)).toBe(200);
  });

  it('denies sample evidence under the built-in default resource policy (PolicyDeny 401)', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await guest.rcar();
    expectErrorInformation(await guest.getResource(RESOURCE_PATH), 401, 'PolicyDeny');
    expectErrorInformation(await guest.getResource(RESOURCE_PATH, { bearer: guest.token ?? '' }), 401, 'PolicyDeny');
  });

  it('accepts an allow-all resource policy sent as base64url without padding and lists it', async () => {
    const set = await operator.setResourcePolicy(POLICIES.allowAll);
    expect(set.status, describeResponse(set)).toBe(200);
    const list = await operator.getResourcePolicy();
    expect(list.status, describeResponse(list)).toBe(200);
    expect(jsonBody(list)).toEqual(expect.arrayContaining(['resource-policy']));
  });

  it.each<TeeKeyKind>(['P-256', 'P-521', 'RSA'])(
    'releases the secret to a %s TEE key over the cookie session and with Bearer, decryptable with the Rust AAD rule',
    async (kind) => {
      const guest = new IndependentGuest(kbs.url, generateTeeKey(kind));
      const token = await guest.rcar();

      // The token is an ES256 JWT signed by the key in its header, and it binds our tee-pubkey
      // at the EAR path upstream `kbs/src/token/mod.rs` reads.
      expect(verifyWithHeaderJwk(token)).toBe(true);
      const claims = decodeJwt(token).payload as { submods?: Record<string, Record<string, unknown>>; exp?: unknown };
      expect(typeof claims.exp).toBe('number');
      const annotated = claims.submods?.cpu0?.['ear.veraison.annotated-evidence'] as Record<string, unknown> | undefined;
      const runtimeDataClaims = annotated?.runtime_data_claims as Record<string, unknown> | undefined;
      expect(runtimeDataClaims?.['tee-pubkey']).toEqual(guest.teeKey.publicJwk);
      expect(runtimeDataClaims?.nonce).toBe(guest.challenge?.nonce);
      expect(annotated?.sample).toBeTypeOf('object');

      for (const response of [await guest.getResource(RESOURCE_PATH), await guest.getResource(RESOURCE_PATH, { bearer: token, cookie: null })]) {
        expect(response.status, describeResponse(response)).toBe(200);
        expect(String(response.headers['content-type'])).toMatch(/^application\/json/);
        const body = jsonBody(response) as Record<string, unknown>;
        expect(Object.keys(body)).toEqual(['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag']);
        for (const value of Object.values(body)) expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(b64urlDecode(body.iv as string)).toHaveLength(12);
        expect(b64urlDecode(body.tag as string)).toHaveLength(16);

        const decrypted = guest.decrypt(response);
        expect(decrypted.rustAad, 'protected header must be in the Rust client serialisation').toBe(body.protected);
        expect(decrypted.plaintext.equals(SECRET)).toBe(true);
        const headerJson = b64urlDecode(body.protected as string).toString('utf8');
        if (kind === 'RSA') {
          expect(headerJson).toBe('{"alg":"RSA-OAEP-256","enc":"A256GCM"}');
        } else {
          expect(headerJson).toMatch(
            new RegExp(`^\\{"alg":"ECDH-ES\\+A256KW","enc":"A256GCM","epk":\\{"crv":"${kind}","kty":"EC","x":"[A-Za-z0-9_-]+","y":"[A-Za-z0-9_-]+"\\}\\}$`),
          );
          const epk = decrypted.header.others.epk as { x: string; y: string };
          const size = kind === 'P-256' ? 32 : 66;
          expect(b64urlDecode(epk.x)).toHaveLength(size);
          expect(b64urlDecode(epk.y)).toHaveLength(size);
          expect(b64urlDecode(body.encrypted_key as string)).toHaveLength(40);
        }
      }
    },
  );

  it('returns the stored token again for a second /attest on an attested session', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const first = await guest.rcar();
    const again = await guest.attest();
    expect(again.status, describeResponse(again)).toBe(200);
    expect((jsonBody(again) as { token: string }).token).toBe(first);
  });

  it('answers /healthz and /metrics without authentication', async () => {
    const health = await httpRequest(kbs.url, { method: 'GET', path: '/healthz' });
    expect(health.status).toBe(200);
    const metrics = await httpRequest(kbs.url, { method: 'GET', path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(String(metrics.headers['content-type'])).toMatch(/^text\/plain/);
  });

  it('registers sample reference values and reads them back', async () => {
    const cases: Array<[string, unknown]> = [
      ['launch_digest', ['abcde']],
      ['svn', ['1']],
      ['major_version', 1],
      ['minimum_minor_version', 4],
    ];
    for (const [name, value] of cases) {
      const set = await operator.registerSampleReferenceValue(name, value);
      expect(set.status, describeResponse(set)).toBe(200);
    }
    for (const [name, value] of cases) {
      const get = await operator.getReferenceValue(name);
      expect(get.status, describeResponse(get)).toBe(200);
      expect(jsonBody(get)).toEqual(value);
    }
    expectErrorInformation(await operator.getReferenceValue('no-such-reference-value'), 401, 'RvpsError');
  });

  it('appraises with the default CPU policy and the reference values, and an uploaded attestation policy takes effect', async () => {
    // The reference values registered above make the default CPU policy affirm sample evidence
    // (upstream `ear_default_policy_cpu.rego`), so the `affirming` resource policy releases the
    // secret.
    const affirming = await operator.setResourcePolicy(POLICIES.affirming);
    expect(affirming.status, describeResponse(affirming)).toBe(200);
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const token = await guest.rcar();
    const submod = (decodeJwt(token).payload.submods as Record<string, Record<string, unknown>>).cpu0;
    expect(submod?.['ear.status']).toBe('affirming');
    expect(guest.decrypt(await guest.getResource(RESOURCE_PATH)).plaintext.equals(SECRET)).toBe(true);

    // An attestation policy that marks every executable as contraindicated is used for the next
    // attestation: the token says so and the affirming resource policy refuses the secret.
    const contraindicated =
      'package policy\nimport rego.v1\n\ntrust_claims := {"executables": 96, "hardware": 2, "configuration": 2}\n';
    const setPolicy = await operator.setAttestationPolicy(contraindicated, 'default_cpu');
    expect(setPolicy.status, describeResponse(setPolicy)).toBe(200);
    const denied = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const deniedToken = await denied.rcar();
    const deniedSubmod = (decodeJwt(deniedToken).payload.submods as Record<string, Record<string, unknown>>).cpu0;
    expect(deniedSubmod?.['ear.status']).toBe('contraindicated');
    expectErrorInformation(await denied.getResource(RESOURCE_PATH), 401, 'PolicyDeny');

    const restore = await operator.setResourcePolicy(POLICIES.allowAll);
    expect(restore.status, describeResponse(restore)).toBe(200);
  });

  it('re-sends the same session cookie, with the same expiry, on /attest', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const auth = await guest.auth();
    const attest = await guest.attest();
    expect(attest.status, describeResponse(attest)).toBe(200);
    const fromAuth = parseSetCookies(auth).find((c) => c.name === SESSION_COOKIE);
    const fromAttest = parseSetCookies(attest).find((c) => c.name === SESSION_COOKIE);
    expect(fromAttest?.value).toBe(fromAuth?.value);
    expect(fromAttest?.attributes.expires).toBe(fromAuth?.attributes.expires);
  });

  it('accepts /auth and /attest bodies without a JSON Content-Type (upstream does not check it)', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const auth = await httpRequest(kbs.url, {
      method: 'POST',
      path: '/kbs/v0/auth',
      body: JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' }),
    });
    expect(auth.status, describeResponse(auth)).toBe(200);
    guest.challenge = { nonce: (jsonBody(auth) as { nonce: string }).nonce, extraParams: '' };
    guest.sessionId = parseSetCookies(auth).find((c) => c.name === SESSION_COOKIE)?.value;
    const attest = await httpRequest(kbs.url, {
      method: 'POST',
      path: '/kbs/v0/attest',
      headers: { 'content-type': 'text/plain', cookie: `${SESSION_COOKIE}=${guest.sessionId ?? ''}` },
      body: JSON.stringify(guest.buildAttestation()),
    });
    expect(attest.status, describeResponse(attest)).toBe(200);
  });

  it('stores uploads as raw bytes whatever their Content-Type', async () => {
    const notJson = Buffer.from([0x7b, 0x00, 0xff, 0x22]);
    for (const [i, contentType] of [undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded'].entries()) {
      const path = `default/raw/ctype${i}`;
      const headers: Record<string, string> = { authorization: `Bearer ${operator.token ?? ''}` };
      if (contentType !== undefined) headers['content-type'] = contentType;
      const upload = await httpRequest(kbs.url, { method: 'POST', path: `/kbs/v0/resource/${path}`, headers, body: notJson });
      expect(upload.status, `${String(contentType)}: ${describeResponse(upload)}`).toBe(200);
      const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
      await guest.rcar();
      expect(guest.decrypt(await guest.getResource(path)).plaintext.equals(notJson), String(contentType)).toBe(true);
    }
  });

  it('binds composite evidence: sampledevice additional evidence becomes submod gpu0', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await guest.auth();
    const body = guest.buildAttestation({ sampleDevice: true });
    const response = await guest.attest(body);
    expect(response.status, describeResponse(response)).toBe(200);
    const submods = decodeJwt(guest.token ?? '').payload.submods as Record<string, Record<string, unknown>>;
    expect(Object.keys(submods).sort()).toEqual(['cpu0', 'gpu0']);
    const cpuRuntime = (submods.cpu0?.['ear.veraison.annotated-evidence'] as Record<string, Record<string, unknown>>).runtime_data_claims;
    expect(cpuRuntime?.['additional-evidence']).toBe(body['tee-evidence'].additional_evidence);
    const gpuRuntime = (submods.gpu0?.['ear.veraison.annotated-evidence'] as Record<string, Record<string, unknown>>).runtime_data_claims;
    expect(gpuRuntime).toEqual({ nonce: guest.challenge?.nonce, 'tee-pubkey': guest.teeKey.publicJwk });

    // The same device evidence with a primary binding that ignores it is refused.
    const cheat = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await cheat.auth();
    const honest = cheat.buildAttestation({ sampleDevice: true });
    const withoutDevice = cheat.buildAttestation();
    const mixed = { ...honest, 'tee-evidence': { ...honest['tee-evidence'], primary_evidence: withoutDevice['tee-evidence'].primary_evidence } };
    expectErrorInformation(await cheat.attest(mixed), 401, 'AttestationError');
  });

  it('hashes TOML init-data with its own algorithm and exposes its data table as claims', async () => {
    const toml = 'version = "0.1.0"\nalgorithm = "sha384"\n\n[data]\n"custom" = "value"\n"aa.toml" = \'\'\'\n[token_configs.kbs]\nurl = "http://kbs"\n\'\'\'\n';
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await guest.auth();
    const response = await guest.attest(guest.buildAttestation({ initData: { format: 'toml', body: toml } }));
    expect(response.status, describeResponse(response)).toBe(200);
    const cpu0 = (decodeJwt(guest.token ?? '').payload.submods as Record<string, Record<string, unknown>>).cpu0;
    const annotated = cpu0?.['ear.veraison.annotated-evidence'] as Record<string, unknown>;
    expect(annotated.init_data).toBe(b64stdEncode(createHash('sha384').update(toml, 'utf8').digest()));
    expect(annotated.init_data_claims).toEqual({ custom: 'value', 'aa.toml': { token_configs: { kbs: { url: 'http://kbs' } } } });

    const json = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await json.auth();
    expectErrorInformation(await json.attest(json.buildAttestation({ initData: { format: 'json', body: '{}' } })), 401, 'AttestationError');
  });

  it('gives the resource policy the resource path and the query string as data', async () => {
    const policy = 'package policy\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n  data.plugin == "resource"\n  data["resource-path"] == ["default", "key", "independent"]\n  data.query.purpose == "boot"\n}\n';
    expect((await operator.setResourcePolicy(policy)).status).toBe(200);
    try {
      const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
      await guest.rcar();
      expect(guest.decrypt(await guest.getResource(`${RESOURCE_PATH}?purpose=boot`)).plaintext.equals(SECRET)).toBe(true);
      expectErrorInformation(await guest.getResource(`${RESOURCE_PATH}?purpose=other`), 401, 'PolicyDeny');
      expectErrorInformation(await guest.getResource(RESOURCE_PATH), 401, 'PolicyDeny');
    } finally {
      expect((await operator.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
    }
  });

  it('uses upstream detail texts in its error bodies', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    expect(expectErrorInformation(await guest.getResource(RESOURCE_PATH, { cookie: null }), 401, 'TokenNotFound').detail).toBe('Attestation Token not found');
    expect(expectErrorInformation(await httpRequest(kbs.url, { method: 'GET', path: '/kbs/v0/nope/x' }), 404, 'PluginNotFound').detail).toBe('Plugin nope not found');
    expect(expectErrorInformation(await guest.getResource(RESOURCE_PATH, { bearer: 'x.y.z', cookie: null }), 401, 'TokenVerifierError').detail).toBe('Token Verifier error');
    await guest.rcar();
    expect(expectErrorInformation(await guest.getResource('default/key/absent'), 401, 'PluginInternalError').detail).toBe('Plugin internal error');
    expect((await operator.setResourcePolicy(POLICIES.denyAll)).status).toBe(200);
    try {
      expect(expectErrorInformation(await guest.getResource(RESOURCE_PATH), 401, 'PolicyDeny').detail).toBe('Access denied by policy');
    } finally {
      expect((await operator.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
    }
  });

  it('with insecure_header_jwk, trusts any self-signed token (what the cert-chain suite must refuse)', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    const token = await guest.rcar();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const forged = signEs256Jwt({ typ: 'JWT', alg: 'ES256', jwk: es256HeaderJwk(privateKey) }, decodeJwt(token).payload, privateKey);
    expect(guest.decrypt(await guest.getResource(RESOURCE_PATH, { bearer: forged, cookie: null })).plaintext.equals(SECRET)).toBe(true);
  });

  it('stores and releases an empty resource and one close to payload_request_size', async () => {
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-521'));
    await guest.rcar();
    expect((await operator.setResource('default/size/empty', new Uint8Array())).status).toBe(200);
    expect(guest.decrypt(await guest.getResource('default/size/empty')).plaintext).toHaveLength(0);
    const big = Buffer.alloc(2 * 1024 * 1024 - 4096, 0x5a);
    const upload = await operator.setResource('default/size/big', big);
    expect(upload.status, describeResponse(upload)).toBe(200);
    expect(guest.decrypt(await guest.getResource('default/size/big')).plaintext.equals(big)).toBe(true);
  });

  it('never serves a torn resource while it is being overwritten', async () => {
    const path = 'default/size/flip';
    const versions = [Buffer.alloc(512 * 1024, 0x41), Buffer.alloc(512 * 1024, 0x42)];
    expect((await operator.setResource(path, versions[0] ?? Buffer.alloc(0))).status).toBe(200);
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    await guest.rcar();
    const writes = (async () => {
      for (let i = 1; i <= 12; i += 1) expect((await operator.setResource(path, versions[i % 2] ?? Buffer.alloc(0))).status).toBe(200);
    })();
    const reads = Promise.all(Array.from({ length: 12 }, () => guest.getResource(path)));
    const [, responses] = await Promise.all([writes, reads]);
    for (const response of responses) {
      const plaintext = guest.decrypt(response).plaintext;
      expect(plaintext.equals(versions[0] ?? Buffer.alloc(0)) || plaintext.equals(versions[1] ?? Buffer.alloc(0)), 'whole old or whole new').toBe(true);
    }
  });

  it('counts requests in Prometheus metrics under upstream\'s kbs_ names', async () => {
    const metrics = (await httpRequest(kbs.url, { method: 'GET', path: '/metrics' })).body.toString('utf8');
    expect(metrics).toMatch(/^kbs_http_requests_total\{/m);
    expect(metrics).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
  });

  it('writes audit records for admin calls and secret releases, as JSON log lines', async () => {
    const records = kbs
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => typeof record.audit === 'string');
    const adminWrite = records.find((r) => r.audit === 'admin' && r.method === 'POST' && r.path === `/kbs/v0/resource/${RESOURCE_PATH}`);
    expect(adminWrite, 'admin upload audited').toBeDefined();
    expect(adminWrite?.role).toBe('admin');
    const release = records.find((r) => r.audit === 'release' && r.path === RESOURCE_PATH);
    expect(release, 'release audited').toBeDefined();
    expect(release?.plugin).toBe('resource');
  });

  it('keeps the upstream LocalFs layout, survives a restart, and serves a volume written by upstream', async () => {
    const storage = join(dir, 'storage');
    // Upstream names files after the key with every "/" replaced by the four characters \x2F.
    expect(readFileSync(join(storage, 'repository', 'default\\x2Fkey\\x2Findependent')).equals(SECRET)).toBe(true);
    expect(readFileSync(join(storage, 'kbs', 'resource-policy.rego'), 'utf8')).toBe(POLICIES.allowAll);

    // SIGTERM is a clean shutdown (exit code 0), as for a Kubernetes rolling update.
    expect(await kbs.stop()).toBe(0);
    const migrated = Buffer.from('written by a Rust KBS');
    mkdirSync(join(storage, 'repository'), { recursive: true });
    writeFileSync(join(storage, 'repository', 'legacy\\x2Fkey\\x2Fmigrated'), migrated);
    kbs = await startKbs(configToml, { dir, configName: 'restarted.toml' });

    const guest = new IndependentGuest(kbs.url, generateTeeKey('RSA'));
    await guest.rcar();
    // The stored allow-all policy was not replaced by the built-in default on restart.
    expect(guest.decrypt(await guest.getResource(RESOURCE_PATH)).plaintext.equals(SECRET)).toBe(true);
    expect(guest.decrypt(await guest.getResource('legacy/key/migrated')).plaintext.equals(migrated)).toBe(true);
    expect(existsSync(join(storage, 'kbs', 'resource-policy.rego'))).toBe(true);
  });
});
