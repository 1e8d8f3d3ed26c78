/**
 * One test PKI per process for hardware evidence: the AMD test ARK/ASK/ASVK (Milan), a TDX test
 * platform (root CA, PCK chain, quoting enclave, collateral; it also quotes SGX enclaves), the
 * vTPM / TPM attestation keys and an NVIDIA-style device chain (GPU evidence sent as additional
 * evidence), from
 * the `@trustee/verifiers` factories. It issues guest-format evidence bound to any report data
 * and init-data digest, and writes the trust anchors and offline collateral a KBS needs to
 * trust it (`verifier_config.{snp,dcap}_verifier.trust_anchors_path`, `collateral_service`).
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json } from '@trustee/verifiers';
import { createTestAzSnpVtpmEvidence } from '@trustee/verifiers/testing/azureFactory.ts';
import { createTestSnpReport, testAmdPki, type TestAmdPki } from '@trustee/verifiers/testing/snpFactory.ts';
import { createTestAzTdxVtpmEvidence } from '@trustee/verifiers/testing/tdxAzureFactory.ts';
import { createTdxTestPlatform, sgxEvidence, tdxEvidence, type TdxTestPlatform } from '@trustee/verifiers/testing/tdxFactory.ts';
import { createTestTpmEvidence } from '@trustee/verifiers/testing/tpmFactory.ts';
import { createTestNvidiaEvidence, createTestNvidiaPki, type TestNvidiaPki } from '@trustee/verifiers/testing/nvidiaFactory.ts';

export const HARDWARE_TEES = ['snp', 'tdx', 'az-snp-vtpm', 'az-tdx-vtpm'] as const;
export type HardwareTee = (typeof HARDWARE_TEES)[number];

export function isHardwareTee(value: unknown): value is HardwareTee {
  return typeof value === 'string' && (HARDWARE_TEES as readonly string[]).includes(value);
}

/** Device TEEs a guest sends as additional evidence next to a hardware TEE's. */
export const DEVICE_TEES = ['nvidia'] as const;
/** CPU-class TEEs whose default CPU policy needs more than reference values (sgx: none; tpm: trusted AKs). */
export const OTHER_CPU_TEES = ['sgx', 'tpm'] as const;
export type EvidenceTee = HardwareTee | (typeof DEVICE_TEES)[number] | (typeof OTHER_CPU_TEES)[number];

export function isEvidenceTee(value: unknown): value is EvidenceTee {
  return isHardwareTee(value) || (typeof value === 'string' && ([...DEVICE_TEES, ...OTHER_CPU_TEES] as readonly string[]).includes(value));
}

/** A variant name: selects another SGX enclave (MRENCLAVE) or another TPM attestation key. */
export const VARIANT = /^[a-z0-9-]{1,64}$/;

/** Options of one piece of evidence. */
export interface EvidenceOptions {
  readonly initDataDigest?: Uint8Array | undefined;
  /** Change one signed byte after signing (nvidia: a measurement; sgx: the enclave body; tpm: the quoted message). */
  readonly tamper?: boolean;
  /** sgx: MRENCLAVE = SHA-256("enclave:" + variant); tpm: an AK of its own per variant. Default: the factory's one. */
  readonly variant?: string | undefined;
}

/** Files a KBS config points at to trust a factory (all inside the anchors directory). */
export interface AnchorFiles {
  /** PEM: ARK, ASK, ASVK of the AMD test PKI. */
  readonly amdAnchorsPath: string;
  /** PEM: the TDX test root CA. */
  readonly intelRootsPath: string;
  /** Intel PcsClientTool collateral (TDX and SGX) for the test platform, fresh for 30 days from creation. */
  readonly tdxCollateralPath: string;
  /** PEM: the NVIDIA-style test device root CA. */
  readonly nvidiaRootsPath: string;
}

export interface EvidenceFactory {
  /** Guest-format evidence JSON bound to `reportData` and (when given) the init-data digest. */
  evidence(tee: EvidenceTee, reportData: Uint8Array, options?: EvidenceOptions): Promise<Json>;
  /** The `ak_public` claim (base64 DER SPKI) of a TPM variant's attestation key. */
  akPublic(variant?: string): string;
  /** Writes the trust anchors and collateral into `dir`. */
  writeAnchors(dir: string): Promise<AnchorFiles>;
}

const pem = (der: Uint8Array): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

function fixed(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(0, length));
  return out;
}

/**
 * Creates the PKI (a few hundred ms of key generation). The AMD PKI is the process-wide
 * `testAmdPki('Milan')`, so a second factory in ANOTHER process is a different, untrusted PKI.
 *
 * @example
 * const factory = await createEvidenceFactory();
 * const files = await factory.writeAnchors(dir);
 * const evidence = await factory.evidence('snp', reportData, initDigest);
 */
export async function createEvidenceFactory(options: { readonly now?: () => Date } = {}): Promise<EvidenceFactory> {
  const now = options.now ?? (() => new Date());
  const amd: TestAmdPki = await testAmdPki('Milan');
  const tdx: TdxTestPlatform = await createTdxTestPlatform();
  const nvidia: TestNvidiaPki = await createTestNvidiaPki();
  const aks = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();
  const akOf = (variant: string): { privateKey: KeyObject; publicKey: KeyObject } => {
    let ak = aks.get(variant);
    if (ak === undefined) {
      if (aks.size >= 256) throw new Error('too many TPM variants');
      ak = generateKeyPairSync('rsa', { modulusLength: 2048 });
      aks.set(variant, ak);
    }
    return ak;
  };
  return {
    async evidence(tee, reportData, options = {}) {
      const { initDataDigest, tamper = false } = options;
      const variant = options.variant ?? 'default';
      if (!VARIANT.test(variant)) throw new Error(`variant must match ${String(VARIANT)}`);
      switch (tee) {
        case 'nvidia': {
          const evidence = createTestNvidiaEvidence(reportData, [{ pki: nvidia }]) as { device_evidence_list: Array<{ evidence: string }> };
          const device = evidence.device_evidence_list[0] as { evidence: string };
          if (tamper) {
            const bytes = Buffer.from(device.evidence, 'base64');
            bytes[60] = (bytes[60] as number) ^ 0x01; // inside the first measurement value (request 37 B, header 8 B, block header 7 B)
            device.evidence = bytes.toString('base64');
          }
          return evidence as unknown as Json;
        }
        case 'snp':
          return (await createTestSnpReport({ product: 'Milan', reportData: fixed(reportData, 64), ...(initDataDigest === undefined ? {} : { hostData: fixed(initDataDigest, 32) }) })).evidence;
        case 'tdx':
          return tdxEvidence(tdx.quote({ reportData: fixed(reportData, 64), ...(initDataDigest === undefined ? {} : { mrConfigId: fixed(initDataDigest, 48) }) }));
        case 'az-snp-vtpm':
          return (await createTestAzSnpVtpmEvidence({ reportData, ...(initDataDigest === undefined ? {} : { initDataDigest }) })).evidence;
        case 'az-tdx-vtpm':
          return createTestAzTdxVtpmEvidence({ platform: tdx, nonce: reportData, ...(initDataDigest === undefined ? {} : { initDataDigest }) });
        case 'sgx': {
          const quote = tdx.sgxQuote({
            reportData: fixed(reportData, 64),
            mrEnclave: createHash('sha256').update(`enclave:${variant}`).digest(),
            ...(initDataDigest === undefined ? {} : { configId: fixed(initDataDigest, 64) }),
          });
          if (tamper) quote[48 + 64] = (quote[48 + 64] as number) ^ 0x01; // MRENCLAVE's first byte: under the quote signature
          return sgxEvidence(quote);
        }
        case 'tpm': {
          const { evidence } = createTestTpmEvidence({ reportData, ak: akOf(variant), ...(initDataDigest === undefined ? {} : { initDataDigest }) });
          if (!tamper) return evidence;
          const quote = (evidence as { tpm_quote: { message: string } }).tpm_quote;
          const message = Buffer.from(quote.message, 'base64');
          message[message.length - 1] = (message[message.length - 1] as number) ^ 0x01; // last byte of the PCR digest: signed by the AK
          quote.message = message.toString('base64');
          return evidence;
        }
      }
    },
    akPublic(variant = 'default') {
      if (!VARIANT.test(variant)) throw new Error(`variant must match ${String(VARIANT)}`);
      return akOf(variant).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    },
    async writeAnchors(dir) {
      const files: AnchorFiles = {
        amdAnchorsPath: join(dir, 'amd-anchors.pem'),
        intelRootsPath: join(dir, 'intel-roots.pem'),
        tdxCollateralPath: join(dir, 'tdx-collateral.json'),
        nvidiaRootsPath: join(dir, 'nvidia-roots.pem'),
      };
      writeFileSync(files.nvidiaRootsPath, pem(nvidia.chainDer[nvidia.chainDer.length - 1] as Uint8Array));
      writeFileSync(files.amdAnchorsPath, pem(amd.arkDer) + pem(amd.askDer) + pem(amd.asvkDer));
      writeFileSync(files.intelRootsPath, tdx.root.pem);
      writeFileSync(files.tdxCollateralPath, JSON.stringify(await tdx.pcsClientToolFile({ now: now() })));
      return files;
    },
  };
}

/**
 * The `[attestation_service.verifier_config.*]` TOML tables that make a KBS trust a factory's
 * anchors; append them to a KBS config (TOML allows sub-tables after other tables).
 */
export function verifierConfigToml(files: AnchorFiles, options: { readonly trustAnchors: boolean }): string {
  const q = (value: string): string => JSON.stringify(value);
  const lines = ['', '[attestation_service.verifier_config.snp_verifier]'];
  if (options.trustAnchors) lines.push(`trust_anchors_path = ${q(files.amdAnchorsPath)}`);
  lines.push('', '[attestation_service.verifier_config.dcap_verifier]', `collateral_service = ${q(`file://${files.tdxCollateralPath}`)}`);
  if (options.trustAnchors) lines.push(`trust_anchors_path = ${q(files.intelRootsPath)}`);
  if (options.trustAnchors) lines.push('', '[attestation_service.verifier_config.nvidia_verifier]', `trust_anchors_path = ${q(files.nvidiaRootsPath)}`);
  lines.push('');
  return lines.join('\n');
}

/** Reference-value ids of the default CPU policy per TEE, and where the claim sits in the TEE's claims. */
export const DEFAULT_CPU_REFERENCE_VALUES: Readonly<Record<HardwareTee, ReadonlyArray<{ id: string; path: string; kind: 'string' | 'integer' }>>> = {
  snp: [
    { id: 'snp_launch_measurement', path: 'measurement', kind: 'string' },
    { id: 'snp_bootloader', path: 'reported_tcb_bootloader', kind: 'integer' },
    { id: 'snp_microcode', path: 'reported_tcb_microcode', kind: 'integer' },
    { id: 'snp_snp_svn', path: 'reported_tcb_snp', kind: 'integer' },
    { id: 'snp_tee_svn', path: 'reported_tcb_tee', kind: 'integer' },
  ],
  tdx: [
    { id: 'rtmr_1', path: 'quote.body.rtmr_1', kind: 'string' },
    { id: 'rtmr_2', path: 'quote.body.rtmr_2', kind: 'string' },
    { id: 'mr_td', path: 'quote.body.mr_td', kind: 'string' },
    { id: 'xfam', path: 'quote.body.xfam', kind: 'string' },
  ],
  'az-snp-vtpm': [
    { id: 'measurement', path: 'measurement', kind: 'string' },
    { id: 'snp_pcr11', path: 'tpm.pcr11', kind: 'string' },
    { id: 'tcb_bootloader', path: 'reported_tcb_bootloader', kind: 'string' },
    { id: 'tcb_microcode', path: 'reported_tcb_microcode', kind: 'string' },
    { id: 'tcb_snp', path: 'reported_tcb_snp', kind: 'string' },
    { id: 'tcb_tee', path: 'reported_tcb_tee', kind: 'string' },
    { id: 'smt_enabled', path: 'platform_smt_enabled', kind: 'string' },
    { id: 'tsme_enabled', path: 'platform_tsme_enabled', kind: 'string' },
    { id: 'abi_major', path: 'policy_abi_major', kind: 'string' },
    { id: 'abi_minor', path: 'policy_abi_minor', kind: 'string' },
    { id: 'single_socket', path: 'policy_single_socket', kind: 'string' },
    { id: 'smt_allowed', path: 'policy_smt_allowed', kind: 'string' },
  ],
  'az-tdx-vtpm': [
    { id: 'tdx_pcr11', path: 'tpm.pcr11', kind: 'string' },
    { id: 'mr_td', path: 'quote.body.mr_td', kind: 'string' },
    { id: 'xfam', path: 'quote.body.xfam', kind: 'string' },
  ],
};

/** The claim at a dotted path (`quote.body.mr_td`). */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  let value: unknown = claims;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

