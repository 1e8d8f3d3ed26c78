// Invariant: the other real Azure artefacts parse and verify piecewise: bincode quotes with their
// AK, the 2023 HCL report's SNP report with its VCEK, and the parse-only HCL/var-data samples.
import { createPublicKey } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { verifyRawSnpReport } from '../snp/verifyRawSnpReport.ts';
import { hasVectors, readVector, readVectorText } from '../testing/snpVectors.ts';
import { checkHclBinding, parseHclReport, parseHclRuntimeClaims, parseVtpmQuoteBincode, verifyTpmQuote } from './index.ts';

const challenge = new TextEncoder().encode('challenge');

describe.skipIf(!hasVectors('az-snp-vtpm/azcvm-quote.bin', 'az-snp-vtpm/azcvm-akpub.pem', 'az-snp-vtpm/trustee-quote.bin', 'az-tdx-vtpm/trustee-quote.bin'))('bincode vTPM quotes', () => {
  test('azcvm quote verifies with its AK PEM (nonce "challenge")', () => {
    const quote = parseVtpmQuoteBincode(readVector('az-snp-vtpm/azcvm-quote.bin'));
    const { pcrs } = verifyTpmQuote(quote, createPublicKey(readVectorText('az-snp-vtpm/azcvm-akpub.pem')), challenge);
    expect(Buffer.from(pcrs.get(0) ?? []).toString('hex')).toBe('f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be');
    expect(() => verifyTpmQuote(quote, createPublicKey(readVectorText('az-snp-vtpm/azcvm-akpub.pem')), Uint8Array.from([1, 2, 3, 4]))).toThrow(/nonce/);
    const reversed = { ...quote, signature: quote.signature.slice().reverse() };
    expect(() => verifyTpmQuote(reversed, createPublicKey(readVectorText('az-snp-vtpm/azcvm-akpub.pem')), challenge)).toThrow(/not signed/);
  });

  test.each([
    ['az-snp-vtpm', 'f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be'],
    ['az-tdx-vtpm', '782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273'],
  ])('%s trustee quote.bin verifies with the HCLAkPub of its hcl-report.bin', (dir, pcr00) => {
    const runtime = parseHclRuntimeClaims(parseHclReport(readVector(`${dir}/trustee-hcl-report.bin`)).varData);
    const { pcrs } = verifyTpmQuote(parseVtpmQuoteBincode(readVector(`${dir}/trustee-quote.bin`)), runtime.akPublicKey, challenge);
    expect(Buffer.from(pcrs.get(0) ?? []).toString('hex')).toBe(pcr00);
  });

  test('truncated bincode quotes are typed errors', () => {
    const bytes = readVector('az-snp-vtpm/azcvm-quote.bin');
    for (let n = 0; n < bytes.byteLength; n += 97) expect(() => parseVtpmQuoteBincode(bytes.subarray(0, n))).toThrow(/truncated|length/);
  });
});

describe.skipIf(!hasVectors('az-snp-vtpm/trustee-2023-hcl-report.bin', 'snp/trustee-test-vcek.der', 'az-snp-vtpm/azcvm-hcl-report-snp.bin', 'az-snp-vtpm/azcvm-var-data.bin'))('HCL reports', () => {
  test('2023 HCL report: SNP report == trustee test-report.bin, verifies with its VCEK, binds the runtime claims', () => {
    const hcl = parseHclReport(readVector('az-snp-vtpm/trustee-2023-hcl-report.bin'));
    expect(Buffer.compare(hcl.hardwareReport, readVector('snp/trustee-test-report.bin'))).toBe(0);
    const result = verifyRawSnpReport(hcl.hardwareReport, { vek: readVector('snp/trustee-test-vcek.der'), now: new Date('2026-06-01T00:00:00Z') });
    expect(result.product).toBe('Milan');
    expect(checkHclBinding(hcl, result.report.reportData, 'az')).toEqual([]);
  });

  test('azcvm HCL report parses; runtime JSON binds; var-data sample has both keys', () => {
    const hcl = parseHclReport(readVector('az-snp-vtpm/azcvm-hcl-report-snp.bin'));
    expect(hcl.varData.byteLength).toBe(583);
    expect(checkHclBinding(hcl, hcl.hardwareReport.subarray(0x50, 0x90), 'az')).toEqual([]);
    const runtime = parseHclRuntimeClaims(readVector('az-snp-vtpm/azcvm-var-data.bin'));
    expect((runtime.json['keys'] as Array<{ kid: string }>).map((k) => k.kid)).toEqual(['HCLAkPub', 'HCLEkPub']);
    expect(runtime.userData?.every((b) => b === 0)).toBe(true);
  });
});
