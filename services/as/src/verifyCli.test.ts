/**
 * Invariant: `pnpm as verify` run as a process accepts evidence in every wire form (SNP guest
 * JSON, raw report + --cert, TDX or SGX JSON or raw quote, TPM JSON, Azure vTPM v0/v1/v2, NVIDIA device lists) and exits 0 with the
 * claims on stdout; a tampered or unbound copy exits 1 and names every failed check on stderr;
 * bad usage exits 2. `collateral import` / `export` round-trip a bundle through the service's
 * store, and the exported directory is what `verify --collateral` reads. Real vectors from
 * ../shared/vectors are verified when present (skipped otherwise).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { intelCollateralFromJson, intelCollateralToJson, kdsHwid, tcbPrefix } from '@trustee/verifiers';
import { createTestAzSnpVtpmEvidence } from '@trustee/verifiers/testing/azureFactory.ts';
import { createTestSnpReport, testAmdPki, type TestSnpReport } from '@trustee/verifiers/testing/snpFactory.ts';
import { createTestAzTdxVtpmEvidence } from '@trustee/verifiers/testing/tdxAzureFactory.ts';
import { createTestNvidiaEvidence, createTestNvidiaPki } from '@trustee/verifiers/testing/nvidiaFactory.ts';
import { createTdxTestPlatform, sgxEvidence, TDX_FACTORY_NOW, tdxEvidence, type TdxTestPlatform } from '@trustee/verifiers/testing/tdxFactory.ts';
import { createTestTpmEvidence } from '@trustee/verifiers/testing/tpmFactory.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const tsx = join(repo, 'node_modules/.bin/tsx');
const main = join(repo, 'services/as/src/main.ts');
const vectors = resolve(repo, '../shared/vectors');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(tsx, [main, ...args], { cwd: repo, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 99;
      done({ code, stdout, stderr });
    });
  });
}

function pem(der: Uint8Array): string {
  return `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const NOW = TDX_FACTORY_NOW.toISOString();

describe('verify on factory evidence', () => {
  const dir = mkdtempSync(join(tmpdir(), 'as-verify-'));
  const file = (name: string, content: string | Uint8Array): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const nonce = new Uint8Array(64).fill(0x42);
  let snp: TestSnpReport;
  let platform: TdxTestPlatform;
  let amdAnchors: string;
  let intelAnchors: string;
  let collateralFile: string;

  beforeAll(async () => {
    const pki = await testAmdPki('Milan');
    amdAnchors = file('amd-anchors.pem', pem(pki.arkDer) + pem(pki.askDer) + pem(pki.asvkDer));
    snp = await createTestSnpReport({ product: 'Milan', reportData: nonce });
    platform = await createTdxTestPlatform();
    intelAnchors = file('intel-root.pem', platform.root.pem);
    collateralFile = file('collateral.json', JSON.stringify(intelCollateralToJson(await platform.collateral())));
  });

  test('snp guest JSON with its cert_chain', async () => {
    const result = await run(['verify', '--tee', 'snp', '--evidence', file('snp.json', JSON.stringify(snp.evidence)), '--report-data', hex(nonce), '--trust-anchors', amdAnchors, '--now', NOW]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ report_data: hex(nonce), measurement: hex(snp.report.measurement) });
  });

  test('raw 1184-byte SNP report with --cert (DER and PEM)', async () => {
    const report = file('report.bin', snp.bytes);
    for (const cert of [file('vcek.der', snp.vek.der), file('vcek.pem', pem(snp.vek.der))]) {
      const result = await run(['verify', '--tee', 'snp', '--evidence', report, '--cert', cert, '--trust-anchors', amdAnchors, '--now', NOW]);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ report_data: hex(nonce) });
    }
  });

  test('raw VLEK-signed report with --cert VLEK', async () => {
    const vlek = await createTestSnpReport({ product: 'Milan', kind: 'vlek', reportData: nonce });
    const result = await run(['verify', '--tee', 'snp', '--evidence', file('vlek-report.bin', vlek.bytes), '--cert', file('vlek.pem', pem(vlek.vek.der)), '--trust-anchors', amdAnchors, '--report-data', hex(nonce), '--now', NOW]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('tampered SNP report and wrong report data: exit 1 listing every failed check', async () => {
    const tampered = snp.bytes.slice();
    tampered[0x90] = (tampered[0x90] ?? 0) ^ 1;
    const result = await run(['verify', '--tee', 'snp', '--evidence', file('tampered.bin', tampered), '--cert', file('vcek2.der', snp.vek.der), '--trust-anchors', amdAnchors, '--report-data', '00', '--now', NOW]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^rejected: verification_failed \(2 failed checks\)/);
    expect(result.stderr).toMatch(/snp\.report\.signature:/);
    expect(result.stderr).toMatch(/snp\.report_data: .*\n\s+expected: 0{128}\n\s+found:\s+(?:42){64}/);
  });

  test('--init-data-digest is checked against host_data (truncated to 32 bytes like upstream)', async () => {
    const digest = new Uint8Array(48).fill(0x33);
    const bound = await createTestSnpReport({ product: 'Milan', reportData: nonce, hostData: digest.subarray(0, 32) });
    const path = file('snp-initdata.json', JSON.stringify(bound.evidence));
    const ok = await run(['verify', '--tee', 'snp', '--evidence', path, '--init-data-digest', hex(digest), '--trust-anchors', amdAnchors, '--now', NOW]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const wrong = await run(['verify', '--tee', 'snp', '--evidence', path, '--init-data-digest', '44'.repeat(48), '--trust-anchors', amdAnchors, '--now', NOW]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/snp\.host_data: [\s\S]*expected: (?:44){32}\n\s+found:\s+(?:33){32}/);
  });

  test('sample evidence through the generic path', async () => {
    const path = file('sample.json', JSON.stringify({ svn: '3', report_data: Buffer.from(nonce).toString('base64') }));
    const ok = await run(['verify', '--tee', 'sample', '--evidence', path, '--report-data', hex(nonce)]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ svn: '3' });
    const wrong = await run(['verify', '--tee', 'sample', '--evidence', path, '--report-data', '00']);
    expect(wrong.code).toBe(1);
  });

  test('the test PKI is not trusted without --trust-anchors', async () => {
    const result = await run(['verify', '--tee', 'snp', '--evidence', join(dir, 'snp.json'), '--now', NOW]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^rejected: verification_failed/);
  });

  test('tdx {quote, cc_eventlog} JSON and a raw quote, with a collateral file', async () => {
    const quote = platform.quote({ reportData: nonce });
    for (const evidence of [file('tdx.json', JSON.stringify(tdxEvidence(quote))), file('quote.bin', quote)]) {
      const result = await run(['verify', '--tee', 'tdx', '--evidence', evidence, '--collateral', collateralFile, '--trust-anchors', intelAnchors, '--report-data', hex(nonce), '--now', NOW]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ quote: { body: { report_data: hex(nonce) } } });
    }
    const offline = await run(['verify', '--tee', 'tdx', '--evidence', join(dir, 'quote.bin'), '--trust-anchors', intelAnchors, '--now', NOW]);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(/collateral_unavailable[\s\S]*pass --collateral/);
  });

  test('sgx {quote} JSON with SGX collateral; a raw quote bound to another nonce names sgx.report_data', async () => {
    const quote = platform.sgxQuote({ reportData: nonce });
    const sgxCollateral = file('sgx-collateral.json', JSON.stringify(intelCollateralToJson(await platform.collateral({ tee: 'sgx' }))));
    // the guest JSON form here; the raw-quote form with the real dcap-qvl quote below
    const result = await run(['verify', '--tee', 'sgx', '--evidence', file('sgx.json', JSON.stringify(sgxEvidence(quote))), '--collateral', sgxCollateral, '--trust-anchors', intelAnchors, '--report-data', hex(nonce), '--now', NOW]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ body: { report_data: hex(nonce) }, tcb_status: 'UpToDate' });
    file('sgx-quote.bin', quote);
    const wrong = await run(['verify', '--tee', 'sgx', '--evidence', join(dir, 'sgx-quote.bin'), '--collateral', sgxCollateral, '--trust-anchors', intelAnchors, '--report-data', '00', '--now', NOW]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/rejected: verification_failed[\s\S]*sgx\.report_data/);
  });

  test('tpm evidence JSON; a wrong nonce names tpm_quote.nonce', async () => {
    const { evidence, akPublic } = createTestTpmEvidence({ reportData: nonce.subarray(0, 32) });
    const path = file('tpm.json', JSON.stringify(evidence));
    const ok = await run(['verify', '--tee', 'tpm', '--evidence', path, '--report-data', hex(nonce.subarray(0, 32))]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ak_public: akPublic, report_data: hex(nonce.subarray(0, 32)) });
    const wrong = await run(['verify', '--tee', 'tpm', '--evidence', path, '--report-data', '00'.repeat(32)]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/rejected: verification_failed[\s\S]*tpm_quote\.nonce/);
  });

  test.each([0, 1, 2] as const)('az-snp-vtpm version %i', async (version) => {
    const { evidence } = await createTestAzSnpVtpmEvidence({ version, reportData: nonce.subarray(0, 32) });
    const path = file(`az-snp-v${version}.json`, JSON.stringify(evidence));
    const ok = await run(['verify', '--tee', 'az-snp-vtpm', '--evidence', path, '--report-data', hex(nonce.subarray(0, 32)), '--trust-anchors', amdAnchors, '--now', NOW]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toHaveProperty('report_data');
    const wrong = await run(['verify', '--tee', 'az-snp-vtpm', '--evidence', path, '--report-data', '00'.repeat(32), '--trust-anchors', amdAnchors, '--now', NOW]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/rejected: verification_failed/);
  });

  test.each([0, 1, 2] as const)('az-tdx-vtpm version %i', async (version) => {
    const path = file(`az-tdx-v${version}.json`, JSON.stringify(createTestAzTdxVtpmEvidence({ platform, nonce: nonce.subarray(0, 32), version })));
    const ok = await run(['verify', '--tee', 'az-tdx-vtpm', '--evidence', path, '--report-data', hex(nonce.subarray(0, 32)), '--collateral', collateralFile, '--trust-anchors', intelAnchors, '--now', NOW]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  test.each<[string[], RegExp]>([
    [['verify', '--evidence', 'x'], /--tee and --evidence are required/],
    [['verify', '--tee', 'nope', '--evidence', 'x'], /unknown TEE "nope"/],
    [['verify', '--tee', 'snp', '--evidence', '/nonexistent/file'], /cannot read \/nonexistent\/file/],
    [['verify', '--tee', 'snp', '--evidence', 'x', '--report-data', 'xyz'], /--report-data: expected hex/],
    [['verify', '--tee', 'snp', '--evidence', 'x', '--now', 'yesterday'], /--now: "yesterday" is not an ISO 8601 time/],
  ])('%j exits 2', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('collateral import / export', () => {
  test('a bundle imported into the store comes back out, and verify reads the exported directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-collateral-'));
    const config = join(dir, 'as-config.json');
    writeFileSync(config, JSON.stringify({ storage_backend: { storage_type: 'Sqlite', backends: { sqlite: { path: join(dir, 'as.sqlite') } } } }));
    const nonce = new Uint8Array(64).fill(9);
    const snp = await createTestSnpReport({ product: 'Milan', reportData: nonce });
    const platform = await createTdxTestPlatform();
    const input = join(dir, 'in');
    const vcekDir = join(input, 'amd', 'vcek', kdsHwid('Milan', snp.report.chipId));
    mkdirSync(vcekDir, { recursive: true });
    writeFileSync(join(vcekDir, `${tcbPrefix(snp.report.reportedTcb)}_vcek.der`), snp.vek.der);
    mkdirSync(join(input, 'intel'));
    writeFileSync(join(input, 'intel', 'bundle.json'), JSON.stringify(intelCollateralToJson(await platform.collateral())));

    const imported = await run(['collateral', 'import', '--config-file', config, '--in', input]);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toBe(`imported 1 AMD VCEK(s), 0 AMD chain(s), 1 Intel bundle(s), 0 NVIDIA OCSP answer(s) from ${input}\n`);
    const out = join(dir, 'out');
    const exported = await run(['collateral', 'export', '--config-file', config, '--out', out]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/exported 1 AMD VCEK\(s\), 0 AMD chain\(s\), 1 Intel bundle\(s\)/);
    expect(readdirSync(join(out, 'intel'))).toEqual(['tdx-B0C06F000000-platform.json']);

    const pki = await testAmdPki('Milan');
    const anchors = join(dir, 'anchors.pem');
    writeFileSync(anchors, pem(pki.arkDer) + pem(pki.askDer) + platform.root.pem);
    const chainless = join(dir, 'chainless.json');
    writeFileSync(chainless, JSON.stringify(snp.evidenceWithoutChain));
    const snpResult = await run(['verify', '--tee', 'snp', '--evidence', chainless, '--collateral', out, '--trust-anchors', anchors, '--report-data', hex(nonce), '--now', NOW]);
    expect(snpResult.stderr).toBe('');
    expect(snpResult.code).toBe(0);
    const raw = join(dir, 'report.bin');
    writeFileSync(raw, snp.bytes);
    const rawResult = await run(['verify', '--tee', 'snp', '--evidence', raw, '--collateral', out, '--trust-anchors', anchors, '--report-data', hex(nonce), '--now', NOW]);
    expect(rawResult.stderr).toBe('');
    expect(rawResult.code).toBe(0);
    const quote = join(dir, 'quote.bin');
    writeFileSync(quote, platform.quote({ reportData: nonce }));
    const tdxResult = await run(['verify', '--tee', 'tdx', '--evidence', quote, '--collateral', out, '--trust-anchors', anchors, '--now', NOW]);
    expect(tdxResult.code).toBe(0);
  });

  test('Memory storage and missing flags are usage errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-collateral-'));
    writeFileSync(join(dir, 'mem.json'), '{}');
    expect((await run(['collateral', 'export', '--config-file', join(dir, 'mem.json'), '--out', dir])).stderr).toMatch(/storage_backend is Memory/);
    expect((await run(['collateral', 'frobnicate'])).code).toBe(2);
  });
});

const has = (...files: string[]): boolean => files.every((f) => existsSync(join(vectors, f)));

describe.skipIf(!has('snp/trustee-e2e-evidence.json', 'snp/trustee-test-report.bin', 'tdx/dcapqvl-tdx_quote', 'sgx/dcapqvl-sgx_quote', 'tpm/trustee-tpm_evidence.json'))('verify on real vectors (../shared/vectors)', () => {
  const v = (f: string): string => join(vectors, f);

  test.each<[string, string[], Record<string, unknown>]>([
    ['snp Genoa guest JSON (VCEK in cert_chain)', ['--tee', 'snp', '--evidence', v('snp/trustee-e2e-evidence.json'), '--now', '2026-01-01T00:00:00Z'], { measurement: '6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e' }],
    ['snp Milan raw report + DER VCEK', ['--tee', 'snp', '--evidence', v('snp/trustee-test-report.bin'), '--cert', v('snp/trustee-test-vcek.der'), '--now', '2026-01-01T00:00:00Z'], { measurement: 'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c', reported_tcb_microcode: 115 }],
    ['snp go-sev-guest raw report bound to nonce 01..05', ['--tee', 'snp', '--evidence', v('snp/gosev-attestation.bin'), '--cert', v('snp/gosev-vcek.der'), '--report-data', '0102030405', '--now', '2023-01-01T00:00:00Z'], { measurement: 'b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01' }],
    ['snp Genoa configfs-tsm JSON (certs in the auxblob) bound to the veraison nonce', ['--tee', 'snp', '--evidence', v('snp/veraison-sevsnp-tsm-report.json'), '--report-data', Buffer.from('MIDBNH28iioisjPyxxxxxxxxxxxxxxxx'.repeat(2)).toString('hex'), '--now', '2026-01-01T00:00:00Z'], { measurement: '7699e6ac12ccdfd1dfac70e649ce1f046cb2afbb003438f4cdddfe2ccbe182fa5ffbe8dcdb930454324e10c52c788980' }],
    ['tdx raw quote + dcap-qvl collateral', ['--tee', 'tdx', '--evidence', v('tdx/dcapqvl-tdx_quote'), '--collateral', v('tdx/dcapqvl-tdx_quote_collateral.json'), '--now', '2025-07-01T00:00:00Z'], { quote: { body: { mr_td: '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7' } } }],
    ['sgx raw quote + dcap-qvl SGX collateral', ['--tee', 'sgx', '--evidence', v('sgx/dcapqvl-sgx_quote'), '--collateral', v('sgx/dcapqvl-sgx_quote_collateral.json'), '--report-data', Buffer.from('Hello, world!').toString('hex'), '--now', '2025-07-01T00:00:00Z'], { body: { mr_enclave: '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb' }, tcb_status: 'ConfigurationAndSWHardeningNeeded' }],
    ['tpm Trustee evidence JSON', ['--tee', 'tpm', '--evidence', v('tpm/trustee-tpm_evidence.json')], { report_data: 'a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120' + '00'.repeat(16) }],
    ['az-snp-vtpm v0', ['--tee', 'az-snp-vtpm', '--evidence', v('az-snp-vtpm/trustee-evidence-v0.json'), '--report-data', '6368616c6c656e6765', '--now', '2026-01-01T00:00:00Z'], { report_data: '6368616c6c656e6765' }],
    ['az-snp-vtpm v1', ['--tee', 'az-snp-vtpm', '--evidence', v('az-snp-vtpm/trustee-evidence-v1.json'), '--report-data', '6368616c6c656e6765', '--now', '2026-01-01T00:00:00Z'], { tpm: { pcr00: 'e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced' } }],
    ['az-snp-vtpm v2', ['--tee', 'az-snp-vtpm', '--evidence', v('az-snp-vtpm/trustee-evidence-v2.json'), '--report-data', '982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef', '--now', '2026-01-01T00:00:00Z'], { tpm: { pcr00: '84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7' } }],
  ])('%s', async (_name, args, claims) => {
    const result = await run(['verify', ...args]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject(claims);
  });

  test.skipIf(!has('az-tdx-vtpm/trustee-evidence-v0.json', 'tdx/teekit-tcbInfo-tdx-00806f050000.json', 'tdx/trustee-enclaveIdentity.json'))('az-tdx-vtpm v0 and v1 with assembled collateral', async () => {
    // The corpus has the TCB info and QE identity for this FMSPC as PCS response files; the
    // chains and CRLs come from the dcap-qvl bundle (the MANIFEST notes one TCB signing key signs all).
    const base = intelCollateralFromJson(JSON.parse(readFileSync(v('tdx/dcapqvl-tdx_quote_collateral.json'), 'utf8')));
    const bundle = { ...base, tcbInfo: readFileSync(v('tdx/teekit-tcbInfo-tdx-00806f050000.json'), 'utf8'), qeIdentity: readFileSync(v('tdx/trustee-enclaveIdentity.json'), 'utf8') };
    const collateral = join(mkdtempSync(join(tmpdir(), 'az-tdx-')), 'collateral.json');
    writeFileSync(collateral, JSON.stringify(intelCollateralToJson(bundle)));
    for (const version of [0, 1]) {
      const result = await run(['verify', '--tee', 'az-tdx-vtpm', '--evidence', v(`az-tdx-vtpm/trustee-evidence-v${version}.json`), '--report-data', '6368616c6c656e6765', '--collateral', collateral, '--now', '2025-10-28T12:00:00Z']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ report_data: '6368616c6c656e6765' });
    }
  });

  test.each<[string, string[], RegExp]>([
    ['tampered raw SNP report', ['--tee', 'snp', '--cert', v('snp/trustee-test-vcek.der'), '--now', '2026-01-01T00:00:00Z'], /snp\.report\.signature/],
    ['az-snp-vtpm with another nonce', ['--tee', 'az-snp-vtpm', '--report-data', '6368616c6c656e6766', '--now', '2026-01-01T00:00:00Z'], /rejected: verification_failed[\s\S]*expected: 6368616c6c656e6766/],
    ['tampered tdx quote', ['--tee', 'tdx', '--collateral', v('tdx/dcapqvl-tdx_quote_collateral.json'), '--now', '2025-07-01T00:00:00Z'], /rejected: verification_failed[\s\S]*dcap\.quote\.signature/],
  ])('%s → exit 1 with the check on stderr', async (name, args, message) => {
    let evidence = v('az-snp-vtpm/trustee-evidence-v1.json');
    if (name.startsWith('tampered')) {
      // A measurement bit (SNP) / a TD report bit (TDX) flipped: the signature no longer covers it.
      const tdx = name.includes('tdx');
      const bytes = readFileSync(v(tdx ? 'tdx/dcapqvl-tdx_quote' : 'snp/trustee-test-report.bin'));
      const at = tdx ? 600 : 0x90;
      bytes[at] = (bytes[at] ?? 0) ^ 1;
      evidence = join(mkdtempSync(join(tmpdir(), 'tampered-')), 'evidence.bin');
      writeFileSync(evidence, bytes);
    }
    const result = await run(['verify', '--evidence', evidence, ...args]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});

describe('verify --tee nvidia', () => {
  const dir = mkdtempSync(join(tmpdir(), 'as-verify-nvidia-'));
  const reportData = new Uint8Array(48).fill(0x5a);

  test('factory evidence under a test root given as --trust-anchors; a tampered copy names the check', async () => {
    const pki = await createTestNvidiaPki();
    const evidence = createTestNvidiaEvidence(reportData, [{ pki }]);
    writeFileSync(join(dir, 'gpu.json'), JSON.stringify(evidence));
    writeFileSync(join(dir, 'root.pem'), pem(pki.chainDer[pki.chainDer.length - 1] as Uint8Array));
    const ok = await run(['verify', '--tee', 'nvidia', '--evidence', join(dir, 'gpu.json'), '--trust-anchors', join(dir, 'root.pem'), '--report-data', hex(reportData)]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ arch: 'Hopper', config: { fwid: pki.fwid } });

    const other = await run(['verify', '--tee', 'nvidia', '--evidence', join(dir, 'gpu.json'), '--trust-anchors', join(dir, 'root.pem'), '--report-data', hex(new Uint8Array(48))]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/rejected: verification_failed[\s\S]*nvidia\.nonce/);
    const pinned = await run(['verify', '--tee', 'nvidia', '--evidence', join(dir, 'gpu.json'), '--report-data', hex(reportData)]);
    expect(pinned.code).toBe(1);
    expect(pinned.stderr).toMatch(/nvidia\.cert_chain\.root/);
  });

  test.skipIf(!has('nvidia/trustee-hopperAttestationReport.txt', 'nvidia/trustee-hopper_cert_chain_case1.txt', 'nvidia/nvtrust-ppcie-switch_evidence.json'))('real vectors: a hex report + --cert chain, and an NVAT device list', async () => {
    const v = (f: string): string => join(vectors, f);
    const hopper = await run(['verify', '--tee', 'nvidia', '--evidence', v('nvidia/trustee-hopperAttestationReport.txt'), '--cert', v('nvidia/trustee-hopper_cert_chain_case1.txt'), '--report-data', '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb', '--now', '2025-06-01T00:00:00Z']);
    expect(hopper.stderr).toBe('');
    expect(JSON.parse(hopper.stdout)).toMatchObject({ arch: 'Hopper', config: { driver_version: '550.90.07', chip_sku: '882' } });
    const switches = await run(['verify', '--tee', 'nvidia', '--evidence', v('nvidia/nvtrust-ppcie-switch_evidence.json'), '--report-data', '4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e', '--now', '2025-06-01T00:00:00Z']);
    expect(switches.stderr).toBe('');
    const parsed = JSON.parse(switches.stdout) as Array<{ tee_class: string }>;
    expect(parsed.map((d) => d.tee_class)).toEqual(['switch', 'switch', 'switch', 'switch']);
  });
});
