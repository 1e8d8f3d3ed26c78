// Invariant: the operator hook verifies an SNP evidence file offline in each form it may come in
// (raw report + --cert, CoCo JSON with or without chain, configfs-tsm JSON) and refuses to guess
// when the VCEK is missing.
import { describe, expect, test } from 'vitest';
import { createTestSnpReport, testAmdTrustAnchors } from '../testing/snpFactory.ts';
import { hasVectors, readVector } from '../testing/snpVectors.ts';
import { verifySnpEvidenceFile } from './verifySnpEvidenceFile.ts';

const trustAnchors = await testAmdTrustAnchors(['Milan']);
const now = new Date('2030-01-01T00:00:00Z');
const reportData = new Uint8Array(64).fill(5);

describe('verifySnpEvidenceFile', () => {
  test('raw report needs --cert; with it, verifies', async () => {
    const { bytes, vek } = await createTestSnpReport({ reportData });
    expect(() => verifySnpEvidenceFile(bytes, { trustAnchors, now })).toThrow(/--cert/);
    expect(verifySnpEvidenceFile(bytes, { cert: vek.der, trustAnchors, now, reportData }).format).toBe('raw-report');
    expect(() => verifySnpEvidenceFile(bytes.subarray(0, 100), { cert: vek.der, trustAnchors, now })).toThrow(/raw SNP report/);
  });

  test('CoCo JSON with chain, and without chain plus --cert', async () => {
    const { evidence, evidenceWithoutChain, vek } = await createTestSnpReport({ reportData });
    const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
    expect(verifySnpEvidenceFile(enc(evidence), { trustAnchors, now, reportData }).format).toBe('coco-json');
    expect(() => verifySnpEvidenceFile(enc(evidenceWithoutChain), { trustAnchors, now })).toThrow(/--cert/);
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(vek.der).toString('base64')}\n-----END CERTIFICATE-----\n`;
    expect(verifySnpEvidenceFile(enc(evidenceWithoutChain), { cert: pem, trustAnchors, now }).claims['report_data']).toBe(Buffer.from(reportData).toString('hex'));
    expect(() => verifySnpEvidenceFile(new TextEncoder().encode('{"attestation'), { trustAnchors, now })).toThrow(/JSON/);
  });

  test.skipIf(!hasVectors('snp/veraison-sevsnp-tsm-report.json'))('configfs-tsm JSON (real Genoa vector) with AMD roots', () => {
    const result = verifySnpEvidenceFile(readVector('snp/veraison-sevsnp-tsm-report.json'), { now: new Date('2026-06-01T00:00:00Z') });
    expect(result).toMatchObject({ format: 'configfs-tsm', product: 'Genoa' });
  });
});
