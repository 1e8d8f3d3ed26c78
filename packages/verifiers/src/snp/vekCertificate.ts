import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { decodeOid, decodeSmallUnsigned, derChildren, parseDer, readDer, type DerNode } from '../binary/der.ts';
import { VerificationError } from '../verificationError.ts';

/** AMD's VCEK/VLEK X.509 extensions (AMD "Versioned Chip Endorsement Key" spec, table 8). */
export const AMD_OID = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  bootloader: '1.3.6.1.4.1.3704.1.3.1',
  tee: '1.3.6.1.4.1.3704.1.3.2',
  snp: '1.3.6.1.4.1.3704.1.3.3',
  microcode: '1.3.6.1.4.1.3704.1.3.8',
  fmc: '1.3.6.1.4.1.3704.1.3.9',
  hwid: '1.3.6.1.4.1.3704.1.4',
} as const;

/** A parsed AMD certificate: node's X509 view plus the AMD extensions node does not expose. */
export interface AmdCertificate {
  readonly der: Uint8Array;
  /** SHA-256 of the DER, lower-case hex (cache key and pinning). */
  readonly fingerprint: string;
  readonly x509: X509Certificate;
  readonly publicKey: KeyObject;
  readonly subjectCn: string | undefined;
  readonly issuerCn: string | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly productName: string | undefined;
  /** hwID: 64 bytes (Milan/Genoa) or 8 bytes (Turin); absent in VLEKs. */
  readonly hwid: Uint8Array | undefined;
  /** TCB SPL extensions, each absent when the extension is. */
  readonly tcb: {
    readonly bootloader: number | undefined;
    readonly tee: number | undefined;
    readonly snp: number | undefined;
    readonly microcode: number | undefined;
    readonly fmc: number | undefined;
  };
}

/** Upper bound on a certificate we are willing to parse (AMD's are about 1.3-2.3 KiB). */
const MAX_CERT_SIZE = 16 * 1024;

/**
 * Parses a DER or PEM certificate (VCEK, VLEK, ASK, ASVK or ARK). Anything that is not a
 * well-formed X.509 certificate is `malformed_evidence`.
 */
export function parseAmdCertificate(input: Uint8Array | string, field: string): AmdCertificate {
  const der = toDer(input, field);
  let x509: X509Certificate;
  let publicKey: KeyObject;
  let notBefore: Date;
  let notAfter: Date;
  let subjectCn: string | undefined;
  let issuerCn: string | undefined;
  try {
    x509 = new X509Certificate(der);
    publicKey = x509.publicKey;
    notBefore = new Date(x509.validFrom);
    notAfter = new Date(x509.validTo);
    subjectCn = commonName(x509.subject);
    issuerCn = commonName(x509.issuer);
  } catch {
    throw VerificationError.single('malformed_evidence', field, 'not an X.509 certificate (or its public key does not decode)');
  }
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw VerificationError.single('malformed_evidence', field, 'certificate validity dates do not parse');
  }
  const extensions = readExtensions(der, field);
  const int = (oid: string): number | undefined => {
    const value = extensions.get(oid);
    if (value === undefined) return undefined;
    const node = tryParse(value);
    return node !== undefined && node.tag === 0x02 ? decodeSmallUnsigned(node.value) : undefined;
  };
  const productNode = extensions.has(AMD_OID.productName) ? tryParse(extensions.get(AMD_OID.productName) as Uint8Array) : undefined;
  return {
    der,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    x509,
    publicKey,
    subjectCn,
    issuerCn,
    notBefore,
    notAfter,
    productName: productNode !== undefined && (productNode.tag === 0x16 || productNode.tag === 0x0c) ? Buffer.from(productNode.value).toString('latin1') : undefined,
    hwid: hwidOf(extensions.get(AMD_OID.hwid)),
    tcb: { bootloader: int(AMD_OID.bootloader), tee: int(AMD_OID.tee), snp: int(AMD_OID.snp), microcode: int(AMD_OID.microcode), fmc: int(AMD_OID.fmc) },
  };
}

/**
 * The hwID extension was first published raw (the extnValue is the 64 bytes), later as a DER
 * OCTET STRING; Turin's is 8 bytes. Accept the raw form when the length is one of those.
 */
function hwidOf(value: Uint8Array | undefined): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (value.byteLength === 64 || value.byteLength === 8) return value;
  const node = tryParse(value);
  if (node !== undefined && node.tag === 0x04 && (node.value.byteLength === 64 || node.value.byteLength === 8)) return node.value;
  return value;
}

function toDer(input: Uint8Array | string, field: string): Uint8Array {
  if (typeof input !== 'string') {
    if (input.byteLength > 0 && input[0] === 0x30) return checkSize(input, field);
    input = Buffer.from(input).toString('latin1');
  }
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(input);
  if (match === null) throw VerificationError.single('malformed_evidence', field, 'neither a DER nor a PEM certificate');
  return checkSize(new Uint8Array(Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64')), field);
}

function checkSize(der: Uint8Array, field: string): Uint8Array {
  if (der.byteLength > MAX_CERT_SIZE) throw VerificationError.single('malformed_evidence', field, 'certificate too large', `<= ${MAX_CERT_SIZE}`, String(der.byteLength));
  return der;
}

/** Splits a PEM bundle into DER certificates (KDS `cert_chain` is ASK then ARK). */
export function splitPemBundle(pem: string): Uint8Array[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)].map(
    (m) => new Uint8Array(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64')),
  );
}

function readExtensions(der: Uint8Array, field: string): Map<string, Uint8Array> {
  const extensions = new Map<string, Uint8Array>();
  const [tbs] = derChildren(parseDer(der, field), field);
  if (tbs === undefined) return extensions;
  const explicit = derChildren(tbs, field).find((node) => node.tag === 0xa3);
  if (explicit === undefined) return extensions;
  const { node: list } = readDer(explicit.value, 0, field);
  for (const extension of derChildren(list, field)) {
    const parts = derChildren(extension, field);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (oid?.tag !== 0x06 || value?.tag !== 0x04) continue;
    extensions.set(decodeOid(oid.value), value.value);
  }
  return extensions;
}

function tryParse(bytes: Uint8Array): DerNode | undefined {
  try {
    return parseDer(bytes, 'extension');
  } catch {
    return undefined;
  }
}

function commonName(name: string): string | undefined {
  for (const line of name.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}
