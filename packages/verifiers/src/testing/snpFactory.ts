import 'reflect-metadata';
import { KeyObject, sign as cryptoSign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { AmdProduct } from '../snp/amdRoots.ts';
import { createAmdTrustAnchors, type AmdTrustAnchors } from '../snp/amdTrustAnchors.ts';
import { encodeSnpReport, parseSnpReport, SNP_SIGNED_LENGTH, type SnpReport } from '../snp/snpReport.ts';
import { snpReportToJson } from '../snp/snpReportJson.ts';
import type { Json, SnpTcbVersion } from '../verifier.ts';

/**
 * Test-only AMD PKI and SNP reports: a generated ARK (RSA-PSS/SHA-384, self-signed) → ASK / ASVK
 * → VCEK / VLEK (P-384, with AMD's TCB, hwID and productName extensions), and reports signed by
 * the VEK exactly as the PSP signs them. Verifiers accept these only when given
 * `pki.anchors` explicitly as trust anchors.
 */

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const RSA_PSS = { name: 'RSA-PSS', hash: 'SHA-384', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;
const PSS_SIGNING = { name: 'RSA-PSS', saltLength: 48 } as unknown as NonNullable<x509.X509CertificateCreateWithKeyParams['signingAlgorithm']>;
const EC_P384 = { name: 'ECDSA', namedCurve: 'P-384' } as const;
const NOT_BEFORE = new Date('2020-01-01T00:00:00Z');
const NOT_AFTER = new Date('2045-01-01T00:00:00Z');

export interface TestAmdPki {
  readonly product: AmdProduct;
  /** Trust anchors containing only this test PKI (pass them to the verifier explicitly). */
  readonly anchors: AmdTrustAnchors;
  readonly arkDer: Uint8Array;
  readonly askDer: Uint8Array;
  readonly asvkDer: Uint8Array;
  readonly askKey: webcrypto.CryptoKey;
  readonly asvkKey: webcrypto.CryptoKey;
}

export interface TestVek {
  readonly kind: 'vcek' | 'vlek';
  readonly der: Uint8Array;
  readonly privateKey: KeyObject;
}

const pkiCache = new Map<string, Promise<TestAmdPki>>();

/** The test PKI for a product line, generated once per process (RSA key generation is slow). */
export function testAmdPki(product: AmdProduct = 'Milan'): Promise<TestAmdPki> {
  let pki = pkiCache.get(product);
  if (pki === undefined) {
    pki = generatePki(product);
    pkiCache.set(product, pki);
  }
  return pki;
}

/** Trust anchors for several test product lines at once. */
export async function testAmdTrustAnchors(products: readonly AmdProduct[] = ['Milan', 'Genoa', 'Turin']): Promise<AmdTrustAnchors> {
  const pkis = await Promise.all(products.map((p) => testAmdPki(p)));
  return createAmdTrustAnchors(pkis.map((p) => ({ product: p.product, ark: p.arkDer, ask: p.askDer, asvk: p.asvkDer })));
}

async function generatePki(product: AmdProduct): Promise<TestAmdPki> {
  const ark = await webcrypto.subtle.generateKey(RSA_PSS, true, ['sign', 'verify']);
  const ask = await webcrypto.subtle.generateKey(RSA_PSS, true, ['sign', 'verify']);
  const asvk = await webcrypto.subtle.generateKey(RSA_PSS, true, ['sign', 'verify']);
  const arkName = `CN=ARK-${product}, O=Test Not AMD`;
  const arkCert = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: arkName,
    issuer: arkName,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    signingAlgorithm: PSS_SIGNING,
    publicKey: ark.publicKey,
    signingKey: ark.privateKey,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const intermediate = async (cn: string, key: webcrypto.CryptoKeyPair, serial: string): Promise<Uint8Array> =>
    new Uint8Array(
      (
        await x509.X509CertificateGenerator.create({
          serialNumber: serial,
          subject: `CN=${cn}, O=Test Not AMD`,
          issuer: arkName,
          notBefore: NOT_BEFORE,
          notAfter: NOT_AFTER,
          signingAlgorithm: PSS_SIGNING,
          publicKey: key.publicKey,
          signingKey: ark.privateKey,
          extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
        })
      ).rawData,
    );
  const askDer = await intermediate(`SEV-${product}`, ask, '02');
  const asvkDer = await intermediate(`SEV-VLEK-${product}`, asvk, '03');
  const arkDer = new Uint8Array(arkCert.rawData);
  return {
    product,
    anchors: createAmdTrustAnchors([{ product, ark: arkDer, ask: askDer, asvk: asvkDer }]),
    arkDer,
    askDer,
    asvkDer,
    askKey: ask.privateKey,
    asvkKey: asvk.privateKey,
  };
}

export interface TestVekOptions {
  readonly kind?: 'vcek' | 'vlek';
  readonly chipId?: Uint8Array;
  readonly tcb?: SnpTcbVersion;
  /** hwID extension form: raw bytes in extnValue (legacy) or wrapped in an OCTET STRING. */
  readonly hwidForm?: 'raw' | 'octet-string';
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Sign with another PKI's intermediate (to produce a VEK that does not chain). */
  readonly signedBy?: TestAmdPki;
}

export const DEFAULT_TEST_TCB: Readonly<Record<AmdProduct, SnpTcbVersion>> = {
  Milan: { bootloader: 4, tee: 0, snp: 24, microcode: 219 },
  Genoa: { bootloader: 10, tee: 0, snp: 23, microcode: 84 },
  Turin: { fmc: 1, bootloader: 1, tee: 0, snp: 2, microcode: 71 },
};

export function defaultChipId(product: AmdProduct): Uint8Array {
  const chip = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff);
  if (product === 'Turin') chip.fill(0, 8);
  return chip;
}

const vekCache = new Map<string, Promise<TestVek>>();

/** Issues a VCEK or VLEK (P-384) from the test PKI, with the AMD extensions for `tcb` and `chipId`. */
export function testVek(product: AmdProduct, options: TestVekOptions = {}): Promise<TestVek> {
  const cacheable = options.signedBy === undefined && options.notBefore === undefined && options.notAfter === undefined;
  const key = JSON.stringify([product, options.kind, options.chipId && Array.from(options.chipId), options.tcb, options.hwidForm]);
  if (cacheable) {
    const hit = vekCache.get(key);
    if (hit !== undefined) return hit;
  }
  const vek = issueVek(product, options);
  if (cacheable) vekCache.set(key, vek);
  return vek;
}

async function issueVek(product: AmdProduct, options: TestVekOptions): Promise<TestVek> {
  const pki = options.signedBy ?? (await testAmdPki(product));
  const kind = options.kind ?? 'vcek';
  const tcb = options.tcb ?? DEFAULT_TEST_TCB[product];
  const chipId = options.chipId ?? defaultChipId(product);
  const keys = await webcrypto.subtle.generateKey(EC_P384, true, ['sign', 'verify']);
  const extensions = [
    new x509.Extension('1.3.6.1.4.1.3704.1.1', false, derInteger(1)),
    new x509.Extension('1.3.6.1.4.1.3704.1.2', false, derIa5(product === 'Milan' ? 'Milan-B0' : product === 'Genoa' ? 'Genoa-B1' : 'Turin')),
    new x509.Extension('1.3.6.1.4.1.3704.1.3.1', false, derInteger(tcb.bootloader)),
    new x509.Extension('1.3.6.1.4.1.3704.1.3.2', false, derInteger(tcb.tee)),
    new x509.Extension('1.3.6.1.4.1.3704.1.3.3', false, derInteger(tcb.snp)),
    new x509.Extension('1.3.6.1.4.1.3704.1.3.8', false, derInteger(tcb.microcode)),
  ];
  if (product === 'Turin') extensions.push(new x509.Extension('1.3.6.1.4.1.3704.1.3.9', false, derInteger(tcb.fmc ?? 0)));
  if (kind === 'vcek') {
    const hwid = product === 'Turin' ? chipId.subarray(0, 8) : chipId;
    extensions.push(new x509.Extension('1.3.6.1.4.1.3704.1.4', false, options.hwidForm === 'octet-string' ? derTlv(0x04, hwid) : hwid.slice()));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
    subject: `CN=SEV-${kind.toUpperCase()}, O=Test Not AMD`,
    issuer: `CN=${kind === 'vlek' ? `SEV-VLEK-${product}` : `SEV-${product}`}, O=Test Not AMD`,
    notBefore: options.notBefore ?? NOT_BEFORE,
    notAfter: options.notAfter ?? NOT_AFTER,
    signingAlgorithm: PSS_SIGNING,
    publicKey: keys.publicKey,
    signingKey: kind === 'vlek' ? pki.asvkKey : pki.askKey,
    extensions,
  });
  return { kind, der: new Uint8Array(cert.rawData), privateKey: KeyObject.from(keys.privateKey) };
}

export interface TestSnpReportOptions {
  readonly product?: AmdProduct;
  readonly version?: 2 | 3 | 4 | 5;
  readonly reportData?: Uint8Array;
  readonly hostData?: Uint8Array;
  readonly vmpl?: number;
  readonly policy?: bigint;
  readonly platInfo?: bigint;
  readonly measurement?: Uint8Array;
  readonly chipId?: Uint8Array;
  /** Reported TCB (default: the VEK's). */
  readonly tcb?: SnpTcbVersion;
  readonly vek?: TestVek;
  readonly kind?: 'vcek' | 'vlek';
}

export interface TestSnpReport {
  /** The 1184-byte report as the PSP returns it. */
  readonly bytes: Uint8Array;
  readonly report: SnpReport;
  readonly vek: TestVek;
  /** CoCo guest evidence `{attestation_report, cert_chain}` with the VEK in the chain. */
  readonly evidence: Json;
  /** The same evidence without a chain (the verifier must fetch the VCEK from collateral). */
  readonly evidenceWithoutChain: Json;
}

const CPUID: Readonly<Record<AmdProduct, [number, number, number]>> = { Milan: [0x19, 0x01, 0x01], Genoa: [0x19, 0x11, 0x01], Turin: [0x1a, 0x02, 0x01] };

/**
 * Issues an SNP report signed by a test VEK, bound to any report_data/host_data.
 *
 * @example
 * const pki = await testAmdPki('Milan');
 * const { evidence } = await createTestSnpReport({ reportData: digest });
 * await createSnpVerifier({ trustAnchors: pki.anchors }).evaluate(evidence, { reportData: digest, initDataDigest: undefined }, ctx);
 */
export async function createTestSnpReport(options: TestSnpReportOptions = {}): Promise<TestSnpReport> {
  const product = options.product ?? 'Milan';
  const version = options.version ?? 3;
  const kind = options.kind ?? options.vek?.kind ?? 'vcek';
  const chipId = options.chipId ?? (kind === 'vlek' ? new Uint8Array(64) : defaultChipId(product));
  const tcb = options.tcb ?? DEFAULT_TEST_TCB[product];
  const vek = options.vek ?? (await testVek(product, { kind, ...(kind === 'vcek' ? { chipId } : {}), tcb }));
  const [fam, mod, step] = CPUID[product];
  const fill = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
  const unsigned: Omit<SnpReport, 'signedBytes'> = {
    version,
    guestSvn: 1,
    policy: options.policy ?? 0x30000n,
    familyId: fill(16, 1),
    imageId: fill(16, 2),
    vmpl: options.vmpl ?? 0,
    sigAlgo: 1,
    currentTcb: tcb,
    platInfo: options.platInfo ?? 0x25n,
    keyInfo: kind === 'vlek' ? 1 << 2 : 0,
    reportData: padTo(options.reportData ?? new Uint8Array(64), 64),
    measurement: options.measurement ?? fill(48, 3),
    hostData: padTo(options.hostData ?? new Uint8Array(32), 32),
    idKeyDigest: new Uint8Array(48),
    authorKeyDigest: new Uint8Array(48),
    reportId: fill(32, 4),
    reportIdMa: new Uint8Array(32).fill(0xff),
    reportedTcb: tcb,
    cpuidFamId: version >= 3 ? fam : undefined,
    cpuidModId: version >= 3 ? mod : undefined,
    cpuidStep: version >= 3 ? step : undefined,
    chipId,
    committedTcb: tcb,
    current: { major: 1, minor: 55, build: 40 },
    committed: { major: 1, minor: 55, build: 40 },
    launchTcb: tcb,
    launchMitVector: version >= 5 ? 0n : undefined,
    currentMitVector: version >= 5 ? 0n : undefined,
    signature: { r: new Uint8Array(72), s: new Uint8Array(72) },
  };
  const bytes = signSnpReport(encodeSnpReport(unsigned), vek.privateKey);
  const report = parseSnpReport(bytes);
  const chainType = kind === 'vlek' ? 'VLEK' : 'VCEK';
  return {
    bytes,
    report,
    vek,
    evidence: { attestation_report: snpReportToJson(report), cert_chain: [{ cert_type: chainType, data: Array.from(vek.der) }] } as Json,
    evidenceWithoutChain: { attestation_report: snpReportToJson(report), cert_chain: null } as Json,
  };
}

/** Signs bytes [0, 0x2A0) of `report` in place with ECDSA P-384/SHA-384, r and s little-endian. */
export function signSnpReport(report: Uint8Array, privateKey: KeyObject): Uint8Array {
  const signature = cryptoSign('sha384', report.subarray(0, SNP_SIGNED_LENGTH), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const out = report.slice();
  out.fill(0, 0x2a0);
  out.set(signature.subarray(0, 48).reverse(), 0x2a0);
  out.set(signature.subarray(48, 96).reverse(), 0x2e8);
  return out;
}

function padTo(data: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(data.subarray(0, length));
  return out;
}

function derInteger(value: number): ArrayBuffer {
  const bytes = value >= 0x80 ? [0x00, value] : [value];
  return new Uint8Array([0x02, bytes.length, ...bytes]).buffer;
}

function derIa5(text: string): ArrayBuffer {
  return derTlv(0x16, new TextEncoder().encode(text)).buffer as ArrayBuffer;
}

function derTlv(tag: number, value: Uint8Array): Uint8Array {
  return new Uint8Array([tag, value.byteLength, ...value]);
}
