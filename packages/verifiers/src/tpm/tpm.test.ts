// Invariant: a vTPM quote is accepted only when the AK from the HCL runtime claims signed it, its
// nonce equals the expected report data exactly and the PCR values hash to the signed digest; HCL
// reports parse with every length checked and their runtime claims bind to the hardware report.
import { describe, expect, test } from 'vitest';
import { parseHclReport, parseHclRuntimeClaims, checkHclBinding, parseVtpmQuoteJson, verifyTpmQuote, parseTpmsAttest, checkInitDataPcr, pcrClaims } from './index.ts';
import { VerificationError } from '../verificationError.ts';
import { hasVectors, readVector, readVectorText } from '../testing/snpVectors.ts';

const challenge = new TextEncoder().encode('challenge');

function rejects(fn: () => unknown, code: string, check?: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as VerificationError).code).toBe(code);
    if (check !== undefined) expect((error as VerificationError).failures.map((f) => f.check)).toContain(check);
    return;
  }
  expect.unreachable('expected a VerificationError');
}

describe.skipIf(!hasVectors('az-snp-vtpm/trustee-hcl-report.bin', 'az-tdx-vtpm/trustee-hcl-report.bin'))('real Azure vTPM vectors', () => {
  test.each([
    ['az-snp-vtpm', 'snp', 'f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be'],
    ['az-tdx-vtpm', 'tdx', '782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273'],
  ])('%s HCL report + quote verify with HCLAkPub and nonce "challenge"', (dir, type, pcr00) => {
    const hcl = parseHclReport(readVector(`${dir}/trustee-hcl-report.bin`));
    expect(hcl.reportType).toBe(type);
    expect(hcl.hardwareReport.byteLength).toBe(type === 'snp' ? 1184 : 1024);
    expect(hcl.varData.byteLength).toBe(hcl.requestData.variableDataSize);
    const runtime = parseHclRuntimeClaims(hcl.varData);
    const quote = parseVtpmQuoteJson(JSON.parse(readVectorText(`${dir}/trustee-tpm-quote-v1.json`)));
    const verified = verifyTpmQuote(quote, runtime.akPublicKey, challenge);
    expect(Buffer.from(verified.attest.extraData).toString()).toBe('challenge');
    expect(pcrClaims(verified.pcrs)['pcr00']).toBe(pcr00);
    expect(Object.keys(pcrClaims(verified.pcrs))).toHaveLength(24);
    if (type === 'snp') {
      // SNP report_data sits at 0x50 of the SNP report.
      expect(checkHclBinding(hcl, hcl.hardwareReport.subarray(0x50, 0x90), 'az')).toEqual([]);
    }
  });

  test('2023 HCL report verifies the raw quote message/signature pair (selection 0-7,14)', () => {
    const hcl = parseHclReport(readVector('az-snp-vtpm/trustee-2023-hcl-report.bin'));
    const runtime = parseHclRuntimeClaims(hcl.varData);
    const attest = parseTpmsAttest(readVector('az-snp-vtpm/trustee-tpm-quote.msg'));
    expect(attest.pcrSelections[0]?.pcrs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 14]);
    // No PCR values are shipped: the signature and nonce checks pass, the PCR checks fail.
    try {
      verifyTpmQuote({ message: readVector('az-snp-vtpm/trustee-tpm-quote.msg'), signature: readVector('az-snp-vtpm/trustee-tpm-quote.sig'), pcrs: [] }, runtime.akPublicKey, challenge);
      expect.unreachable();
    } catch (error) {
      const checks = (error as VerificationError).failures.map((f) => f.check);
      expect(checks).toEqual(['tpm_quote.pcr_count', 'tpm_quote.pcr_digest']);
    }
  });

  test('upstream tamper cases: signature bit, PCR bit, reversed nonce, AK byte, var-data byte', () => {
    const bytes = readVector('az-snp-vtpm/trustee-hcl-report.bin');
    const runtime = parseHclRuntimeClaims(parseHclReport(bytes).varData);
    const quote = parseVtpmQuoteJson(JSON.parse(readVectorText('az-snp-vtpm/trustee-tpm-quote-v1.json')));
    const badSig = { ...quote, signature: quote.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    rejects(() => verifyTpmQuote(badSig, runtime.akPublicKey, challenge), 'verification_failed', 'tpm_quote.signature');
    const badPcr = { ...quote, pcrs: quote.pcrs.map((p, i) => (i === 0 ? p.map((b, j) => (j === 0 ? b ^ 1 : b)) : p)) };
    rejects(() => verifyTpmQuote(badPcr, runtime.akPublicKey, challenge), 'verification_failed', 'tpm_quote.pcr_digest');
    rejects(() => verifyTpmQuote(quote, runtime.akPublicKey, challenge.slice().reverse()), 'verification_failed', 'tpm_quote.nonce');
    const badAk = bytes.slice();
    badAk[0x540] = 0;
    rejects(() => parseHclRuntimeClaims(parseHclReport(badAk).varData), 'malformed_evidence');
    const badVarData = bytes.slice();
    badVarData[0x6e0] = ((badVarData[0x6e0] as number) + 1) & 0xff;
    const tampered = parseHclReport(badVarData);
    expect(checkHclBinding(tampered, tampered.hardwareReport.subarray(0x50, 0x90), 'az').map((f) => f.check)).toEqual(['az.hcl_var_data']);
  });

  test('init-data PCR8 rule', () => {
    const runtime = parseHclRuntimeClaims(parseHclReport(readVector('az-snp-vtpm/trustee-hcl-report.bin')).varData);
    const { pcrs } = verifyTpmQuote(parseVtpmQuoteJson(JSON.parse(readVectorText('az-snp-vtpm/trustee-tpm-quote-v1.json'))), runtime.akPublicKey, challenge);
    expect(checkInitDataPcr(pcrs, undefined, 'az')).toEqual([]);
    expect(checkInitDataPcr(pcrs, new Uint8Array(48), 'az')[0]?.expected).toBe('32 bytes');
    expect(checkInitDataPcr(pcrs, new Uint8Array(32), 'az')[0]?.check).toBe('az.init_data');
    const doctored = new Map(pcrs);
    doctored.set(8, Buffer.from('bddaccb9c52249e97a31baea61b7d91be8221a16e703d92148d04fb8e9c1dfdd', 'hex'));
    expect(checkInitDataPcr(doctored, Buffer.from('8505e4e25e50a27c5dc8147af88efbece627fbea55291911eff832d9ee127781', 'hex'), 'az')).toEqual([]);
  });
});

describe('HCL and TPMS_ATTEST parsers reject hostile input with typed errors', () => {
  test.each([
    ['empty', new Uint8Array(0)],
    ['header only', Uint8Array.from([0x48, 0x43, 0x4c, 0x41, 0, 0, 0, 0])],
    ['wrong magic', new Uint8Array(2600)],
  ])('HCL %s', (_name, bytes) => rejects(() => parseHclReport(bytes), 'malformed_evidence'));

  test('HCL variable data size larger than the buffer', () => {
    const bytes = new Uint8Array(0x4d4 + 10);
    new DataView(bytes.buffer).setUint32(0, 0x414c4348, true);
    new DataView(bytes.buffer).setUint32(0x4c8, 2, true);
    new DataView(bytes.buffer).setUint32(0x4cc, 1, true);
    new DataView(bytes.buffer).setUint32(0x4d0, 11, true);
    rejects(() => parseHclReport(bytes), 'malformed_evidence', 'hcl_report.var_data');
    new DataView(bytes.buffer).setUint32(0x4d0, 10, true);
    expect(parseHclReport(bytes).varData.byteLength).toBe(10);
    new DataView(bytes.buffer).setUint32(0x4cc, 2, true);
    rejects(() => parseHclReport(bytes), 'unsupported');
  });

  test.each([
    ['empty', ''],
    ['bad magic', '00000000'],
    ['not a quote', 'ff5443478017'],
    ['truncated extraData', 'ff54434780180000ffff'],
  ])('TPMS_ATTEST %s', (_name, hex) => rejects(() => parseTpmsAttest(Buffer.from(hex, 'hex')), 'malformed_evidence'));

  test('runtime claims: not JSON, no AK, bad user-data hex', () => {
    rejects(() => parseHclRuntimeClaims(new TextEncoder().encode('{')), 'malformed_evidence');
    rejects(() => parseHclRuntimeClaims(new TextEncoder().encode('{"keys":[]}')), 'malformed_evidence');
    rejects(() => parseHclRuntimeClaims(new TextEncoder().encode('{"keys":[{"kid":"HCLAkPub","kty":"RSA","n":"AQAB","e":"AQAB"}],"user-data":"zz"}')), 'malformed_evidence');
  });
});
