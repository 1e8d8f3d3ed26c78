// Invariant: every TDX quote the vectors MANIFEST marks VALID verifies with its collateral at a
// time inside the collateral window and yields the recorded facts (TCB status, advisories,
// measurements); the MUST-FAIL cases and every tampered copy are rejected with a named check.
import { describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { createTdxVerifier } from './tdxVerifier.ts';
import { tdxParsedClaims } from './tdxClaims.ts';
import { staticIntelCollateral } from '../collateral/intelStatic.ts';
import { parseDcapQuote } from '../dcap/parseQuote.ts';
import { verifyPckChain } from '../dcap/verifyQuote.ts';
import { parseCcel } from '../eventlog/parseCcel.ts';
import { hasVectors, readVector, readVectorText } from '../testing/snpVectors.ts';
import { assembledCollateral, DCAPQVL_COLLATERAL, DCAPQVL_OUTDATED_COLLATERAL, hasTdxVectors, vectorCollateral, vectorQuote } from '../testing/tdxVectors.ts';
import { VerificationError } from '../verificationError.ts';
import { rejection } from '../testing/verificationRejection.ts';
import type { IntelCollateral, Json, JsonObject, VerificationExpectations } from '../verifier.ts';
import { flipByte, sampleOffsets } from '../testing/tdxTamper.ts';
import { intelCollateralFromJson } from '../collateral/intelBundle.ts';

const none: VerificationExpectations = { reportData: undefined, initDataDigest: undefined };
const AT_2025_07 = '2025-07-01T00:00:00Z';
const AT_2025_10 = '2025-10-28T12:00:00Z';
const FILES = [
  'tdx/dcapqvl-tdx_quote', 'tdx/dcapqvl-tdx_quote_outdated', 'tdx/gotdx-ccel-cos-113-tdx-quote.dat', 'tdx/gotdx-ccel-ccel_data.dat', 'tdx/gotdx-ccel-nonce.dat',
  'tdx/teekit-tdx-v4-gcp.json', 'tdx/teekit-tdx-v4-gcp-no-nonce.json', 'tdx/teekit-tdx-v4-azure', 'tdx/oak-tdx_oc_evidence.binarypb', 'tdx/teekit-tdx-v4-zkdcap.dat',
  'tdx/trustee-tdx_quote_4.dat', 'tdx/trustee-tdx_quote_5.dat', 'tdx/trustee-tdx_quote_6.dat', 'tdx/gotdx-quote_v5_sample.dat', 'tdx/gotdx-tdx_prod_quote_SPR_E4.dat',
  'tdx/teekit-tdx-v4-moemahhouk.dat', 'tdx/dcapqvl-tdx-quote.hex', 'tdx/dcapqvl-quote-from-tappd.hex', 'tdx/teekit-tcbInfo-tdx-00806f050000.json',
  'tdx/teekit-tcbInfo-tdx-50806f000000.json', 'tdx/trustee-enclaveIdentity.json', 'tdx/trustee-tcbInfo.json', 'tdx/gotdx-sample_tcbinfo_response_v5',
  'tdx/gotdx-sample_tcbInfo_response', 'tdx/gotdx-sample_qeIdentity_response', 'tdx/trustee-CCEL_data', 'tdx/trustee-parse_tdx_claims_expected.json',
];

const collateral00806 = (): IntelCollateral => assembledCollateral({ tcbInfo: 'tdx/teekit-tcbInfo-tdx-00806f050000.json', qeIdentity: 'tdx/trustee-enclaveIdentity.json' });
const collateral50806 = (): IntelCollateral => assembledCollateral({ tcbInfo: 'tdx/teekit-tcbInfo-tdx-50806f000000.json', qeIdentity: 'tdx/trustee-enclaveIdentity.json' });

async function verify(quote: Uint8Array, collateral: IntelCollateral, now: string, expected: VerificationExpectations = none, ccel?: Uint8Array): Promise<JsonObject> {
  const evidence: Json = { quote: Buffer.from(quote).toString('base64'), cc_eventlog: ccel === undefined ? null : Buffer.from(ccel).toString('base64') };
  const [result] = await createTdxVerifier().evaluate(evidence, expected, { now: () => new Date(now), collateral: staticIntelCollateral([collateral]) });
  return result?.claims as JsonObject;
}

describe.skipIf(!hasTdxVectors(...FILES))('real TDX vectors (../shared/vectors)', () => {
  const valid: Array<[string, () => IntelCollateral, string, { status: string; advisories: string[]; expired: string; tcbDate: string; mrTd: string; fmspc?: string }]> = [
    ['tdx/dcapqvl-tdx_quote', () => vectorCollateral(DCAPQVL_COLLATERAL), AT_2025_07, { status: 'UpToDate', advisories: [], expired: '0', tcbDate: '2024-03-13T00:00:00Z', mrTd: '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7' }],
    ['tdx/gotdx-ccel-cos-113-tdx-quote.dat', collateral00806, AT_2025_10, { status: 'UpToDate', advisories: [], expired: '1', tcbDate: '2024-03-13T00:00:00Z', mrTd: 'dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a' }],
    ['tdx/teekit-tdx-v4-gcp.json', collateral00806, AT_2025_10, { status: 'UpToDate', advisories: [], expired: '1', tcbDate: '2024-03-13T00:00:00Z', mrTd: '409c0cd3e63d9ea54d817cf851983a220131262664ac8cd02cc6a2e19fd291d2fdd0cc035d7789b982a43a92a4424c99' }],
    ['tdx/teekit-tdx-v4-gcp-no-nonce.json', collateral00806, AT_2025_10, { status: 'UpToDate', advisories: [], expired: '1', tcbDate: '2024-03-13T00:00:00Z', mrTd: '409c0cd3e63d9ea54d817cf851983a220131262664ac8cd02cc6a2e19fd291d2fdd0cc035d7789b982a43a92a4424c99' }],
    ['tdx/teekit-tdx-v4-azure', collateral00806, AT_2025_10, { status: 'UpToDate', advisories: [], expired: '1', tcbDate: '2024-03-13T00:00:00Z', mrTd: 'fe27b2aa3a05ec56864c308aff03dd13c189a6112d21e417ec1afe626a8cb9d91482d1379ec02fe6308972950a930d0a' }],
    ['tdx/oak-tdx_oc_evidence.binarypb', collateral00806, AT_2025_10, { status: 'UpToDate', advisories: [], expired: '1', tcbDate: '2024-03-13T00:00:00Z', mrTd: '7b5ee9a304d036f963dbd194c329cb2524817ee91bcf1cff23efe88a25af827c11e04cbf264ae401e5b17fc2e18736be' }],
    ['tdx/teekit-tdx-v4-zkdcap.dat', collateral00806, AT_2025_10, { status: 'OutOfDate', advisories: ['INTEL-SA-00960', 'INTEL-SA-00982', 'INTEL-SA-00986'], expired: '1', tcbDate: '2023-08-09T00:00:00Z', mrTd: '935be7742dd89c6a4df6dba8353d89041ae0f052beef993b1e7f4524d3bc57650df20e5582158352e1240b3f1fed55d8' }],
    ['tdx/trustee-tdx_quote_4.dat', collateral50806, AT_2025_10, { status: 'OutOfDate', advisories: ['INTEL-SA-00837', 'INTEL-SA-00960', 'INTEL-SA-00982', 'INTEL-SA-00986'], expired: '1', tcbDate: '2023-02-15T00:00:00Z', mrTd: '705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031' }],
    ['tdx/trustee-tdx_quote_6.dat', () => assembledCollateral({ tcbInfo: 'tdx/trustee-tcbInfo.json', qeIdentity: 'tdx/trustee-enclaveIdentity.json' }), '2025-10-29T00:00:00Z', { status: 'OutOfDate', advisories: [], expired: '1', tcbDate: '2018-01-04T00:00:00Z', mrTd: '21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6becffbb1e88' }],
    ['tdx/gotdx-quote_v5_sample.dat', () => assembledCollateral({ tcbInfo: 'tdx/gotdx-sample_tcbinfo_response_v5', base: DCAPQVL_OUTDATED_COLLATERAL }), '2026-02-20T00:00:00Z', { status: 'UpToDate', advisories: [], expired: '0', tcbDate: '2024-11-13T00:00:00Z', mrTd: '7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876' }],
  ];

  test.each(valid)('%s verifies with the recorded facts', async (file, collateral, now, facts) => {
    const claims = await verify(vectorQuote(file), collateral(), now);
    expect(claims.tcb_status).toBe(facts.status);
    expect(claims.advisory_ids).toEqual(facts.advisories);
    expect(claims.collateral_expiration_status).toBe(facts.expired);
    expect(claims.tcb_date).toBe(facts.tcbDate);
    expect(((claims.quote as JsonObject).body as JsonObject).mr_td).toBe(facts.mrTd);
    expect(claims.root_key_id).toBe('46e403bd34f05a3f2817ab9badcaacc7ffc98e0f261008cd30dae936cace18d5dcf58eef31463613de1570d516200993');
  });

  test.each(valid)('%s: sampled signed bytes and every binding field, tampered, are rejected by name', async (file, collateral, now) => {
    const original = vectorQuote(file);
    const parsed = parseDcapQuote(original);
    if (parsed.body.tee !== 'tdx') throw new Error('not a TD quote');
    const signedEnd = parsed.signedBytes.length;
    const sigStart = signedEnd + 4;
    const qeReportStart = sigStart + 128 + 6;
    const regions: Array<[number, number, string]> = [
      [12, signedEnd, 'dcap.quote.signature'],
      [sigStart, sigStart + 64, 'dcap.quote.signature'],
      [qeReportStart, qeReportStart + 384, 'dcap.qe_report.signature'],
      [qeReportStart + 384, qeReportStart + 448, 'dcap.qe_report.signature'],
    ];
    const bundle = collateral();
    for (const [from, to, check] of regions) {
      for (const at of sampleOffsets(from, to, 6)) {
        const error = await rejection(verify(flipByte(original, at), bundle, now));
        expect(error.failures.map((f) => f.check)).toContain(check);
      }
    }
    const body = parsed.body.td;
    const wrongReportData = await rejection(verify(original, bundle, now, { reportData: flipByte(body.reportData, 63), initDataDigest: undefined }));
    expect(wrongReportData.failures).toEqual([expect.objectContaining({ check: 'tdx.report_data', found: Buffer.from(body.reportData).toString('hex') })]);
    const wrongInitData = await rejection(verify(original, bundle, now, { reportData: undefined, initDataDigest: flipByte(body.mrConfigId, 0) }));
    expect(wrongInitData.failures).toEqual([expect.objectContaining({ check: 'tdx.init_data', found: Buffer.from(body.mrConfigId).toString('hex') })]);
  });

  test('dcap-qvl sample: supplemental claims', async () => {
    const claims = await verify(vectorQuote('tdx/dcapqvl-tdx_quote'), vectorCollateral(DCAPQVL_COLLATERAL), AT_2025_07);
    expect(claims).toMatchObject({
      latest_issue_date: '2025-06-19T10:32:27Z',
      earliest_expiration_date: '2025-07-19T10:00:35Z',
      tcb_eval_num: 17,
      sgx_type: 'Scalable',
      platform_instance_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    // the collateral's own window ends at 2025-07-19T10:00:35Z (the PCK CRL)
    expect((await verify(vectorQuote('tdx/dcapqvl-tdx_quote'), vectorCollateral(DCAPQVL_COLLATERAL), '2025-07-19T10:00:34Z')).collateral_expiration_status).toBe('0');
    expect((await verify(vectorQuote('tdx/dcapqvl-tdx_quote'), vectorCollateral(DCAPQVL_COLLATERAL), '2025-07-19T10:00:35Z')).collateral_expiration_status).toBe('1');
  });

  test('CCEL of the COS-113 quote replays to its RTMRs; report_data equals the go-tdx-guest nonce', async () => {
    const nonce = readVector('tdx/gotdx-ccel-nonce.dat');
    const claims = await verify(vectorQuote('tdx/gotdx-ccel-cos-113-tdx-quote.dat'), collateral00806(), AT_2025_10, { reportData: nonce, initDataDigest: undefined }, readVector('tdx/gotdx-ccel-ccel_data.dat'));
    expect((claims.uefi_event_logs as Json[]).length).toBe(43);
  });

  test('a flipped digest byte in the COS-113 CCEL breaks the replay of its RTMR', async () => {
    const ccel = readVector('tdx/gotdx-ccel-ccel_data.dat');
    const entries = parseCcel(ccel);
    const first = entries.find((e) => e.index === 2);
    if (first === undefined) throw new Error('no RTMR1 event');
    const offset = Buffer.from(ccel).indexOf(Buffer.from(first.digests[0]?.digest ?? []));
    const error = await rejection(verify(vectorQuote('tdx/gotdx-ccel-cos-113-tdx-quote.dat'), collateral00806(), AT_2025_10, none, flipByte(ccel, offset + 5)));
    expect(error.failures.map((f) => f.check)).toEqual(['tdx.ccel.rtmr_1']);
  });

  test('GCP quote report_data = SHA-512(verifier nonce val ‖ iat)', async () => {
    const json = JSON.parse(readVectorText('tdx/teekit-tdx-v4-gcp.json')) as { tdx: { verifier_nonce: { val: string; iat: string } } };
    const reportData = createHash('sha512').update(Buffer.from(json.tdx.verifier_nonce.val, 'base64')).update(Buffer.from(json.tdx.verifier_nonce.iat, 'base64')).digest();
    await verify(vectorQuote('tdx/teekit-tdx-v4-gcp.json'), collateral00806(), AT_2025_10, { reportData, initDataDigest: undefined });
    await verify(vectorQuote('tdx/teekit-tdx-v4-gcp-no-nonce.json'), collateral00806(), AT_2025_10, { reportData: createHash('sha512').update('').digest(), initDataDigest: undefined });
    const error = await rejection(verify(vectorQuote('tdx/teekit-tdx-v4-gcp.json'), collateral00806(), AT_2025_10, { reportData: createHash('sha512').update('').digest(), initDataDigest: undefined }));
    expect(error.failures.map((f) => f.check)).toEqual(['tdx.report_data']);
  });

  test('quote_6 MRCONFIGID binds a sha384 init-data digest; a different digest is rejected', async () => {
    const quote = vectorQuote('tdx/trustee-tdx_quote_6.dat');
    const collateral = assembledCollateral({ tcbInfo: 'tdx/trustee-tcbInfo.json', qeIdentity: 'tdx/trustee-enclaveIdentity.json' });
    const mrConfigId = Buffer.from('889abf4718f037e38d74464c11e7c91a6e9890b5546409e1e7df9de7a51ca93152bf847bd2440328e90adb18b150ed67', 'hex');
    const claims = await verify(quote, collateral, '2025-10-29T00:00:00Z', { reportData: undefined, initDataDigest: mrConfigId });
    expect(claims.init_data).toBe(mrConfigId.toString('hex'));
    const error = await rejection(verify(quote, collateral, '2025-10-29T00:00:00Z', { reportData: undefined, initDataDigest: flipByte(mrConfigId, 47) }));
    expect(error.failures).toEqual([expect.objectContaining({ check: 'tdx.init_data', found: mrConfigId.toString('hex') })]);
  });

  test.each([
    ['tdx/dcapqvl-tdx_quote_outdated', () => vectorCollateral(DCAPQVL_OUTDATED_COLLATERAL), '2026-03-01T00:00:00Z', 'dcap.tcb.level'],
    ['tdx/trustee-tdx_quote_5.dat', () => vectorCollateral(DCAPQVL_OUTDATED_COLLATERAL), '2026-03-01T00:00:00Z', 'dcap.tcb.level'],
    ['tdx/teekit-tdx-v4-moemahhouk.dat', () => vectorCollateral(DCAPQVL_OUTDATED_COLLATERAL), '2026-03-01T00:00:00Z', 'dcap.tcb.level'],
    ['tdx/dcapqvl-tdx-quote.hex', () => vectorCollateral(DCAPQVL_COLLATERAL), AT_2025_07, 'dcap.tcb.level'],
    ['tdx/dcapqvl-quote-from-tappd.hex', () => vectorCollateral(DCAPQVL_COLLATERAL), AT_2025_07, 'dcap.tcb.level'],
    ['tdx/gotdx-tdx_prod_quote_SPR_E4.dat', collateral50806, AT_2025_10, 'dcap.tcb.level'],
  ])('%s is rejected (%s … %s)', async (file, collateral, now, check) => {
    const error = await rejection(verify(vectorQuote(file), collateral(), now));
    expect(error.code).toBe('verification_failed');
    expect(error.failures.map((f) => f.check)).toContain(check);
  });

  test('2023 PCS collateral: quote_4 is UpToDate; the 2025 signing certificate makes it "expired" (strict mode rejects)', async () => {
    // the corpus ships these 2023 files without their issuer chain; the 2025 TCB Signing certificate has the same key
    const collateral = assembledCollateral({ tcbInfo: 'tdx/gotdx-sample_tcbInfo_response', qeIdentity: 'tdx/gotdx-sample_qeIdentity_response' });
    const claims = await verify(vectorQuote('tdx/trustee-tdx_quote_4.dat'), collateral, '2023-06-20T00:00:00Z');
    expect(claims).toMatchObject({ tcb_status: 'UpToDate', tcb_date: '2023-02-15T00:00:00Z', collateral_expiration_status: '1' });
    const strict = createTdxVerifier({ strictCollateralValidity: true });
    const evidence = { quote: Buffer.from(vectorQuote('tdx/trustee-tdx_quote_4.dat')).toString('base64'), cc_eventlog: null };
    const error = await rejection(strict.evaluate(evidence, none, { now: () => new Date('2023-06-20T00:00:00Z'), collateral: staticIntelCollateral([collateral]) }));
    expect(error.failures.map((f) => f.check)).toContain('dcap.collateral.not_yet_valid');
  });

  test.skipIf(!hasVectors('sgx/dcapqvl-sgx_quote'))('an SGX v3 quote sent as TDX evidence is malformed', async () => {
    const error = await rejection(verify(readVector('sgx/dcapqvl-sgx_quote'), vectorCollateral(DCAPQVL_COLLATERAL), AT_2025_07));
    expect(error.code).toBe('malformed_evidence');
    expect(error.failures[0]?.check).toBe('tdx.quote.version');
  });

  test('Trustee expected claims for tdx_quote_4 + CCEL_data match exactly (parsed claims)', () => {
    const quote = parseDcapQuote(vectorQuote('tdx/trustee-tdx_quote_4.dat'));
    if (quote.body.tee !== 'tdx') throw new Error('not a TD quote');
    const claims = tdxParsedClaims(quote, quote.body.td, parseCcel(readVector('tdx/trustee-CCEL_data')), verifyPckChain(quote).platform);
    expect(JSON.parse(JSON.stringify(claims))).toEqual(JSON.parse(readVectorText('tdx/trustee-parse_tdx_claims_expected.json')));
  });

  test('CCEL_data does not replay to tdx_quote_4 RTMRs (they are paired only for claim parsing)', async () => {
    const error = await rejection(verify(vectorQuote('tdx/trustee-tdx_quote_4.dat'), collateral50806(), AT_2025_10, none, readVector('tdx/trustee-CCEL_data')));
    expect(error.failures.map((f) => f.check)).toEqual(['tdx.ccel.rtmr_0', 'tdx.ccel.rtmr_1']);
  });

  describe('tampering dcapqvl-tdx_quote', () => {
    const quote = (): Uint8Array => vectorQuote('tdx/dcapqvl-tdx_quote');
    test.each([
      ['header (vendor/user data)', 12, 48, 'dcap.quote.signature'],
      ['TD report body', 48, 632, 'dcap.quote.signature'],
      ['quote signature', 636, 700, 'dcap.quote.signature'],
      ['QE report', 770, 1154, 'dcap.qe_report.signature'],
      ['QE report signature', 1154, 1218, 'dcap.qe_report.signature'],
    ])('sampled bytes of the %s', async (_region, from, to, check) => {
      const original = quote();
      for (const at of sampleOffsets(from, to, 16)) {
        const error = await rejection(verify(flipByte(original, at), vectorCollateral(DCAPQVL_COLLATERAL), AT_2025_07));
        expect(error.failures.map((f) => f.check)).toContain(check);
      }
    });

    test('sampled bytes of the attestation key break the QE binding', async () => {
      for (const at of sampleOffsets(700, 764, 8)) {
        const error = await rejection(verify(flipByte(quote(), at), vectorCollateral(DCAPQVL_COLLATERAL), AT_2025_07));
        expect(error.failures.map((f) => f.check)).toContain('dcap.qe_report.report_data');
      }
    });

    test('sampled bytes of the PEM PCK chain are rejected', async () => {
      const original = quote();
      // whitespace inside PEM is not part of the certificate; every base64 character is
      const offsets = sampleOffsets(1300, 4900, 40).filter((at) => /[A-Za-z0-9+/]/.test(String.fromCharCode(original[at] as number)));
      expect(offsets.length).toBeGreaterThan(20);
      for (const at of offsets) {
        await rejection(verify(flipByte(original, at), vectorCollateral(DCAPQVL_COLLATERAL), AT_2025_07));
      }
    });

    test.each(['tcb_info', 'qe_identity', 'tcb_info_signature', 'qe_identity_signature', 'root_ca_crl', 'pck_crl'])('sampled bytes of collateral %s are rejected', async (member) => {
      const raw = JSON.parse(readVectorText(DCAPQVL_COLLATERAL)) as Record<string, string>;
      const text = raw[member] as string;
      for (const at of sampleOffsets(0, text.length, 12)) {
        const code = text.charCodeAt(at);
        // keep hex members hex, JSON text JSON-ish: change one character into a different valid one
        const replacement = /[0-9a-f]/.test(text[at] as string) ? ((text[at] as string) === '0' ? '1' : '0') : String.fromCharCode(code ^ 0x01);
        const tampered = { ...raw, [member]: text.slice(0, at) + replacement + text.slice(at + 1) };
        let collateral: IntelCollateral;
        try {
          collateral = intelCollateralFromJson(tampered);
        } catch (error) {
          expect(error).toBeInstanceOf(VerificationError);
          continue;
        }
        const error = await rejection(verify(quote(), collateral, AT_2025_07));
        expect(['verification_failed', 'collateral_unavailable']).toContain(error.code);
      }
    });
  });
});
