// Invariant: every real NVIDIA report in the vectors MANIFEST verifies against NVIDIA's pinned
// Device Identity CA with the clock inside its chain's window and yields the recorded facts
// (upstream's claims byte for byte for the Hopper sample); the negative chains, another nonce, a
// clock before the chain's window and, for every VALID device, sampled flips of its signed bytes,
// nonce and signature and of each certificate of its chain are each refused with a named check.
import { describe, expect, test } from 'vitest';
import { checksOf } from '../testing/verificationRejection.ts';
import { hasVectors, readVectorText } from '../testing/snpVectors.ts';
import { sampleOffsets } from '../testing/tdxTamper.ts';
import type { Json, JsonObject, VerifiedClaims } from '../verifier.ts';
import { checkNvidiaCertChain } from './nvidiaCertChain.ts';
import { NVIDIA_DEVICE_ROOT_SHA256 } from './nvidiaDeviceRoot.ts';
import { parseNvidiaEvidence } from './nvidiaEvidence.ts';
import { parseSpdmMeasurementReport, SPDM_REQUEST_SIZE } from './spdmMeasurements.ts';
import { nvidiaVerifier } from './nvidiaVerifier.ts';

const NOW = new Date('2025-06-01T00:00:00Z');
const HOPPER_NONCE = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb';
const COCO_REPORT_DATA = '87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fece279b616efefc2aae21da80cf5581250';
const PPCIE_NONCE = '4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e';

const base64 = (text: string): string => Buffer.from(text).toString('base64');

function hopper(report: string, chain: string, uuid = '1111-2222-33333-444444-555555'): Json {
  return { device_evidence_list: [{ arch: 'HOPPER', uuid, evidence: readVectorText(`nvidia/${report}`).trim(), certificate: base64(readVectorText(`nvidia/${chain}`)) }] };
}

function verify(evidence: Json, reportDataHex: string, now = NOW): Promise<VerifiedClaims[]> {
  return nvidiaVerifier.evaluate(evidence, { reportData: Buffer.from(reportDataHex, 'hex'), initDataDigest: undefined }, { now: () => now, collateral: {} });
}

/** JSON with sorted keys, so upstream's HashMap order does not matter. */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sort(value));
}

const hopperFiles = ['nvidia/trustee-hopperAttestationReport.txt', 'nvidia/trustee-hopper_cert_chain_case1.txt', 'nvidia/trustee-hopperAttestationReport-claims.txt'];

describe.skipIf(!hasVectors(...hopperFiles))('trustee hopperAttestationReport (H100, driver 550.90.07)', () => {
  test('verifies to upstream\'s expected claims exactly', async () => {
    const [device, ...rest] = await verify(hopper('trustee-hopperAttestationReport.txt', 'trustee-hopper_cert_chain_case1.txt'), HOPPER_NONCE);
    expect(rest).toEqual([]);
    expect(device?.teeClass).toBe('gpu');
    expect(canonical(device?.claims)).toBe(canonical(JSON.parse(readVectorText('nvidia/trustee-hopperAttestationReport-claims.txt'))));
    const config = device?.claims.config as JsonObject;
    expect(config.driver_version).toBe('550.90.07');
    expect(config.chip_sku).toBe('882');
    expect(config.fwid).toBe('f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d');
    expect(Object.keys(device?.claims.measurements as JsonObject)).toHaveLength(64);
  });

  test('a longer runtime-data digest binds through its first 32 bytes', async () => {
    await expect(verify(hopper('trustee-hopperAttestationReport.txt', 'trustee-hopper_cert_chain_case1.txt'), `${HOPPER_NONCE}${'ab'.repeat(16)}`)).resolves.toHaveLength(1);
  });

  test('another nonce is refused (nvidia.nonce)', async () => {
    expect(await checksOf(verify(hopper('trustee-hopperAttestationReport.txt', 'trustee-hopper_cert_chain_case1.txt'), '00'.repeat(32)))).toEqual({ code: 'verification_failed', checks: ['nvidia.nonce'] });
  });

  test('a clock before the chain\'s window is refused (nvidia.cert_chain.validity)', async () => {
    const { checks } = await checksOf(verify(hopper('trustee-hopperAttestationReport.txt', 'trustee-hopper_cert_chain_case1.txt'), HOPPER_NONCE, new Date('2021-01-01T00:00:00Z')));
    expect(new Set(checks)).toEqual(new Set(['nvidia.cert_chain.validity']));
  });

  test('a flipped byte in the signed report is refused (nvidia.spdm.signature)', async () => {
    const hex = readVectorText('nvidia/trustee-hopperAttestationReport.txt').trim();
    const at = 2 * 2000; // inside the measurement record, a measurement value
    const flipped = `${hex.slice(0, at)}${((parseInt(hex.slice(at, at + 2), 16) ^ 1) & 0xff).toString(16).padStart(2, '0')}${hex.slice(at + 2)}`;
    const evidence = { device_evidence_list: [{ arch: 'HOPPER', evidence: flipped, certificate: base64(readVectorText('nvidia/trustee-hopper_cert_chain_case1.txt')) }] };
    expect(await checksOf(verify(evidence, HOPPER_NONCE))).toEqual({ code: 'verification_failed', checks: ['nvidia.spdm.signature'] });
  });

  // Upstream cert_chain.rs tests: case2 = root only, case3 = missing provisioner ICA, case4 = missing leaf.
  test.each([
    ['trustee-hopper_cert_chain_case2.txt', ['nvidia.cert_chain.length', 'nvidia.spdm.signature', 'nvidia.fwid']],
    ['trustee-hopper_cert_chain_case3.txt', ['nvidia.cert_chain.signature']],
    ['trustee-hopper_cert_chain_case4.txt', ['nvidia.spdm.signature', 'nvidia.fwid']],
  ])('negative chain %s is refused', async (chain, checks) => {
    expect(await checksOf(verify(hopper('trustee-hopperAttestationReport.txt', chain), HOPPER_NONCE))).toEqual({ code: 'verification_failed', checks });
  });
});

describe.skipIf(!hasVectors('nvidia/trustee-hopper_coco_report1.txt', 'nvidia/trustee-hopper_coco_certs1.txt'))('trustee hopper_coco_report1 (CoCo CI capture, driver 580.95.05)', () => {
  test('verifies with the 48-byte runtime data of upstream\'s test; the zero pad byte is tolerated', async () => {
    const [device] = await verify(hopper('trustee-hopper_coco_report1.txt', 'trustee-hopper_coco_certs1.txt'), COCO_REPORT_DATA);
    const config = device?.claims.config as JsonObject;
    expect(config.driver_version).toBe('580.95.05');
    expect(config.chip_sku).toBe('882');
    expect(String(config.fwid).startsWith('f1ae7d0093a3f5689cced58045c9744f')).toBe(true);
  });
});

describe.skipIf(!hasVectors('nvidia/nvtrust-ppcie-gpu_evidence.json', 'nvidia/nvtrust-ppcie-switch_evidence.json'))('nvtrust PPCIe evidence (8 H100 + 4 LS10, NVAT format)', () => {
  const list = (file: string): Json[] => JSON.parse(readVectorText(`nvidia/${file}`)) as Json[];

  test('all 8 GPUs verify: arch Hopper, driver 590.12, VBIOS 96.00.a5.00.01', async () => {
    const devices = await verify({ device_evidence_list: list('nvtrust-ppcie-gpu_evidence.json') }, PPCIE_NONCE);
    expect(devices.map((d) => d.teeClass)).toEqual(Array(8).fill('gpu'));
    for (const { claims } of devices) {
      expect(claims.arch).toBe('Hopper');
      expect((claims.config as JsonObject).driver_version).toBe('590.12');
      expect((claims.config as JsonObject).vbios_version).toBe('96.00.a5.00.01');
    }
  });

  test('all 4 NVSwitches verify as class switch with their own PDI', async () => {
    const devices = await verify({ device_evidence_list: list('nvtrust-ppcie-switch_evidence.json') }, PPCIE_NONCE);
    expect(devices.map((d) => d.teeClass)).toEqual(Array(4).fill('switch'));
    expect(new Set(devices.map((d) => ((d.claims.config as JsonObject).switch_pdi as string[])[0])).size).toBe(4);
    for (const { claims } of devices) expect(claims.arch).toBe('LS10');
  });

  test('all 12 together verify (no ppcie claim set locally: the PDIs come from NRAS, as upstream)', async () => {
    const devices = await verify({ device_evidence_list: [...list('nvtrust-ppcie-gpu_evidence.json'), ...list('nvtrust-ppcie-switch_evidence.json')] }, PPCIE_NONCE);
    expect(devices).toHaveLength(12);
  });

  test('a device whose nonce differs is refused', async () => {
    expect(await checksOf(verify({ device_evidence_list: list('nvtrust-ppcie-switch_evidence.json') }, HOPPER_NONCE))).toEqual({ code: 'verification_failed', checks: ['nvidia.nonce'] });
  });
});

interface DeviceVector {
  readonly name: string;
  readonly device: JsonObject;
  readonly reportDataHex: string;
}

/** Every device the MANIFEST marks VALID, one evidence entry each. */
function validDevices(): DeviceVector[] {
  const hopperDevice = (report: string, chain: string): JsonObject => (hopper(report, chain) as { device_evidence_list: JsonObject[] }).device_evidence_list[0] as JsonObject;
  const list = (file: string): JsonObject[] => JSON.parse(readVectorText(`nvidia/${file}`)) as JsonObject[];
  return [
    { name: 'hopperAttestationReport', device: hopperDevice('trustee-hopperAttestationReport.txt', 'trustee-hopper_cert_chain_case1.txt'), reportDataHex: HOPPER_NONCE },
    { name: 'hopper_coco_report1', device: hopperDevice('trustee-hopper_coco_report1.txt', 'trustee-hopper_coco_certs1.txt'), reportDataHex: COCO_REPORT_DATA },
    ...list('nvtrust-ppcie-gpu_evidence.json').map((device, i) => ({ name: `ppcie gpu ${i}`, device, reportDataHex: PPCIE_NONCE })),
    ...list('nvtrust-ppcie-switch_evidence.json').map((device, i) => ({ name: `ppcie switch ${i}`, device, reportDataHex: PPCIE_NONCE })),
  ];
}

const allFiles = [...hopperFiles, 'nvidia/trustee-hopper_coco_report1.txt', 'nvidia/trustee-hopper_coco_certs1.txt', 'nvidia/nvtrust-ppcie-gpu_evidence.json', 'nvidia/nvtrust-ppcie-switch_evidence.json', 'nvidia/trustee-hopper_signing_cert.pem'];

const haveAllFiles = hasVectors(...allFiles);
// Read only when present: a skipped describe's body still runs to collect its tests, and
// test.each's table is built then — without ../shared this suite must skip, not fail to load.
const devices = haveAllFiles ? validDevices().map((v) => [v.name, v] as const) : [];

describe.skipIf(!haveAllFiles)('every VALID NVIDIA device, tampered, is refused by name', () => {
  const withEvidence = (vector: DeviceVector, bytes: Uint8Array): Json => ({ device_evidence_list: [{ ...vector.device, evidence: Buffer.from(bytes).toString('base64') }] });

  test.each(devices)('%s: the MANIFEST nonce, then sampled signed bytes, the nonce and the signature', async (_name, vector) => {
    const evidence: Json = { device_evidence_list: [vector.device] };
    if (typeof vector.device.nonce === 'string') expect(vector.device.nonce).toBe(PPCIE_NONCE);
    await expect(verify(evidence, vector.reportDataHex)).resolves.toHaveLength(1);
    const [parsed] = parseNvidiaEvidence(evidence);
    const bytes = parsed?.evidence as Uint8Array;
    const report = parseSpdmMeasurementReport(bytes);
    const signatureAt = report.signedBytes.byteLength;
    const cases: Array<[number, string[]]> = [
      // the requester nonce: both the binding and the signature break
      [4, ['nvidia.spdm.signature', 'nvidia.nonce']],
      ...sampleOffsets(SPDM_REQUEST_SIZE + 8, signatureAt, 24).map((at): [number, string[]] => [at, ['nvidia.spdm.signature']]),
      ...sampleOffsets(signatureAt, signatureAt + 96, 12).map((at): [number, string[]] => [at, ['nvidia.spdm.signature']]),
    ];
    for (const [at, checks] of cases) {
      const tampered = Uint8Array.from(bytes);
      tampered[at] = (tampered[at] as number) ^ 0x01;
      const result = await checksOf(verify(withEvidence(vector, tampered), vector.reportDataHex));
      // a flip in a length or type byte breaks the structure instead: malformed, named by field
      if (result.code === 'malformed_evidence') expect(result.checks[0], `byte ${at}`).toMatch(/^nvidia\./);
      else {
        // a flip inside the opaque data's FWID or version TLVs also breaks what they carry
        expect(result.code, `byte ${at}`).toBe('verification_failed');
        expect(result.checks.filter((check) => check !== 'nvidia.fwid' && check !== 'nvidia.opaque_data'), `byte ${at}`).toEqual(checks);
      }
    }
  });

  test.each(devices)('%s: every certificate of its chain, tampered, is refused', async (_name, vector) => {
    const pem = Buffer.from(String(vector.device.certificate), 'base64').toString('latin1');
    const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----\r?\n([\s\S]*?)-----END CERTIFICATE-----/g)];
    expect(blocks).toHaveLength(5);
    for (const [index, block] of blocks.entries()) {
      const start = (block.index ?? 0) + block[0].indexOf(block[1] as string);
      const body = block[1] as string;
      for (const offset of sampleOffsets(40, body.length - 8, 6)) {
        const at = start + offset;
        if (!/[A-Za-z0-9+/]/.test(pem[at] as string)) continue;
        const tamperedPem = pem.slice(0, at) + (pem[at] === 'A' ? 'B' : 'A') + pem.slice(at + 1);
        const device = { ...vector.device, certificate: Buffer.from(tamperedPem, 'latin1').toString('base64') };
        const result = await checksOf(verify({ device_evidence_list: [device] }, vector.reportDataHex));
        expect(result.checks.length, `certificate ${index} offset ${offset}`).toBeGreaterThan(0);
        expect(result.checks.every((check) => /^nvidia\.(cert_chain|spdm|fwid)/.test(check)), `certificate ${index} offset ${offset}: ${result.checks.join(', ')}`).toBe(true);
      }
    }
  });

  test('trustee-hopper_signing_cert.pem is the leaf of case 1 and carries the report\'s FWID', () => {
    const leaf = readVectorText('nvidia/trustee-hopper_signing_cert.pem');
    const chain = readVectorText('nvidia/trustee-hopper_cert_chain_case1.txt');
    const now = NOW;
    const checked = checkNvidiaCertChain(chain, new Set([NVIDIA_DEVICE_ROOT_SHA256]), now, 'case1');
    expect(checked.failures).toEqual([]);
    const alone = checkNvidiaCertChain(leaf, new Set([NVIDIA_DEVICE_ROOT_SHA256]), now, 'leaf');
    expect(alone.leaf.fingerprint256).toBe(checked.leaf.fingerprint256);
    expect(alone.leafFwid).toBe('f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d');
  });
});
