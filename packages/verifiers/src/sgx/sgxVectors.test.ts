// Invariant: every SGX quote the vectors MANIFEST marks VALID verifies with the collateral it
// lists at a time inside that collateral's window and yields the recorded facts (enclave
// identity, PCK platform facts, TCB status and advisories); Trustee's own Occlum quote yields
// exactly upstream's parsed claims; the TCB infos of FMSPCs without a quote carry Intel's valid
// signature; a pretty-printed TCB info (not the bytes PCS signed) and every tampered copy (each
// signed region of every quote, certificates, collateral members) are refused with a named check.
import { describe, expect, test } from 'vitest';
import { createSgxVerifier, parseSgxEvidence } from './sgxVerifier.ts';
import { sgxParsedClaims } from './sgxClaims.ts';
import { parseDcapQuote } from '../dcap/parseQuote.ts';
import { parseTcbInfo } from '../dcap/tcbInfo.ts';
import { verifyDcapQuote, verifyPckChain } from '../dcap/verifyQuote.ts';
import { hasVectors, readVector, readVectorText } from '../testing/snpVectors.ts';
import { DCAPQVL_COLLATERAL, vectorCollateral } from '../testing/tdxVectors.ts';
import { flipByte, sampleOffsets } from '../testing/tdxTamper.ts';
import { failedChecks, rejection } from '../testing/verificationRejection.ts';
import { VerificationError } from '../verificationError.ts';
import type { IntelCollateral, JsonObject, VerificationExpectations } from '../verifier.ts';

const SGX_COLLATERAL = 'sgx/dcapqvl-sgx_quote_collateral.json';
const none: VerificationExpectations = { reportData: undefined, initDataDigest: undefined };
const IN_2025_07 = '2025-07-01T00:00:00Z';
const IN_2025_10 = '2025-10-01T00:00:00Z';
const FILES = [
  SGX_COLLATERAL, DCAPQVL_COLLATERAL, 'sgx/dcapqvl-sgx_quote', 'sgx/teekit-sgx-chinenyeokafor.dat', 'sgx/teekit-sgx-occlum.dat', 'sgx/teekit-sgx-tlsn-quote9.dat',
  'sgx/teekit-sgx-tlsn-quotedev.dat', 'sgx/teekit-tcbInfo-sgx-00906ed50000.json', 'sgx/teekit-tcbInfo-sgx-30606a000000.json', 'sgx/teekit-tcbInfo-sgx-90c06f000000.json',
  'sgx/trustee-occlum_quote.dat', 'sgx/trustee-coco-as-check.json', 'sgx/trustee-coco-as-request.json',
  'sgx/teekit-tcbInfo-sgx-00806f050000.json', 'sgx/teekit-tcbInfo-sgx-50806f000000.json', 'sgx/teekit-tcbInfo-sgx-b0c06f000000.json',
];

/**
 * SGX collateral for a PCS TCB info file: the SGX QE identity and chains of the dcap-qvl SGX
 * bundle, and the PCK CRL of the quote's CA (Processor: the SGX bundle; Platform: the dcap-qvl
 * TDX bundle, whose PCK is Platform-CA issued). The TCB info is the compact JSON PCS serves (two
 * teekit files are stored pretty-printed, which is not what Intel signed).
 */
function sgxCollateral(tcbInfoFile: string, ca: 'processor' | 'platform'): IntelCollateral {
  const sgx = vectorCollateral(SGX_COLLATERAL);
  const base = ca === 'processor' ? sgx : vectorCollateral(DCAPQVL_COLLATERAL);
  return { ...base, qeIdentity: sgx.qeIdentity, qeIdentityIssuerChain: sgx.qeIdentityIssuerChain, tcbInfo: compact(readVectorText(tcbInfoFile)) };
}

function compact(json: string): string {
  return JSON.stringify(JSON.parse(json));
}

async function verify(quote: Uint8Array, collateral: IntelCollateral, now: string, expected: VerificationExpectations = none): Promise<JsonObject> {
  const evidence = { quote: Buffer.from(quote).toString('base64') };
  const [result] = await createSgxVerifier().evaluate(evidence, expected, { now: () => new Date(now), collateral: { getIntelCollateral: async () => collateral } });
  return result?.claims as JsonObject;
}

/** A little-endian u16 as upstream's hex claim shows it. */
const le16 = (n: number): string => Buffer.from([n & 0xff, n >> 8]).toString('hex');

interface Facts {
  readonly collateral: () => IntelCollateral;
  readonly now: string;
  readonly qeSvn: number;
  readonly pceSvn: number;
  readonly mrEnclave: string;
  readonly mrSigner: string;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly attributes: string;
  readonly cpuSvn: string;
  readonly reportData: string;
  readonly fmspc: string;
  readonly pckPceSvn: number;
  readonly sgxTcb: readonly number[];
  readonly status: string;
  readonly advisories: readonly string[];
  readonly tcbDate: string;
}

const ZERO = (n: number): string => '00'.repeat(n);
/** The two tlsnotary quotes (release and dev build) come from one platform and one signer. */
const TLSN_PLATFORM: Omit<Facts, 'mrEnclave' | 'reportData'> = {
  collateral: () => sgxCollateral('sgx/teekit-tcbInfo-sgx-00906ed50000.json', 'processor'), now: IN_2025_10, qeSvn: 11, pceSvn: 16,
  mrSigner: '51bf043cb3b552d8399d651fe61d1b314b40be01533f42e2973477e1b809a0c9', isvProdId: 7, isvSvn: 1, attributes: '05000000000000000700000000000000',
  cpuSvn: '15150b07ff800e000000000000000000', fmspc: '00906ED50000', pckPceSvn: 13, sgxTcb: [21, 21, 2, 4, 1, 128, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  status: 'SWHardeningNeeded', advisories: ['INTEL-SA-00334', 'INTEL-SA-00615'], tcbDate: '2024-03-13T00:00:00Z',
};
const VALID: Array<[string, Facts]> = [
  ['sgx/dcapqvl-sgx_quote', {
    collateral: () => vectorCollateral(SGX_COLLATERAL), now: IN_2025_07, qeSvn: 10, pceSvn: 15,
    mrEnclave: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb', mrSigner: '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6',
    isvProdId: 0, isvSvn: 0, attributes: '0500000000000000e700000000000000', cpuSvn: '0b0b1a18ffff04000000000000000000',
    reportData: Buffer.from('Hello, world!').toString('hex') + ZERO(51), fmspc: '00A067110000', pckPceSvn: 13, sgxTcb: [11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    status: 'ConfigurationAndSWHardeningNeeded', advisories: ['INTEL-SA-00289', 'INTEL-SA-00615'], tcbDate: '2024-03-13T00:00:00Z',
  }],
  ['sgx/teekit-sgx-chinenyeokafor.dat', {
    collateral: () => sgxCollateral('sgx/teekit-tcbInfo-sgx-90c06f000000.json', 'platform'), now: IN_2025_10, qeSvn: 11, pceSvn: 16,
    mrEnclave: '0696ab235b2d339e68a4303cb64cde005bb8cdf2448bed742ac8ea8339bd0cb7', mrSigner: '1b40ed24a3ef11e7fba6aa9de37c7c79746196447e9605286e9ff9ca3e0c6ac4',
    isvProdId: 0, isvSvn: 0, attributes: '0500000000000000e700060000000000', cpuSvn: '0202191b03ff00060000000000000000',
    reportData: '888d97435fd51947e5a8c71f73ba24d9abcf716a1ac05b495a54f9a6fb54609e' + ZERO(32), fmspc: '90C06F000000', pckPceSvn: 13, sgxTcb: [2, 2, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0],
    status: 'UpToDate', advisories: [], tcbDate: '2024-03-13T00:00:00Z',
  }],
  ['sgx/teekit-sgx-occlum.dat', {
    collateral: () => sgxCollateral('sgx/teekit-tcbInfo-sgx-30606a000000.json', 'platform'), now: IN_2025_10, qeSvn: 8, pceSvn: 13,
    mrEnclave: '9c90fd81f6e9fe64b46b14f0623523a52d6a5678482988c408f6adffe6301e2c', mrSigner: '6d5ead54bfbe9494e1cd9042bb7c25d74c597d4700e332b1b3168a60712c1e02',
    isvProdId: 4000, isvSvn: 5000, attributes: '8500000000000000e700000000000000', cpuSvn: '0505090affff00000000000000000000',
    reportData: ZERO(64), fmspc: '30606A000000', pckPceSvn: 11, sgxTcb: [4, 4, 3, 3, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    status: 'OutOfDate',
    advisories: ['INTEL-SA-00586', 'INTEL-SA-00614', 'INTEL-SA-00615', 'INTEL-SA-00657', 'INTEL-SA-00730', 'INTEL-SA-00738', 'INTEL-SA-00767', 'INTEL-SA-00828', 'INTEL-SA-00837', 'INTEL-SA-00960'],
    tcbDate: '2021-11-10T00:00:00Z',
  }],
  ['sgx/teekit-sgx-tlsn-quote9.dat', {
    ...TLSN_PLATFORM, mrEnclave: '50a6a608c1972408f94379f83a7af2ea55b31095f131efe93af74f5968a44f29',
    reportData: '03351d6944f43d3041a075bddf540d2b91595979ef67fee8c9e6f1c3a5ff6e9e73' + ZERO(31),
  }],
  ['sgx/teekit-sgx-tlsn-quotedev.dat', {
    ...TLSN_PLATFORM, mrEnclave: 'db5e55d3190d92512e4eae09d697b4b5fe30c2212e1ad6db5681379608c46204',
    reportData: '030eba01d248d2c2fb4f39fc8f2daaf2392560100989eb022dc6570e87a011b29c' + ZERO(31),
  }],
];

describe.skipIf(!hasVectors(...FILES))('real SGX vectors (../shared/vectors)', () => {
  test.each(VALID)('%s verifies to the MANIFEST facts', async (file, facts) => {
    const quote = readVector(file);
    const claims = await verify(quote, facts.collateral(), facts.now);
    const header = claims.header as JsonObject;
    const body = claims.body as JsonObject;
    expect(header).toMatchObject({ version: '0300', att_key_type: '0200', att_key_data_0: '00000000', qe_svn: le16(facts.qeSvn), pce_svn: le16(facts.pceSvn), vendor_id: '939a7233f79c4ca9940a0db3957f0607' });
    expect(body).toMatchObject({
      mr_enclave: facts.mrEnclave,
      mr_signer: facts.mrSigner,
      isv_prod_id: le16(facts.isvProdId),
      isv_svn: le16(facts.isvSvn),
      'attributes.flags': facts.attributes.slice(0, 16),
      'attributes.xfrm': facts.attributes.slice(16),
      cpu_svn: facts.cpuSvn,
      report_data: facts.reportData,
    });
    expect(claims.report_data).toBe(facts.reportData);
    expect(claims.tcb_status).toBe(facts.status);
    expect([...(claims.advisory_ids as string[])].sort()).toEqual([...facts.advisories].sort());
    expect(claims.tcb_date).toBe(facts.tcbDate);
    expect(claims.root_key_id).toBe('46e403bd34f05a3f2817ab9badcaacc7ffc98e0f261008cd30dae936cace18d5dcf58eef31463613de1570d516200993');
    const platform = verifyPckChain(parseDcapQuote(quote)).platform;
    expect([platform.fmspc, platform.pceSvn, [...platform.sgxTcbComponents]]).toEqual([facts.fmspc, facts.pckPceSvn, facts.sgxTcb]);
    // the report data binds: the value it carries passes, any other is refused by name
    const reportData = Buffer.from(facts.reportData, 'hex');
    await verify(quote, facts.collateral(), facts.now, { reportData, initDataDigest: undefined });
    const wrong = await rejection(verify(quote, facts.collateral(), facts.now, { reportData: flipByte(reportData, 0), initDataDigest: undefined }));
    expect(failedChecks(wrong)).toEqual(['sgx.report_data']);
  });

  test('dcap-qvl SGX sample: supplemental claims and the collateral window', async () => {
    const claims = await verify(readVector('sgx/dcapqvl-sgx_quote'), vectorCollateral(SGX_COLLATERAL), IN_2025_07, { reportData: Buffer.from('Hello, world!'), initDataDigest: undefined });
    expect(claims).toMatchObject({ collateral_expiration_status: '0', earliest_expiration_date: '2025-07-19T10:01:18Z', latest_issue_date: '2025-06-19T10:56:11Z', tcb_eval_num: 17, sgx_type: 'Standard' });
    expect(claims.platform_instance_id).toBeUndefined();
    const after = await verify(readVector('sgx/dcapqvl-sgx_quote'), vectorCollateral(SGX_COLLATERAL), '2025-07-19T10:01:18Z');
    expect(after.collateral_expiration_status).toBe('1');
    const strict = await rejection(createSgxVerifier({ strictCollateralValidity: true }).evaluate(
      { quote: Buffer.from(readVector('sgx/dcapqvl-sgx_quote')).toString('base64') }, none,
      { now: () => new Date('2025-07-20T00:00:00Z'), collateral: { getIntelCollateral: async () => vectorCollateral(SGX_COLLATERAL) } },
    ));
    expect(failedChecks(strict)).toContain('dcap.collateral.expired');
  });

  test('Trustee\'s Occlum quote: upstream\'s parsed claims, exactly; its signatures and PCK chain verify (no TCB info for its FMSPC)', async () => {
    const quote = parseDcapQuote(readVector('sgx/trustee-occlum_quote.dat'));
    if (quote.body.tee !== 'sgx') throw new Error('not an SGX quote');
    const platform = verifyPckChain(quote).platform;
    expect(sgxParsedClaims(quote.header, quote.body.report, platform)).toEqual({
      header: { version: '0300', att_key_type: '0200', att_key_data_0: '00000000', qe_svn: '0800', pce_svn: '0d00', vendor_id: '939a7233f79c4ca9940a0db3957f0607', user_data: 'dccde9b31ce8860548173bb4a2a57a1600000000' },
      body: {
        cpu_svn: '06060c0cffff00000000000000000000', misc_select: '01000000', reserved1: ZERO(12), isv_ext_prod_id: ZERO(16), 'attributes.flags': '0700000000000000',
        'attributes.xfrm': 'e700000000000000', mr_enclave: '8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68', reserved2: ZERO(32),
        mr_signer: '83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e', reserved3: ZERO(32), config_id: ZERO(64), isv_prod_id: '0000', isv_svn: '0000',
        config_svn: '0000', reserved4: ZERO(42), isv_family_id: ZERO(16), report_data: '74657374' + ZERO(60),
      },
      report_data: '74657374' + ZERO(60),
      init_data: ZERO(64),
      platform_instance_id: '7a3a6941065cd5060bd93d3db2cfc0c8',
    });
    expect([platform.fmspc, platform.pceSvn, platform.ca]).toEqual(['00606A000000', 11, 'platform']);
    // With the collateral of another FMSPC the only failure is the FMSPC: quote signature, QE
    // report, its binding, PCK chain and CRLs all hold.
    const error = await rejection(Promise.resolve().then(() => verifyDcapQuote(quote, sgxCollateral('sgx/teekit-tcbInfo-sgx-30606a000000.json', 'platform'), { now: new Date(IN_2025_10), tee: 'sgx' })));
    expect(failedChecks(error)).toEqual(['dcap.tcb_info.fmspc']);
  });

  test.each(['sgx/trustee-coco-as-check.json', 'sgx/trustee-coco-as-request.json'])('%s: the CoCo-AS request\'s evidence is the Occlum quote in upstream\'s wire JSON', (file) => {
    const request = JSON.parse(readVectorText(file)) as { evidence?: string; verification_requests?: Array<{ tee: string; evidence: string }> };
    const entry = request.verification_requests?.[0] ?? { tee: 'sgx', evidence: request.evidence ?? '' };
    expect(entry.tee).toBe('sgx');
    const evidence = JSON.parse(Buffer.from(entry.evidence, 'base64url').toString('utf8')) as { quote: string };
    expect(Buffer.compare(parseSgxEvidence(evidence), readVector('sgx/trustee-occlum_quote.dat'))).toBe(0);
  });

  // TCB infos of FMSPCs no quote in the corpus has: Intel's signature must hold (the only failure
  // with the dcap-qvl quote is its other FMSPC), a tampered copy fails it by name.
  test.each([
    ['sgx/teekit-tcbInfo-sgx-00806f050000.json', '00806F050000', '2025-09-28T06:25:37Z', 4],
    ['sgx/teekit-tcbInfo-sgx-50806f000000.json', '50806F000000', '2025-09-28T05:52:19Z', 4],
    ['sgx/teekit-tcbInfo-sgx-b0c06f000000.json', 'B0C06F000000', '2025-09-28T05:52:20Z', 2],
  ] as const)('%s: SGX v3 TCB info for %s issued %s with %i levels, signed by Intel; tampered copies refused', async (file, fmspc, issued, levels) => {
    const collateral = sgxCollateral(file, 'processor');
    const info = parseTcbInfo((JSON.parse(collateral.tcbInfo) as { tcbInfo: unknown }).tcbInfo);
    expect([info.id, info.version, info.fmspc.toUpperCase(), info.issueDate.toISOString().replace('.000', ''), info.tcbLevels.length, info.tcbEvaluationDataNumber]).toEqual(['SGX', 3, fmspc, issued, levels, 17]);
    const quote = readVector('sgx/dcapqvl-sgx_quote');
    expect(failedChecks(await rejection(verify(quote, collateral, IN_2025_10)))).toEqual(['dcap.tcb_info.fmspc']);
    const signatureAt = collateral.tcbInfo.lastIndexOf('"signature":"') + 20;
    for (const at of [collateral.tcbInfo.indexOf('"tcbLevels"') + 30, signatureAt]) {
      const text = collateral.tcbInfo;
      const tampered = { ...collateral, tcbInfo: text.slice(0, at) + (text[at] === '1' ? '2' : '1') + text.slice(at + 1) };
      expect(failedChecks(await rejection(verify(quote, tampered, IN_2025_10))), `offset ${at}`).toContain('dcap.tcb_info.signature');
    }
  });

  test('a pretty-printed TCB info (not the bytes Intel signed) is refused; the compact form PCS serves verifies', async () => {
    const pretty = { ...sgxCollateral('sgx/teekit-tcbInfo-sgx-90c06f000000.json', 'platform'), tcbInfo: readVectorText('sgx/teekit-tcbInfo-sgx-90c06f000000.json') };
    const error = await rejection(verify(readVector('sgx/teekit-sgx-chinenyeokafor.dat'), pretty, IN_2025_10));
    expect(failedChecks(error)).toEqual(['dcap.tcb_info.signature']);
  });

  /** Every VALID quote with the collateral it verifies under (Trustee's Occlum quote: another FMSPC's, so its one failure is the FMSPC). */
  const TAMPERED: Array<[string, () => IntelCollateral, string, readonly string[]]> = [
    ...VALID.map(([file, facts]): [string, () => IntelCollateral, string, readonly string[]] => [file, facts.collateral, facts.now, []]),
    ['sgx/trustee-occlum_quote.dat', () => sgxCollateral('sgx/teekit-tcbInfo-sgx-30606a000000.json', 'platform'), IN_2025_10, ['dcap.tcb_info.fmspc']],
  ];

  describe.each(TAMPERED)('tampering %s', (file, collateral, now, baseline) => {
    // the dcap-qvl sample byte by byte, the others sampled (every region still covered)
    const step = file === 'sgx/dcapqvl-sgx_quote' ? 1 : 5;
    test.each([
      ['header SVNs, vendor, user data', 8, 48, 'dcap.quote.signature'],
      ['enclave report body', 48, 432, 'dcap.quote.signature'],
      ['quote signature', 436, 500, 'dcap.quote.signature'],
      ['attestation key', 500, 564, 'dcap.qe_report.report_data'],
      ['QE report', 564, 948, 'dcap.qe_report.signature'],
      ['QE report signature', 948, 1012, 'dcap.qe_report.signature'],
    ])('every %s byte is refused by name', async (_region, from, to, check) => {
      const original = readVector(file);
      const untouched = baseline.length === 0 ? [] : failedChecks(await rejection(verify(original, collateral(), now)));
      expect(untouched).toEqual(baseline);
      for (let at = from; at < to; at += step) {
        const error = await rejection(verify(flipByte(original, at), collateral(), now));
        expect(failedChecks(error), `byte ${at}`).toContain(check);
      }
    });
  });

  describe('tampering dcapqvl-sgx_quote', () => {
    const quote = (): Uint8Array => readVector('sgx/dcapqvl-sgx_quote');
    test('sampled base64 characters of each certificate of the PEM PCK chain', async () => {
      const original = quote();
      const text = Buffer.from(original).toString('latin1');
      const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
      expect(blocks).toHaveLength(3);
      for (const block of blocks) {
        const start = (block.index ?? 0) + 27;
        const end = start + (block[1]?.length ?? 0) - 8;
        const offsets = sampleOffsets(start, end, 30).filter((at) => /[A-Za-z0-9+/]/.test(text[at] as string));
        for (const at of offsets) {
          const c = text[at] as string;
          const tampered = Uint8Array.from(original);
          tampered[at] = (c === 'A' ? 'B' : 'A').charCodeAt(0);
          const error = await rejection(verify(tampered, vectorCollateral(SGX_COLLATERAL), IN_2025_07));
          expect(error).toBeInstanceOf(VerificationError);
          expect(failedChecks(error)[0], `offset ${at}`).toMatch(/^dcap\./);
        }
      }
    });

    test.each(['tcb_info', 'qe_identity', 'tcb_info_signature', 'qe_identity_signature', 'root_ca_crl', 'pck_crl'])('sampled characters of collateral %s', async (member) => {
      const raw = JSON.parse(readVectorText(SGX_COLLATERAL)) as Record<string, string>;
      const text = raw[member] as string;
      const { intelCollateralFromJson } = await import('../collateral/intelBundle.ts');
      for (const at of sampleOffsets(0, text.length, 12)) {
        const c = text[at] as string;
        const replacement = /[0-9a-f]/.test(c) ? (c === '0' ? '1' : '0') : String.fromCharCode(c.charCodeAt(0) ^ 0x01);
        let collateral: IntelCollateral;
        try {
          collateral = intelCollateralFromJson({ ...raw, [member]: text.slice(0, at) + replacement + text.slice(at + 1) });
        } catch (error) {
          expect(error).toBeInstanceOf(VerificationError);
          continue;
        }
        const error = await rejection(verify(quote(), collateral, IN_2025_07));
        expect(failedChecks(error)[0], `offset ${at}`).toMatch(/^(dcap|collateral)\./);
      }
    });
  });
});
