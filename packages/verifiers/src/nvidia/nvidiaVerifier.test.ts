// Invariant: NVIDIA evidence under the test PKI verifies only when the SPDM signature, every
// chain link to the pinned root, every validity window, the FWID and the nonce all hold; each
// signed byte range and each certificate of the chain, when tampered with, is refused with a named
// failed check; malformed wire JSON is `malformed_evidence`, never a crash.
import 'reflect-metadata';
import { createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import * as x509 from '@peculiar/x509';
import {
  createTestNvidiaEvidence,
  createTestNvidiaPki,
  createTestSpdmReport,
  pem,
  TEST_DRIVER_VERSION,
  TEST_VBIOS_VERSION,
  testMeasurements,
  type TestNvidiaPki,
} from '../testing/nvidiaFactory.ts';
import { checksOf } from '../testing/verificationRejection.ts';
import { toHex } from '../binary/encoding.ts';
import type { Json, JsonObject, Verifier } from '../verifier.ts';
import { createNvidiaVerifier, nvidiaVerifier } from './nvidiaVerifier.ts';
import { getVerifier } from '../registry.ts';

const NOW = new Date('2026-01-01T00:00:00Z');
const REPORT_DATA = new Uint8Array(createHash('sha384').update('runtime data').digest());

let pki: TestNvidiaPki;
let verifier: Verifier;

beforeAll(async () => {
  pki = await createTestNvidiaPki();
  verifier = createNvidiaVerifier({ rootFingerprints: [pki.rootFingerprint] });
});

function verify(evidence: Json, options: { reportData?: Uint8Array | undefined; now?: Date; with?: Verifier } = {}) {
  const reportData = 'reportData' in options ? options.reportData : REPORT_DATA;
  return (options.with ?? verifier).evaluate(evidence, { reportData, initDataDigest: undefined }, { now: () => options.now ?? NOW, collateral: {} });
}

function device(evidence: Uint8Array, chainPem = pki.chainPem, arch = 'HOPPER'): Json {
  return { device_evidence_list: [{ arch, uuid: 'GPU-1', evidence: Buffer.from(evidence).toString('base64'), certificate: Buffer.from(chainPem).toString('base64') }] };
}

describe('nvidia verifier (test PKI)', () => {
  test('is registered for the nvidia TEE with NVIDIA\'s root', () => {
    expect(getVerifier('nvidia')).toBe(nvidiaVerifier);
  });

  test('accepts a signed report and emits upstream\'s claim shape', async () => {
    const measurements = testMeasurements(4);
    const [gpu, ...rest] = await verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki, measurements }]));
    expect(rest).toEqual([]);
    expect(gpu?.teeClass).toBe('gpu');
    expect(gpu?.claims).toEqual({
      arch: 'Hopper',
      uuid: 'GPU-test-0',
      measurements: Object.fromEntries(measurements.map(({ index, value }) => [String(index), toHex(value)])),
      config: { driver_version: TEST_DRIVER_VERSION, vbios_version: TEST_VBIOS_VERSION, fwid: pki.fwid },
    });
  });

  test('hex evidence (upstream\'s original encoding) and base64 (NVAT) both verify; uuid defaults to "unknown"', async () => {
    const evidence = createTestNvidiaEvidence(REPORT_DATA, [{ pki, hex: true }]) as { device_evidence_list: JsonObject[] };
    delete evidence.device_evidence_list[0]?.uuid;
    const [gpu] = await verify(evidence);
    expect(gpu?.claims.uuid).toBe('unknown');
  });

  test('several devices yield one claim set each, switches as class switch', async () => {
    const other = await createTestNvidiaPki();
    const multi = createNvidiaVerifier({ rootFingerprints: [pki.rootFingerprint, other.rootFingerprint] });
    const { bytes } = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: other.leafKey, opaque: [{ type: 6, value: Uint8Array.of(1, 2, 3, 4, 5, 0, 0, 0) }] });
    const evidence = createTestNvidiaEvidence(REPORT_DATA, [{ pki }, { pki }]) as { device_evidence_list: Json[] };
    evidence.device_evidence_list.push({ arch: 'LS10', evidence: toHex(bytes), certificate: Buffer.from(other.chainPem).toString('base64') });
    const claims = await verify(evidence, { with: multi });
    expect(claims.map((c) => c.teeClass)).toEqual(['gpu', 'gpu', 'switch']);
    expect(claims[2]?.claims.arch).toBe('LS10');
  });

  test('NVIDIA\'s pinned root refuses the test PKI (nvidia.cert_chain.root)', async () => {
    expect(await checksOf(verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki }]), { with: nvidiaVerifier }))).toEqual({ code: 'verification_failed', checks: ['nvidia.cert_chain.root'] });
  });

  test('another nonce, or none, is refused (nvidia.nonce)', async () => {
    const evidence = createTestNvidiaEvidence(new Uint8Array(48), [{ pki }]);
    expect(await checksOf(verify(evidence))).toEqual({ code: 'verification_failed', checks: ['nvidia.nonce'] });
    expect(await checksOf(verify(evidence, { reportData: undefined }))).toEqual({ code: 'verification_failed', checks: ['nvidia.nonce'] });
  });

  test('a clock outside the chain\'s window is refused (nvidia.cert_chain.validity)', async () => {
    const { checks } = await checksOf(verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki }]), { now: new Date('2040-01-01T00:00:00Z') }));
    expect(new Set(checks)).toEqual(new Set(['nvidia.cert_chain.validity']));
  });

  test('a leaf without FWID, or with another FWID, is refused (nvidia.fwid)', async () => {
    const bare = await createTestNvidiaPki({ noFwid: true });
    const bareVerifier = createNvidiaVerifier({ rootFingerprints: [bare.rootFingerprint] });
    const { bytes } = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: bare.leafKey, fwid: pki.fwid });
    expect(await checksOf(verify(device(bytes, bare.chainPem), { with: bareVerifier }))).toEqual({ code: 'verification_failed', checks: ['nvidia.fwid'] });
    const other = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: pki.leafKey, fwid: '00'.repeat(48) });
    expect(await checksOf(verify(device(other.bytes)))).toEqual({ code: 'verification_failed', checks: ['nvidia.fwid'] });
  });

  test('a GPU report without driver version is refused (nvidia.opaque_data)', async () => {
    const { bytes } = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: pki.leafKey, opaque: [{ type: 20, value: Buffer.from(pki.fwid, 'hex') }, { type: 6, value: Uint8Array.of(1, 2, 3) }] });
    expect(await checksOf(verify(device(bytes)))).toEqual({ code: 'verification_failed', checks: ['nvidia.opaque_data'] });
  });

  test('Blackwell is refused locally as unsupported (use Remote), like upstream', async () => {
    expect(await checksOf(verify(createTestNvidiaEvidence(REPORT_DATA, [{ pki, arch: 'Blackwell' }])))).toEqual({ code: 'unsupported', checks: ['nvidia.arch'] });
  });

  test('a request that asked for no signature is malformed', async () => {
    const { bytes } = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: pki.leafKey, fwid: pki.fwid, param1: 0 });
    expect(await checksOf(verify(device(bytes)))).toEqual({ code: 'malformed_evidence', checks: ['nvidia.spdm.request.param1'] });
  });
});

describe('tampering with every signed byte range', () => {
  // Regions whose bytes are free values: any change can only be caught by the signature (or the
  // nonce binding). Structural regions may instead fail to parse, which is a named check too.
  const VALUE_REGIONS = new Set(['request.nonce', 'request.slot_id', 'response.nonce', 'response.signature.r', 'response.signature.s']);

  // The region names of a report, from a throwaway key (the layout does not depend on the key).
  const REGIONS = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey, measurements: testMeasurements(3) }).layout.regions.map((r) => r.name);

  test.each(REGIONS)('%s: first, middle and last byte', async (name) => {
    const { bytes, layout } = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: pki.leafKey, fwid: pki.fwid, measurements: testMeasurements(3) });
    const region = layout.regions.find((r) => r.name === name) as { name: string; start: number; end: number };
    for (const at of new Set([region.start, Math.floor((region.start + region.end - 1) / 2), region.end - 1])) {
      const tampered = Uint8Array.from(bytes);
      tampered[at] = (tampered[at] as number) ^ 0x01;
      const { code, checks } = await checksOf(verify(device(tampered)));
      expect(checks.length, `${region.name} byte ${at}`).toBeGreaterThan(0);
      if (VALUE_REGIONS.has(region.name)) expect(checks, `${region.name} byte ${at}`).toContain(region.name === 'request.nonce' ? 'nvidia.nonce' : 'nvidia.spdm.signature');
      if (code === 'verification_failed') expect(checks.every((c) => c.startsWith('nvidia.')), `${region.name}: ${checks.join(',')}`).toBe(true);
      else expect(code, `${region.name} byte ${at}: ${checks.join(',')}`).toBe('malformed_evidence');
    }
  });

  test('each measurement value and opaque value is covered by the signature', async () => {
    const { bytes, layout } = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: pki.leafKey, fwid: pki.fwid, measurements: testMeasurements(3) });
    const record = layout.regions.find((r) => r.name === 'response.measurement_record');
    const opaque = layout.regions.find((r) => r.name === 'response.opaque_data');
    // value bytes: each block is 2+2 header, 1+2 DMTF header, 48 value bytes
    const offsets = [0, 1, 2].map((i) => (record?.start as number) + i * 55 + 7 + 10);
    offsets.push((opaque?.start as number) + 4 + 2); // inside the driver version text
    for (const at of offsets) {
      const tampered = Uint8Array.from(bytes);
      tampered[at] = (tampered[at] as number) ^ 0x01;
      expect(await checksOf(verify(device(tampered))), `byte ${at}`).toEqual({ code: 'verification_failed', checks: ['nvidia.spdm.signature'] });
    }
  });

  test('bytes appended after the signature: zero padding tolerated, anything else malformed', async () => {
    const { bytes } = createTestSpdmReport({ nonce: REPORT_DATA, signingKey: pki.leafKey, fwid: pki.fwid });
    await expect(verify(device(Uint8Array.from([...bytes, 0])))).resolves.toHaveLength(1);
    expect(await checksOf(verify(device(Uint8Array.from([...bytes, 7]))))).toEqual({ code: 'malformed_evidence', checks: ['nvidia.spdm.trailing'] });
    expect(await checksOf(verify(device(bytes.subarray(0, bytes.length - 1))))).toEqual({ code: 'malformed_evidence', checks: ['nvidia.spdm.response.signature'] });
  });
});

describe('tampering with every certificate of the chain', () => {
  const signedReport = () => createTestSpdmReport({ nonce: REPORT_DATA, signingKey: pki.leafKey, fwid: pki.fwid }).bytes;

  test.each([0, 1, 2, 3, 4])('certificate %i with a flipped signature byte', async (index) => {
    const ders = pki.chainDer.map((d) => Uint8Array.from(d));
    const der = ders[index] as Uint8Array;
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0x01;
    const { code, checks } = await checksOf(verify(device(signedReport(), ders.map(pem).join(''))));
    expect(code).toBe('verification_failed');
    // The root's copy no longer matches the pin; any other certificate no longer verifies under its issuer.
    expect(checks).toEqual(index === 4 ? ['nvidia.cert_chain.root'] : ['nvidia.cert_chain.signature']);
  });

  test.each([0, 1, 2, 3, 4])('certificate %i re-issued by a stranger key with the same names', async (index) => {
    const stranger = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const original = new x509.X509Certificate(pki.chainDer[index] as Uint8Array);
    const forged = await x509.X509CertificateGenerator.create({
      serialNumber: original.serialNumber,
      subject: original.subject,
      issuer: original.issuer,
      notBefore: original.notBefore,
      notAfter: original.notAfter,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
      publicKey: await original.publicKey.export({ name: 'ECDSA', namedCurve: 'P-384' }, ['verify']),
      signingKey: stranger.privateKey,
      extensions: [...original.extensions],
    });
    const ders = pki.chainDer.map((d, i) => (i === index ? new Uint8Array(forged.rawData) : d));
    const { checks } = await checksOf(verify(device(signedReport(), ders.map(pem).join(''))));
    expect(checks).toEqual(index === 4 ? ['nvidia.cert_chain.root'] : ['nvidia.cert_chain.signature']);
  });

  test.each([0, 1, 2, 3])('certificate %i removed', async (index) => {
    const ders = pki.chainDer.filter((_, i) => i !== index);
    const { checks } = await checksOf(verify(device(signedReport(), ders.map(pem).join(''))));
    expect(checks).toEqual(index === 0 ? ['nvidia.spdm.signature', 'nvidia.fwid'] : ['nvidia.cert_chain.signature']);
  });

  test('the root removed (chain ends in an intermediate)', async () => {
    const { checks } = await checksOf(verify(device(signedReport(), pki.chainDer.slice(0, 4).map(pem).join(''))));
    expect(checks).toEqual(['nvidia.cert_chain.root']);
  });

  test('a certificate issued by a non-CA (the leaf) is refused (nvidia.cert_chain.ca)', async () => {
    // Put the leaf's key in an intermediate position: a leaf (CA:false) "issues" a certificate.
    const leafPair = pki.keys[0] as webcrypto.CryptoKeyPair;
    const brom = new x509.X509Certificate(pki.chainDer[1] as Uint8Array);
    const leaf = new x509.X509Certificate(pki.chainDer[0] as Uint8Array);
    const child = await x509.X509CertificateGenerator.create({
      serialNumber: '77',
      subject: 'CN=Child, O=Test Not NVIDIA',
      issuer: leaf.subject,
      notBefore: leaf.notBefore,
      notAfter: leaf.notAfter,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
      publicKey: leafPair.publicKey,
      signingKey: leafPair.privateKey,
      extensions: [...leaf.extensions],
    });
    expect(brom.subject).toBe(leaf.issuer);
    const { checks } = await checksOf(verify(device(signedReport(), [new Uint8Array(child.rawData), ...pki.chainDer].map(pem).join(''))));
    expect(checks).toEqual(['nvidia.cert_chain.ca']);
  });
});

describe('malformed wire JSON is malformed_evidence', () => {
  test.each<[string, Json, string]>([
    ['not an object', [], 'nvidia'],
    ['no list', {}, 'nvidia.device_evidence_list'],
    ['empty list', { device_evidence_list: [] }, 'nvidia.device_evidence_list'],
    ['too many devices', { device_evidence_list: Array(17).fill({}) }, 'nvidia.device_evidence_list'],
    ['unknown arch', { device_evidence_list: [{ arch: 'Ampere', evidence: '', certificate: '' }] }, 'nvidia.device_evidence_list[0].arch'],
    ['lower-case arch (serde names only)', { device_evidence_list: [{ arch: 'hopper', evidence: '', certificate: '' }] }, 'nvidia.device_evidence_list[0].arch'],
    ['evidence not a string', { device_evidence_list: [{ arch: 'HOPPER', evidence: 1, certificate: '' }] }, 'nvidia.device_evidence_list[0].evidence'],
    ['evidence neither hex nor base64', { device_evidence_list: [{ arch: 'HOPPER', evidence: '%%', certificate: '' }] }, 'nvidia.device_evidence_list[0].evidence'],
    ['empty evidence', { device_evidence_list: [{ arch: 'HOPPER', evidence: '', certificate: '' }] }, 'nvidia.spdm.request.version'],
  ])('%s', async (_name, evidence, check) => {
    expect(await checksOf(verify(evidence))).toEqual({ code: 'malformed_evidence', checks: [check] });
  });
});
