// Invariant: az-snp-vtpm evidence of every wire version is accepted only when the vTPM quote, the
// HCL runtime-claims binding, the (v2) user-data, the VCEK chain and the SNP report all check out;
// every failure is reported with its check name. Offline, on the generated test PKI.
import { describe, expect, test } from 'vitest';
import { buildHclReport, buildRuntimeClaims, buildTpmQuote, createTestAzSnpVtpmEvidence, testAttestationKey, testPcrs } from '../testing/azureFactory.ts';
import { createTestSnpReport, testAmdTrustAnchors, testVek } from '../testing/snpFactory.ts';
import type { Json } from '../verifier.ts';
import { checksOf } from '../testing/verificationRejection.ts';
import { azSnpVtpmVerifier, createAzSnpVtpmVerifier } from './azSnpVtpmVerifier.ts';
import { createHash } from 'node:crypto';

const verifier = createAzSnpVtpmVerifier({ trustAnchors: await testAmdTrustAnchors() });
const context = { now: () => new Date('2030-01-01T00:00:00Z'), collateral: {} };
const nonce = Uint8Array.from({ length: 48 }, (_, i) => 200 - i);
const initData = Uint8Array.from({ length: 32 }, (_, i) => i);

describe.each([0, 1, 2] as const)('evidence v%i', (version) => {
  test.each(['Milan', 'Genoa', 'Turin'] as const)('%s: verifies, init-data via PCR8, claims as upstream', async (product) => {
    const { evidence, quote } = await createTestAzSnpVtpmEvidence({ version, reportData: nonce, initDataDigest: initData, product });
    const [result] = await verifier.evaluate(evidence, { reportData: nonce, initDataDigest: initData }, context);
    const claims = result?.claims as Record<string, Json>;
    expect(claims['report_data']).toBe(Buffer.from(nonce).toString('hex'));
    expect(claims['init_data']).toBe(Buffer.from(quote.pcrs[8] ?? []).toString('hex'));
    expect((claims['tpm'] as Record<string, string>)['pcr23']).toBe(Buffer.from(quote.pcrs[23] ?? []).toString('hex'));
    expect(claims['policy_smt_allowed']).toBe('true');
    expect(typeof claims['reported_tcb_snp']).toBe('string');
  });

  test('wrong nonce, wrong init-data', async () => {
    const { evidence } = await createTestAzSnpVtpmEvidence({ version, reportData: nonce });
    const other = nonce.map((b) => b ^ 1);
    const expectedChecks = version === 2 ? ['tpm_quote.nonce', 'az-snp-vtpm.user_data'] : ['tpm_quote.nonce'];
    expect((await checksOf(verifier.evaluate(evidence, { reportData: other, initDataDigest: undefined }, context))).checks).toEqual(expectedChecks);
    expect((await checksOf(verifier.evaluate(evidence, { reportData: nonce, initDataDigest: initData }, context))).checks).toEqual(['az-snp-vtpm.init_data']);
  });
});

describe('rejections', () => {
  test('default verifier (AMD roots only) rejects the test PKI', async () => {
    const { evidence } = await createTestAzSnpVtpmEvidence({ reportData: nonce });
    expect((await checksOf(azSnpVtpmVerifier.evaluate(evidence, { reportData: nonce, initDataDigest: undefined }, context))).checks).toContain('snp.vek.signature');
  });

  test('v2 user-data that does not start with the report data (quote nonce still right)', async () => {
    const { evidence } = await createTestAzSnpVtpmEvidence({ version: 2, reportData: nonce, userData: new Uint8Array(64) });
    expect((await checksOf(verifier.evaluate(evidence, { reportData: nonce, initDataDigest: undefined }, context))).checks).toEqual(['az-snp-vtpm.user_data']);
    const { evidence: v1 } = await createTestAzSnpVtpmEvidence({ version: 1, reportData: nonce, userData: new Uint8Array(64) });
    await expect(verifier.evaluate(v1, { reportData: nonce, initDataDigest: undefined }, context)).resolves.toHaveLength(1);
  });

  test('VMPL other than 0 and an expired VCEK are both reported', async () => {
    const vek = await testVek('Milan', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2029-01-01T00:00:00Z') });
    const { evidence } = await createTestAzSnpVtpmEvidence({ reportData: nonce, vmpl: 1, vek });
    expect((await checksOf(verifier.evaluate(evidence, { reportData: nonce, initDataDigest: undefined }, context))).checks).toEqual(['snp.vcek.validity', 'snp.vmpl']);
  });

  test('runtime claims not bound by the SNP report (report_data of another var-data)', async () => {
    const ak = testAttestationKey();
    const varData = buildRuntimeClaims({ akPublicKey: ak.publicKey, userData: nonce });
    const snp = await createTestSnpReport({ reportData: createHash('sha256').update('something else').digest() });
    const hcl = buildHclReport(snp.bytes, 'snp', varData);
    const quote = buildTpmQuote(ak.privateKey, nonce, testPcrs());
    const evidence = {
      version: 2,
      tpm_quote: { signature: Buffer.from(quote.signature).toString('hex'), message: Buffer.from(quote.message).toString('hex'), pcrs: quote.pcrs.map((p) => Buffer.from(p).toString('hex')) },
      hcl_report: Buffer.from(hcl).toString('base64url'),
      vcek: Buffer.from(snp.vek.der).toString('base64url'),
    };
    expect((await checksOf(verifier.evaluate(evidence, { reportData: nonce, initDataDigest: undefined }, context))).checks).toEqual(['az-snp-vtpm.hcl_var_data']);
  });

  test('quote signed by another key than HCLAkPub; quote over a selection without PCR8', async () => {
    const { evidence } = await createTestAzSnpVtpmEvidence({ version: 1, reportData: nonce });
    const e = evidence as { tpm_quote: { signature: string; message: string; pcrs: string[] } };
    const { generateKeyPairSync } = await import('node:crypto');
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const foreign = buildTpmQuote(otherKey, nonce, testPcrs());
    const swapped = { ...e, tpm_quote: { ...e.tpm_quote, signature: Buffer.from(foreign.signature).toString('hex'), message: Buffer.from(foreign.message).toString('hex') } };
    expect((await checksOf(verifier.evaluate(swapped as unknown as Json, { reportData: nonce, initDataDigest: undefined }, context))).checks).toEqual(['tpm_quote.signature']);

    // 23 PCRs selected (PCR8 left out): the values are named by the signed selection, so the
    // init-data rule finds no PCR8 instead of reading PCR9 as PCR8.
    const ak = testAttestationKey();
    const pcrs = testPcrs(initData).filter((_, i) => i !== 8);
    const partial = buildTpmQuote(ak.privateKey, nonce, pcrs, 0xffffff & ~(1 << 8));
    const partialEvidence = { ...e, tpm_quote: { signature: Buffer.from(partial.signature).toString('hex'), message: Buffer.from(partial.message).toString('hex'), pcrs: partial.pcrs.map((p) => Buffer.from(p).toString('hex')) } };
    const result = await checksOf(verifier.evaluate(partialEvidence as unknown as Json, { reportData: nonce, initDataDigest: initData }, context));
    expect(result.checks).toEqual(['az-snp-vtpm.init_data']);
    const [ok] = await verifier.evaluate(partialEvidence as unknown as Json, { reportData: nonce, initDataDigest: undefined }, context);
    expect(Object.keys(ok?.claims['tpm'] as object)).not.toContain('pcr08');
  });

  test('report data is required', async () => {
    const { evidence } = await createTestAzSnpVtpmEvidence({ reportData: nonce });
    expect(await checksOf(verifier.evaluate(evidence, { reportData: undefined, initDataDigest: undefined }, context))).toEqual({ code: 'verification_failed', checks: ['az-snp-vtpm.report_data'] });
  });

  test('malformed shapes are typed', async () => {
    for (const bad of [null, 1, 'x', [], {}, { version: 3, tpm_quote: {} }, { version: 2 }, { quote: {}, report: [], vcek: '' }, { version: 1, tpm_quote: { signature: 'zz', message: '', pcrs: [] }, hcl_report: '', vcek: '' }] as Json[]) {
      expect((await checksOf(verifier.evaluate(bad, { reportData: nonce, initDataDigest: undefined }, context))).code).toBe('malformed_evidence');
    }
  });
});
