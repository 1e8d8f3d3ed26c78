// Invariant: every real SNP report the vectors MANIFEST marks VALID verifies against AMD's pinned
// roots with the clock inside its validity window and yields the recorded facts; any flipped
// signed byte, wrong binding, or clock outside the window is rejected with a specific check.
import { describe, expect, test } from 'vitest';
import { hasVectors, readVector, readVectorText } from '../testing/snpVectors.ts';
import { VerificationError } from '../verificationError.ts';
import { parseSnpCertTable } from './certTable.ts';
import { parseSnpReport, SNP_SIGNED_LENGTH } from './snpReport.ts';
import { snpReportToJson } from './snpReportJson.ts';
import { snpVerifier } from './snpVerifier.ts';
import { verifyRawSnpReport, type RawSnpReportOptions } from './verifyRawSnpReport.ts';
import { parseAmdCertificate } from './vekCertificate.ts';
import type { Json } from '../verifier.ts';

interface RawVector {
  readonly name: string;
  readonly report: () => Uint8Array;
  readonly vek: () => Uint8Array;
  readonly now: string;
  readonly version: number;
  readonly product: string;
  readonly measurement: string;
  readonly chipIdPrefix: string;
  readonly tcb: { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number };
  readonly reportData?: string;
  readonly maxVmpl?: number;
  readonly files: string[];
}

const slice = (file: string, start: number, end: number) => () => readVector(file).slice(start, end);
const whole = (file: string) => () => readVector(file);

const RAW_VECTORS: RawVector[] = [
  {
    name: 'gosev v2 Milan',
    files: ['snp/gosev-attestation.bin', 'snp/gosev-vcek.der'],
    report: whole('snp/gosev-attestation.bin'),
    vek: whole('snp/gosev-vcek.der'),
    now: '2026-06-01T00:00:00Z',
    version: 2,
    product: 'Milan',
    measurement: 'b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01',
    chipIdPrefix: '3ac3fe21e13fb099',
    tcb: { bootloader: 2, tee: 0, snp: 5, microcode: 68 },
    reportData: '0102030405',
  },
  {
    name: 'trustee test-report v2 Milan (Azure)',
    files: ['snp/trustee-test-report.bin', 'snp/trustee-test-vcek.der'],
    report: whole('snp/trustee-test-report.bin'),
    vek: whole('snp/trustee-test-vcek.der'),
    now: '2026-06-01T00:00:00Z',
    version: 2,
    product: 'Milan',
    measurement: 'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c',
    chipIdPrefix: 'c38427a30d4c7af9',
    tcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 },
    reportData: 'ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2',
  },
  {
    name: 'teekit GCP v5 Milan',
    files: ['snp/teekit-sev-gcp.bin', 'snp/teekit-sev-gcp-vcek.pem'],
    report: whole('snp/teekit-sev-gcp.bin'),
    vek: whole('snp/teekit-sev-gcp-vcek.pem'),
    now: '2026-06-01T00:00:00Z',
    version: 5,
    product: 'Milan',
    measurement: 'b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3',
    chipIdPrefix: '980cf7b61876cb37',
    tcb: { bootloader: 4, tee: 0, snp: 27, microcode: 222 },
    reportData: '',
  },
  {
    name: 'teekit GCP v5 Milan, VMPL 1',
    files: ['snp/teekit-sev-gcp-reportdata.bin', 'snp/teekit-sev-gcp-vcek.pem'],
    report: whole('snp/teekit-sev-gcp-reportdata.bin'),
    vek: whole('snp/teekit-sev-gcp-vcek.pem'),
    now: '2026-06-01T00:00:00Z',
    version: 5,
    product: 'Milan',
    measurement: 'b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3',
    chipIdPrefix: '980cf7b61876cb37',
    tcb: { bootloader: 4, tee: 0, snp: 27, microcode: 222 },
    reportData: '32fc4f6c1971cbf91566231f8d6153eeb9d093aa94306cb48d39bcc4861a3d395f149876a37bc91332fe493f46294fd135d5b95d363ae96352b8c45f906079f5',
    maxVmpl: 1,
  },
  {
    name: 'trustee VLEK v3 Milan, VMPL 1',
    files: ['snp/trustee-test-vlek-report.bin', 'snp/trustee-test-vlek.der'],
    report: whole('snp/trustee-test-vlek-report.bin'),
    vek: whole('snp/trustee-test-vlek.der'),
    now: '2025-06-01T00:00:00Z',
    version: 3,
    product: 'Milan',
    measurement: '8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0',
    chipIdPrefix: '0000000000000000',
    tcb: { bootloader: 4, tee: 0, snp: 24, microcode: 217 },
    reportData: '819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd54e2a7ac1f5d1ca02e7d7d5ef9f73b8574fd9359e3a480d741a4478e8a7bc27ca',
    maxVmpl: 1,
  },
  {
    name: 'oak v5 Genoa',
    files: ['snp/oak-genoa_oc_evidence.binarypb', 'snp/oak-genoa_oc_endorsements.binarypb'],
    report: slice('snp/oak-genoa_oc_evidence.binarypb', 8, 8 + 1184),
    vek: slice('snp/oak-genoa_oc_endorsements.binarypb', 9, 1356),
    now: '2026-06-01T00:00:00Z',
    version: 5,
    product: 'Genoa',
    measurement: 'c57729018b0a6fb90dc17bb138b0aa35e4401004283ff4a2c24d3739ff3750f52384370e77b7032862a08c440a9bc4dc',
    chipIdPrefix: 'd2421d976f95ce0b',
    tcb: { bootloader: 10, tee: 0, snp: 25, microcode: 84 },
  },
  {
    name: 'oak v3 Milan',
    files: ['snp/oak-milan_oc_release_evidence.binarypb', 'snp/oak-milan_oc_release_endorsements.binarypb'],
    report: slice('snp/oak-milan_oc_release_evidence.binarypb', 8, 8 + 1184),
    vek: slice('snp/oak-milan_oc_release_endorsements.binarypb', 10, 1361),
    now: '2026-06-01T00:00:00Z',
    version: 3,
    product: 'Milan',
    measurement: '195b01b74976a1faba13bd85eaf787958f0a46e6dddd45c5bdbf8673522777842b8057ae5d866b75416efb62012deaa3',
    chipIdPrefix: 'a3fdc2c64dc299ab',
    tcb: { bootloader: 4, tee: 0, snp: 24, microcode: 219 },
  },
  {
    name: 'oak v5 Turin',
    files: ['snp/oak-turin_oc_evidence.binarypb', 'snp/oak-turin_oc_endorsements.binarypb'],
    report: slice('snp/oak-turin_oc_evidence.binarypb', 8, 8 + 1184),
    vek: slice('snp/oak-turin_oc_endorsements.binarypb', 9, 1298),
    now: '2026-06-01T00:00:00Z',
    version: 5,
    product: 'Turin',
    measurement: 'f924dd18f168df60fbea937f0b086284d51b1b376de872bac43694f61134d57967c318018de7335503023dbb50dee624',
    chipIdPrefix: '3b42092f69c656d3',
    tcb: { fmc: 0, bootloader: 1, tee: 0, snp: 2, microcode: 71 },
  },
];

function options(v: RawVector, extra: Partial<RawSnpReportOptions> = {}): RawSnpReportOptions {
  return {
    vek: v.vek(),
    now: new Date(v.now),
    ...(v.reportData === undefined ? {} : { reportData: Buffer.from(v.reportData, 'hex') }),
    ...(v.maxVmpl === undefined ? {} : { maxVmpl: v.maxVmpl }),
    ...extra,
  };
}

function failureChecks(fn: () => unknown): { code: string; checks: string[] } {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof VerificationError)) throw error;
    return { code: error.code, checks: error.failures.map((f) => f.check) };
  }
  throw new Error('expected a VerificationError');
}

describe.each(RAW_VECTORS)('real SNP vector: $name', (v) => {
  describe.skipIf(!hasVectors(...v.files))('', () => {
    test('verifies and yields the recorded facts', () => {
      const result = verifyRawSnpReport(v.report(), options(v));
      expect(result.product).toBe(v.product);
      expect(result.report.version).toBe(v.version);
      expect(result.claims['measurement']).toBe(v.measurement);
      expect(String(result.claims['chip_id'])).toMatch(new RegExp(`^${v.chipIdPrefix}`));
      expect(result.report.reportedTcb).toEqual(v.tcb);
      expect(result.claims['reported_tcb_microcode']).toBe(v.tcb.microcode);
    });

    test('the serde JSON form of the report verifies the same way (signature over the re-encoding)', async () => {
      const report = parseSnpReport(v.report());
      const kind = (report.keyInfo >> 2) & 7 ? 'VLEK' : 'VCEK';
      const evidence = { attestation_report: snpReportToJson(report), cert_chain: [{ cert_type: kind, data: Array.from(parseAmdCertificate(v.vek(), 'vek').der) }] } as Json;
      const context = { now: () => new Date(v.now), collateral: {} };
      const expected = { reportData: v.reportData === undefined ? undefined : Buffer.from(v.reportData, 'hex'), initDataDigest: new Uint8Array(32) };
      if ((v.maxVmpl ?? 0) > 0) {
        await expect(snpVerifier.evaluate(evidence, expected, context)).rejects.toMatchObject({ failures: [{ check: 'snp.vmpl' }] });
      } else {
        const [claims] = await snpVerifier.evaluate(evidence, expected, context);
        expect(claims?.claims['measurement']).toBe(v.measurement);
        expect(claims?.teeClass).toBe('cpu');
      }
    });

    test('every 37th signed byte and every signature byte sampled: flipped → rejected', () => {
      const original = v.report();
      const offsets = [...Array.from({ length: Math.ceil(SNP_SIGNED_LENGTH / 37) }, (_, i) => i * 37), 0x2a0, 0x2a0 + 47, 0x2e8, 0x2e8 + 30];
      for (const offset of offsets) {
        const bytes = original.slice();
        bytes[offset] = (bytes[offset] as number) ^ 0x01;
        const { code, checks } = failureChecks(() => verifyRawSnpReport(bytes, options(v)));
        if (code === 'verification_failed') expect(checks, `offset 0x${offset.toString(16)}`).toContain('snp.report.signature');
        else expect(['malformed_evidence', 'unsupported'], `offset 0x${offset.toString(16)}`).toContain(code);
      }
    });

    test('binding fields and clock are enforced', () => {
      const wrongReportData = failureChecks(() => verifyRawSnpReport(v.report(), options(v, { reportData: Buffer.from('ff', 'hex') })));
      expect(wrongReportData.checks).toEqual(['snp.report_data']);
      const wrongHostData = failureChecks(() => verifyRawSnpReport(v.report(), options(v, { initDataDigest: new Uint8Array(48).fill(1) })));
      expect(wrongHostData.checks).toEqual(['snp.host_data']);
      const tooLate = failureChecks(() => verifyRawSnpReport(v.report(), options(v, { now: new Date('2060-01-01T00:00:00Z') })));
      expect(tooLate.checks).toContain(`snp.${v.name.includes('VLEK') ? 'vlek' : 'vcek'}.validity`);
      if (v.maxVmpl !== undefined) {
        expect(failureChecks(() => verifyRawSnpReport(v.report(), options(v, { maxVmpl: 0 }))).checks).toEqual(['snp.vmpl']);
      }
    });
  });
});

describe.skipIf(!hasVectors('snp/trustee-test-report.bin', 'snp/trustee-test-vcek.der', 'snp/gosev-vcek.der', 'snp/trustee-test-vcek-invalid-legacy.der', 'snp/trustee-test-vcek-invalid-new.der'))('SNP negative vectors', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  test('upstream tampering: byte 42 breaks the signature, byte 384 breaks the TCB check', () => {
    const bytes = readVector('snp/trustee-test-report.bin');
    const b42 = bytes.slice();
    b42[42] = ((b42[42] as number) + 1) & 0xff;
    expect(failureChecks(() => verifyRawSnpReport(b42, { vek: readVector('snp/trustee-test-vcek.der'), now })).checks).toEqual(['snp.report.signature']);
    const b384 = bytes.slice();
    b384[384] = ((b384[384] as number) + 1) & 0xff;
    expect(failureChecks(() => verifyRawSnpReport(b384, { vek: readVector('snp/trustee-test-vcek.der'), now })).checks).toEqual(['snp.report.signature', 'snp.reported_tcb.bootloader']);
  });

  test("another chip's VCEK: signature, TCB and chip id all reported", () => {
    const { checks } = failureChecks(() => verifyRawSnpReport(readVector('snp/trustee-test-report.bin'), { vek: readVector('snp/gosev-vcek.der'), now }));
    expect(checks).toEqual(expect.arrayContaining(['snp.report.signature', 'snp.reported_tcb.microcode', 'snp.chip_id']));
  });

  test.each(['snp/trustee-test-vcek-invalid-legacy.der', 'snp/trustee-test-vcek-invalid-new.der'])('synthetic VCEK %s parses (both hwID encodings) and fails the chain', (file) => {
    const cert = parseAmdCertificate(readVector(file), 'vek');
    expect(Buffer.from(cert.hwid ?? []).toString('hex')).toBe(Buffer.from(Array.from({ length: 64 }, (_, i) => i)).toString('hex'));
    expect(cert.productName).toBe('Milan-B0');
    const { checks } = failureChecks(() => verifyRawSnpReport(readVector('snp/trustee-test-report.bin'), { vek: readVector(file), now }));
    expect(checks).toContain('snp.vek.signature');
    expect(checks).toContain('snp.report.signature');
  });

  test('a VLEK presented as a VCEK is rejected (KEY_INFO and chain)', () => {
    if (!hasVectors('snp/trustee-test-vlek-report.bin', 'snp/trustee-test-vlek.der')) return;
    const { checks } = failureChecks(() =>
      verifyRawSnpReport(readVector('snp/trustee-test-vlek-report.bin'), { vek: readVector('snp/trustee-test-vlek.der'), kind: 'vcek', now: new Date('2025-06-01T00:00:00Z'), maxVmpl: 1 }),
    );
    expect(checks).toEqual(expect.arrayContaining(['snp.key_info', 'snp.vek.signature', 'snp.chip_id']));
  });
});

describe.skipIf(!hasVectors('snp/trustee-e2e-evidence.json'))('CoCo SNP evidence JSON (trustee e2e, Genoa v3)', () => {
  const evidence = hasVectors('snp/trustee-e2e-evidence.json') ? (JSON.parse(readVectorText('snp/trustee-e2e-evidence.json')) as Json) : null;
  const context = { now: () => new Date('2026-06-01T00:00:00Z'), collateral: {} };

  test('verifies through the snp verifier with upstream claim names and types', async () => {
    const [result] = await snpVerifier.evaluate(evidence, { reportData: undefined, initDataDigest: undefined }, context);
    expect(result?.claims).toEqual({
      policy_abi_major: 0,
      policy_abi_minor: 0,
      policy_smt_allowed: true,
      policy_migrate_ma: false,
      policy_debug_allowed: false,
      policy_single_socket: false,
      reported_tcb_bootloader: 10,
      reported_tcb_tee: 0,
      reported_tcb_snp: 23,
      reported_tcb_microcode: 25,
      platform_tsme_enabled: false,
      platform_smt_enabled: true,
      measurement: '6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e',
      report_data: '7e7320889600c7ac133aea7b896c51f41026002982292a7369559796999c1bf929eef3ff23c46e858f0b1982f9a92b17c51b578d958cde6b0c92978f150cf9b0',
      init_data: '0000000000000000000000000000000000000000000000000000000000000000',
      chip_id: expect.stringMatching(/^371c55d6d15cb50f/) as unknown as string,
    });
  });

  test('every JSON field that is signed: a changed value is rejected', async () => {
    const base = evidence as { attestation_report: Record<string, unknown> };
    const mutations: Array<[string, (r: Record<string, unknown>) => void]> = [
      ['guest_svn', (r) => (r['guest_svn'] = 1)],
      ['policy', (r) => (r['policy'] = 196609)],
      ['vmpl', (r) => (r['vmpl'] = 0) /* unchanged: control */],
      ['measurement', (r) => ((r['measurement'] as number[])[0] = ((r['measurement'] as number[])[0] as number) ^ 1)],
      ['report_data', (r) => ((r['report_data'] as number[])[63] = 1)],
      ['host_data', (r) => ((r['host_data'] as number[])[0] = 1)],
      ['chip_id', (r) => ((r['chip_id'] as number[])[0] = 0)],
      ['current_tcb', (r) => ((r['current_tcb'] as Record<string, number>)['snp'] = 1)],
      ['committed', (r) => ((r['committed'] as Record<string, number>)['build'] = 1)],
      ['launch_tcb', (r) => ((r['launch_tcb'] as Record<string, number>)['tee'] = 1)],
      ['cpuid_step', (r) => (r['cpuid_step'] = 1)],
      ['signature.r', (r) => ((r['signature'] as { r: number[] }).r[0] = ((r['signature'] as { r: number[] }).r[0] as number) ^ 1)],
    ];
    for (const [name, mutate] of mutations) {
      const copy = structuredClone(base);
      mutate(copy.attestation_report);
      const run = snpVerifier.evaluate(copy as Json, { reportData: undefined, initDataDigest: undefined }, context);
      if (name === 'vmpl') await expect(run, name).resolves.toHaveLength(1);
      else await expect(run, name).rejects.toBeInstanceOf(VerificationError);
    }
  });

  test('report_data / init_data bindings (regularised to 64 / 32)', async () => {
    const rd = Buffer.from('7e7320889600c7ac133aea7b896c51f41026002982292a7369559796999c1bf929eef3ff23c46e858f0b1982f9a92b17c51b578d958cde6b0c92978f150cf9b0', 'hex');
    await expect(snpVerifier.evaluate(evidence, { reportData: rd, initDataDigest: new Uint8Array(48) }, context)).resolves.toHaveLength(1);
    await expect(snpVerifier.evaluate(evidence, { reportData: rd.subarray(0, 48), initDataDigest: undefined }, context)).rejects.toMatchObject({ failures: [{ check: 'snp.report_data' }] });
    await expect(snpVerifier.evaluate(evidence, { reportData: undefined, initDataDigest: new Uint8Array(32).fill(1) }, context)).rejects.toMatchObject({ failures: [{ check: 'snp.host_data' }] });
  });

  test('without cert_chain the VCEK must come from collateral', async () => {
    const bare = { ...(evidence as Record<string, Json>), cert_chain: null };
    await expect(snpVerifier.evaluate(bare, { reportData: undefined, initDataDigest: undefined }, context)).rejects.toMatchObject({ code: 'collateral_unavailable' });
    const vcek = new Uint8Array(((evidence as { cert_chain: Array<{ data: number[] }> }).cert_chain[0]?.data ?? []));
    const requests: string[] = [];
    const collateral = {
      getVcek: (product: string, chipId: Uint8Array, tcb: { microcode: number }) => {
        requests.push(`${product}/${Buffer.from(chipId).toString('hex').slice(0, 8)}/${tcb.microcode}`);
        return Promise.resolve(vcek);
      },
    };
    await expect(snpVerifier.evaluate(bare, { reportData: undefined, initDataDigest: undefined }, { ...context, collateral })).resolves.toHaveLength(1);
    expect(requests).toEqual(['Genoa/371c55d6/25']);
  });
});

describe.skipIf(!hasVectors('snp/veraison-sevsnp-tsm-report.json'))('configfs-tsm report with its certificate table (veraison, Genoa v3)', () => {
  test('verifies with the ARK/ASK/VCEK from the auxblob and the recorded nonce', () => {
    const tsm = JSON.parse(readVectorText('snp/veraison-sevsnp-tsm-report.json')) as { outblob: string; auxblob: string };
    const entries = parseSnpCertTable(Buffer.from(tsm.auxblob, 'base64url'));
    expect(entries.map((e) => e.type)).toEqual(['ARK', 'ASK', 'VCEK']);
    const nonce = Buffer.from('4d4944424e48323869696f69736a5079787878787878787878787878787878784d4944424e48323869696f69736a507978787878787878787878787878787878', 'hex');
    const result = verifyRawSnpReport(Buffer.from(tsm.outblob, 'base64url'), { certTable: entries, reportData: nonce, now: new Date('2026-06-01T00:00:00Z') });
    expect(result.product).toBe('Genoa');
    expect(result.claims['measurement']).toBe('7699e6ac12ccdfd1dfac70e649ce1f046cb2afbb003438f4cdddfe2ccbe182fa5ffbe8dcdb930454324e10c52c788980');
  });
});
