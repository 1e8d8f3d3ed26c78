/**
 * Invariant: `verifier_config` reaches the verifiers. An SNP report without a certificate chain
 * is verified with the VCEK from the configured OfflineStore, TDX with the `file://` collateral of
 * `dcap_verifier`; a bad sub-table is a startup `invalid_config`, never a verification error.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MemoryStore } from '@trustee/storage';
import { createSnpVerifier, createTdxVerifier, intelCollateralToJson, kdsHwid, tcbPrefix } from '@trustee/verifiers';
import { createTestSnpReport, testAmdPki } from '@trustee/verifiers/testing/snpFactory.ts';
import { createTdxTestPlatform, TDX_FACTORY_NOW, tdxEvidence } from '@trustee/verifiers/testing/tdxFactory.ts';
import { createAttestationService } from './attestationService.ts';
import { parseAttestationServiceConfig } from './config.ts';
import type { JsonObject } from '@trustee/protocol';
import { collateralFromVerifierConfig } from './verifierCollateral.ts';

function cpu0(token: string): JsonObject {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as JsonObject;
  return (payload.submods as JsonObject).cpu0 as JsonObject;
}

describe('verifier_config wiring', () => {
  test('snp_verifier OfflineStore supplies the VCEK for evidence without cert_chain', async () => {
    const pki = await testAmdPki('Milan');
    const reportData = new Uint8Array(64).fill(7);
    const snp = await createTestSnpReport({ product: 'Milan', reportData });
    const store = mkdtempSync(join(tmpdir(), 'kds-store-'));
    const dir = join(store, 'vcek', kdsHwid('Milan', snp.report.chipId));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${tcbPrefix(snp.report.reportedTcb)}_vcek.der`), snp.vek.der);

    const config = parseAttestationServiceConfig({ verifier_config: { snp_verifier: { vcek_sources: [{ type: 'OfflineStore', path: store }] } } }, 'as');
    const service = await createAttestationService({
      store: new MemoryStore(),
      config,
      now: () => new Date('2026-01-01T00:00:00Z'),
      verifiers: { snp: createSnpVerifier({ trustAnchors: pki.anchors }) },
    });
    const token = await service.evaluate([{ tee: 'snp', evidence: snp.evidenceWithoutChain, runtimeData: { raw: reportData } }], ['default']);
    expect((cpu0(token)['ear.veraison.annotated-evidence'] as JsonObject).snp).toMatchObject({ reported_tcb_microcode: expect.anything() as unknown });

    const empty = parseAttestationServiceConfig({ verifier_config: { snp_verifier: { vcek_sources: [{ type: 'OfflineStore', path: join(store, 'none') }] } } }, 'as');
    const offline = await createAttestationService({ store: new MemoryStore(), config: empty, verifiers: { snp: createSnpVerifier({ trustAnchors: pki.anchors }) } });
    await expect(offline.evaluate([{ tee: 'snp', evidence: snp.evidenceWithoutChain, runtimeData: { raw: reportData } }], ['default'])).rejects.toMatchObject({
      code: 'collateral_unavailable',
    });
  });

  test('dcap_verifier file:// collateral verifies TDX evidence', async () => {
    const platform = await createTdxTestPlatform();
    const reportData = new Uint8Array(64).fill(3);
    const file = join(mkdtempSync(join(tmpdir(), 'dcap-')), 'collateral.json');
    writeFileSync(file, JSON.stringify(intelCollateralToJson(await platform.collateral())));
    const config = parseAttestationServiceConfig({ verifier_config: { dcap_verifier: { collateral_service: `file://${file}` } } }, 'as');
    const service = await createAttestationService({
      store: new MemoryStore(),
      config,
      now: () => TDX_FACTORY_NOW,
      verifiers: { tdx: createTdxVerifier({ trustAnchors: platform.trustAnchors }) },
    });
    const token = await service.evaluate([{ tee: 'tdx', evidence: tdxEvidence(platform.quote({ reportData })), runtimeData: { raw: reportData } }], ['default']);
    expect(Object.keys(cpu0(token)['ear.veraison.annotated-evidence'] as JsonObject)).toContain('tdx');
  });

  test.each([
    [{ snp_verifier: { vcek_sources: [{ type: 'Ftp' }] } }, /verifier_config\.snp_verifier\.vcek_sources\[0\]\.type/],
    [{ dcap_verifier: {} }, /verifier_config\.dcap_verifier\.collateral_service/],
    [{ dcap_verifier: { collateral_service: 'gopher://x' } }, /verifier_config\.dcap_verifier\.collateral_service: expected a PCS\/PCCS http\(s\) URL/],
  ])('%j is invalid_config', (verifierConfig, message) => {
    let error: unknown;
    try {
      collateralFromVerifierConfig(verifierConfig as JsonObject, { store: new MemoryStore() });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'invalid_config' });
    expect((error as Error).message).toMatch(message);
  });
});
