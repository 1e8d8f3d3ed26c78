/**
 * Invariant: the default policies give upstream's AR4SI values for every platform they cover,
 * reading the same reference-value ids with the same JSON types (lists for `in`, scalars for
 * `==`), so reference values registered for upstream behave the same here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { MemoryStore } from '@trustee/storage';
import type { JsonObject } from '@trustee/protocol';
import { createBuiltinRvps } from '@trustee/rvps-core';
import type { TrustVector } from '../trustVector.ts';
import { defaultPolicies } from './defaultPolicies.ts';
import { createPolicyEvaluator } from './evaluateAppraisalPolicy.ts';

async function appraise(policy: 'default_cpu' | 'default_gpu' | 'default_switch' | 'default_ppcie', input: JsonObject, values: Record<string, unknown> = {}): Promise<TrustVector> {
  const rvps = createBuiltinRvps(new MemoryStore());
  if (Object.keys(values).length > 0) {
    await rvps.register(JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64') }));
  }
  const result = await createPolicyEvaluator(rvps).evaluate({ policyId: policy, source: defaultPolicies()[policy], input, profile: Object.keys(input).join(',') });
  return result.trustVector;
}

const measurement = 'a'.repeat(96);
const snp = {
  measurement,
  reported_tcb_bootloader: 10,
  reported_tcb_microcode: 84,
  reported_tcb_snp: 23,
  reported_tcb_tee: 0,
  policy_debug_allowed: false,
  policy_migrate_ma: false,
  platform_smt_enabled: true,
  platform_tsme_enabled: false,
  policy_abi_major: 0,
  policy_abi_minor: 31,
  policy_single_socket: false,
  policy_smt_allowed: true,
};
const snpValues = {
  snp_launch_measurement: [measurement],
  snp_bootloader: [10],
  snp_microcode: [84],
  snp_snp_svn: [23],
  snp_tee_svn: [0],
  snp_smt_enabled: true,
  snp_tsme_enabled: false,
  snp_guest_abi_major: 0,
  snp_guest_abi_minor: 31,
  snp_single_socket: false,
  snp_smt_allowed: true,
};

const tdx = {
  quote: {
    header: { tee_type: '81000000', vendor_id: '939a7233f79c4ca9940a0db3957f0607' },
    body: { mr_td: 'aa', rtmr_1: 'r1', rtmr_2: 'r2', xfam: 'e702060000000000' },
  },
  td_attributes: { debug: false },
  tcb_status: 'UpToDate',
  collateral_expiration_status: '0',
  uefi_event_logs: [
    { type_name: 'EV_EFI_BOOT_SERVICES_APPLICATION', details: { device_paths: ['PciRoot(0x0)', 'File(kernel)'] }, digests: [{ alg: 'SHA-384', digest: 'kernel' }] },
    { type_name: 'EV_EVENT_TAG', details: { string: 'LOADED_IMAGE::LoadOptions' }, digests: [{ alg: 'SHA-384', digest: 'params' }] },
  ],
};
const tdxValues = { mr_td: ['aa'], rtmr_1: ['r1'], rtmr_2: ['r2'], xfam: ['e702060000000000'], tdvfkernel: 'kernel', tdvfkernelparams: 'params' };

const azSnp = {
  measurement: 'bWVhc3VyZW1lbnQ=',
  tpm: { pcr11: 'bb' },
  reported_tcb_bootloader: '10',
  reported_tcb_microcode: '84',
  reported_tcb_snp: '23',
  reported_tcb_tee: '0',
  platform_smt_enabled: 'true',
  platform_tsme_enabled: 'false',
  policy_abi_major: '0',
  policy_abi_minor: '31',
  policy_single_socket: 'false',
  policy_smt_allowed: 'true',
};
const azSnpValues = {
  measurement: ['bWVhc3VyZW1lbnQ='],
  snp_pcr11: ['bb'],
  tcb_bootloader: ['10'],
  tcb_microcode: ['84'],
  tcb_snp: ['23'],
  tcb_tee: ['0'],
  smt_enabled: ['true'],
  tsme_enabled: ['false'],
  abi_major: ['0'],
  abi_minor: ['31'],
  single_socket: ['false'],
  smt_allowed: ['true'],
};

const nvidiaGpu: JsonObject = {
  secboot: true,
  dbgstat: 'disabled',
  measres: 'success',
  'x-nvidia-gpu-attestation-report-cert-chain': { 'x-nvidia-cert-ocsp-status': 'good', 'x-nvidia-cert-status': 'valid' },
  'x-nvidia-gpu-attestation-report-cert-chain-fwid-match': true,
  'x-nvidia-gpu-attestation-report-parsed': true,
  'x-nvidia-gpu-attestation-report-signature-verified': true,
  'x-nvidia-gpu-arch-check': true,
  'x-nvidia-gpu-vbios-version': '96.00.5E.00.01',
  'x-nvidia-gpu-driver-version': '550.90.07',
  'x-nvidia-gpu-vbios-rim-cert-chain': { 'x-nvidia-cert-ocsp-status': 'good', 'x-nvidia-cert-status': 'valid' },
  'x-nvidia-gpu-driver-rim-cert-chain': { 'x-nvidia-cert-ocsp-status': 'good', 'x-nvidia-cert-status': 'valid' },
};
for (const kind of ['driver', 'vbios']) {
  for (const flag of ['fetched', 'measurements-available', 'schema-validated', 'signature-verified', 'version-match']) nvidiaGpu[`x-nvidia-gpu-${kind}-rim-${flag}`] = true;
}

const zeros = { 'instance-identity': 0, 'file-system': 0, 'runtime-opaque': 0, 'storage-opaque': 0, 'sourced-data': 0 };

describe('default_cpu', () => {
  test.each<[string, JsonObject, Record<string, unknown>, TrustVector]>([
    ['snp, nothing registered: config falls back to 3', { snp }, {}, { executables: 33, hardware: 97, configuration: 3 }],
    ['snp, all registered', { snp }, snpValues, { executables: 3, hardware: 2, configuration: 2 }],
    ['snp, debug allowed', { snp: { ...snp, policy_debug_allowed: true } }, snpValues, { executables: 3, hardware: 2, configuration: 36 }],
    ['snp, one TCB component unknown', { snp: { ...snp, reported_tcb_microcode: 85 } }, snpValues, { executables: 3, hardware: 97, configuration: 2 }],
    ['snp, boolean RV wrapped in a list does not match ==', { snp }, { ...snpValues, snp_smt_enabled: [true] }, { executables: 3, hardware: 2, configuration: 3 }],
    ['tdx, nothing registered', { tdx }, {}, { executables: 33, hardware: 97, configuration: 36 }],
    ['tdx, all registered', { tdx }, tdxValues, { executables: 3, hardware: 2, configuration: 2 }],
    ['tdx, RTMRs only (grub path)', { tdx }, { ...tdxValues, tdvfkernel: 'other' }, { executables: 4, hardware: 2, configuration: 2 }],
    ['tdx, collateral expired', { tdx: { ...tdx, collateral_expiration_status: '1' } }, tdxValues, { executables: 3, hardware: 97, configuration: 2 }],
    ['tdx, debug TD', { tdx: { ...tdx, td_attributes: { debug: true } } }, tdxValues, { executables: 3, hardware: 2, configuration: 36 }],
    ['az-snp-vtpm, all registered (strings)', { 'az-snp-vtpm': azSnp }, azSnpValues, { executables: 3, hardware: 2, configuration: 2 }],
    ['az-snp-vtpm, integer RVs do not match string claims', { 'az-snp-vtpm': azSnp }, { ...azSnpValues, tcb_bootloader: [10] }, { executables: 3, hardware: 97, configuration: 2 }],
    [
      'az-tdx-vtpm, all registered',
      { 'az-tdx-vtpm': { quote: tdx.quote, tcb_status: 'UpToDate', tpm: { pcr11: 'cc' } } },
      { tdx_pcr11: ['cc'], mr_td: ['aa'], xfam: ['e702060000000000'] },
      { executables: 3, hardware: 2, configuration: 2 },
    ],
    ['tpm, nothing registered', { tpm: { pcr11: 'dd', ak_public: 'AK' } }, {}, { executables: 33, hardware: 2, configuration: 0 }],
    ['tpm, trusted AK and PCR11', { tpm: { pcr11: 'dd', ak_public: 'AK' } }, { tpm_pcr11: ['dd'], trusted_aks: ['AK'] }, { executables: 3, hardware: 2, configuration: 0 }],
    ['se', { se: { version: '1' } }, {}, { executables: 3, hardware: 2, configuration: 2 }],
    ['unknown platform keeps the defaults', { cca: { x: 1 } }, {}, { executables: 33, hardware: 97, configuration: 36 }],
  ])('%s', async (_name, input, values, expected) => {
    expect(await appraise('default_cpu', input, values)).toEqual({ ...zeros, ...expected });
  });
});

// Local-mode claims: upstream's NvDeviceReportAndCertClaim shape (measurements by SPDM index).
const nvidiaLocal: JsonObject = { arch: 'Hopper', uuid: 'GPU-1', measurements: { '1': 'aa', '2': 'bb', '3': 'dd' }, config: { driver_version: '550.90.07', vbios_version: '96.00.9f.00.01' } };

describe('GPU, switch and ppcie defaults', () => {
  test.each<[string, 'default_gpu' | 'default_switch' | 'default_ppcie', JsonObject, Record<string, unknown>, TrustVector]>([
    ['sampledevice, nothing registered', 'default_gpu', { sampledevice: { svn: '2' } }, {}, { executables: 33, hardware: 97, configuration: 36 }],
    ['sampledevice, device_svn registered', 'default_gpu', { sampledevice: { svn: '2' } }, { device_svn: ['2'] }, { executables: 33, hardware: 2, configuration: 36 }],
    ['nvidia GPU, versions unknown', 'default_gpu', { nvidia: nvidiaGpu }, {}, { executables: 3, hardware: 2, configuration: 3 }],
    [
      'nvidia GPU, versions allowed',
      'default_gpu',
      { nvidia: nvidiaGpu },
      { allowed_vbios_versions: ['96.00.5E.00.01'], allowed_driver_versions: ['550.90.07'] },
      { executables: 3, hardware: 2, configuration: 2 },
    ],
    ['nvidia GPU, OCSP revoked', 'default_gpu', { nvidia: { ...nvidiaGpu, 'x-nvidia-gpu-attestation-report-cert-chain': { 'x-nvidia-cert-ocsp-status': 'revoked', 'x-nvidia-cert-status': 'valid' } } }, {}, { executables: 3, hardware: 97, configuration: 3 }],
    ['nvidia GPU, debug enabled', 'default_gpu', { nvidia: { ...nvidiaGpu, dbgstat: 'enabled' } }, {}, { executables: 3, hardware: 2, configuration: 36 }],
    ['nvidia local claims, nothing registered', 'default_gpu', { nvidia: nvidiaLocal }, {}, { executables: 33, hardware: 2, configuration: 36 }],
    [
      'nvidia local claims, RIM values and versions registered',
      'default_gpu',
      { nvidia: nvidiaLocal },
      { 'NVIDIA.550.90.07.measurement_0': ['aa'], 'NVIDIA.96.00.9F.00.01.measurement_1': ['bb', 'b2'], allowed_driver_versions: ['550.90.07'], allowed_vbios_versions: ['96.00.9F.00.01'] },
      { executables: 3, hardware: 2, configuration: 2 },
    ],
    ['nvidia local claims, one measurement differs from its RIM', 'default_gpu', { nvidia: nvidiaLocal }, { 'NVIDIA.550.90.07.measurement_0': ['aa'], 'NVIDIA.550.90.07.measurement_1': ['cc'] }, { executables: 33, hardware: 2, configuration: 36 }],
    ['nvidia local claims, an LS10 switch is no GPU hardware', 'default_gpu', { nvidia: { ...nvidiaLocal, arch: 'LS10' } }, {}, { executables: 33, hardware: 97, configuration: 36 }],
    ['switch, nothing', 'default_switch', { nvidia: { secboot: true, dbgstat: 'disabled' } }, {}, { executables: 33, hardware: 97, configuration: 3 }],
    ['ppcie', 'default_ppcie', { nvidia: {} }, {}, { executables: 0, hardware: 0, configuration: 2 }],
  ])('%s', async (_name, policy, input, values, expected) => {
    expect(await appraise(policy, input, values)).toEqual({ ...zeros, ...expected });
  });
});

// Real upstream claim shape: trustee's own expected TDX claims for tdx_quote_4.dat + CCEL
// (read in place from ../shared, never copied into the repository).
const vectors = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/vectors');
const tdxClaimsPath = join(vectors, 'tdx/trustee-parse_tdx_claims_expected.json');

describe.skipIf(!existsSync(tdxClaimsPath))('default_cpu on upstream TDX claims', () => {
  test('debug TD without kernel events: RTMR path 4, hardware 2 when UpToDate, configuration 36', async () => {
    const claims = JSON.parse(readFileSync(tdxClaimsPath, 'utf8')) as JsonObject;
    const { init_data: _init, report_data: _report, ...tdxClaims } = claims;
    const quote = tdxClaims.quote as { body: Record<string, string> };
    const input = { tdx: { ...tdxClaims, tcb_status: 'UpToDate', collateral_expiration_status: '0' } };
    const values = { mr_td: [quote.body.mr_td], rtmr_1: [quote.body.rtmr_1], rtmr_2: [quote.body.rtmr_2], xfam: [quote.body.xfam] };
    expect(await appraise('default_cpu', input, values)).toEqual({ ...zeros, executables: 4, hardware: 2, configuration: 36 });
    expect(await appraise('default_cpu', input)).toEqual({ ...zeros, executables: 33, hardware: 97, configuration: 36 });
  });
});
