// Invariant: an SGX quote (v3 or v4) is accepted only when every DCAP check holds (quote
// signature, QE report signature and binding, PCK chain to an explicitly trusted root, CRLs,
// signed SGX TCB info and QE identity, a matching TCB level) and the REPORT_DATA / CONFIGID
// bindings hold; its claims carry upstream's names. Every signed byte, every certificate and
// every collateral signature, tampered, is refused with a named failed check; hostile input is a
// typed VerificationError, never a crash.
import { beforeAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { createSgxVerifier, parseSgxEvidence } from './sgxVerifier.ts';
import { createTdxVerifier } from '../tdx/tdxVerifier.ts';
import { createTdxTestPlatform, sgxEvidence, TDX_FACTORY_NOW, tdxEvidence, type CollateralOptions, type TdxTestPlatform } from '../testing/tdxFactory.ts';
import { staticIntelCollateral } from '../collateral/intelStatic.ts';
import { parseDcapQuote, QUOTE_HEADER_SIZE, SGX_REPORT_BODY_SIZE } from '../dcap/parseQuote.ts';
import { VerificationError } from '../verificationError.ts';
import { failedChecks, rejection } from '../testing/verificationRejection.ts';
import { flipByte, sampleOffsets } from '../testing/tdxTamper.ts';
import type { CollateralSource, IntelCollateral, Json, JsonObject, VerificationExpectations } from '../verifier.ts';

const none: VerificationExpectations = { reportData: undefined, initDataDigest: undefined };

let platform: TdxTestPlatform;
let collateral: IntelCollateral;
let source: CollateralSource;

beforeAll(async () => {
  platform = await createTdxTestPlatform();
  collateral = await platform.collateral({ tee: 'sgx' });
  source = staticIntelCollateral([collateral]);
});

async function run(evidence: Json, expected: VerificationExpectations = none, options: { collateral?: IntelCollateral; anchors?: readonly string[]; now?: Date } = {}): Promise<JsonObject> {
  const verifier = createSgxVerifier({ trustAnchors: options.anchors ?? platform.trustAnchors });
  const context = { now: () => options.now ?? TDX_FACTORY_NOW, collateral: options.collateral === undefined ? source : fixedCollateral(options.collateral) };
  const [result] = await verifier.evaluate(evidence, expected, context);
  expect(result?.teeClass).toBe('cpu');
  return result?.claims as JsonObject;
}

/** A source that answers every request with `bundle` (so tampered or mismatched bundles reach the verifier). */
function fixedCollateral(bundle: IntelCollateral): CollateralSource {
  return { getIntelCollateral: async () => bundle };
}

/** A copy of a PEM text with one base64 character of certificate `index` changed at `fraction` of its body. */
function tamperPemCertificate(pem: string, index: number, fraction: number): string {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----\n?([A-Za-z0-9+/=\n]+?)-----END CERTIFICATE-----/g)];
  const block = blocks[index];
  if (block === undefined || block.index === undefined) throw new Error(`no certificate ${index}`);
  const bodyStart = block.index + block[0].indexOf(block[1] as string);
  const body = block[1] as string;
  // stay clear of the final quantum (padding) so the DER length does not change
  const candidates = [...body.slice(0, body.length - 8)].map((c, i) => [c, i] as const).filter(([c]) => /[A-Za-z0-9+/]/.test(c));
  const [char, at] = candidates[Math.floor(fraction * (candidates.length - 1))] as readonly [string, number];
  const replacement = char === 'A' ? 'B' : 'A';
  return pem.slice(0, bodyStart + at) + replacement + pem.slice(bodyStart + at + 1);
}

describe('sgx verifier on factory evidence', () => {
  test.each([3, 4] as const)('SGX quote v%i verifies with upstream\'s claim names and values', async (version) => {
    const reportData = createHash('sha384').update('runtime').digest();
    const initData = createHash('sha256').update('init').digest();
    const mrEnclave = createHash('sha256').update('enclave').digest();
    const mrSigner = createHash('sha256').update('signer').digest();
    const quote = platform.sgxQuote({ version, reportData, configId: initData, mrEnclave, mrSigner, isvProdId: 0x1234, isvSvn: 0x0506 });
    const claims = await run(sgxEvidence(quote), { reportData, initDataDigest: initData });
    expect(claims.header).toEqual({
      version: version === 3 ? '0300' : '0400',
      att_key_type: '0200',
      att_key_data_0: '00000000',
      qe_svn: '0400',
      pce_svn: '0b00',
      vendor_id: '939a7233f79c4ca9940a0db3957f0607',
      user_data: 'cd'.repeat(20),
    });
    const body = claims.body as JsonObject;
    expect(Object.keys(body)).toEqual([
      'cpu_svn', 'misc_select', 'reserved1', 'isv_ext_prod_id', 'attributes.flags', 'attributes.xfrm', 'mr_enclave', 'reserved2', 'mr_signer',
      'reserved3', 'config_id', 'isv_prod_id', 'isv_svn', 'config_svn', 'reserved4', 'isv_family_id', 'report_data',
    ]);
    expect(body).toMatchObject({
      mr_enclave: mrEnclave.toString('hex'),
      mr_signer: mrSigner.toString('hex'),
      isv_prod_id: '3412',
      isv_svn: '0605',
      'attributes.flags': '0500000000000000',
      'attributes.xfrm': 'e700000000000000',
      cpu_svn: Buffer.from(platform.pck.sgxTcbComponents).toString('hex'),
      report_data: Buffer.concat([reportData, Buffer.alloc(16)]).toString('hex'),
    });
    expect(claims.report_data).toBe(body.report_data);
    expect(claims.init_data).toBe(Buffer.concat([initData, Buffer.alloc(32)]).toString('hex'));
    expect(claims.platform_instance_id).toBe(Buffer.from(platform.platformInstanceId).reverse().toString('hex'));
    expect(claims).toMatchObject({ tcb_status: 'UpToDate', advisory_ids: [], collateral_expiration_status: '0', sgx_type: 'Scalable', tcb_eval_num: 17 });
  });

  test('TCB status and advisories come from the matching SGX TCB level', async () => {
    const outdated = await platform.collateral({
      tee: 'sgx',
      tcbLevels: [
        { sgx: platform.pck.sgxTcbComponents.map((s) => s + 1), pceSvn: platform.pck.pceSvn, tdx: [], status: 'UpToDate' },
        { sgx: platform.pck.sgxTcbComponents, pceSvn: platform.pck.pceSvn, tdx: [], status: 'SWHardeningNeeded', date: '2023-02-15T00:00:00Z', advisoryIds: ['INTEL-SA-00615'] },
      ],
    });
    const claims = await run(sgxEvidence(platform.sgxQuote()), none, { collateral: outdated });
    expect(claims).toMatchObject({ tcb_status: 'SWHardeningNeeded', advisory_ids: ['INTEL-SA-00615'], tcb_date: '2023-02-15T00:00:00Z' });
    const none2 = await platform.collateral({ tee: 'sgx', tcbLevels: [{ sgx: platform.pck.sgxTcbComponents.map((s) => s + 1), pceSvn: platform.pck.pceSvn, tdx: [], status: 'UpToDate' }] });
    expect(failedChecks(await rejection(run(sgxEvidence(platform.sgxQuote()), none, { collateral: none2 })))).toEqual(['dcap.tcb.level']);
  });

  test('the QE identity must match the QE report (ISVSVN level)', async () => {
    const qe = await platform.collateral({ tee: 'sgx', qeLevels: [{ isvsvn: 9, status: 'UpToDate' }] });
    expect(failedChecks(await rejection(run(sgxEvidence(platform.sgxQuote()), none, { collateral: qe })))).toEqual(['dcap.qe_identity.tcb_level']);
  });

  test('REPORT_DATA and CONFIGID bindings (upstream regularises both to 64 bytes)', async () => {
    const reportData = Buffer.from('nonce-and-key-digest');
    const quote = platform.sgxQuote({ reportData, configId: Buffer.alloc(64, 9) });
    await run(sgxEvidence(quote), { reportData, initDataDigest: Buffer.alloc(64, 9) });
    const wrong = await rejection(run(sgxEvidence(quote), { reportData: Buffer.from('another nonce'), initDataDigest: Buffer.alloc(48, 9) }));
    expect(wrong.code).toBe('verification_failed');
    expect(failedChecks(wrong)).toEqual(['sgx.report_data', 'sgx.init_data']);
    expect(wrong.failures[0]?.found).toBe(Buffer.concat([reportData, Buffer.alloc(64 - reportData.length)]).toString('hex'));
  });

  test('TD quotes are not SGX evidence and SGX quotes are not TDX evidence', async () => {
    const td = await rejection(run(sgxEvidence(platform.quote())));
    expect([td.code, failedChecks(td)]).toEqual(['malformed_evidence', ['sgx.quote.version']]);
    const tdx = createTdxVerifier({ trustAnchors: platform.trustAnchors });
    const sgx = await rejection(tdx.evaluate(tdxEvidence(platform.sgxQuote()), none, { now: () => TDX_FACTORY_NOW, collateral: source }));
    expect(failedChecks(sgx)).toEqual(['tdx.quote.version']);
  });

  test('TDX collateral (TCB info id TDX, QE identity TD_QE) does not verify an SGX quote', async () => {
    const tdxCollateral = await platform.collateral();
    const error = await rejection(run(sgxEvidence(platform.sgxQuote()), none, { collateral: tdxCollateral }));
    expect(failedChecks(error)).toEqual(expect.arrayContaining(['dcap.tcb_info.id', 'dcap.qe_identity.id']));
  });

  test('the production verifier (no trustAnchors) refuses the test root; the collateral is requested for SGX', async () => {
    const requests: unknown[] = [];
    const recording: CollateralSource = { getIntelCollateral: async (request) => (requests.push(request), collateral) };
    const error = await rejection(createSgxVerifier().evaluate(sgxEvidence(platform.sgxQuote()), none, { now: () => TDX_FACTORY_NOW, collateral: recording }));
    expect(failedChecks(error)).toEqual(['dcap.pck_chain.root']);
    await createSgxVerifier({ trustAnchors: platform.trustAnchors }).evaluate(sgxEvidence(platform.sgxQuote()), none, { now: () => TDX_FACTORY_NOW, collateral: recording });
    expect(requests).toEqual([{ tee: 'sgx', fmspc: platform.pck.fmspc, pckCa: 'platform' }]);
  });

  test('no collateral source is collateral_unavailable', async () => {
    const error = await rejection(createSgxVerifier({ trustAnchors: platform.trustAnchors }).evaluate(sgxEvidence(platform.sgxQuote()), none, { now: () => TDX_FACTORY_NOW, collateral: {} }));
    expect([error.code, failedChecks(error)]).toEqual(['collateral_unavailable', ['dcap.collateral']]);
  });

  test('revoked PCK certificate and PCK CA are refused', async () => {
    const pck = await rejection(run(sgxEvidence(platform.sgxQuote()), none, { collateral: await platform.collateral({ tee: 'sgx', revokePck: true }) }));
    expect(failedChecks(pck)).toContain('dcap.pck_chain.revoked');
    const ca = await rejection(run(sgxEvidence(platform.sgxQuote()), none, { collateral: await platform.collateral({ tee: 'sgx', revokePckCa: true }) }));
    expect(failedChecks(ca)).toContain('dcap.pck_chain.revoked');
  });
});

describe('sgx tampering: every signed byte range, every certificate, every collateral signature', () => {
  test.each([3, 4] as const)('v%i: each byte of header and body, quote signature, QE report and its signature, attestation key and QE auth data', async (version) => {
    const quote = platform.sgxQuote({ version });
    const parsed = parseDcapQuote(quote);
    const signedEnd = QUOTE_HEADER_SIZE + SGX_REPORT_BODY_SIZE;
    const sigStart = signedEnd + 4;
    const keyStart = sigStart + 64;
    const qeStart = keyStart + 64 + (version === 3 ? 0 : 6);
    const qeSigStart = qeStart + 384;
    const authStart = qeSigStart + 64 + 2;
    const regions: Array<[string, number, number, string]> = [
      // bytes 0..8 (version, key type, TEE type) select the parser: they are malformed, not mis-signed
      ['header (SVNs, vendor, user data)', 8, QUOTE_HEADER_SIZE, 'dcap.quote.signature'],
      ['enclave report body', QUOTE_HEADER_SIZE, signedEnd, 'dcap.quote.signature'],
      ['quote signature', sigStart, sigStart + 64, 'dcap.quote.signature'],
      ['attestation key', keyStart, keyStart + 64, 'dcap.qe_report.report_data'],
      ['QE report', qeStart, qeSigStart, 'dcap.qe_report.signature'],
      ['QE report signature', qeSigStart, qeSigStart + 64, 'dcap.qe_report.signature'],
      ['QE auth data', authStart, authStart + parsed.qeAuthData.length, 'dcap.qe_report.report_data'],
    ];
    let cases = 0;
    for (const [region, from, to, check] of regions) {
      for (let at = from; at < to; at += 1) {
        const error = await rejection(run(sgxEvidence(flipByte(quote, at))));
        expect(failedChecks(error), `${region} byte ${at}`).toContain(check);
        cases += 1;
      }
    }
    expect(cases).toBe(432 - 8 + 64 + 64 + 384 + 64 + 32);
  });

  test('header bytes that select the quote format are malformed evidence', async () => {
    const quote = platform.sgxQuote();
    for (let at = 0; at < 8; at += 1) {
      const error = await rejection(run(sgxEvidence(flipByte(quote, at))));
      expect(error.code, `byte ${at}`).toBe('malformed_evidence');
      expect(failedChecks(error)[0]).toMatch(/^(dcap\.quote\.|sgx\.quote\.)/);
    }
  });

  test.each([
    [0, 'PCK leaf'],
    [1, 'PCK CA'],
    [2, 'root CA'],
  ])('certificate %i of the quote\'s PCK chain (%s), tampered anywhere, is refused by name', async (index) => {
    const quote = platform.sgxQuote();
    const pemStart = quote.length - Buffer.byteLength(platform.pckChainPem, 'latin1');
    const pem = Buffer.from(quote.subarray(pemStart)).toString('latin1');
    for (const fraction of [0.02, 0.2, 0.4, 0.6, 0.8, 0.98]) {
      const tampered = Buffer.concat([quote.subarray(0, pemStart), Buffer.from(tamperPemCertificate(pem, index, fraction), 'latin1')]);
      const error = await rejection(run(sgxEvidence(tampered)));
      expect(failedChecks(error)[0], `fraction ${fraction}`).toMatch(/^dcap\.(pck_chain|quote\.pck|qe_report)/);
    }
  });

  test.each([
    ['tcbInfoIssuerChain', 0, /^dcap\.tcb_info/],
    ['tcbInfoIssuerChain', 1, /^dcap\.tcb_info/],
    ['qeIdentityIssuerChain', 0, /^dcap\.qe_identity/],
    ['qeIdentityIssuerChain', 1, /^dcap\.qe_identity/],
    ['pckCrlIssuerChain', 0, /^dcap\.pck_crl/],
    ['pckCrlIssuerChain', 1, /^dcap\.pck_crl/],
  ] as const)('collateral %s certificate %i, tampered, is refused by name', async (member, index, check) => {
    for (const fraction of [0.05, 0.5, 0.95]) {
      const tampered = { ...collateral, [member]: tamperPemCertificate(collateral[member], index, fraction) };
      const error = await rejection(run(sgxEvidence(platform.sgxQuote()), none, { collateral: tampered }));
      expect(failedChecks(error).some((c) => check.test(c)), `${failedChecks(error).join(',')} at ${fraction}`).toBe(true);
    }
  });

  test('a TCB signing certificate from another PKI is refused', async () => {
    const rogue = await createTdxTestPlatform();
    const rogueCollateral = await rogue.collateral({ tee: 'sgx', fmspc: platform.pck.fmspc });
    const error = await rejection(run(sgxEvidence(platform.sgxQuote()), none, { collateral: { ...collateral, tcbInfoIssuerChain: rogueCollateral.tcbInfoIssuerChain, tcbInfo: rogueCollateral.tcbInfo } }));
    expect(failedChecks(error)).toEqual(['dcap.tcb_info_issuer_chain.root']);
  });

  test.each([
    ['tcbInfo', 'dcap.tcb_info.signature'],
    ['qeIdentity', 'dcap.qe_identity.signature'],
  ] as const)('sampled characters of the signed %s JSON are refused', async (member, check) => {
    const text = collateral[member];
    const bodyEnd = text.lastIndexOf(',"signature"');
    for (const at of sampleOffsets(20, bodyEnd - 2, 24)) {
      const c = text[at] as string;
      const replacement = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : /[A-Za-z]/.test(c) ? (c === 'a' ? 'b' : 'a') : undefined;
      if (replacement === undefined) continue;
      const tampered = { ...collateral, [member]: text.slice(0, at) + replacement + text.slice(at + 1) };
      const error = await rejection(run(sgxEvidence(platform.sgxQuote()), none, { collateral: tampered }));
      expect(failedChecks(error), `offset ${at}`).toContain(check);
    }
  });

  test.each([
    ['rootCaCrl', 'dcap.root_ca_crl'],
    ['pckCrl', 'dcap.pck_crl'],
  ] as const)('sampled bytes of the %s are refused', async (member, prefix) => {
    const der = collateral[member];
    for (const at of sampleOffsets(0, der.length, 16)) {
      const error = await rejection(run(sgxEvidence(platform.sgxQuote()), none, { collateral: { ...collateral, [member]: flipByte(der, at) } }));
      expect(failedChecks(error)[0], `byte ${at}`).toMatch(new RegExp(`^${prefix.replace('.', '\\.')}`));
    }
  });
});

describe('sgx hostile input', () => {
  test.each([
    ['not an object', 'quote'],
    ['an array', []],
    ['quote missing', {}],
    ['quote not a string', { quote: 5 }],
    ['quote empty', { quote: '' }],
    ['quote not base64', { quote: '!!!!' }],
    ['quote unpadded', { quote: 'AAA' }],
    ['quote too large', { quote: 'A'.repeat(100_000) }],
  ] as Array<[string, Json]>)('%s → malformed_evidence', async (_name, evidence) => {
    const error = await rejection(run(evidence));
    expect(error.code).toBe('malformed_evidence');
    expect(failedChecks(error)[0]).toMatch(/^sgx\.evidence/);
  });

  test('parseSgxEvidence ignores members upstream ignores', () => {
    expect(parseSgxEvidence({ quote: 'QUJD', extra: 1 })).toEqual(Uint8Array.from([0x41, 0x42, 0x43]));
  });

  test('every truncation of a v3 quote is a typed error', async () => {
    const quote = platform.sgxQuote();
    for (const length of [0, 1, 47, 48, 431, 432, 435, 436, 563, 564, 948, 1012, 1014, 1046, 1048, quote.length - 1]) {
      const error = await rejection(run(sgxEvidence(quote.subarray(0, length))));
      expect(['malformed_evidence', 'verification_failed']).toContain(error.code);
    }
  });

  test('VerificationError is the only error type', async () => {
    await expect(run({ quote: Buffer.from(new Uint8Array(48)).toString('base64') })).rejects.toBeInstanceOf(VerificationError);
  });
});

describe('collateral options', () => {
  test('SGX collateral from the factory is the SGX flavour', async () => {
    const c: CollateralOptions = { tee: 'sgx' };
    const bundle = await platform.collateral(c);
    expect(JSON.parse(bundle.tcbInfo).tcbInfo.id).toBe('SGX');
    expect(JSON.parse(bundle.tcbInfo).tcbInfo.tdxModule).toBeUndefined();
    expect(JSON.parse(bundle.qeIdentity).enclaveIdentity).toMatchObject({ id: 'QE', isvprodid: 1 });
  });
});
