import { X509Certificate, createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { VerificationError } from '../verificationError.ts';
import {
  DER_BIT_STRING, DER_BOOLEAN, DER_INTEGER, DER_OCTET_STRING, DER_SEQUENCE, derChildren, derIntegerHex, derOid, derSmallInt,
  derTime, expectTag, isTime, parseDer, type DerNode,
} from './der.ts';
import { splitPemCertificates } from './parseQuote.ts';

/** A certificate parsed once: node's X509Certificate for signatures plus the DER parts we need. */
export interface ParsedCertificate {
  readonly der: Uint8Array;
  readonly x509: X509Certificate;
  readonly subjectDer: Uint8Array;
  readonly issuerDer: Uint8Array;
  /** Serial as lowercase hex without leading zeros. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly commonName: string;
  /** SHA-256 of the DER, lowercase hex. */
  readonly fingerprint256: string;
  readonly extensions: ReadonlyMap<string, { readonly critical: boolean; readonly value: Uint8Array }>;
}

function malformed(what: string, message: string): VerificationError {
  return VerificationError.single('malformed_evidence', what, message);
}

export function parseCertificate(der: Uint8Array, what: string): ParsedCertificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (error) {
    throw malformed(what, `not a valid X.509 certificate: ${(error as Error).message}`);
  }
  const cert = expectTag(parseDer(der, what), DER_SEQUENCE, what);
  const tbs = expectTag(derChildren(cert, what)[0], DER_SEQUENCE, `${what}.tbs`);
  const fields = derChildren(tbs, `${what}.tbs`);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const serialNode = expectTag(fields[i++], DER_INTEGER, `${what}.serial`);
  i++; // signature algorithm
  const issuer = expectTag(fields[i++], DER_SEQUENCE, `${what}.issuer`);
  const validity = derChildren(expectTag(fields[i++], DER_SEQUENCE, `${what}.validity`), `${what}.validity`);
  const subject = expectTag(fields[i++], DER_SEQUENCE, `${what}.subject`);
  if (!isTime(validity[0]) || !isTime(validity[1])) throw malformed(`${what}.validity`, 'missing validity times');
  const extensions = new Map<string, { critical: boolean; value: Uint8Array }>();
  for (const field of fields.slice(i)) {
    if (field.tag !== 0xa3) continue;
    const list = expectTag(derChildren(field, `${what}.extensions`)[0], DER_SEQUENCE, `${what}.extensions`);
    for (const ext of derChildren(list, `${what}.extensions`)) {
      const parts = derChildren(expectTag(ext, DER_SEQUENCE, `${what}.extension`), `${what}.extension`);
      const oid = derOid(expectTag(parts[0], 0x06, `${what}.extension.oid`), `${what}.extension.oid`);
      const critical = parts[1]?.tag === DER_BOOLEAN ? parts[1].value[0] !== 0 : false;
      const valueNode = expectTag(parts[parts.length - 1], DER_OCTET_STRING, `${what}.extension.value`);
      if (extensions.has(oid)) throw malformed(`${what}.extension`, `duplicate extension ${oid}`);
      extensions.set(oid, { critical, value: valueNode.value });
    }
  }
  const cnMatch = /(?:^|\n)CN=([^\n]*)/.exec(x509.subject);
  return {
    der,
    x509,
    subjectDer: subject.raw,
    issuerDer: issuer.raw,
    serial: derIntegerHex(serialNode, `${what}.serial`),
    notBefore: derTime(validity[0] as DerNode, `${what}.not_before`),
    notAfter: derTime(validity[1] as DerNode, `${what}.not_after`),
    commonName: cnMatch?.[1] ?? '',
    fingerprint256: createHash('sha256').update(der).digest('hex'),
    extensions,
  };
}

/** Parses every certificate of a PEM chain, in order. */
export function parsePemChain(pem: string, what: string): ParsedCertificate[] {
  return splitPemCertificates(pem, what).map((der, index) => parseCertificate(der, `${what}[${index}]`));
}

/** Whether `cert` carries `issuer`'s subject as its issuer and verifies under `issuer`'s key. */
export function isSignedBy(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (Buffer.compare(cert.issuerDer, issuer.subjectDer) !== 0) return false;
  try {
    return cert.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

export interface ParsedCrl {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
  readonly issuerDer: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** Revoked serials, lowercase hex without leading zeros. */
  readonly revoked: ReadonlySet<string>;
  /** CRL Number extension (2.5.29.20), when present. */
  readonly crlNumber: number | undefined;
}

const OID_CRL_NUMBER = '2.5.29.20';
const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

export function parseCrl(der: Uint8Array, what: string): ParsedCrl {
  const list = expectTag(parseDer(der, what), DER_SEQUENCE, what);
  const [tbsNode, algNode, sigNode] = derChildren(list, what);
  const tbs = expectTag(tbsNode, DER_SEQUENCE, `${what}.tbs`);
  const alg = derChildren(expectTag(algNode, DER_SEQUENCE, `${what}.signature_algorithm`), what);
  const signatureAlgorithm = derOid(expectTag(alg[0], 0x06, `${what}.signature_algorithm`), what);
  const sigBits = expectTag(sigNode, DER_BIT_STRING, `${what}.signature`);
  if (sigBits.value.length < 2 || sigBits.value[0] !== 0) throw malformed(`${what}.signature`, 'bad BIT STRING');
  const fields = derChildren(tbs, `${what}.tbs`);
  let i = fields[0]?.tag === DER_INTEGER ? 1 : 0;
  i++; // inner signature algorithm
  const issuer = expectTag(fields[i++], DER_SEQUENCE, `${what}.issuer`);
  const thisUpdateNode = fields[i++];
  if (!isTime(thisUpdateNode)) throw malformed(`${what}.this_update`, 'missing thisUpdate');
  let nextUpdate: Date | undefined;
  if (isTime(fields[i])) nextUpdate = derTime(fields[i++] as DerNode, `${what}.next_update`);
  const revoked = new Set<string>();
  if (fields[i]?.tag === DER_SEQUENCE) {
    for (const entry of derChildren(fields[i++] as DerNode, `${what}.revoked`)) {
      const parts = derChildren(expectTag(entry, DER_SEQUENCE, `${what}.revoked`), `${what}.revoked`);
      revoked.add(derIntegerHex(expectTag(parts[0], DER_INTEGER, `${what}.revoked.serial`), `${what}.revoked.serial`));
    }
  }
  let crlNumber: number | undefined;
  if (fields[i]?.tag === 0xa0) {
    const exts = expectTag(derChildren(fields[i] as DerNode, `${what}.extensions`)[0], DER_SEQUENCE, `${what}.extensions`);
    for (const ext of derChildren(exts, `${what}.extensions`)) {
      const parts = derChildren(expectTag(ext, DER_SEQUENCE, `${what}.extension`), `${what}.extension`);
      const oid = derOid(expectTag(parts[0], 0x06, `${what}.extension.oid`), `${what}.extension.oid`);
      if (oid === OID_CRL_NUMBER) {
        const value = expectTag(parts[parts.length - 1], DER_OCTET_STRING, `${what}.crl_number`).value;
        crlNumber = derSmallInt(parseDer(value, `${what}.crl_number`), `${what}.crl_number`);
      }
    }
  }
  return {
    der,
    tbs: tbs.raw,
    signatureAlgorithm,
    signature: sigBits.value.subarray(1),
    issuerDer: issuer.raw,
    thisUpdate: derTime(thisUpdateNode as DerNode, `${what}.this_update`),
    nextUpdate,
    revoked,
    crlNumber,
  };
}

/** Whether `crl` names `issuer` and its signature verifies under `issuer`'s key. */
export function isCrlSignedBy(crl: ParsedCrl, issuer: ParsedCertificate): boolean {
  if (Buffer.compare(crl.issuerDer, issuer.subjectDer) !== 0) return false;
  const hash = SIGNATURE_HASH[crl.signatureAlgorithm];
  if (hash === undefined) return false;
  try {
    return cryptoVerify(hash, crl.tbs, issuer.x509.publicKey, crl.signature);
  } catch {
    return false;
  }
}

/** ECDSA P-256 / SHA-256 over `data` with a raw r ‖ s signature. */
export function verifyP256Raw(data: Uint8Array, signature: Uint8Array, key: KeyObject | undefined): boolean {
  if (signature.length !== 64 || key === undefined) return false;
  try {
    return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** A certificate's public key, or `undefined` when node cannot load it (malformed key). */
export function publicKeyOf(cert: ParsedCertificate): KeyObject | undefined {
  try {
    return cert.x509.publicKey;
  } catch {
    return undefined;
  }
}

/** SHA-384 of the uncompressed EC point of a certificate's key: DCAP's `root_key_id` ('' when unreadable). */
export function rootKeyId(cert: ParsedCertificate): string {
  // Memoised per parsed certificate: chains are parsed once and reused (verifyQuote.ts's chain
  // memo), and exporting the key cost ~6% of a TDX flow's KBS CPU when done for every quote.
  const known = rootKeyIds.get(cert);
  if (known !== undefined) return known;
  let id: string;
  try {
    const spki = cert.x509.publicKey.export({ format: 'der', type: 'spki' });
    id = createHash('sha384').update(spki.subarray(spki.length - 65)).digest('hex');
  } catch {
    id = '';
  }
  rootKeyIds.set(cert, id);
  return id;
}
const rootKeyIds = new WeakMap<ParsedCertificate, string>();
