import { createHash, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { AmdProduct } from '../snp/amdRoots.ts';
import type { Json } from '../verifier.ts';
import { createTestSnpReport, type TestVek } from './snpFactory.ts';

/**
 * Test-only Azure confidential-VM evidence: an HCL (paravisor) report wrapping a hardware report
 * and the runtime-claims JSON, and a vTPM quote (TPMS_ATTEST) signed by an RSA attestation key
 * (AK) over 24 SHA-256 PCRs with the caller's nonce. `buildHclReport` and `buildTpmQuote` are
 * shared with the TDX factory.
 */

let akCache: { privateKey: KeyObject; publicKey: KeyObject } | undefined;

/** One RSA-2048 AK per process (key generation is slow). */
export function testAttestationKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  akCache ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  return akCache;
}

export interface RuntimeClaimsOptions {
  readonly akPublicKey: KeyObject;
  /** Hex-encoded into `user-data` (upper case, zero-padded to 64 bytes, as the paravisor does). */
  readonly userData?: Uint8Array;
  /** Leave the AK out (to test rejection). */
  readonly omitAk?: boolean;
}

/** The HCL variable data: the runtime-claims JSON the hardware report binds via report_data[0..32]. */
export function buildRuntimeClaims(options: RuntimeClaimsOptions): Uint8Array {
  const jwk = options.akPublicKey.export({ format: 'jwk' });
  const userData = new Uint8Array(64);
  userData.set((options.userData ?? new Uint8Array(0)).subarray(0, 64));
  const claims = {
    keys: options.omitAk ? [] : [{ kid: 'HCLAkPub', key_ops: ['sign'], kty: 'RSA', e: jwk.e, n: jwk.n }],
    'vm-configuration': { 'console-enabled': true, 'root-cert-thumbprint': 'test', 'secure-boot': true, 'tpm-enabled': true, 'tpm-persisted': true, vmUniqueId: '00000000-0000-0000-0000-000000000000' },
    'user-data': Buffer.from(userData).toString('hex').toUpperCase(),
  };
  return new TextEncoder().encode(JSON.stringify(claims));
}

/**
 * An HCL report: 32-byte header ("HCLA"), the hardware report in a 1184-byte slot, IGVM request
 * data (report type 2 = SNP / 4 = TDX, hash type 1 = SHA-256) and the variable data.
 */
export function buildHclReport(hardwareReport: Uint8Array, reportType: 'snp' | 'tdx', varData: Uint8Array): Uint8Array {
  const out = new Uint8Array(0x4d4 + varData.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0x00, 0x414c4348, true);
  view.setUint32(0x04, 1, true);
  view.setUint32(0x08, 1184, true);
  view.setUint32(0x0c, 2, true);
  out.set(hardwareReport.subarray(0, 1184), 0x20);
  view.setUint32(0x4c0, 20 + varData.byteLength, true);
  view.setUint32(0x4c4, 1, true);
  view.setUint32(0x4c8, reportType === 'snp' ? 2 : 4, true);
  view.setUint32(0x4cc, 1, true);
  view.setUint32(0x4d0, varData.byteLength, true);
  out.set(varData, 0x4d4);
  return out;
}

export interface TestTpmQuote {
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly pcrs: Uint8Array[];
}

/**
 * A TPM2_Quote over PCRs 0-23 (SHA-256 bank) with `nonce` as extraData, signed with
 * RSASSA-PKCS1-v1_5/SHA-256 by `akPrivateKey`.
 */
export function buildTpmQuote(akPrivateKey: KeyObject, nonce: Uint8Array, pcrs: readonly Uint8Array[], selection = 0xffffff): TestTpmQuote {
  const digest = createHash('sha256');
  for (const pcr of pcrs) digest.update(pcr);
  const pcrDigest = digest.digest();
  const parts: number[] = [];
  const u16 = (v: number): void => void parts.push((v >> 8) & 0xff, v & 0xff);
  const u32 = (v: number): void => void parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const bytes = (b: Uint8Array): void => void parts.push(...b);
  u32(0xff544347);
  u16(0x8018);
  const signerName = new Uint8Array(34);
  signerName[1] = 0x0b;
  u16(signerName.byteLength);
  bytes(signerName);
  u16(nonce.byteLength);
  bytes(nonce);
  bytes(new Uint8Array(8).fill(1));
  u32(7);
  u32(3);
  parts.push(1);
  bytes(Uint8Array.from([0x20, 0x17, 0x06, 0x19, 0x00, 0x16, 0x36, 0x36]));
  u32(1);
  u16(0x000b);
  parts.push(3, selection & 0xff, (selection >> 8) & 0xff, (selection >> 16) & 0xff);
  u16(pcrDigest.byteLength);
  bytes(pcrDigest);
  const message = Uint8Array.from(parts);
  return { message, signature: new Uint8Array(cryptoSign('sha256', message, akPrivateKey)), pcrs: pcrs.map((p) => p.slice()) };
}

/** 24 distinct PCR values; PCR8 carries the init-data digest as the guests extend it. */
export function testPcrs(initDataDigest?: Uint8Array): Uint8Array[] {
  return Array.from({ length: 24 }, (_, i) => {
    if (i === 8 && initDataDigest !== undefined) return new Uint8Array(createHash('sha256').update(new Uint8Array(32)).update(initDataDigest).digest());
    return new Uint8Array(createHash('sha256').update(`pcr${i}`).digest());
  });
}

export interface TestAzSnpVtpmOptions {
  readonly version?: 0 | 1 | 2;
  /** The caller's report data: quote nonce and (v2) user-data. */
  readonly reportData: Uint8Array;
  readonly initDataDigest?: Uint8Array;
  readonly product?: AmdProduct;
  readonly vmpl?: number;
  readonly vek?: TestVek;
  /** Override the user-data written into the runtime claims (default: reportData). */
  readonly userData?: Uint8Array;
  /** Quote nonce (default: reportData). */
  readonly nonce?: Uint8Array;
}

export interface TestAzSnpVtpmEvidence {
  readonly evidence: Json;
  readonly hclReport: Uint8Array;
  readonly quote: TestTpmQuote;
  readonly vek: TestVek;
}

/**
 * Azure SNP vTPM evidence in wire version 0, 1 or 2, signed by the test PKI's VCEK and a test AK.
 *
 * @example
 * const { evidence } = await createTestAzSnpVtpmEvidence({ version: 2, reportData: nonce });
 * await createAzSnpVtpmVerifier({ trustAnchors: (await testAmdPki()).anchors }).evaluate(evidence, { reportData: nonce, initDataDigest: undefined }, ctx);
 */
export async function createTestAzSnpVtpmEvidence(options: TestAzSnpVtpmOptions): Promise<TestAzSnpVtpmEvidence> {
  const version = options.version ?? 2;
  const ak = testAttestationKey();
  const varData = buildRuntimeClaims({ akPublicKey: ak.publicKey, userData: options.userData ?? options.reportData });
  const varDataHash = createHash('sha256').update(varData).digest();
  const snp = await createTestSnpReport({
    product: options.product ?? 'Milan',
    reportData: varDataHash,
    ...(options.vmpl === undefined ? {} : { vmpl: options.vmpl }),
    ...(options.vek === undefined ? {} : { vek: options.vek }),
  });
  const hclReport = buildHclReport(snp.bytes, 'snp', varData);
  const quote = buildTpmQuote(ak.privateKey, options.nonce ?? options.reportData, testPcrs(options.initDataDigest));
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  const evidence: Json =
    version === 0
      ? {
          quote: { signature: Array.from(quote.signature), message: Array.from(quote.message), pcrs: quote.pcrs.map((p) => Array.from(p)) },
          report: Array.from(hclReport),
          vcek: `-----BEGIN CERTIFICATE-----\n${Buffer.from(snp.vek.der).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`,
        }
      : {
          version,
          tpm_quote: { signature: hex(quote.signature), message: hex(quote.message), pcrs: quote.pcrs.map(hex) },
          // The attester emits padded base64url.
          hcl_report: Buffer.from(hclReport).toString('base64').replace(/\+/g, '-').replace(/\//g, '_'),
          vcek: b64url(snp.vek.der),
        };
  return { evidence, hclReport, quote, vek: snp.vek };
}
