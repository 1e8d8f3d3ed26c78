// Invariant: the snp verifier accepts a report only when every check passes — chain to the
// configured anchors (AMD's by default, test roots only when passed explicitly), report signature,
// TCB and chip id against the VEK, VMPL 0 and the report_data/host_data bindings — and lists every
// failed check with what it expected and found. Runs fully offline on generated test PKIs.
import { describe, expect, test } from 'vitest';
import { createTestSnpReport, testAmdPki, testAmdTrustAnchors, testVek } from '../testing/snpFactory.ts';
import type { CollateralSource, Json, SnpTcbVersion } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import { checksOf } from '../testing/verificationRejection.ts';
import { ConfigError } from '@trustee/config';
import { createAmdTrustAnchors } from './amdTrustAnchors.ts';
import { createSnpVerifier, snpVerifier } from './snpVerifier.ts';
import { verifyRawSnpReport } from './verifyRawSnpReport.ts';
import { parseAmdCertificate } from './vekCertificate.ts';

const anchors = await testAmdTrustAnchors();
const verifier = createSnpVerifier({ trustAnchors: anchors });
const context = { now: () => new Date('2030-01-01T00:00:00Z'), collateral: {} };
const none = { reportData: undefined, initDataDigest: undefined };
const digest48 = Uint8Array.from({ length: 48 }, (_, i) => i + 1);
const digest32 = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);

describe.each(['Milan', 'Genoa', 'Turin'] as const)('%s test PKI', (product) => {
  test.each([3, 5] as const)('report v%i with VCEK in cert_chain verifies and binds report/host data', async (version) => {
    const { evidence, report } = await createTestSnpReport({ product, version, reportData: digest48, hostData: digest32 });
    const [result] = await verifier.evaluate(evidence, { reportData: digest48, initDataDigest: digest32 }, context);
    expect(result?.claims['report_data']).toBe(Buffer.from(report.reportData).toString('hex'));
    expect(result?.claims['init_data']).toBe(Buffer.from(digest32).toString('hex'));
    expect(result?.claims['reported_tcb_snp']).toBe(report.reportedTcb.snp);
  });

  test('VLEK-signed report verifies through the ASVK', async () => {
    const { evidence } = await createTestSnpReport({ product, kind: 'vlek' });
    await expect(verifier.evaluate(evidence, none, context)).resolves.toHaveLength(1);
  });

  test('cert_chain null → VCEK from collateral (product, chip id, TCB as KDS wants them)', async () => {
    const { evidenceWithoutChain, vek, report } = await createTestSnpReport({ product });
    const asked: Array<[string, string, SnpTcbVersion]> = [];
    const collateral: CollateralSource = {
      getVcek: (p, chipId, tcb) => {
        asked.push([p, Buffer.from(chipId).toString('hex'), tcb]);
        return Promise.resolve(vek.der);
      },
    };
    await verifier.evaluate(evidenceWithoutChain, none, { ...context, collateral });
    expect(asked).toEqual([[product, Buffer.from(product === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId).toString('hex'), report.reportedTcb]]);
  });
});

describe('rejections list every failed check', () => {
  test('the default verifier trusts only AMD: a test-PKI report fails the chain', async () => {
    const { evidence } = await createTestSnpReport();
    const { checks } = await checksOf(snpVerifier.evaluate(evidence, none, context));
    expect(checks).toContain('snp.vek.signature');
  });

  test('binding mismatches: report_data (sha384 regularised to 64) and host_data (truncated to 32)', async () => {
    const { evidence } = await createTestSnpReport({ reportData: digest48, hostData: digest48 });
    await expect(verifier.evaluate(evidence, { reportData: digest48, initDataDigest: digest48 }, context)).resolves.toHaveLength(1);
    const other = digest48.map((b) => b ^ 0xff);
    const error = await verifier.evaluate(evidence, { reportData: other, initDataDigest: other }, context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerificationError);
    const failures = (error as VerificationError).failures;
    expect(failures.map((f) => f.check)).toEqual(['snp.report_data', 'snp.host_data']);
    expect(failures[0]?.expected).toBe(Buffer.concat([Buffer.from(other), Buffer.alloc(16)]).toString('hex'));
    expect(failures[0]?.found).toBe(Buffer.concat([Buffer.from(digest48), Buffer.alloc(16)]).toString('hex'));
  });

  test('VMPL other than 0', async () => {
    const { evidence } = await createTestSnpReport({ vmpl: 2 });
    expect((await checksOf(verifier.evaluate(evidence, none, context))).checks).toEqual(['snp.vmpl']);
  });

  test('reported TCB newer than the VCEK certifies, and another chip id', async () => {
    const vek = await testVek('Milan');
    const { evidence } = await createTestSnpReport({ vek, tcb: { bootloader: 9, tee: 9, snp: 99, microcode: 250 }, chipId: new Uint8Array(64).fill(9) });
    const { checks } = await checksOf(verifier.evaluate(evidence, none, context));
    expect(checks).toEqual(['snp.reported_tcb.microcode', 'snp.reported_tcb.snp', 'snp.reported_tcb.tee', 'snp.reported_tcb.bootloader', 'snp.chip_id']);
  });

  test('Turin: fmc is bound too', async () => {
    const vek = await testVek('Turin');
    const { evidence } = await createTestSnpReport({ product: 'Turin', vek, tcb: { fmc: 7, bootloader: 1, tee: 0, snp: 2, microcode: 71 } });
    expect((await checksOf(verifier.evaluate(evidence, none, context))).checks).toEqual(['snp.reported_tcb.fmc']);
  });

  test('VCEK issued by another PKI (same names) fails the chain but not the report signature', async () => {
    const rogue = await testAmdPki('Genoa');
    const vek = await testVek('Milan', { signedBy: rogue });
    const { evidence } = await createTestSnpReport({ vek });
    expect((await checksOf(verifier.evaluate(evidence, none, context))).checks).toEqual(['snp.vek.signature']);
  });

  test('a provided ARK that is not the anchor, and a provided ASK not signed by it', async () => {
    const { evidence } = await createTestSnpReport();
    const rogue = await testAmdPki('Genoa');
    const withChain = (entries: Array<{ cert_type: string; data: number[] }>): Json => ({
      ...(evidence as Record<string, Json>),
      cert_chain: [...entries, ...((evidence as { cert_chain: Json[] }).cert_chain as Array<{ cert_type: string; data: number[] }>)],
    });
    const arkOnly = await checksOf(verifier.evaluate(withChain([{ cert_type: 'ARK', data: Array.from(rogue.arkDer) }]), none, context));
    expect(arkOnly.checks).toEqual(['snp.ark']);
    const askOnly = await checksOf(verifier.evaluate(withChain([{ cert_type: 'ASK', data: Array.from(rogue.askDer) }]), none, context));
    expect(askOnly.checks).toEqual(['snp.ask.signature']);
    const genuine = await testAmdPki('Milan');
    await expect(verifier.evaluate(withChain([{ cert_type: 'ARK', data: Array.from(genuine.arkDer) }, { cert_type: 'ASK', data: Array.from(genuine.askDer) }]), none, context)).resolves.toHaveLength(1);
  });

  test('certificate validity: VCEK not yet valid / expired', async () => {
    const vek = await testVek('Milan', { notBefore: new Date('2031-01-01T00:00:00Z'), notAfter: new Date('2032-01-01T00:00:00Z') });
    const { evidence } = await createTestSnpReport({ vek });
    const { checks } = await checksOf(verifier.evaluate(evidence, none, context));
    expect(checks).toEqual(['snp.vcek.validity']);
    await expect(verifier.evaluate(evidence, none, { ...context, now: () => new Date('2031-06-01T00:00:00Z') })).resolves.toHaveLength(1);
  });

  test('VCEK presented under cert_type VLEK (key kind differs from KEY_INFO)', async () => {
    const { evidence } = await createTestSnpReport();
    const chain = (evidence as { cert_chain: Array<{ cert_type: string }> }).cert_chain;
    const relabelled = { ...(evidence as Record<string, Json>), cert_chain: chain.map((c) => ({ ...c, cert_type: 'VLEK' })) as Json };
    const { checks } = await checksOf(verifier.evaluate(relabelled, none, context));
    expect(checks).toEqual(['snp.key_info', 'snp.vek.signature']);
  });

  test('masked chip id without a chain cannot fetch a VCEK; no collateral → collateral_unavailable', async () => {
    const masked = await createTestSnpReport({ kind: 'vlek' });
    expect(await checksOf(verifier.evaluate(masked.evidenceWithoutChain, none, context))).toEqual({ code: 'verification_failed', checks: ['snp.chip_id'] });
    const plain = await createTestSnpReport();
    expect((await checksOf(verifier.evaluate(plain.evidenceWithoutChain, none, context))).code).toBe('collateral_unavailable');
    const failing: CollateralSource = { getVcek: () => Promise.reject(new Error('KDS down')) };
    expect((await checksOf(verifier.evaluate(plain.evidenceWithoutChain, none, { ...context, collateral: failing }))).code).toBe('collateral_unavailable');
  });

  test('a chain without VCEK/VLEK is malformed', async () => {
    const { evidence } = await createTestSnpReport();
    const bad = { ...(evidence as Record<string, Json>), cert_chain: [{ cert_type: 'CRL', data: [1, 2, 3] }] };
    expect((await checksOf(verifier.evaluate(bad, none, context))).code).toBe('malformed_evidence');
  });
});

describe('raw report operator hook', () => {
  test('v2 report + VCEK (PEM or DER), no network; product from the VCEK', async () => {
    const { bytes, vek } = await createTestSnpReport({ version: 2, reportData: digest48 });
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(vek.der).toString('base64')}\n-----END CERTIFICATE-----\n`;
    for (const form of [vek.der, pem]) {
      const result = verifyRawSnpReport(bytes, { vek: form, trustAnchors: anchors, reportData: digest48, now: new Date('2030-01-01T00:00:00Z') });
      expect(result.product).toBe('Milan');
      expect(result.report.cpuidFamId).toBeUndefined();
    }
  });

  test('both hwID encodings (raw and OCTET STRING) are accepted', async () => {
    for (const hwidForm of ['raw', 'octet-string'] as const) {
      const vek = await testVek('Genoa', { hwidForm });
      expect(parseAmdCertificate(vek.der, 'vek').hwid?.byteLength).toBe(64);
      const { bytes } = await createTestSnpReport({ product: 'Genoa', vek });
      expect(verifyRawSnpReport(bytes, { vek: vek.der, trustAnchors: anchors, now: new Date('2030-01-01T00:00:00Z') }).product).toBe('Genoa');
    }
  });
});

describe('trust anchors', () => {
  test('an ASK not signed by the ARK is refused as an anchor', async () => {
    const a = await testAmdPki('Milan');
    const b = await testAmdPki('Genoa');
    expect(() => createAmdTrustAnchors([{ product: 'Milan', ark: a.arkDer, ask: b.askDer }])).toThrow(ConfigError);
    expect(() => createAmdTrustAnchors([{ product: 'Milan', ark: a.askDer, ask: a.askDer }])).toThrow(ConfigError);
    // Given the config key the certificates came from, the error names it (path and message).
    expect(() => createAmdTrustAnchors([{ product: 'Milan', ark: a.arkDer, ask: b.askDer }], 'verifier_config.snp_verifier.trust_anchors_path')).toThrow(
      expect.objectContaining({ code: 'invalid_config', path: 'verifier_config.snp_verifier.trust_anchors_path', message: 'verifier_config.snp_verifier.trust_anchors_path: Milan ASK is not signed by its ARK' }) as unknown as Error,
    );
  });

  test('a product without an anchor is reported', async () => {
    const milanOnly = createSnpVerifier({ trustAnchors: (await testAmdPki('Milan')).anchors });
    const { evidence } = await createTestSnpReport({ product: 'Genoa' });
    expect((await checksOf(milanOnly.evaluate(evidence, none, context))).checks).toEqual(['snp.vek.trust_anchor']);
  });
});

test('a VEK whose key is not P-384 (the test ASK, an RSA key) is reported as such', async () => {
  const pki = await testAmdPki('Milan');
  const { bytes } = await createTestSnpReport();
  try {
    verifyRawSnpReport(bytes, { vek: pki.askDer, kind: 'vcek', trustAnchors: anchors, now: new Date('2030-01-01T00:00:00Z') });
    expect.unreachable();
  } catch (error) {
    expect((error as VerificationError).failures.map((f) => f.check)).toContain('snp.vek.key');
    expect((error as VerificationError).failures.map((f) => f.check)).not.toContain('snp.report.signature');
  }
});
