/**
 * Invariant: `verifier_config.{snp,dcap}_verifier.trust_anchors_path` is the only way a KBS/AS
 * configuration makes the verifiers trust roots other than AMD's and Intel's: evidence from a
 * private PKI is refused without it and accepted with it (loudly warned), the pinned roots then no
 * longer apply to those TEEs, and an unusable anchors file is a startup `invalid_config`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MemoryStore } from '@trustee/storage';
import { intelCollateralToJson } from '@trustee/verifiers';
import { createTestSnpReport, testAmdPki } from '@trustee/verifiers/testing/snpFactory.ts';
import { createTestAzSnpVtpmEvidence } from '@trustee/verifiers/testing/azureFactory.ts';
import { createTdxTestPlatform, sgxEvidence, TDX_FACTORY_NOW, tdxEvidence } from '@trustee/verifiers/testing/tdxFactory.ts';
import { createAttestationService } from './attestationService.ts';
import { parseAttestationServiceConfig } from './config.ts';
import type { JsonObject } from '@trustee/protocol';
import { verifiersFromTrustAnchorConfig } from './verifierTrustAnchors.ts';
import { RecordingLogger } from '@trustee/log/testing/recordingLogger.ts';

const pem = (der: Uint8Array): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'anchors-')), name);
  writeFileSync(path, text);
  return path;
}

function cpu0(token: string): JsonObject {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as JsonObject;
  return (payload.submods as JsonObject).cpu0 as JsonObject;
}

function recordingLog(): RecordingLogger {
  return new RecordingLogger();
}

async function amdAnchorsFile(): Promise<string> {
  const milan = await testAmdPki('Milan');
  // Order does not matter: ASK, ASVK, then the ARK.
  return tempFile('amd.pem', pem(milan.askDer) + pem(milan.asvkDer) + pem(milan.arkDer));
}

describe('verifier_config.snp_verifier.trust_anchors_path', () => {
  test('factory SNP and az-snp-vtpm evidence is refused with the default roots and accepted with the pinned ones', async () => {
    const reportData = new Uint8Array(64).fill(9);
    const snp = await createTestSnpReport({ product: 'Milan', reportData });
    const azure = await createTestAzSnpVtpmEvidence({ reportData: reportData.subarray(0, 32) });
    const request = { tee: 'snp' as const, evidence: snp.evidence, runtimeData: { raw: reportData } };
    const azureRequest = { tee: 'az-snp-vtpm' as const, evidence: azure.evidence, runtimeData: { raw: reportData.subarray(0, 32) } };

    const defaults = await createAttestationService({ store: new MemoryStore(), config: parseAttestationServiceConfig({}, 'as') });
    await expect(defaults.evaluate([request], ['default'])).rejects.toMatchObject({ code: 'verification_failed' });
    await expect(defaults.evaluate([azureRequest], ['default'])).rejects.toMatchObject({ code: 'verification_failed' });

    const log = recordingLog();
    const config = parseAttestationServiceConfig({ verifier_config: { snp_verifier: { trust_anchors_path: await amdAnchorsFile() } } }, 'as');
    const pinned = await createAttestationService({ store: new MemoryStore(), config, log });
    const token = await pinned.evaluate([request], ['default']);
    expect((cpu0(token)['ear.veraison.annotated-evidence'] as JsonObject).snp).toMatchObject({ chip_id: Buffer.from(snp.report.chipId).toString('hex') });
    const azureToken = await pinned.evaluate([azureRequest], ['default']);
    expect(cpu0(azureToken)['ear.veraison.annotated-evidence']).toHaveProperty('az-snp-vtpm');
    expect(log.messages('warn').join('\n')).toMatch(/NON-DEFAULT AMD trust anchors .*Milan/);
  });

  test('a product line the anchors file does not pin is refused (the production roots no longer apply either)', async () => {
    const config = parseAttestationServiceConfig({ verifier_config: { snp_verifier: { trust_anchors_path: await amdAnchorsFile() } } }, 'as');
    const verifiers = await verifiersFromTrustAnchorConfig(config.verifierConfig, recordingLog());
    // A Genoa report: the file pins Milan only, so no anchor exists for its product line.
    const genoa = await createTestSnpReport({ product: 'Genoa', reportData: new Uint8Array(64) });
    await expect(
      verifiers.snp?.evaluate(genoa.evidence, { reportData: new Uint8Array(64), initDataDigest: undefined }, { now: () => new Date(), collateral: {} }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/verification_failed|unsupported/) as unknown });
  });
});

describe('verifier_config.dcap_verifier.trust_anchors_path', () => {
  test('factory TDX evidence with file:// collateral is refused with Intel\'s root and accepted with the pinned one', async () => {
    const platform = await createTdxTestPlatform();
    const reportData = new Uint8Array(64).fill(5);
    const collateralFile = tempFile('collateral.json', JSON.stringify(intelCollateralToJson(await platform.collateral())));
    const request = { tee: 'tdx' as const, evidence: tdxEvidence(platform.quote({ reportData })), runtimeData: { raw: reportData } };
    const dcap = { collateral_service: `file://${collateralFile}` };

    const defaults = await createAttestationService({ store: new MemoryStore(), config: parseAttestationServiceConfig({ verifier_config: { dcap_verifier: dcap } }, 'as'), now: () => TDX_FACTORY_NOW });
    await expect(defaults.evaluate([request], ['default'])).rejects.toMatchObject({ code: 'verification_failed', message: expect.stringMatching(/trusted root/) as unknown });

    const log = recordingLog();
    const rootFile = tempFile('intel.pem', platform.root.pem);
    const config = parseAttestationServiceConfig({ verifier_config: { dcap_verifier: { ...dcap, trust_anchors_path: rootFile } } }, 'as');
    const pinned = await createAttestationService({ store: new MemoryStore(), config, now: () => TDX_FACTORY_NOW, log });
    const token = await pinned.evaluate([request], ['default']);
    expect(cpu0(token)['ear.veraison.annotated-evidence']).toHaveProperty('tdx');
    expect(log.messages('warn').join('\n')).toMatch(/NON-DEFAULT Intel root CAs/);
  });

  test('sgx is pinned by the same file: factory SGX evidence with PcsClientTool file:// collateral', async () => {
    const platform = await createTdxTestPlatform();
    const reportData = new Uint8Array(64).fill(6);
    const collateralFile = tempFile('pcs.json', JSON.stringify(await platform.pcsClientToolFile()));
    const request = { tee: 'sgx' as const, evidence: sgxEvidence(platform.sgxQuote({ reportData })), runtimeData: { raw: reportData } };
    const dcap = { collateral_service: `file://${collateralFile}` };
    const defaults = await createAttestationService({ store: new MemoryStore(), config: parseAttestationServiceConfig({ verifier_config: { dcap_verifier: dcap } }, 'as'), now: () => TDX_FACTORY_NOW });
    await expect(defaults.evaluate([request], ['default'])).rejects.toMatchObject({ code: 'verification_failed', message: expect.stringMatching(/trusted root/) as unknown });
    const config = parseAttestationServiceConfig({ verifier_config: { dcap_verifier: { ...dcap, trust_anchors_path: tempFile('intel.pem', platform.root.pem) } } }, 'as');
    const pinned = await createAttestationService({ store: new MemoryStore(), config, now: () => TDX_FACTORY_NOW, log: recordingLog() });
    const sgx = (cpu0(await pinned.evaluate([request], ['default']))['ear.veraison.annotated-evidence'] as JsonObject).sgx as JsonObject;
    expect(sgx).toMatchObject({ tcb_status: 'UpToDate', body: { report_data: Buffer.from(reportData).toString('hex') } });
  });
});

describe('unusable anchors files are startup errors', () => {
  test.each([
    ['a missing file', 'snp_verifier', async () => '/nonexistent/anchors.pem', /cannot read/],
    ['a file without certificates', 'snp_verifier', async () => tempFile('x.pem', 'not pem'), /no PEM certificate/],
    ['an ARK that names no product', 'snp_verifier', async () => tempFile('x.pem', (await createTdxTestPlatform()).root.pem), /does not name a product line/],
    ['an ARK without its ASK', 'snp_verifier', async () => tempFile('x.pem', pem((await testAmdPki('Milan')).arkDer)), /exactly one ASK/],
    ['an intermediate as an Intel root', 'dcap_verifier', async () => tempFile('x.pem', (await createTdxTestPlatform()).pckCa.pem), /not a self-signed root CA/],
  ])('%s', async (_name, table, makePath, message) => {
    const sub: JsonObject = { trust_anchors_path: await makePath() };
    if (table === 'dcap_verifier') sub.collateral_service = 'https://api.trustedservices.intel.com';
    const config = parseAttestationServiceConfig({ verifier_config: { [table]: sub } }, 'as');
    await expect(createAttestationService({ store: new MemoryStore(), config })).rejects.toMatchObject({
      code: 'invalid_config',
      message: expect.stringMatching(new RegExp(`verifier_config\\.${table}\\.trust_anchors_path: .*${message.source}`)) as unknown,
    });
  });

  test('a non-string path is refused when the config is read', () => {
    expect(() => parseAttestationServiceConfig({ verifier_config: { snp_verifier: { trust_anchors_path: 42 } } }, 'as')).toThrow('as.verifier_config.snp_verifier.trust_anchors_path: expected a string, found number 42');
  });

  test('tpm_verifier.trusted_ak_keys_dir gives a tpm verifier over those keys; an unreadable directory stops the start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-aks-'));
    writeFileSync(join(dir, 'ak1.pub'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
    const log = recordingLog();
    const config = parseAttestationServiceConfig({ verifier_config: { tpm_verifier: { trusted_ak_keys_dir: dir, max_trusted_ak_keys: 5 } } }, 'as');
    const verifiers = await verifiersFromTrustAnchorConfig(config.verifierConfig, log);
    expect(Object.keys(verifiers)).toEqual(['tpm']);
    expect(log.messages('warn').join('\n')).toContain(`1 trusted AK key(s) from ${dir}`);
    const missing = parseAttestationServiceConfig({ verifier_config: { tpm_verifier: { trusted_ak_keys_dir: join(dir, 'none') } } }, 'as');
    await expect(createAttestationService({ store: new MemoryStore(), config: missing })).rejects.toMatchObject({
      code: 'invalid_config',
      message: expect.stringMatching(/^verifier_config\.tpm_verifier\.trusted_ak_keys_dir: /) as unknown,
    });
  });

  test('no trust_anchors_path configures no verifier', async () => {
    expect(await verifiersFromTrustAnchorConfig({ snp_verifier: { vcek_sources: [] }, dcap_verifier: { collateral_service: 'https://x' } }, recordingLog())).toEqual({});
  });
});
