/**
 * Invariant: an upstream-format as-config.json loads as is (legacy keys ignored), its storage
 * persists policies and the signing key across restarts, its token-broker settings reach the
 * token; no file means in-memory defaults with a loud warning; a broken file is a startup error
 * naming the key. Also the serve flags keep upstream's rules (-t and -k together).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { composeAs } from './compose.ts';
import { ConfigError, loadAsConfig, parseAsConfig } from './config.ts';
import { UsageError } from '@trustee/errors';
import { parseServeArgs } from './serve.ts';
import { b64urlJson, RUNTIME_DATA, sampleEvidence } from './testing/fixtures.ts';
import { decodeRestAttestationRequest } from './decodeRequest.ts';
import { createTestSnpReport, testAmdPki } from '@trustee/verifiers/testing/snpFactory.ts';

function upstreamConfig(dir: string): Record<string, unknown> {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
  writeFileSync(join(dir, 'token.key'), key);
  return {
    work_dir: '/var/lib/attestation-service/',
    storage_backend: { storage_type: 'LocalFs', backends: { local_fs: { dir_path: join(dir, 'storage') } } },
    rvps_config: { type: 'BuiltIn', extractors: { swid_extractor: {} } },
    attestation_token_broker: {
      type: 'Ear',
      duration_min: 10,
      issuer_name: 'test-as',
      signer: { key_path: join(dir, 'token.key') },
    },
    verifier_config: {
      snp_verifier: { vcek_sources: [{ type: 'OfflineStore', path: join(dir, 'kds-store') }, { type: 'KDS' }] },
      dcap_verifier: { collateral_service: 'https://pccs.example:8081/sgx/certification/v4/', tcb_update_type: 'standard' },
    },
  };
}

describe('as-config.json', () => {
  test('an upstream-format file loads, persists and shapes the token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-config-'));
    const file = join(dir, 'as-config.json');
    writeFileSync(file, JSON.stringify(upstreamConfig(dir), null, 2));
    const config = await loadAsConfig(file);
    expect(config.storage).toMatchObject({ storageType: 'LocalFs', localFs: { dirPath: join(dir, 'storage') } });
    expect(config.attestation.tokenBroker).toMatchObject({ durationMin: 10, issuerName: 'test-as', signer: { keyPath: join(dir, 'token.key') } });
    // Only the admin section's absence and the unused work_dir are worth a warning for an upstream file.
    expect(config.warnings.every((warning) => /admin section|answer ANYONE|work_dir is not used/.test(warning))).toBe(true);

    const first = await composeAs(config);
    const token = await first.evaluate(decodeRestAttestationRequest({ verification_requests: [{ tee: 'sample', evidence: b64urlJson(sampleEvidence()), runtime_data: { structured: RUNTIME_DATA } }], policy_ids: [] }).requests, []);
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss: string; iat: number; exp: number };
    expect(payload.iss).toBe('test-as');
    expect(payload.exp - payload.iat).toBe(600);
    await first.service.setPolicy('kept_cpu', 'package policy\ndefault hardware := 2\n');
    const jwks = first.service.jwks();
    await first.close();

    const second = await composeAs(await loadAsConfig(file));
    expect(await second.service.listPolicies()).toContain('kept_cpu');
    expect(second.service.jwks()).toEqual(jwks);
    await second.close();
  });

  test('no file: in-memory defaults, with a warning that nothing persists', async () => {
    const config = await loadAsConfig(undefined);
    expect(config.storage.storageType).toBe('Memory');
    expect(config.attestation.rvps).toEqual({ type: 'BuiltIn' });
    expect(config.warnings.join('\n')).toMatch(/WARNING: storage_backend is Memory .* lost when this process exits/);
  });

  test('GrpcRemote addresses get upstream\'s http:// default', () => {
    expect(parseAsConfig({ rvps_config: { type: 'GrpcRemote', address: 'rvps:50003' } }).attestation.rvps).toEqual({ type: 'GrpcRemote', address: 'http://rvps:50003' });
  });

  test.each<[string, unknown, RegExp]>([
    ['Redis storage without its table', { storage_backend: { storage_type: 'Redis' } }, /storage_backend\.backends\.redis: required for storage type Redis \(or set REDIS_URL\)/],
    ['misspelled storage_type', { storage_backend: { storage_typ: 'Sqlite' } }, /storage_backend\.storage_typ: unknown key \(did you mean "storage_type"\?\)/],
    ['RVPS override without its backend', { storage_backend: { storage_type: 'Sqlite' }, rvps_config: { type: 'BuiltIn', storage_type: 'Postgres' } }, /rvps_config\.storage_type: Postgres needs storage_backend\.backends\.postgres/],
    ['bad duration', { attestation_token_broker: { duration_min: 'ten' } }, /attestation_token_broker\.duration_min/],
    ['unknown RVPS type', { rvps_config: { type: 'Remote' } }, /rvps_config\.type: expected one of "BuiltIn", "GrpcRemote"/],
    ['a legacy token broker key', { attestation_token_broker: { policy_dir: '/x' } }, /attestation_token_broker\.policy_dir: unknown key/],
    ['a misspelled section', { verifier_confg: {} }, /verifier_confg: unknown key \(did you mean "verifier_config"\?\)/],
    ['not an object', [], /expected a table, found an array/],
  ])('%s → ConfigError naming the key', (_name, raw, message) => {
    expect(() => parseAsConfig(raw)).toThrow(ConfigError);
    expect(() => parseAsConfig(raw)).toThrow(message);
  });

  test('admin: the KBS bearer_jwt format; protect_* default off with a loud warning for what stays open', () => {
    const bearerJwt = { identity_providers: [{ issuer: 'ops', public_key_uri: '/etc/as/admin.pub' }] };
    const none = parseAsConfig({});
    expect(none.admin).toBeUndefined();
    expect(none.warnings.join('\n')).toMatch(/ListReferenceValues\/DeleteReferenceValue are refused/);
    expect(none.warnings.join('\n')).toMatch(/set\/get\/list\/delete attestation policy and RegisterReferenceValue answer ANYONE/);
    const partial = parseAsConfig({ admin: { bearer_jwt: bearerJwt, protect_policies: true } });
    expect(partial.admin).toEqual({ identityProviders: [{ issuer: 'ops', publicKeyUri: '/etc/as/admin.pub' }], protectPolicies: true, protectRegister: false });
    expect(partial.warnings.join('\n')).toMatch(/WARNING: RegisterReferenceValue answer ANYONE/);
    const full = parseAsConfig({ admin: { bearer_jwt: bearerJwt, protect_policies: true, protect_register: true } });
    expect(full.warnings.join('\n')).not.toMatch(/ANYONE|admin section/);
  });

  test.each<[string, unknown, RegExp]>([
    ['admin without bearer_jwt', { admin: { protect_policies: true } }, /admin\.bearer_jwt: required/],
    ['admin typo', { admin: { bearer_jwt: { identity_providers: [{ public_key_uri: '/k' }] }, protect_policy: true } }, /admin\.protect_policy: unknown key/],
    ['no identity provider', { admin: { bearer_jwt: { identity_providers: [] } } }, /admin\.bearer_jwt\.identity_providers: at least one entry required/],
    ['provider without key', { admin: { bearer_jwt: { identity_providers: [{ issuer: 'x' }] } } }, /identity_providers\[0\]: public_key_uri or jwk_set_uri required/],
    ['flag not a boolean', { admin: { bearer_jwt: { identity_providers: [{ public_key_uri: '/k' }] }, protect_register: 'yes' } }, /admin\.protect_register: expected a boolean/],
  ])('%s → ConfigError', (_name, raw, message) => {
    expect(() => parseAsConfig(raw)).toThrow(ConfigError);
    expect(() => parseAsConfig(raw)).toThrow(message);
  });

  test('an admin key that cannot be read stops startup', async () => {
    await expect(composeAs(parseAsConfig({ admin: { bearer_jwt: { identity_providers: [{ public_key_uri: '/nonexistent/admin.pub' }] } } }))).rejects.toThrow(/admin\.bearer_jwt: \/nonexistent\/admin\.pub: not readable/);
  });

  test('unreadable and non-JSON files are startup errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-config-'));
    await expect(loadAsConfig(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: cannot read \(ENOENT\)/);
    writeFileSync(join(dir, 'bad.json'), '{"storage_backend": ');
    await expect(loadAsConfig(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json: invalid JSON/);
  });

  test('a verifier_config the verifiers cannot use stops startup', () => {
    expect(() => parseAsConfig({ verifier_config: { dcap_verifier: { tcb_update_type: 'early' } } })).toThrow(/verifier_config\.dcap_verifier\.collateral_service: required/);
  });

  test('TOML and YAML files are read by extension, as upstream reads them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-config-'));
    writeFileSync(join(dir, 'as.toml'), '[attestation_token_broker]\nduration_min = 7\n');
    writeFileSync(join(dir, 'as.yaml'), 'attestation_token_broker:\n  duration_min: 8\n');
    expect((await loadAsConfig(join(dir, 'as.toml'))).attestation.tokenBroker.durationMin).toBe(7);
    expect((await loadAsConfig(join(dir, 'as.yaml'))).attestation.tokenBroker.durationMin).toBe(8);
  });

  test('--allow-unknown-config turns an unknown key into a warning', () => {
    expect(() => parseAsConfig({ future_section: {} })).toThrow(/future_section: unknown key/);
    const config = parseAsConfig({ future_section: {} }, { allowUnknown: true });
    expect(config.warnings[0]).toMatch(/^as-config\.json: future_section: unknown key ignored \(--allow-unknown-config\)/);
    expect(parseServeArgs(['--allow-unknown-config'])).toEqual({ grpcSocket: '127.0.0.1:3000', allowUnknownConfig: true });
  });
});

describe('verifier_config trust anchors', () => {
  test('snp_verifier.trust_anchors_path reaches the composed service (not replaced by the timed defaults)', async () => {
    const pki = await testAmdPki('Milan');
    const dir = mkdtempSync(join(tmpdir(), 'as-anchors-'));
    const pem = (der: Uint8Array): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
    writeFileSync(join(dir, 'amd.pem'), pem(pki.arkDer) + pem(pki.askDer) + pem(pki.asvkDer));
    const nonce = new Uint8Array(64).fill(5);
    const snp = await createTestSnpReport({ product: 'Milan', reportData: nonce });
    const request = { tee: 'snp' as const, evidence: snp.evidence, runtimeData: { raw: nonce } };

    const pinned = await composeAs(parseAsConfig({ verifier_config: { snp_verifier: { trust_anchors_path: join(dir, 'amd.pem') } } }));
    await expect(pinned.evaluate([request], [])).resolves.toMatch(/^ey/);
    expect(await pinned.metrics.registry.metrics()).toMatch(/trustee_as_verifier_duration_seconds_count\{tee="snp",outcome="ok"\} 1/);
    await pinned.close();

    const production = await composeAs(parseAsConfig({}));
    await expect(production.evaluate([request], [])).rejects.toMatchObject({ code: 'verification_failed' });
    await production.close();
  });
});

describe('serve flags', () => {
  test.each<[string[], object]>([
    [[], { grpcSocket: '127.0.0.1:3000' }],
    [['-c', 'f.json', '-s', '0.0.0.0:50004'], { configFile: 'f.json', grpcSocket: '0.0.0.0:50004' }],
    [['--rest-socket', '127.0.0.1:8080'], { restSocket: '127.0.0.1:8080' }],
    [['--socket', '[::1]:0', '--rest-socket', '[::1]:0', '-t', 'c.pem', '-k', 'k.pem'], { grpcSocket: '[::1]:0', restSocket: '[::1]:0', tls: { certPath: 'c.pem', keyPath: 'k.pem' } }],
  ])('%j', (argv, expected) => {
    expect(parseServeArgs(argv)).toEqual(expected);
  });

  test('-r/--allowed_origin, repeatable and comma-separated', () => {
    expect(parseServeArgs(['--rest-socket', '127.0.0.1:0', '-r', 'https://a.example,https://b.example', '--allowed_origin', 'http://c.example'])).toEqual({
      restSocket: '127.0.0.1:0',
      allowedOrigins: ['https://a.example', 'https://b.example', 'http://c.example'],
    });
  });

  test.each([[['-r', 'a.example']], [['-t', 'c.pem']], [['--socket', 'localhost']], [['--socket', 'h:99999']], [['--bogus']]])('%j is a usage error', (argv) => {
    expect(() => parseServeArgs(argv)).toThrow(UsageError);
  });
});
