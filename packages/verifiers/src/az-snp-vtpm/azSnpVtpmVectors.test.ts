// Invariant: real Azure SNP vTPM evidence (v0, v1, v2) verifies against AMD's pinned roots with
// the nonce it was produced for and yields upstream's string-typed claims; a changed nonce,
// user-data, quote, PCR, HCL byte or VCEK is rejected naming the failed check.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { hasVectors, readVector, readVectorText } from '../testing/snpVectors.ts';
import type { Json } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';
import { splitPemBundle } from '../snp/vekCertificate.ts';
import { azSnpVtpmVerifier } from './azSnpVtpmVerifier.ts';

const context = { now: () => new Date('2026-06-01T00:00:00Z'), collateral: {} };
const challenge = new TextEncoder().encode('challenge');
const V2_REPORT_DATA = Buffer.from('982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef', 'hex');

async function failure(evidence: Json, reportData: Uint8Array | undefined, initDataDigest?: Uint8Array): Promise<{ code: string; checks: string[] }> {
  try {
    await azSnpVtpmVerifier.evaluate(evidence, { reportData, initDataDigest }, context);
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error;
    return { code: error.code, checks: error.failures.map((f) => f.check) };
  }
  throw new Error('expected rejection');
}

describe.skipIf(!hasVectors('az-snp-vtpm/trustee-evidence-v0.json', 'az-snp-vtpm/trustee-evidence-v1.json', 'az-snp-vtpm/trustee-evidence-v2.json'))('real az-snp-vtpm evidence', () => {
  const load = (v: number): Json => JSON.parse(readVectorText(`az-snp-vtpm/trustee-evidence-v${v}.json`)) as Json;

  test.each([0, 1])('v%i verifies with nonce "challenge" (upstream test_evaluate)', async (v) => {
    const [result] = await azSnpVtpmVerifier.evaluate(load(v), { reportData: challenge, initDataDigest: undefined }, context);
    const claims = result?.claims as Record<string, Json>;
    expect(claims['report_data']).toBe('6368616c6c656e6765');
    expect((claims['tpm'] as Record<string, Json>)['pcr00']).toBe('e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced');
    expect(claims['measurement']).toBe(Buffer.from('6a063be9dd79f6371c842e480f8dc3b5c725961344e57130e88c5adf49e8f7f6c79b75a5eb77fc769959f4aeb2f9401e', 'hex').toString('base64'));
    expect(claims['reported_tcb_microcode']).toBe('219');
    expect(claims['policy_debug_allowed']).toBe('false');
    expect(claims['init_data']).toBe((claims['tpm'] as Record<string, Json>)['pcr08']);
    expect(Object.keys(claims['tpm'] as object)).toHaveLength(24);
    expect(result?.teeClass).toBe('cpu');
  });

  test('v2 verifies with its 48-byte report data (nonce and user-data)', async () => {
    const [result] = await azSnpVtpmVerifier.evaluate(load(2), { reportData: V2_REPORT_DATA, initDataDigest: undefined }, context);
    expect(result?.claims['report_data']).toBe(V2_REPORT_DATA.toString('hex'));
    expect((result?.claims['tpm'] as Record<string, Json>)['pcr00']).toBe('84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7');
    expect(Object.keys(result?.claims ?? {}).sort()).toEqual(
      [
        'policy_abi_major', 'policy_abi_minor', 'policy_smt_allowed', 'policy_migrate_ma', 'policy_debug_allowed', 'policy_single_socket',
        'reported_tcb_bootloader', 'reported_tcb_tee', 'reported_tcb_snp', 'reported_tcb_microcode', 'platform_tsme_enabled', 'platform_smt_enabled',
        'measurement', 'report_data', 'init_data', 'tpm',
      ].sort(),
    );
  });

  test('report data is required, must equal the nonce, and (v2) prefix user-data', async () => {
    expect(await failure(load(1), undefined)).toEqual({ code: 'verification_failed', checks: ['az-snp-vtpm.report_data'] });
    expect((await failure(load(1), challenge.slice().reverse())).checks).toEqual(['tpm_quote.nonce']);
    expect((await failure(load(2), Buffer.from('123abc', 'hex'))).checks).toEqual(['tpm_quote.nonce', 'az-snp-vtpm.user_data']);
  });

  test('init-data: PCR8 rule and the 32-byte requirement', async () => {
    expect((await failure(load(1), challenge, new Uint8Array(32))).checks).toEqual(['az-snp-vtpm.init_data']);
    expect((await failure(load(1), challenge, new Uint8Array(48))).checks).toEqual(['az-snp-vtpm.init_data']);
  });

  test('VCEK validity window is enforced (Azure path checks dates upstream too)', async () => {
    const late = { now: () => new Date('2033-01-01T00:00:00Z'), collateral: {} };
    await expect(azSnpVtpmVerifier.evaluate(load(1), { reportData: challenge, initDataDigest: undefined }, late)).rejects.toMatchObject({ failures: [{ check: 'snp.vcek.validity' }] });
  });

  test('tampering: quote signature, message, PCR, HCL var-data and SNP report bytes', async () => {
    const v1 = load(1) as { tpm_quote: { signature: string; message: string; pcrs: string[] }; hcl_report: string; vcek: string; version: number };
    const flipHex = (hex: string, at: number): string => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);
    const cases: Array<[string, (e: typeof v1) => void, string]> = [
      ['signature', (e) => (e.tpm_quote.signature = flipHex(e.tpm_quote.signature, 10)), 'tpm_quote.signature'],
      ['message', (e) => (e.tpm_quote.message = flipHex(e.tpm_quote.message, e.tpm_quote.message.length - 2)), 'tpm_quote.signature'],
      ['pcr', (e) => (e.tpm_quote.pcrs[3] = flipHex(e.tpm_quote.pcrs[3] as string, 0)), 'tpm_quote.pcr_digest'],
    ];
    for (const [name, mutate, check] of cases) {
      const copy = structuredClone(v1);
      mutate(copy);
      expect((await failure(copy as unknown as Json, challenge)).checks, name).toContain(check);
    }
    const hcl = Buffer.from(v1.hcl_report, 'base64url');
    for (const offset of [0x20 + 0x50, 0x20 + 0x90, 0x20 + 0x180, 0x20 + 0x1a0, 0x20 + 0x2a0, 0x6e0]) {
      const bytes = Buffer.from(hcl);
      bytes[offset] = (bytes[offset] as number) ^ 1;
      const { code } = await failure({ ...v1, hcl_report: bytes.toString('base64url') } as unknown as Json, challenge);
      expect(['verification_failed', 'malformed_evidence'], `offset 0x${offset.toString(16)}`).toContain(code);
    }
  });

  test.each([0, 1, 2])('v%i: every 37th byte of the signed SNP report, of the TPMS_ATTEST and of the runtime claims, flipped → rejected', async (v) => {
    const reportData = v === 2 ? V2_REPORT_DATA : challenge;
    const seed = load(v) as Record<string, Json>;
    const hclOf = (e: Record<string, Json>): Buffer => (v === 0 ? Buffer.from(e['report'] as number[]) : Buffer.from(e['hcl_report'] as string, 'base64url'));
    const withHcl = (e: Record<string, Json>, hcl: Buffer): Json => (v === 0 ? { ...e, report: Array.from(hcl) } : { ...e, hcl_report: hcl.toString('base64url') });
    const hcl = hclOf(seed);
    const varSize = hcl.readUInt32LE(0x4d0);
    const offsets = [
      ...Array.from({ length: Math.ceil(0x2a0 / 37) }, (_, i) => 0x20 + i * 37),
      ...Array.from({ length: Math.ceil(varSize / 37) }, (_, i) => 0x4d4 + i * 37),
    ];
    for (const offset of offsets) {
      const bytes = Buffer.from(hcl);
      bytes[offset] = (bytes[offset] as number) ^ 0x01;
      const result = await failure(withHcl(seed, bytes), reportData).catch((error: unknown) => ({ code: `escaped: ${String(error)}`, checks: [] }));
      expect(['verification_failed', 'malformed_evidence', 'unsupported'], `hcl offset 0x${offset.toString(16)}`).toContain(result.code);
    }
    const quote = v === 0 ? Buffer.from((seed['quote'] as Record<string, number[]>)['message'] ?? []) : Buffer.from((seed['tpm_quote'] as Record<string, string>)['message'] ?? '', 'hex');
    for (let offset = 0; offset < quote.byteLength; offset += 37) {
      const bytes = Buffer.from(quote);
      bytes[offset] = (bytes[offset] as number) ^ 0x01;
      const mutated =
        v === 0
          ? { ...seed, quote: { ...(seed['quote'] as Record<string, Json>), message: Array.from(bytes) } }
          : { ...seed, tpm_quote: { ...(seed['tpm_quote'] as Record<string, Json>), message: bytes.toString('hex') } };
      const result = await failure(mutated, reportData).catch((error: unknown) => ({ code: `escaped: ${String(error)}`, checks: [] as string[] }));
      expect(['verification_failed', 'malformed_evidence'], `quote offset ${offset}`).toContain(result.code);
      if (result.code === 'verification_failed') expect(result.checks, `quote offset ${offset}`).toContain('tpm_quote.signature');
    }
  });

  test('another VCEK (wrong chip) is rejected', async () => {
    if (!hasVectors('snp/trustee-test-vcek.der')) return;
    const v1 = load(1) as Record<string, Json>;
    const { checks } = await failure({ ...v1, vcek: Buffer.from(readVector('snp/trustee-test-vcek.der')).toString('base64url') }, challenge);
    expect(checks).toEqual(expect.arrayContaining(['snp.report.signature', 'snp.chip_id']));
  });
});

describe.skipIf(!hasVectors('az-snp-vtpm/trustee-hcl-report.bin', 'az-snp-vtpm/trustee-vcek.pem', 'az-snp-vtpm/trustee-tpm-quote-v1.json'))('trustee hcl-report.bin set (v2 SNP report inside)', () => {
  test('assembled as v1 evidence it verifies; the product comes from the VCEK', async () => {
    const [vcek] = splitPemBundle(readVectorText('az-snp-vtpm/trustee-vcek.pem'));
    const evidence = {
      version: 1,
      tpm_quote: JSON.parse(readVectorText('az-snp-vtpm/trustee-tpm-quote-v1.json')) as Json,
      hcl_report: Buffer.from(readVector('az-snp-vtpm/trustee-hcl-report.bin')).toString('base64url') + '==',
      vcek: Buffer.from(vcek ?? []).toString('base64url'),
    };
    const [result] = await azSnpVtpmVerifier.evaluate(evidence, { reportData: challenge, initDataDigest: undefined }, context);
    expect((result?.claims['tpm'] as Record<string, Json>)['pcr00']).toBe('f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be');
    expect(result?.claims['measurement']).toBe(Buffer.from('9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315', 'hex').toString('base64'));
    const hcl = readVector('az-snp-vtpm/trustee-hcl-report.bin');
    // report_data[0..32] of the embedded report = SHA-256 of the runtime claims.
    const varData = hcl.subarray(0x4d4, 0x4d4 + new DataView(hcl.buffer, hcl.byteOffset).getUint32(0x4d0, true));
    expect(Buffer.from(hcl.subarray(0x70, 0x90)).toString('hex')).toBe(createHash('sha256').update(varData).digest('hex'));
  });
});
