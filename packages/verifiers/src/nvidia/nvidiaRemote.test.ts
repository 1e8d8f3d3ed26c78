// Invariant: in Remote mode the verifier sends each device to NRAS over HTTPS exactly as
// upstream does, accepts only answers whose JWTs verify under NRAS's JWKS (fetched, cached, and
// fetched again for a rotated key), emits NRAS's claims with the overall result, and refuses a
// nonce mismatch, a foreign signature, an expired token, an HTTP error or a malformed answer;
// an unreachable NRAS is `collateral_unavailable`. The NRAS is a local HTTPS server speaking the
// protocol (testing/fakeNras.ts), never a stubbed function.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestNvidiaEvidence, createTestNvidiaPki, createTestSpdmReport, testMeasurements, type TestNvidiaPki } from '../testing/nvidiaFactory.ts';
import { FakeNras } from '../testing/fakeNras.ts';
import { checksOf } from '../testing/verificationRejection.ts';
import { toHex } from '../binary/encoding.ts';
import type { Json, JsonObject, Verifier } from '../verifier.ts';
import { createNrasClient } from './nrasClient.ts';
import { createNvidiaVerifier } from './nvidiaVerifier.ts';

const REPORT_DATA = new Uint8Array(createHash('sha384').update('remote').digest());
let pki: TestNvidiaPki;
let nras: FakeNras;
let verifier: Verifier;

beforeAll(async () => {
  pki = await createTestNvidiaPki();
  const golden = new Map(testMeasurements().map(({ index, value }) => [index, toHex(value)]));
  nras = await FakeNras.start({ rootFingerprints: [pki.rootFingerprint], golden });
  verifier = createNvidiaVerifier({ nras: createNrasClient({ verifierUrl: nras.verifierUrl, jwksUrl: nras.jwksUrl, ca: nras.ca }) });
});

afterAll(() => nras.close());

const verify = (evidence: Json, with_ = verifier, now = new Date()) => with_.evaluate(evidence, { reportData: REPORT_DATA, initDataDigest: undefined }, { now: () => now, collateral: {} });

describe('nvidia Remote mode against an NRAS-protocol HTTPS server', () => {
  test('sends upstream\'s request and emits NRAS\'s claims with the overall result', async () => {
    nras.requests.length = 0;
    const [gpu, ...rest] = await verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki, hex: true }]));
    expect(rest).toEqual([]);
    expect(gpu?.teeClass).toBe('gpu');
    expect(gpu?.claims).toMatchObject({
      'x-nvidia-overall-att-result': true,
      'x-nvidia-gpu-attestation-report-nonce-match': true,
      'x-nvidia-gpu-attestation-report-signature-verified': true,
      'x-nvidia-gpu-attestation-report-cert-chain': { 'x-nvidia-cert-status': 'valid', 'x-nvidia-cert-ocsp-status': 'good' },
      measres: 'success',
    });
    const attest = nras.requests.find((r) => r.method === 'POST') as { path: string; body: JsonObject };
    expect(attest.path).toBe('/v4/attest/gpu');
    expect(Object.keys(attest.body).sort()).toEqual(['arch', 'claims_version', 'evidence_list', 'nonce']);
    expect(attest.body).toMatchObject({ nonce: toHex(REPORT_DATA.subarray(0, 32)), arch: 'HOPPER', claims_version: '3.0' });
    // hex evidence goes to NRAS as base64, the certificate as sent
    const item = (attest.body.evidence_list as JsonObject[])[0] as JsonObject;
    expect(() => Buffer.from(item.evidence as string, 'base64')).not.toThrow();
    expect(/^[0-9a-f]+$/.test(item.evidence as string)).toBe(false);
  });

  test('the claims appraise through upstream\'s default_gpu keys (hardware, configuration, executables)', async () => {
    const [gpu] = await verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki }]));
    const claims = gpu?.claims as JsonObject;
    for (const key of ['x-nvidia-gpu-attestation-report-cert-chain-fwid-match', 'x-nvidia-gpu-attestation-report-parsed', 'x-nvidia-gpu-arch-check', 'secboot', 'x-nvidia-gpu-driver-rim-fetched', 'x-nvidia-gpu-vbios-rim-version-match']) {
      expect(claims[key], key).toBe(true);
    }
    expect(claims.dbgstat).toBe('disabled');
  });

  test('switches go to /switch and come back as class switch', async () => {
    const switchPki = await createTestNvidiaPki();
    const local = await FakeNras.start({ rootFingerprints: [switchPki.rootFingerprint] });
    try {
      const remote = createNvidiaVerifier({ nras: createNrasClient({ verifierUrl: local.verifierUrl, jwksUrl: local.jwksUrl, ca: local.ca }) });
      const { bytes } = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: switchPki.leafKey, opaque: [{ type: 6, value: Uint8Array.of(1, 2, 3, 4, 5, 0, 0, 0) }, { type: 22, value: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }] });
      const [device] = await verify({ device_evidence_list: [{ arch: 'LS10', evidence: toHex(bytes), certificate: Buffer.from(switchPki.chainPem).toString('base64') }] }, remote);
      expect(device?.teeClass).toBe('switch');
      expect(device?.claims['x-nvidia-switch-pdi']).toBe('0102030405060708');
      expect(local.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(['/v4/attest/switch']);
    } finally {
      await local.close();
    }
  });

  test('a nonce NRAS reports as mismatched is refused (nvidia.nonce)', async () => {
    expect(await checksOf(verify(createTestNvidiaEvidence(new Uint8Array(48), [{ pki }])))).toEqual({ code: 'verification_failed', checks: ['nvidia.nonce'] });
  });

  test('the JWKS is fetched once and cached; a rotated key is picked up by fetching again', async () => {
    const local = await FakeNras.start({ rootFingerprints: [pki.rootFingerprint] });
    try {
      const remote = createNvidiaVerifier({ nras: createNrasClient({ verifierUrl: local.verifierUrl, jwksUrl: local.jwksUrl, ca: local.ca }) });
      const evidence = createTestNvidiaEvidence(REPORT_DATA, [{ pki }]);
      await verify(evidence, remote);
      await verify(evidence, remote);
      expect(local.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
      await local.rotateKey(true);
      // Within a minute of the last fetch an unknown kid is not refetched (no JWKS hammering)...
      expect(await checksOf(verify(evidence, remote))).toEqual({ code: 'verification_failed', checks: ['nvidia.nras.signature'] });
      // ...a client whose cache is older fetches again and accepts the new key.
      const fresh = createNvidiaVerifier({ nras: createNrasClient({ verifierUrl: local.verifierUrl, jwksUrl: local.jwksUrl, ca: local.ca, jwksTtlMs: 0 }) });
      await expect(verify(evidence, fresh)).resolves.toHaveLength(1);
    } finally {
      await local.close();
    }
  });

  test('tokens signed by a key outside the JWKS are refused (nvidia.nras.signature)', async () => {
    const local = await FakeNras.start({ rootFingerprints: [pki.rootFingerprint] });
    const other = await FakeNras.start({ rootFingerprints: [pki.rootFingerprint], tls: local.tls });
    try {
      // Attest at one NRAS, trust the JWKS of another.
      const mixed = createNvidiaVerifier({ nras: createNrasClient({ verifierUrl: local.verifierUrl, jwksUrl: other.jwksUrl, ca: local.ca }) });
      expect(await checksOf(verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki }]), mixed))).toEqual({ code: 'verification_failed', checks: ['nvidia.nras.signature'] });
    } finally {
      await Promise.all([local.close(), other.close()]);
    }
  });

  test('an expired NRAS token is refused (nvidia.nras.signature)', async () => {
    const later = new Date(Date.now() + 2 * 3600_000);
    expect(await checksOf(verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki }]), verifier, later))).toEqual({ code: 'verification_failed', checks: ['nvidia.nras.signature'] });
  });

  test.each<[string, number, string, string]>([
    ['HTTP 400', 400, '{"errorCode":400,"message":"bad evidence"}', 'nvidia.nras.response'],
    ['not JSON', 200, '<html>', 'nvidia.nras.response'],
    ['two device tokens', 200, '[["JWT","a.b.c"],{"GPU-0":"a.b.c","GPU-1":"a.b.c"}]', 'nvidia.nras.response'],
    ['no overall token', 200, '[[],{"GPU-0":"a.b.c"}]', 'nvidia.nras.response'],
    ['garbage token', 200, '[["JWT","x"],{"GPU-0":"y"}]', 'nvidia.nras.token'],
  ])('%s is refused', async (_name, status, body, check) => {
    nras.failNext(status, body);
    expect(await checksOf(verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki }])))).toEqual({ code: 'verification_failed', checks: [check] });
  });

  test('an unreachable NRAS is collateral_unavailable; an untrusted TLS certificate too', async () => {
    const down = createNvidiaVerifier({ nras: createNrasClient({ verifierUrl: 'https://127.0.0.1:1/v4/attest', jwksUrl: nras.jwksUrl, ca: nras.ca }) });
    expect(await checksOf(verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki }]), down))).toEqual({ code: 'collateral_unavailable', checks: ['nvidia.nras'] });
    const untrusted = createNvidiaVerifier({ nras: createNrasClient({ verifierUrl: nras.verifierUrl, jwksUrl: nras.jwksUrl }) });
    expect(await checksOf(verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki }]), untrusted))).toEqual({ code: 'collateral_unavailable', checks: ['nvidia.nras'] });
  });
});
