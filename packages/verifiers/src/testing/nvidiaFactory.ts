/**
 * Test-only NVIDIA device evidence under a throwaway PKI shaped like NVIDIA's: a self-signed
 * "device identity" root -> identity CA -> provisioner ICA -> BROM CA -> FMC leaf (all ECDSA
 * P-384, the leaf with a TCG DICE TcbInfo FWID), and SPDM 1.1 GET_MEASUREMENTS request/response
 * pairs signed by the leaf. `createNvidiaVerifier({ rootFingerprints: [pki.rootFingerprint] })`
 * accepts them; NVIDIA's pinned root never does.
 */
import 'reflect-metadata';
import { createHash, KeyObject, randomBytes, sign as cryptoSign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { regularize, toHex } from '../binary/encoding.ts';
import type { NvidiaArch } from '../nvidia/nvidiaEvidence.ts';
import { OID_DICE_TCB_INFO } from '../nvidia/nvidiaCertChain.ts';
import type { Json } from '../verifier.ts';
import { octets, oid, seq, tlv } from './tdxDer.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const P384 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
export const TEST_NVIDIA_NOT_BEFORE = new Date('2024-01-01T00:00:00Z');
export const TEST_NVIDIA_NOT_AFTER = new Date('2034-01-01T00:00:00Z');
/** Names of the five chain certificates, leaf first (like NVIDIA's). */
export const TEST_NVIDIA_CHAIN_NAMES = ['Test FMC LF', 'Test BROM', 'Test Provisioner ICA 1', 'Test Identity', 'Test Device Identity CA'] as const;

export interface TestNvidiaPki {
  /** PEM chain, leaf first, root last. */
  readonly chainPem: string;
  readonly chainDer: readonly Uint8Array[];
  /** SHA-256 of the root's DER (pass to `createNvidiaVerifier({ rootFingerprints })`). */
  readonly rootFingerprint: string;
  readonly leafKey: KeyObject;
  /** The FWID (48 bytes, hex) in the leaf; reports must repeat it. */
  readonly fwid: string;
  /** Private keys, leaf first, for tests that sign their own certificates. */
  readonly keys: readonly webcrypto.CryptoKeyPair[];
}

export interface TestNvidiaPkiOptions {
  readonly fwid?: Uint8Array;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Omit the FWID extension from the leaf. */
  readonly noFwid?: boolean;
}

/** A fresh five-certificate chain (~100 ms: five P-384 keys). */
export async function createTestNvidiaPki(options: TestNvidiaPkiOptions = {}): Promise<TestNvidiaPki> {
  const fwid = options.fwid ?? new Uint8Array(randomBytes(48));
  const keys: webcrypto.CryptoKeyPair[] = [];
  for (let i = 0; i < TEST_NVIDIA_CHAIN_NAMES.length; i += 1) keys.push((await webcrypto.subtle.generateKey(P384, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair);
  const names = TEST_NVIDIA_CHAIN_NAMES.map((cn) => `CN=${cn}, O=Test Not NVIDIA`);
  const der: Uint8Array[] = [];
  for (let i = TEST_NVIDIA_CHAIN_NAMES.length - 1; i >= 0; i -= 1) {
    const isLeaf = i === 0;
    const issuer = i === TEST_NVIDIA_CHAIN_NAMES.length - 1 ? i : i + 1;
    const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(!isLeaf, undefined, true)];
    if (isLeaf && options.noFwid !== true) extensions.push(new x509.Extension(OID_DICE_TCB_INFO, false, diceTcbInfo(fwid)));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: (0x10 + i).toString(16),
      subject: names[i] as string,
      issuer: names[issuer] as string,
      notBefore: options.notBefore ?? TEST_NVIDIA_NOT_BEFORE,
      notAfter: options.notAfter ?? TEST_NVIDIA_NOT_AFTER,
      signingAlgorithm: P384,
      publicKey: (keys[i] as webcrypto.CryptoKeyPair).publicKey,
      signingKey: (keys[issuer] as webcrypto.CryptoKeyPair).privateKey,
      extensions,
    });
    der[i] = new Uint8Array(cert.rawData);
  }
  return {
    chainPem: der.map(pem).join(''),
    chainDer: der,
    rootFingerprint: createHash('sha256').update(der[der.length - 1] as Uint8Array).digest('hex'),
    leafKey: KeyObject.from((keys[0] as webcrypto.CryptoKeyPair).privateKey),
    fwid: toHex(fwid),
    keys,
  };
}

/** DiceTcbInfo { fwids [6] IMPLICIT SEQUENCE OF { hashAlg sha384, digest } }. */
function diceTcbInfo(fwid: Uint8Array): Uint8Array {
  return seq(tlv(0xa6, seq(oid('2.16.840.1.101.3.4.2.2'), octets(fwid))));
}

export function pem(der: Uint8Array): string {
  return `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

export interface TestSpdmReportOptions {
  /** 32-byte requester nonce. */
  readonly nonce: Uint8Array;
  readonly signingKey: KeyObject;
  /** Measurement values by index (default: 8 blocks of 48 bytes derived from the index). */
  readonly measurements?: ReadonlyArray<{ readonly index: number; readonly value: Uint8Array }>;
  /** Opaque TLVs in order; default: driver version, VBIOS version, FWID (when given). */
  readonly opaque?: ReadonlyArray<{ readonly type: number; readonly value: Uint8Array }>;
  readonly fwid?: string;
  readonly driverVersion?: string;
  readonly param1?: number;
}

/** Offsets of the signed regions of a report built by `createTestSpdmReport` (for tamper tests). */
export interface TestSpdmLayout {
  readonly regions: ReadonlyArray<{ readonly name: string; readonly start: number; readonly end: number }>;
}

/** The default measurements: index i holds SHA-384("measurement i"). */
export function testMeasurements(count = 8): Array<{ index: number; value: Uint8Array }> {
  return Array.from({ length: count }, (_, i) => ({ index: i + 1, value: new Uint8Array(createHash('sha384').update(`measurement ${i + 1}`).digest()) }));
}

export const TEST_DRIVER_VERSION = '550.90.07';
/** VBIOS bytes whose upstream rendering is `96.00.9f.00.01`. */
export const TEST_VBIOS_BYTES = Uint8Array.of(0x00, 0x9f, 0x00, 0x96, 0x01, 0x00, 0x00, 0x00);
export const TEST_VBIOS_VERSION = '96.00.9f.00.01';

/** SPDM GET_MEASUREMENTS request || MEASUREMENTS response, signed with `signingKey`. */
export function createTestSpdmReport(options: TestSpdmReportOptions): { bytes: Uint8Array; layout: TestSpdmLayout } {
  const measurements = options.measurements ?? testMeasurements();
  const opaque = options.opaque ?? [
    { type: 3, value: Buffer.from(`${options.driverVersion ?? TEST_DRIVER_VERSION}\0`) },
    { type: 6, value: TEST_VBIOS_BYTES },
    ...(options.fwid === undefined ? [] : [{ type: 20, value: Buffer.from(options.fwid, 'hex') }]),
  ];
  const regions: Array<{ name: string; start: number; end: number }> = [];
  const parts: Uint8Array[] = [];
  let length = 0;
  const push = (name: string, bytes: Uint8Array): void => {
    regions.push({ name, start: length, end: length + bytes.byteLength });
    parts.push(bytes);
    length += bytes.byteLength;
  };
  push('request.header', Uint8Array.of(0x11, 0xe0, options.param1 ?? 0x01, 0xff));
  push('request.nonce', regularize(options.nonce, 32));
  push('request.slot_id', Uint8Array.of(0));
  const record = Buffer.concat(
    measurements.map(({ index, value }) => {
      const dmtf = Buffer.concat([Uint8Array.of(0x01), u16(value.byteLength), value]);
      return Buffer.concat([Uint8Array.of(index, 0x01), u16(dmtf.byteLength), dmtf]);
    }),
  );
  push('response.header', Uint8Array.of(0x11, 0x60, 0x00, 0x00, measurements.length, record.byteLength & 0xff, (record.byteLength >> 8) & 0xff, (record.byteLength >> 16) & 0xff));
  push('response.measurement_record', record);
  push('response.nonce', new Uint8Array(randomBytes(32)));
  const opaqueBytes = Buffer.concat(opaque.map(({ type, value }) => Buffer.concat([u16(type), u16(value.byteLength), value])));
  push('response.opaque_length', u16(opaqueBytes.byteLength));
  push('response.opaque_data', opaqueBytes);
  const signed = Buffer.concat(parts);
  const signature = cryptoSign('sha384', signed, { key: options.signingKey, dsaEncoding: 'ieee-p1363' });
  push('response.signature.r', signature.subarray(0, 48));
  push('response.signature.s', signature.subarray(48));
  return { bytes: new Uint8Array(Buffer.concat(parts)), layout: { regions } };
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >> 8) & 0xff);
}

export interface TestNvidiaDevice {
  readonly arch?: NvidiaArch | 'HOPPER';
  readonly pki: TestNvidiaPki;
  readonly measurements?: ReadonlyArray<{ readonly index: number; readonly value: Uint8Array }>;
  readonly driverVersion?: string;
  /** Encode the evidence as hex (upstream's original encoding) instead of NVAT's base64. */
  readonly hex?: boolean;
}

/**
 * The `nvidia` wire evidence for `devices`, bound to `reportData` (the runtime-data digest the
 * KBS expects: its first 32 bytes become the SPDM nonce, as guest-components' attester does).
 *
 * @example
 * const pki = await createTestNvidiaPki();
 * const evidence = createTestNvidiaEvidence(digest, [{ pki }]);
 */
export function createTestNvidiaEvidence(reportData: Uint8Array, devices: readonly TestNvidiaDevice[]): Json {
  const nonce = regularize(reportData, 32);
  return {
    device_evidence_list: devices.map((device, index) => {
      const { bytes } = createTestSpdmReport({
        nonce,
        signingKey: device.pki.leafKey,
        fwid: device.pki.fwid,
        ...(device.measurements === undefined ? {} : { measurements: device.measurements }),
        ...(device.driverVersion === undefined ? {} : { driverVersion: device.driverVersion }),
      });
      return {
        arch: device.arch ?? 'HOPPER',
        uuid: `GPU-test-${index}`,
        evidence: device.hex === true ? toHex(bytes) : Buffer.from(bytes).toString('base64'),
        certificate: Buffer.from(device.pki.chainPem).toString('base64'),
        nonce: toHex(nonce),
        version: '1.0',
      };
    }),
  };
}
