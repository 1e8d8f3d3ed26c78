/**
 * Invariant: `verifier_config.nvidia_verifier` is read as upstream names it (type Local/Remote,
 * verifier_url) and every other key is refused; a Remote config makes the attestation service
 * verify NVIDIA evidence through the NRAS at verifier_url (a local HTTPS server speaking NRAS's
 * protocol), and upstream's default_gpu policy appraises NRAS's claims to an affirming gpu0.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { canonicalJson, type JsonObject } from '@trustee/protocol';
import { MemoryStore } from '@trustee/storage';
import { FakeNras } from '@trustee/verifiers/testing/fakeNras.ts';
import { createTestNvidiaEvidence, createTestNvidiaPki, TEST_DRIVER_VERSION, TEST_VBIOS_VERSION, testMeasurements, type TestNvidiaPki } from '@trustee/verifiers/testing/nvidiaFactory.ts';
import { createAttestationService } from './attestationService.ts';
import { parseAttestationServiceConfig } from './config.ts';
import { parseNvidiaVerifierConfig } from './nvidiaVerifierTable.ts';
import { ConfigError } from '@trustee/config';
import { startTestOcspResponder } from '@trustee/verifiers/testing/nvidiaOcspFactory.ts';

describe('parseNvidiaVerifierConfig', () => {
  test.each<[string, JsonObject, unknown]>([
    ['absent', {}, undefined],
    ['Local', { nvidia_verifier: { type: 'Local' } }, { type: 'Local' }],
    ['empty table = Local', { nvidia_verifier: {} }, { type: 'Local' }],
    ['Remote', { nvidia_verifier: { type: 'Remote' } }, { type: 'Remote' }],
    ['remote alias with URL', { nvidia_verifier: { type: 'remote', verifier_url: 'https://nras.example/v4/attest' } }, { type: 'Remote', verifierUrl: 'https://nras.example/v4/attest' }],
    ['nested verifier table (upstream README TOML)', { nvidia_verifier: { verifier: { type: 'Remote' } } }, { type: 'Remote' }],
    ['Local with trust anchors', { nvidia_verifier: { trust_anchors_path: '/etc/roots.pem' } }, { type: 'Local', trustAnchorsPath: '/etc/roots.pem' }],
    ['Local with revocation', { nvidia_verifier: { revocation_dir: '/var/nv', ocsp_url: 'https://ocsp.ndis.nvidia.com/' } }, { type: 'Local', revocationDir: '/var/nv', ocspUrl: 'https://ocsp.ndis.nvidia.com/' }],
  ])('%s', (_name, config, expected) => {
    expect(parseNvidiaVerifierConfig(config)).toEqual(expected);
  });

  test.each<[string, JsonObject, RegExp]>([
    ['unknown type', { nvidia_verifier: { type: 'Cloud' } }, /nvidia_verifier\.type: expected one of "Local", "local", "Remote", "remote"/],
    ['unknown key', { nvidia_verifier: { type: 'Remote', verifier_uri: 'x' } }, /nvidia_verifier\.verifier_uri: unknown key/],
    ['bad URL', { nvidia_verifier: { type: 'Remote', verifier_url: 'nras' } }, /nvidia_verifier\.verifier_url: expected an http\(s\) URL/],
    ['URL with Local', { nvidia_verifier: { type: 'Local', verifier_url: 'https://x' } }, /apply to type = "Remote" only/],
    ['not a table', { nvidia_verifier: 'Remote' }, /nvidia_verifier: expected a table/],
    ['trust anchors with Remote', { nvidia_verifier: { type: 'Remote', trust_anchors_path: '/etc/roots.pem' } }, /nvidia_verifier\.trust_anchors_path: applies to type = "Local" only/],
    ['revocation with Remote', { nvidia_verifier: { type: 'Remote', ocsp_url: 'https://ocsp.example/' } }, /revocation_dir and ocsp_url apply to type = "Local" only/],
    ['a non-URL ocsp_url', { nvidia_verifier: { ocsp_url: 'ocsp' } }, /nvidia_verifier\.ocsp_url: expected an http\(s\) URL/],
    ['an empty revocation_dir', { nvidia_verifier: { revocation_dir: '' } }, /nvidia_verifier\.revocation_dir: must not be empty/],
  ])('%s is refused', (_name, config, message) => {
    expect(() => parseNvidiaVerifierConfig(config)).toThrow(ConfigError);
    expect(() => parseNvidiaVerifierConfig(config)).toThrow(message);
  });
});

describe('attestation service with nvidia_verifier type = "Remote"', () => {
  let pki: TestNvidiaPki;
  let nras: FakeNras;
  let caPath: string;

  beforeAll(async () => {
    pki = await createTestNvidiaPki();
    nras = await FakeNras.start({ rootFingerprints: [pki.rootFingerprint], golden: new Map(testMeasurements().map(({ index, value }) => [index, Buffer.from(value).toString('hex')])) });
    caPath = join(mkdtempSync(join(tmpdir(), 'nras-ca-')), 'ca.pem');
    writeFileSync(caPath, nras.ca);
  });
  afterAll(() => nras.close());

  test('verifies through NRAS and default_gpu appraises gpu0 as affirming', async () => {
    const config = parseAttestationServiceConfig({ verifier_config: { nvidia_verifier: { type: 'Remote', verifier_url: nras.verifierUrl, jwks_url: nras.jwksUrl, ca_cert_path: caPath } } }, 'as-config.json');
    const service = await createAttestationService({ store: new MemoryStore(), config });
    const reference = (name: string, values: string[]) => JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify({ [name]: values })).toString('base64') });
    await service.registerReferenceValue(reference('allowed_driver_versions', [TEST_DRIVER_VERSION]));
    await service.registerReferenceValue(reference('allowed_vbios_versions', [TEST_VBIOS_VERSION.toUpperCase()]));
    const runtimeData = { nonce: 'bm9uY2U=', 'tee-pubkey': { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } };
    const digest = new Uint8Array(createHash('sha384').update(canonicalJson(runtimeData)).digest());
    const token = await service.evaluate([{ tee: 'nvidia', evidence: createTestNvidiaEvidence(digest, [{ pki }]), runtimeData: { structured: runtimeData } }], ['default']);
    const submods = decodeJwt(token).submods as Record<string, JsonObject>;
    expect(Object.keys(submods)).toEqual(['gpu0']);
    expect(submods.gpu0?.['ear.status']).toBe('affirming');
    expect(submods.gpu0?.['ear.trustworthiness-vector']).toMatchObject({ hardware: 2, configuration: 2, executables: 3 });
    expect(nras.requests.some((r) => r.path === '/v4/attest/gpu')).toBe(true);
  });
});

describe('attestation service with nvidia_verifier Local revocation (ocsp_url)', () => {
  test('a revoked device certificate is refused with nvidia.revocation.revoked; good answers verify and are cached in the store', async () => {
    const pki = await createTestNvidiaPki();
    const dir = mkdtempSync(join(tmpdir(), 'nvidia-roots-'));
    const roots = join(dir, 'roots.pem');
    writeFileSync(roots, `-----BEGIN CERTIFICATE-----\n${Buffer.from(pki.chainDer[4] as Uint8Array).toString('base64')}\n-----END CERTIFICATE-----\n`);
    const runtimeData = { nonce: 'bm9uY2U=', 'tee-pubkey': { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } };
    const digest = new Uint8Array(createHash('sha384').update(canonicalJson(runtimeData)).digest());
    const request = { tee: 'nvidia' as const, evidence: createTestNvidiaEvidence(digest, [{ pki }]), runtimeData: { structured: runtimeData } };
    const service = async (url: string, store: MemoryStore) =>
      createAttestationService({ store, config: parseAttestationServiceConfig({ verifier_config: { nvidia_verifier: { trust_anchors_path: roots, ocsp_url: url } } }, 'as-config.json') });

    const revoking = await startTestOcspResponder(pki.chainDer, pki.keys, { now: () => new Date(), revoked: new Set([1]) });
    try {
      const refused = (await service(revoking.url, new MemoryStore())).evaluate([request], ['default']);
      await expect(refused).rejects.toMatchObject({ code: 'verification_failed', message: expect.stringMatching(/nvidia\.revocation\.revoked/) as unknown });
    } finally {
      await revoking.close();
    }
    const good = await startTestOcspResponder(pki.chainDer, pki.keys, { now: () => new Date() });
    try {
      const store = new MemoryStore();
      const token = await (await service(good.url, store)).evaluate([request], ['default']);
      expect(Object.keys(decodeJwt(token).submods as JsonObject)).toEqual(['gpu0']);
      expect(await store.list('collateral_nvidia', 'ocsp/')).toHaveLength(3);
      expect(good.requests()).toBe(3);
    } finally {
      await good.close();
    }
  });
});
