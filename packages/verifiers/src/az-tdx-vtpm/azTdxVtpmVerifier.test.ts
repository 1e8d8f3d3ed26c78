// Invariant: Azure TDX vTPM evidence is accepted only when the vTPM quote (AK from the HCL runtime
// claims) carries the expected nonce and PCRs, the TD quote passes full DCAP verification, the TD
// quote's report_data commits to the HCL runtime claims, (v2) user-data carries the nonce and PCR8
// carries the init-data digest; real Trustee evidence verifies with its recorded facts.
import { beforeAll, describe, expect, test } from 'vitest';
import { createHash, verify as cryptoVerify } from 'node:crypto';
import { azTdxVtpmVerifier, createAzTdxVtpmVerifier } from './azTdxVtpmVerifier.ts';
import { staticIntelCollateral } from '../collateral/intelStatic.ts';
import { createTdxTestPlatform, TDX_FACTORY_NOW, type TdxTestPlatform } from '../testing/tdxFactory.ts';
import { createTestAzTdxVtpmEvidence } from '../testing/tdxAzureFactory.ts';
import { assembledCollateral, hasTdxVectors } from '../testing/tdxVectors.ts';
import { readVector, readVectorText } from '../testing/snpVectors.ts';
import { parseDcapQuote } from '../dcap/parseQuote.ts';
import { createTdxVerifier } from '../tdx/tdxVerifier.ts';
import { checkHclBinding } from '../tpm/hclBinding.ts';
import { parseHclReport, parseHclRuntimeClaims } from '../tpm/hclReport.ts';
import { parseTpmsAttest } from '../tpm/tpmsAttest.ts';
import { flipByte, sampleOffsets } from '../testing/tdxTamper.ts';
import { rejection, failedChecks } from '../testing/verificationRejection.ts';
import type { CollateralSource, Json, JsonObject, VerificationExpectations } from '../verifier.ts';

const nonce = createHash('sha256').update('az-tdx nonce').digest();

let platform: TdxTestPlatform;
let source: CollateralSource;
beforeAll(async () => {
  platform = await createTdxTestPlatform();
  source = await platform.collateralSource();
});

async function run(evidence: Json, expected: VerificationExpectations): Promise<JsonObject> {
  const [result] = await createAzTdxVtpmVerifier({ trustAnchors: platform.trustAnchors }).evaluate(evidence, expected, { now: () => TDX_FACTORY_NOW, collateral: source });
  expect(result?.teeClass).toBe('cpu');
  return result?.claims as JsonObject;
}

describe('az-tdx-vtpm on factory evidence', () => {
  test.each([0, 1, 2] as const)('evidence v%i verifies; report_data/init_data come from the vTPM quote', async (version) => {
    const initData = createHash('sha256').update('initdata').digest();
    const claims = await run(createTestAzTdxVtpmEvidence({ platform, nonce, version, initDataDigest: initData }), { reportData: nonce, initDataDigest: initData });
    expect(claims.report_data).toBe(nonce.toString('hex'));
    expect(claims.init_data).toBe(createHash('sha256').update(Buffer.alloc(32)).update(initData).digest('hex'));
    expect(Object.keys(claims.tpm as JsonObject)).toHaveLength(24);
    expect(claims.tcb_status).toBe('UpToDate');
    expect(claims.uefi_event_logs).toBeUndefined();
    expect((claims.quote as JsonObject).header).toMatchObject({ version: '0400', tee_type: '81000000' });
  });

  test('v5 TD quotes are accepted too', async () => {
    await run(createTestAzTdxVtpmEvidence({ platform, nonce, quote: { version: 5 } }), { reportData: nonce, initDataDigest: undefined });
  });

  test('expected report data is required', async () => {
    const error = await rejection(run(createTestAzTdxVtpmEvidence({ platform, nonce }), { reportData: undefined, initDataDigest: undefined }));
    expect(failedChecks(error)).toEqual(['az-tdx-vtpm.report_data']);
  });

  test('a wrong nonce fails the TPM nonce and the v2 user-data checks', async () => {
    const error = await rejection(run(createTestAzTdxVtpmEvidence({ platform, nonce }), { reportData: Buffer.alloc(32, 1), initDataDigest: undefined }));
    expect(failedChecks(error)).toEqual(['tpm_quote.nonce', 'az-tdx-vtpm.user_data']);
  });

  test('v1 evidence does not check user-data', async () => {
    const error = await rejection(run(createTestAzTdxVtpmEvidence({ platform, nonce, version: 1 }), { reportData: Buffer.alloc(32, 1), initDataDigest: undefined }));
    expect(failedChecks(error)).toEqual(['tpm_quote.nonce']);
  });

  test('a TD quote not bound to the HCL runtime claims is rejected', async () => {
    const error = await rejection(run(createTestAzTdxVtpmEvidence({ platform, nonce, unbound: true }), { reportData: nonce, initDataDigest: undefined }));
    expect(failedChecks(error)).toEqual(['az-tdx-vtpm.hcl_var_data']);
  });

  test('a PCR8 that does not carry the init-data digest is rejected', async () => {
    const error = await rejection(run(createTestAzTdxVtpmEvidence({ platform, nonce }), { reportData: nonce, initDataDigest: Buffer.alloc(32, 7) }));
    expect(failedChecks(error)).toEqual(['az-tdx-vtpm.init_data']);
  });

  test('the production verifier rejects the test Intel root', async () => {
    const error = await rejection(azTdxVtpmVerifier.evaluate(createTestAzTdxVtpmEvidence({ platform, nonce }), { reportData: nonce, initDataDigest: undefined }, { now: () => TDX_FACTORY_NOW, collateral: source }));
    expect(failedChecks(error)).toEqual(['dcap.pck_chain.root']);
  });

  test('tampered TD quote bytes and TPM signature bytes are rejected', async () => {
    const evidence = createTestAzTdxVtpmEvidence({ platform, nonce, version: 0 }) as { td_quote: number[]; tpm_quote: { signature: number[] } };
    for (const at of sampleOffsets(48, 632, 12)) {
      const td = flipByte(Uint8Array.from(evidence.td_quote), at);
      const error = await rejection(run({ ...evidence, td_quote: Array.from(td) }, { reportData: nonce, initDataDigest: undefined }));
      expect(failedChecks(error)).toContain('dcap.quote.signature');
    }
    const sig = flipByte(Uint8Array.from(evidence.tpm_quote.signature), 100);
    const error = await rejection(run({ ...evidence, tpm_quote: { ...evidence.tpm_quote, signature: Array.from(sig) } }, { reportData: nonce, initDataDigest: undefined }));
    expect(failedChecks(error)).toContain('tpm_quote.signature');
  });

  test.each([
    ['not an object', 5],
    ['unknown version', { version: 9, tpm_quote: {}, hcl_report: '', td_quote: '' }],
    ['v1 without td_quote', { version: 1, tpm_quote: { signature: '', message: '', pcrs: [] }, hcl_report: 'AAAA' }],
    ['v0 with a non-byte array', { tpm_quote: { signature: [], message: [], pcrs: [] }, hcl_report: [256], td_quote: [] }],
    ['HCL report of an SNP VM', null],
  ] as Array<[string, Json]>)('%s → malformed_evidence', async (name, evidence) => {
    let input = evidence;
    if (name.startsWith('HCL report')) {
      const good = createTestAzTdxVtpmEvidence({ platform, nonce, version: 0 }) as { hcl_report: number[] };
      const hcl = Uint8Array.from(good.hcl_report);
      hcl[0x4c8] = 2;
      input = { ...good, hcl_report: Array.from(hcl) };
    }
    const error = await rejection(run(input, { reportData: nonce, initDataDigest: undefined }));
    expect(error.code).toBe('malformed_evidence');
  });
});

describe.skipIf(!hasTdxVectors('az-tdx-vtpm/trustee-evidence-v0.json', 'az-tdx-vtpm/trustee-evidence-v1.json', 'tdx/teekit-tcbInfo-tdx-00806f050000.json', 'tdx/trustee-enclaveIdentity.json'))('real Azure TDX vTPM evidence', () => {
  const collateral = (): CollateralSource => staticIntelCollateral([assembledCollateral({ tcbInfo: 'tdx/teekit-tcbInfo-tdx-00806f050000.json', qeIdentity: 'tdx/trustee-enclaveIdentity.json' })]);
  const context = (): { now: () => Date; collateral: CollateralSource } => ({ now: () => new Date('2025-10-28T12:00:00Z'), collateral: collateral() });

  test.each(['az-tdx-vtpm/trustee-evidence-v0.json', 'az-tdx-vtpm/trustee-evidence-v1.json'])('%s verifies with nonce "challenge"', async (file) => {
    const [result] = await azTdxVtpmVerifier.evaluate(JSON.parse(readVectorText(file)) as Json, { reportData: Buffer.from('challenge'), initDataDigest: undefined }, context());
    const claims = result?.claims as JsonObject;
    expect(claims.report_data).toBe('6368616c6c656e6765');
    expect((claims.tpm as JsonObject).pcr00).toBe('782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273');
    expect(((claims.quote as JsonObject).body as JsonObject).mr_td).toBe('024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b');
    expect(claims.tcb_status).toBe('OutOfDate');
  });

  test('a wrong nonce is rejected; a tampered HCL runtime claim breaks the TD quote binding', async () => {
    const evidence = JSON.parse(readVectorText('az-tdx-vtpm/trustee-evidence-v0.json')) as { hcl_report: number[] };
    const wrong = await rejection(azTdxVtpmVerifier.evaluate(evidence as unknown as Json, { reportData: Buffer.from('challengf'), initDataDigest: undefined }, context()));
    expect(wrong.failures.map((f) => f.check)).toEqual(['tpm_quote.nonce']);
    // byte 0x880 lies in the runtime-claims JSON (upstream's own tamper test)
    const hcl = flipByte(Uint8Array.from(evidence.hcl_report), 0x880);
    const error = await rejection(azTdxVtpmVerifier.evaluate({ ...evidence, hcl_report: Array.from(hcl) } as unknown as Json, { reportData: Buffer.from('challenge'), initDataDigest: undefined }, context()));
    expect(error.failures.map((f) => f.check)).toContain('az-tdx-vtpm.hcl_var_data');
    const initData = await rejection(azTdxVtpmVerifier.evaluate(evidence as unknown as Json, { reportData: Buffer.from('challenge'), initDataDigest: Buffer.alloc(32, 9) }, context()));
    expect(initData.failures.map((f) => f.check)).toEqual(['az-tdx-vtpm.init_data']);
  });
});

describe.skipIf(!hasTdxVectors('az-tdx-vtpm/trustee-2023-hcl-report.bin', 'az-tdx-vtpm/trustee-2023-td-quote.bin', 'az-tdx-vtpm/trustee-2023-tpm-quote.msg', 'az-tdx-vtpm/trustee-2023-tpm-quote.sig', 'az-tdx-vtpm/azcvm-hcl-report-tdx.bin'))('2023 Azure TDX CVM artefacts (no PCR values shipped)', () => {
  test('HCL runtime claims bind the TD quote; the TD quote passes DCAP; the TPM quote is signed by HCLAkPub over "tdx challenge"', async () => {
    const hcl = parseHclReport(readVector('az-tdx-vtpm/trustee-2023-hcl-report.bin'));
    expect(hcl.reportType).toBe('tdx');
    const runtime = parseHclRuntimeClaims(hcl.varData);
    const quoteBytes = readVector('az-tdx-vtpm/trustee-2023-td-quote.bin');
    const quote = parseDcapQuote(quoteBytes);
    if (quote.body.tee !== 'tdx') throw new Error('not a TD quote');
    expect(checkHclBinding(hcl, quote.body.td.reportData, 'az')).toEqual([]);
    expect(checkHclBinding(hcl, flipByte(quote.body.td.reportData, 0), 'az').map((f) => f.check)).toEqual(['az.hcl_var_data']);
    const [result] = await createTdxVerifier().evaluate({ quote: Buffer.from(quoteBytes).toString('base64'), cc_eventlog: null }, { reportData: undefined, initDataDigest: undefined }, {
      now: () => new Date('2025-10-28T12:00:00Z'),
      collateral: staticIntelCollateral([assembledCollateral({ tcbInfo: 'tdx/teekit-tcbInfo-tdx-00806f050000.json', qeIdentity: 'tdx/trustee-enclaveIdentity.json' })]),
    });
    expect(((result?.claims.quote as JsonObject).body as JsonObject).mr_td).toBe('75f3acc2e1dfc3acf404d7eaa69a2eefcd0475a0dd6516ef5ba3cb83399c61b4aa1c638e3622bb650a514bfc6e858886');
    const message = readVector('az-tdx-vtpm/trustee-2023-tpm-quote.msg');
    expect(cryptoVerify('sha256', message, runtime.akPublicKey, readVector('az-tdx-vtpm/trustee-2023-tpm-quote.sig'))).toBe(true);
    expect(Buffer.from(parseTpmsAttest(message).extraData).toString()).toBe('tdx challenge');
  });

  test('the standalone az-cvm-vtpm HCL report parses and binds its TDREPORT', () => {
    const hcl = parseHclReport(readVector('az-tdx-vtpm/azcvm-hcl-report-tdx.bin'));
    expect(hcl.reportType).toBe('tdx');
    // TDREPORT: REPORTMACSTRUCT.report_data at offset 128
    expect(checkHclBinding(hcl, hcl.hardwareReport.subarray(128, 192), 'az')).toEqual([]);
  });
});
