// Invariant: a TDX quote is accepted only when every DCAP check holds (quote signature, QE report
// signature and binding, PCK chain to an explicitly trusted root, CRLs, signed TCB info and QE
// identity, a matching TCB level) and the report-data / MRCONFIGID / RTMR bindings hold; every
// other input is a typed VerificationError naming the failed check, never a crash.
import { beforeAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { createTdxVerifier, decodeBase64Std, parseTdxEvidence } from './tdxVerifier.ts';
import { buildTestCcel, createTdxTestPlatform, TDX_FACTORY_NOW, tdxEvidence, type TdxTestPlatform, type CollateralOptions } from '../testing/tdxFactory.ts';
import { staticIntelCollateral } from '../collateral/intelStatic.ts';
import { VerificationError } from '../verificationError.ts';
import { rejection, failedChecks } from '../testing/verificationRejection.ts';
import type { CollateralSource, IntelCollateral, Json, JsonObject, VerificationExpectations } from '../verifier.ts';
import { QUOTE_HEADER_SIZE, TDX10_BODY_SIZE } from '../dcap/parseQuote.ts';
import { flipByte, flipChar, sampleOffsets } from '../testing/tdxTamper.ts';

const none: VerificationExpectations = { reportData: undefined, initDataDigest: undefined };

let platform: TdxTestPlatform;
let source: CollateralSource;
let collateral: IntelCollateral;

beforeAll(async () => {
  platform = await createTdxTestPlatform();
  collateral = await platform.collateral();
  source = staticIntelCollateral([collateral]);
});

async function run(evidence: Json, expected: VerificationExpectations = none, options: { now?: Date; collateral?: CollateralSource; anchors?: readonly string[] } = {}): Promise<JsonObject> {
  const verifier = createTdxVerifier({ trustAnchors: options.anchors ?? platform.trustAnchors });
  const [result] = await verifier.evaluate(evidence, expected, { now: () => options.now ?? TDX_FACTORY_NOW, collateral: options.collateral ?? source });
  expect(result?.teeClass).toBe('cpu');
  return result?.claims as JsonObject;
}

describe('tdx verifier on factory evidence', () => {
  test.each([
    ['v4 (TDX 1.0)', { version: 4 as const }],
    ['v5 TDX 1.0 body', { version: 5 as const, bodyType: 2 as const }],
    ['v5 TDX 1.5 body', { version: 5 as const, bodyType: 3 as const }],
  ])('%s verifies with the upstream claim shape', async (_name, q) => {
    const reportData = createHash('sha384').update('runtime').digest();
    const initData = createHash('sha256').update('init').digest();
    const claims = await run(tdxEvidence(platform.quote({ ...q, reportData, mrConfigId: initData })), { reportData, initDataDigest: initData });
    const quote = claims.quote as JsonObject;
    expect((quote.header as JsonObject).version).toBe(q.version === 4 ? '0400' : '0500');
    expect((quote.body as JsonObject).report_data).toBe(Buffer.concat([reportData, Buffer.alloc(16)]).toString('hex'));
    expect(claims.init_data).toBe(Buffer.concat([initData, Buffer.alloc(16)]).toString('hex'));
    expect(claims.tcb_status).toBe('UpToDate');
    expect(claims.advisory_ids).toEqual([]);
    expect(claims.collateral_expiration_status).toBe('0');
    // upstream prints the id byte-reversed (little-endian u128 shown big-endian)
    expect(claims.platform_instance_id).toBe(Buffer.from(platform.platformInstanceId).reverse().toString('hex'));
    expect(claims.platform_provider_id).toBe(Buffer.from(platform.ppid).toString('hex'));
    expect(claims.sgx_type).toBe('Scalable');
    expect(claims.is_smt_enabled).toBe(true);
    expect(claims.td_attributes).toEqual({ debug: false, septve_disable: true, protection_keys: false, key_locker: false, perfmon: false });
    if (q.version === 5) {
      expect(quote.type).toBe(q.bodyType === 3 ? '0300' : '0200');
      expect('mr_servicetd' in (quote.body as JsonObject)).toBe(q.bodyType === 3);
    } else {
      expect('type' in quote).toBe(false);
    }
    expect(claims.uefi_event_logs).toBeUndefined();
  });

  test('the production verifier (no trustAnchors option) rejects test roots', async () => {
    const error = await rejection(createTdxVerifier().evaluate(tdxEvidence(platform.quote()), none, { now: () => TDX_FACTORY_NOW, collateral: source }));
    expect(failedChecks(error)).toEqual(['dcap.pck_chain.root']);
    expect(error.failures[0]?.expected).toContain('44a0196b2b99f889');
  });

  test('a trust anchor may be given as the root key id (SHA-384 of the root public key) instead of the certificate fingerprint', async () => {
    const spki = platform.root.cert.publicKey.rawData;
    const keyId = createHash('sha384').update(Buffer.from(spki).subarray(-65)).digest('hex');
    const claims = await run(tdxEvidence(platform.quote()), none, { anchors: [keyId] });
    expect(claims.root_key_id).toBe(keyId);
  });

  test('td_attributes decoding: debug and perfmon bits', async () => {
    const claims = await run(tdxEvidence(platform.quote({ tdAttributes: Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0x80) })));
    expect(claims.td_attributes).toMatchObject({ debug: true, perfmon: true, septve_disable: false });
  });

  test('trailing padding after the quote is ignored', async () => {
    await run(tdxEvidence(platform.quote({ padding: 3065 })));
  });

  describe('bindings', () => {
    test('report data: regularised to 64 bytes; mismatch names expected and found', async () => {
      const reportData = Buffer.alloc(64, 9);
      await run(tdxEvidence(platform.quote({ reportData })), { reportData, initDataDigest: undefined });
      const error = await rejection(run(tdxEvidence(platform.quote({ reportData })), { reportData: Buffer.alloc(64, 8), initDataDigest: undefined }));
      expect(error.code).toBe('verification_failed');
      expect(error.failures).toEqual([expect.objectContaining({ check: 'tdx.report_data', expected: '08'.repeat(64), found: '09'.repeat(64) })]);
    });

    test('longer expected report data is truncated to 64 bytes', async () => {
      const reportData = Buffer.alloc(64, 5);
      await run(tdxEvidence(platform.quote({ reportData })), { reportData: Buffer.alloc(70, 5), initDataDigest: undefined });
    });

    test('init data: sha256 digest is zero-padded to 48; sha384 must equal MRCONFIGID', async () => {
      const digest384 = createHash('sha384').update('x').digest();
      await run(tdxEvidence(platform.quote({ mrConfigId: digest384 })), { reportData: undefined, initDataDigest: digest384 });
      const error = await rejection(run(tdxEvidence(platform.quote({ mrConfigId: digest384 })), { reportData: undefined, initDataDigest: createHash('sha256').update('x').digest() }));
      expect(failedChecks(error)).toEqual(['tdx.init_data']);
    });

    test('both binding failures are listed together', async () => {
      const error = await rejection(run(tdxEvidence(platform.quote()), { reportData: Buffer.alloc(1, 1), initDataDigest: Buffer.alloc(1, 1) }));
      expect(failedChecks(error)).toEqual(['tdx.report_data', 'tdx.init_data']);
    });
  });

  describe('event log', () => {
    const events = [
      { index: 1, data: Buffer.from('firmware') },
      { index: 2, data: Buffer.from('kernel') },
      { index: 3, data: Buffer.from('initrd') },
      { index: 4, type: 6, data: Buffer.concat([Buffer.from([0x4c, 0x45, 0x41, 0x41, 22, 0, 0, 0]), Buffer.from('kbs get {"id":"k1"}   ')]) },
      { index: 0, data: Buffer.from('mrtd event, not replayed into an RTMR') },
    ];

    test('a consistent CCEL verifies and becomes uefi_event_logs', async () => {
      const { ccel, rtmrs } = buildTestCcel(events);
      const claims = await run(tdxEvidence(platform.quote({ rtmrs }), ccel));
      const log = claims.uefi_event_logs as JsonObject[];
      expect(log).toHaveLength(5);
      expect(log[0]).toEqual({
        details: { string: 'firmware' },
        digest_matches_event: true,
        digests: [{ alg: 'SHA-384', digest: createHash('sha384').update('firmware').digest('hex') }],
        event: Buffer.from('firmware').toString('base64'),
        index: 1,
        type_name: 'EV_ACTION',
      });
      expect((log[3]?.details as JsonObject).data).toEqual({ domain: 'kbs', operation: 'get', content: { id: 'k1' } });
    });

    test.each([0, 1, 2, 3])('an RTMR%i that differs from the replay is rejected with both values', async (i) => {
      const { ccel, rtmrs } = buildTestCcel(events);
      const wrong = rtmrs.map((r, j) => (j === i ? Buffer.alloc(48, 0xee) : r));
      const error = await rejection(run(tdxEvidence(platform.quote({ rtmrs: wrong }), ccel)));
      expect(error.failures).toEqual([expect.objectContaining({ check: `tdx.ccel.rtmr_${i}`, expected: 'ee'.repeat(48), found: Buffer.from(rtmrs[i] as Uint8Array).toString('hex') })]);
    });

    test('a recorded digest that does not hash the data is reported, not rejected (digest_matches_event=false)', async () => {
      const { ccel, rtmrs } = buildTestCcel([{ index: 1, data: Buffer.from('a'), digest: Buffer.alloc(48, 1) }]);
      const claims = await run(tdxEvidence(platform.quote({ rtmrs }), ccel));
      expect((claims.uefi_event_logs as JsonObject[])[0]?.digest_matches_event).toBe(false);
    });

    test('null, absent and empty cc_eventlog all mean no event log', async () => {
      const quote = Buffer.from(platform.quote()).toString('base64');
      for (const evidence of [{ quote, cc_eventlog: null }, { quote }, { quote, cc_eventlog: '' }]) {
        expect((await run(evidence)).uefi_event_logs).toBeUndefined();
      }
    });
  });

  describe('TCB evaluation', () => {
    const table: Array<[string, CollateralOptions, string, string[]]> = [
      ['platform OutOfDate', { tcbLevels: [{ sgx: Array(16).fill(99), pceSvn: 99, tdx: Array(16).fill(0), status: 'UpToDate' }, { sgx: Array(16).fill(0), pceSvn: 0, tdx: Array(16).fill(0), status: 'OutOfDate', advisoryIds: ['INTEL-SA-00001'] }] }, 'OutOfDate', ['INTEL-SA-00001']],
      ['SWHardeningNeeded', { tcbLevels: [{ sgx: Array(16).fill(0), pceSvn: 0, tdx: Array(16).fill(0), status: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'] }] }, 'SWHardeningNeeded', ['INTEL-SA-00615']],
      ['ConfigurationNeeded', { tcbLevels: [{ sgx: Array(16).fill(0), pceSvn: 0, tdx: Array(16).fill(0), status: 'ConfigurationNeeded' }] }, 'ConfigurationNeeded', []],
      ['ConfigurationAndSWHardeningNeeded', { tcbLevels: [{ sgx: Array(16).fill(0), pceSvn: 0, tdx: Array(16).fill(0), status: 'ConfigurationAndSWHardeningNeeded' }] }, 'ConfigurationAndSWHardeningNeeded', []],
      ['OutOfDateConfigurationNeeded', { tcbLevels: [{ sgx: Array(16).fill(0), pceSvn: 0, tdx: Array(16).fill(0), status: 'OutOfDateConfigurationNeeded' }] }, 'OutOfDateConfigurationNeeded', []],
      ['module OutOfDate converges UpToDate → OutOfDate (advisories: platform level only, as QVL)', { moduleLevels: [{ isvsvn: 9, status: 'UpToDate' }, { isvsvn: 0, status: 'OutOfDate', advisoryIds: ['INTEL-SA-00960'] }] }, 'OutOfDate', []],
      ['module OutOfDate converges ConfigurationNeeded → OutOfDateConfigurationNeeded', { tcbLevels: [{ sgx: Array(16).fill(0), pceSvn: 0, tdx: Array(16).fill(0), status: 'ConfigurationNeeded' }], moduleLevels: [{ isvsvn: 0, status: 'OutOfDate' }] }, 'OutOfDateConfigurationNeeded', []],
      ['QE OutOfDate converges SWHardeningNeeded → OutOfDate', { tcbLevels: [{ sgx: Array(16).fill(0), pceSvn: 0, tdx: Array(16).fill(0), status: 'SWHardeningNeeded' }], qeLevels: [{ isvsvn: 9, status: 'UpToDate' }, { isvsvn: 0, status: 'OutOfDate', advisoryIds: ['INTEL-SA-00999'] }] }, 'OutOfDate', []],
    ];
    test.each(table)('%s', async (_name, options, status, advisories) => {
      const claims = await run(tdxEvidence(platform.quote()), none, { collateral: await platform.collateralSource(options) });
      expect(claims.tcb_status).toBe(status);
      expect(claims.advisory_ids).toEqual(advisories);
    });

    test.each([
      ['no matching platform level', { tcbLevels: [{ sgx: Array(16).fill(99), pceSvn: 0, tdx: Array(16).fill(0), status: 'UpToDate' }] }, 'dcap.tcb.level'],
      ['TEE_TCB_SVN below every level (bytes 2..15 compared)', { tcbLevels: [{ sgx: Array(16).fill(0), pceSvn: 0, tdx: [0, 0, 9, ...Array(13).fill(0)], status: 'UpToDate' }] }, 'dcap.tcb.level'],
      ['revoked platform level', { tcbLevels: [{ sgx: Array(16).fill(0), pceSvn: 0, tdx: Array(16).fill(0), status: 'Revoked' }] }, 'dcap.tcb.revoked'],
      ['revoked module level', { moduleLevels: [{ isvsvn: 0, status: 'Revoked' }] }, 'dcap.tcb.revoked'],
      ['no module level for TEE_TCB_SVN[0]', { moduleLevels: [{ isvsvn: 9, status: 'UpToDate' }] }, 'dcap.tdx_module.tcb_level'],
      ['revoked QE level', { qeLevels: [{ isvsvn: 0, status: 'Revoked' }] }, 'dcap.qe_identity.revoked'],
      ['no QE level for the QE ISVSVN', { qeLevels: [{ isvsvn: 9, status: 'UpToDate' }] }, 'dcap.qe_identity.tcb_level'],
    ] as Array<[string, CollateralOptions, string]>)('%s is terminal', async (_name, options, check) => {
      const error = await rejection(run(tdxEvidence(platform.quote()), none, { collateral: await platform.collateralSource(options) }));
      expect(failedChecks(error)).toEqual([check]);
    });

    describe('TD relaunch (TDX 1.5 bodies)', () => {
      const levels = (status: string): CollateralOptions => ({
        tcbLevels: [
          { sgx: platform.pck.sgxTcbComponents, pceSvn: platform.pck.pceSvn, tdx: [0, 0, 5, ...Array(13).fill(0)], status: 'UpToDate' },
          { sgx: platform.pck.sgxTcbComponents, pceSvn: platform.pck.pceSvn, tdx: [0, 0, 2, ...Array(13).fill(0)], status },
        ],
        moduleLevels: [{ isvsvn: 5, status: 'UpToDate' }, { isvsvn: 0, status: 'OutOfDate' }],
      });
      const launched = Uint8Array.of(3, 1, 2);
      test.each([
        ['running module at the latest level', Uint8Array.of(5, 1, 5), 'OutOfDate', 5, 'TDRelaunchAdvised'],
        ['… with ConfigurationNeeded', Uint8Array.of(5, 1, 5), 'ConfigurationNeeded', 5, 'TDRelaunchAdvisedConfigurationNeeded'],
        ['running module below the latest level', Uint8Array.of(4, 1, 5), 'OutOfDate', 5, 'OutOfDate'],
        ['running TDX components below the latest level', Uint8Array.of(5, 1, 4), 'OutOfDate', 5, 'OutOfDate'],
        ['a TDX 1.0 body never relaunches', Uint8Array.of(5, 1, 5), 'OutOfDate', 4, 'OutOfDate'],
      ] as Array<[string, Uint8Array, string, 4 | 5, string]>)('%s → %s', async (_name, svn2, platformStatus, version, expected) => {
        const quote = platform.quote({ version, ...(version === 5 ? { bodyType: 3 as const } : {}), teeTcbSvn: launched, teeTcbSvn2: svn2 });
        const claims = await run(tdxEvidence(quote), none, { collateral: await platform.collateralSource(levels(platformStatus)) });
        expect(claims.tcb_status).toBe(expected);
      });
    });

    test('an unknown TDX module major version has no identity', async () => {
      const error = await rejection(run(tdxEvidence(platform.quote({ teeTcbSvn: Uint8Array.of(3, 7, 2) }))));
      expect(error.failures[0]).toMatchObject({ check: 'dcap.tdx_module.identity', expected: 'TDX_07' });
    });

    test('TEE_TCB_SVN[1] = 0 compares MRSIGNER_SEAM with tdxModule', async () => {
      await run(tdxEvidence(platform.quote({ teeTcbSvn: Uint8Array.of(0, 0, 2) })));
      const error = await rejection(run(tdxEvidence(platform.quote({ teeTcbSvn: Uint8Array.of(0, 0, 2), mrSignerSeam: Buffer.alloc(48, 1) }))));
      expect(failedChecks(error)).toEqual(['dcap.tdx_module.mrsigner']);
    });

    test('TCB info and QE identity for SGX are rejected for a TD quote', async () => {
      const wrongIds = await platform.collateral({ tcbInfoId: 'SGX', qeIdentityId: 'QE' });
      const error = await rejection(run(tdxEvidence(platform.quote()), none, { collateral: { getIntelCollateral: async () => wrongIds } }));
      expect(failedChecks(error)).toEqual(['dcap.tcb_info.id', 'dcap.qe_identity.id']);
    });

    test('TCB info for another FMSPC is rejected', async () => {
      const error = await rejection(run(tdxEvidence(platform.quote()), none, { collateral: { getIntelCollateral: async () => platform.collateral({ fmspc: '00806F050000' }) } }));
      expect(error.failures[0]).toMatchObject({ check: 'dcap.tcb_info.fmspc', expected: 'B0C06F000000', found: '00806F050000' });
    });
  });

  describe('collateral validity and revocation', () => {
    test('expired collateral does not fail: collateral_expiration_status = "1"', async () => {
      const claims = await run(tdxEvidence(platform.quote()), none, { now: new Date(TDX_FACTORY_NOW.getTime() + 60 * 86_400_000) });
      expect(claims.collateral_expiration_status).toBe('1');
    });

    test('expiry boundary (QVL: expired when nextUpdate <= now)', async () => {
      const nextUpdate = new Date(TDX_FACTORY_NOW.getTime() + 30 * 86_400_000);
      expect((await run(tdxEvidence(platform.quote()), none, { now: new Date(nextUpdate.getTime() - 1000) })).collateral_expiration_status).toBe('0');
      expect((await run(tdxEvidence(platform.quote()), none, { now: nextUpdate })).collateral_expiration_status).toBe('1');
    });

    test('collateral issued after "now" is flagged like expired collateral, and rejected in strict mode', async () => {
      const early = new Date(TDX_FACTORY_NOW.getTime() - 2 * 86_400_000);
      expect((await run(tdxEvidence(platform.quote()), none, { now: early })).collateral_expiration_status).toBe('1');
      const strict = createTdxVerifier({ trustAnchors: platform.trustAnchors, strictCollateralValidity: true });
      const error = await rejection(strict.evaluate(tdxEvidence(platform.quote()), none, { now: () => early, collateral: source }));
      expect(new Set(failedChecks(error))).toEqual(new Set(['dcap.collateral.not_yet_valid']));
      const late = await rejection(strict.evaluate(tdxEvidence(platform.quote()), none, { now: () => new Date(TDX_FACTORY_NOW.getTime() + 60 * 86_400_000), collateral: source }));
      expect(new Set(failedChecks(late))).toEqual(new Set(['dcap.collateral.expired']));
    });

    test('a revoked PCK certificate is rejected', async () => {
      const error = await rejection(run(tdxEvidence(platform.quote()), none, { collateral: await platform.collateralSource({ revokePck: true }) }));
      expect(error.failures).toEqual([expect.objectContaining({ check: 'dcap.pck_chain.revoked', found: platform.pckSerial })]);
    });

    test('a revoked PCK CA is rejected (root CA CRL)', async () => {
      const error = await rejection(run(tdxEvidence(platform.quote()), none, { collateral: await platform.collateralSource({ revokePckCa: true }) }));
      expect(failedChecks(error)).toContain('dcap.pck_chain.revoked');
    });

    test('collateral from another PKI does not verify', async () => {
      const other = await createTdxTestPlatform();
      const error = await rejection(run(tdxEvidence(platform.quote()), none, { collateral: await other.collateralSource() }));
      expect(error.code).toBe('verification_failed');
      const both = await rejection(run(tdxEvidence(platform.quote()), none, { collateral: await other.collateralSource(), anchors: [...platform.trustAnchors, ...other.trustAnchors] }));
      expect(failedChecks(both)).toEqual(['dcap.root_ca_crl.signature']);
    });

    test('a missing collateral source or bundle is collateral_unavailable', async () => {
      expect((await rejection(run(tdxEvidence(platform.quote()), none, { collateral: {} }))).code).toBe('collateral_unavailable');
      const other = await createTdxTestPlatform({ fmspc: '00806F050000' });
      expect((await rejection(run(tdxEvidence(platform.quote()), none, { collateral: await other.collateralSource() }))).code).toBe('collateral_unavailable');
    });

    test.each([
      ['tcbInfo', (c: IntelCollateral, i: number): IntelCollateral => ({ ...c, tcbInfo: flipChar(c.tcbInfo, i) })],
      ['qeIdentity', (c: IntelCollateral, i: number): IntelCollateral => ({ ...c, qeIdentity: flipChar(c.qeIdentity, i) })],
      ['rootCaCrl', (c: IntelCollateral, i: number): IntelCollateral => ({ ...c, rootCaCrl: flipByte(c.rootCaCrl, i) })],
      ['pckCrl', (c: IntelCollateral, i: number): IntelCollateral => ({ ...c, pckCrl: flipByte(c.pckCrl, i) })],
    ])('every sampled byte of %s is covered by a signature', async (_name, tamper) => {
      const quote = tdxEvidence(platform.quote());
      const length = _name === 'tcbInfo' ? collateral.tcbInfo.length : _name === 'qeIdentity' ? collateral.qeIdentity.length : _name === 'rootCaCrl' ? collateral.rootCaCrl.length : collateral.pckCrl.length;
      for (const i of sampleOffsets(0, length, 24)) {
        const error = await rejection(run(quote, none, { collateral: { getIntelCollateral: async () => tamper(collateral, i) } }));
        expect(['verification_failed', 'collateral_unavailable']).toContain(error.code);
      }
    });
  });

  describe('quote tampering', () => {
    let quote: Uint8Array;
    beforeAll(() => {
      quote = platform.quote({ reportData: Buffer.alloc(64, 3) });
    });
    const sigStart = QUOTE_HEADER_SIZE + TDX10_BODY_SIZE + 4;

    test.each([
      ['header + body', 12, QUOTE_HEADER_SIZE + TDX10_BODY_SIZE, 'dcap.quote.signature'],
      ['quote signature', sigStart, sigStart + 64, 'dcap.quote.signature'],
      ['QE report', sigStart + 128 + 6, sigStart + 128 + 6 + 384, 'dcap.qe_report.signature'],
      ['QE report signature', sigStart + 128 + 6 + 384, sigStart + 128 + 6 + 448, 'dcap.qe_report.signature'],
      ['QE auth data', sigStart + 128 + 6 + 450, sigStart + 128 + 6 + 450 + 32, 'dcap.qe_report.report_data'],
    ])('flipping any sampled byte of the %s is rejected as %s', async (_region, from, to, check) => {
      for (const i of sampleOffsets(from, to, 20)) {
        const error = await rejection(run(tdxEvidence(flipByte(quote, i))));
        expect(failedChecks(error)).toContain(check);
      }
    });

    test('flipping the attestation key breaks the quote signature and the QE binding', async () => {
      for (const i of sampleOffsets(sigStart + 64, sigStart + 128, 8)) {
        const error = await rejection(run(tdxEvidence(flipByte(quote, i))));
        expect(failedChecks(error)).toContain('dcap.qe_report.report_data');
      }
    });

    test('flipping bytes inside the PEM chain never verifies', async () => {
      const pemStart = quote.length - Buffer.byteLength(platform.pckChainPem, 'latin1');
      for (const i of sampleOffsets(pemStart + 30, quote.length - 30, 30)) {
        await rejection(run(tdxEvidence(flipByte(quote, i))));
      }
    });
  });

  describe('malformed evidence and fuzzing', () => {
    test.each([
      ['not an object', 'quote'],
      ['quote missing', {}],
      ['quote empty', { quote: '' }],
      ['quote not base64', { quote: '!!!!' }],
      ['quote unpadded', { quote: 'AAA' }],
      ['cc_eventlog a number', { quote: 'AAAA', cc_eventlog: 1 }],
    ] as Array<[string, Json]>)('%s → malformed_evidence', async (_name, evidence) => {
      const error = await rejection(run(evidence));
      expect(error.code).toBe('malformed_evidence');
    });

    test('every truncation of a valid quote is a typed error', async () => {
      const quote = platform.quote();
      for (const length of [0, 1, 47, 48, 100, 631, 632, 635, 636, 700, 1100, 1200, quote.length - 1000, quote.length - 1]) {
        const error = await rejection(run(tdxEvidence(quote.subarray(0, length))));
        expect(['malformed_evidence', 'verification_failed']).toContain(error.code);
      }
    });

    test('random bytes and random mutations are typed errors', async () => {
      const quote = platform.quote();
      let seed = 42;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      for (let round = 0; round < 60; round++) {
        const mutated = Uint8Array.from(round < 20 ? Array.from({ length: rand(6000) }, () => rand(256)) : quote);
        if (round >= 20) for (let k = 0; k < 1 + rand(8); k++) mutated[rand(mutated.length)] = rand(256);
        if (round >= 20 && round % 3 === 0) {
          // oversize a length field: signature-data length, QE auth size or PEM size
          const at = [632, 632 + 4 + 128 + 6 + 448, mutated.length - Buffer.byteLength(platform.pckChainPem) - 4][round % 3 === 0 ? rand(3) : 0] as number;
          mutated.set([0xff, 0xff, 0xff, 0x7f].slice(0, 4), at);
        }
        try {
          await run(tdxEvidence(mutated));
        } catch (error) {
          expect(error).toBeInstanceOf(VerificationError);
        }
      }
    });

    test('decodeBase64Std and parseTdxEvidence reject non-canonical input', () => {
      expect(() => decodeBase64Std('AB==', 'x', 10)).toThrow(VerificationError);
      expect(() => decodeBase64Std('QUJD', 'x', 1)).toThrow(/too large/);
      expect(Array.from(decodeBase64Std('QUJD', 'x', 10))).toEqual([0x41, 0x42, 0x43]);
      expect(parseTdxEvidence({ quote: 'QUJD', cc_eventlog: null }).ccEventLog).toBeUndefined();
    });
  });
});
