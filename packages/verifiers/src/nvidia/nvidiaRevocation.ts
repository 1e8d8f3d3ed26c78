/**
 * Revocation of NVIDIA device certificates in Local mode (a trustee-ts addition: upstream's
 * deps/verifier/src/nvidia checks no revocation; NVIDIA's own local verifier asks NVIDIA's OCSP
 * service for every provisioned certificate of the chain). A certificate's status comes from
 * OCSP responses (RFC 6960, DER) or CRLs (RFC 5280, DER), supplied offline or fetched and cached
 * by a collateral source (collateral/nvidiaOcsp.ts); this module only judges them:
 *
 * - an OCSP answer counts when its CertID names the certificate (issuer name and key hashes with
 *   SHA-1/256/384/512, serial), it is signed by the issuer itself or by a responder certificate
 *   the issuer signed for OCSP signing (EKU 1.3.6.1.5.5.7.3.9) that is valid now, and now lies
 *   between thisUpdate (5 minutes' skew) and nextUpdate (or within 7 days of thisUpdate when it
 *   has none);
 * - a CRL counts when it names the issuer, is signed by it and is current the same way;
 * - `revoked` in a counting answer refuses the chain (`nvidia.revocation.revoked`), OCSP
 *   `unknown` too (`nvidia.revocation.unknown`);
 * - a provisioned certificate (every one but the leaf and the root) that no counting answer
 *   covers refuses the chain (`nvidia.revocation.unavailable`, naming why the answers that named
 *   it did not count). The leaf is the firmware's per-boot alias certificate, which NVIDIA's OCSP
 *   service does not know; it is judged only when an answer covers it.
 */
import { createHash, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, CertID, OCSPRequest, OCSPResponse, OCSPResponseStatus, Request, TBSRequest, id_kp_OCSPSigning, id_pkix_ocsp_basic } from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, Certificate, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { toHex } from '../binary/encoding.ts';
import { isCrlSignedBy, parseCertificate, parseCrl, type ParsedCertificate } from '../dcap/x509.ts';
import { DER_BIT_STRING, derChildren, parseDer, type DerNode } from '../dcap/der.ts';
import type { FailedCheck } from '../verificationError.ts';

/** What a collateral source knows about one certificate's status. */
export interface NvidiaRevocationStatus {
  /** DER OCSPResponse messages that may cover the certificate. */
  readonly ocsp: readonly Uint8Array[];
  /** DER CRLs that may cover it. */
  readonly crls: readonly Uint8Array[];
}

/** Allowed clock skew for thisUpdate. */
export const REVOCATION_SKEW_MS = 5 * 60 * 1000;
/** How long an answer without nextUpdate counts. */
export const REVOCATION_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** Largest OCSP response or CRL judged (real ones are 1-3 KB). */
export const MAX_REVOCATION_BYTES = 256 * 1024;

const HASHES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const OID_SHA256 = '2.16.840.1.101.3.4.2.1';

const REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'unused', 'removeFromCRL', 'privilegeWithdrawn', 'aACompromise'];

/**
 * Answers repeat (one per provisioned certificate, re-judged on every attestation), so their
 * parses, their issuers' key bits and verified signatures are kept in small bounded caches keyed
 * by SHA-256 of the DER: each is a pure function of those bytes. Time windows are always re-judged.
 */
const MAX_CACHED = 128;
const keyBitsCache = new Map<string, Uint8Array>();
const parsedCache = new Map<string, { readonly basic: BasicOCSPResponse; readonly canonical: boolean } | null>();
const verifiedSignatures = new Set<string>();

function remember<K, V>(cache: Map<K, V>, key: K, value: V): V {
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as K);
  cache.set(key, value);
  return value;
}

/** The subjectPublicKey bits of a certificate (what OCSP's issuerKeyHash hashes). */
function publicKeyBits(cert: ParsedCertificate): Uint8Array {
  const hit = keyBitsCache.get(cert.fingerprint256);
  if (hit !== undefined) return hit;
  const spki = AsnConvert.parse(cert.x509.publicKey.export({ format: 'der', type: 'spki' }), SubjectPublicKeyInfo);
  return remember(keyBitsCache, cert.fingerprint256, new Uint8Array(spki.subjectPublicKey));
}

function serialHex(bytes: ArrayBuffer): string {
  return toHex(new Uint8Array(bytes)).replace(/^0+(?=.)/, '');
}

/**
 * The SHA-256 CertID of `certificate` issued by `issuer`, and an OCSP request (DER) for it:
 * what an online source POSTs (`application/ocsp-request`) and the key it caches the answer under.
 */
export function nvidiaOcspRequest(certificate: ParsedCertificate, issuer: ParsedCertificate): { readonly key: string; readonly request: Uint8Array } {
  const nameHash = createHash('sha256').update(issuer.subjectDer).digest();
  const keyHash = createHash('sha256').update(publicKeyBits(issuer)).digest();
  const serial = Buffer.from(certificate.serial.length % 2 === 0 ? certificate.serial : `0${certificate.serial}`, 'hex');
  const serialDer = serial[0] !== undefined && serial[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), serial]) : serial;
  const certId = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: OID_SHA256, parameters: null }),
    issuerNameHash: new OctetString(nameHash),
    issuerKeyHash: new OctetString(keyHash),
    serialNumber: new Uint8Array(serialDer).buffer,
  });
  const request = new OCSPRequest({ tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certId })] }) });
  return { key: `${keyHash.toString('hex').slice(0, 32)}-${certificate.serial}`, request: new Uint8Array(AsnConvert.serialize(request)) };
}

/** The cache key (and export file name, without `.ocsp`) of a certificate's OCSP answer, from DER. */
export function nvidiaOcspKey(certificate: Uint8Array, issuer: Uint8Array): string {
  return nvidiaOcspRequest(parseCertificate(certificate, 'certificate'), parseCertificate(issuer, 'issuer')).key;
}

type Verdict = { readonly kind: 'good' } | { readonly kind: 'revoked'; readonly detail: string } | { readonly kind: 'unknown' } | { readonly kind: 'skip'; readonly why: string } | undefined;

/**
 * The status of `certificate` (chain position `index`) from `status`: `undefined` when it is
 * good (or an uncovered leaf), else the failed check.
 */
export function judgeNvidiaRevocation(certificate: ParsedCertificate, issuer: ParsedCertificate, index: number, status: NvidiaRevocationStatus, now: Date): FailedCheck | undefined {
  const skipped: string[] = [];
  let good = false;
  for (const der of status.ocsp) {
    const verdict = judgeOcsp(der, certificate, issuer, now);
    if (verdict === undefined) continue;
    if (verdict.kind === 'skip') skipped.push(`OCSP: ${verdict.why}`);
    else if (verdict.kind === 'revoked') return { check: 'nvidia.revocation.revoked', message: `revoked according to OCSP (${verdict.detail})`, expected: 'good', found: 'revoked' };
    else if (verdict.kind === 'unknown') return { check: 'nvidia.revocation.unknown', message: 'the OCSP responder does not know this certificate', expected: 'good', found: 'unknown' };
    else good = true;
  }
  for (const der of status.crls) {
    const verdict = judgeCrl(der, certificate, issuer, now);
    if (verdict === undefined) continue;
    if (verdict.kind === 'skip') skipped.push(`CRL: ${verdict.why}`);
    else if (verdict.kind === 'revoked') return { check: 'nvidia.revocation.revoked', message: `revoked according to a CRL (${verdict.detail})`, expected: 'good', found: 'revoked' };
    else good = true;
  }
  if (good || index === 0) return undefined;
  const why = skipped.length === 0 ? 'no OCSP response or CRL names it' : [...new Set(skipped)].join('; ');
  return { check: 'nvidia.revocation.unavailable', message: `no current revocation status (${why})`, expected: 'a current OCSP response or CRL', found: 'none' };
}

function judgeOcsp(der: Uint8Array, certificate: ParsedCertificate, issuer: ParsedCertificate, now: Date): Verdict {
  if (der.byteLength > MAX_REVOCATION_BYTES) return { kind: 'skip', why: 'response too large' };
  const digest = createHash('sha256').update(der).digest('hex');
  let parsed = parsedCache.get(digest);
  if (parsed === undefined) parsed = remember(parsedCache, digest, parseOcsp(der));
  if (parsed === null) return undefined;
  const { basic, canonical: canonicalSignature } = parsed;
  const single = basic.tbsResponseData.responses.find((entry) => certIdNames(entry.certID, certificate, issuer));
  if (single === undefined) return undefined;
  if (!canonicalSignature) return { kind: 'skip', why: 'not strict DER' };
  const signed = basic.tbsResponseDataRaw;
  const hash = SIGNATURE_HASHES[basic.signatureAlgorithm.algorithm];
  if (signed === undefined || hash === undefined) return { kind: 'skip', why: `unsupported signature algorithm ${basic.signatureAlgorithm.algorithm}` };
  // A delegated responder's own validity depends on the clock, so only issuer signatures are memoised.
  const signatureKey = `${digest}:${issuer.fingerprint256}`;
  if (!verifiedSignatures.has(signatureKey)) {
    if (verifies(hash, new Uint8Array(signed), issuer.x509.publicKey, new Uint8Array(basic.signature))) {
      if (verifiedSignatures.size >= MAX_CACHED) verifiedSignatures.delete(verifiedSignatures.values().next().value as string);
      verifiedSignatures.add(signatureKey);
    } else if (!delegatedResponders(basic, issuer, now).some((key) => verifies(hash, new Uint8Array(signed), key, new Uint8Array(basic.signature)))) {
      return { kind: 'skip', why: 'response not signed by the issuer or an OCSP responder it authorised' };
    }
  }
  const stale = windowProblem(single.thisUpdate, single.nextUpdate, now);
  if (stale !== undefined) return { kind: 'skip', why: stale };
  if (single.certStatus.revoked !== undefined) {
    const reason = single.certStatus.revoked.revocationReason;
    return { kind: 'revoked', detail: `at ${single.certStatus.revoked.revocationTime.toISOString()}${reason === undefined ? '' : `, reason ${REASONS[reason.reason] ?? String(reason.reason)}`}` };
  }
  if (single.certStatus.good !== undefined) return { kind: 'good' };
  return { kind: 'unknown' };
}

/** A successful basic OCSP response, parsed, with whether its envelope is strict DER; `null` otherwise. */
function parseOcsp(der: Uint8Array): { readonly basic: BasicOCSPResponse; readonly canonical: boolean } | null {
  try {
    const response = AsnConvert.parse(der, OCSPResponse);
    if (response.responseStatus !== OCSPResponseStatus.successful || response.responseBytes === undefined) return null;
    if (response.responseBytes.responseType !== id_pkix_ocsp_basic) return null;
    const basic = AsnConvert.parse(response.responseBytes.response, BasicOCSPResponse);
    // The parsed signature drops the BIT STRING's unused-bits count, a byte no signature covers:
    // it must be 0 (DER of an ECDSA/RSA signature), or a copy with it changed would still pass.
    const inner = parseDer(new Uint8Array(response.responseBytes.response.buffer), 'ocsp');
    const signatureBits = derChildren(inner, 'ocsp')[2];
    const canonical = signatureBits?.tag === DER_BIT_STRING && signatureBits.value[0] === 0 && strictDer(parseDer(der, 'ocsp')) && strictDer(inner);
    return { basic, canonical };
  } catch {
    return null;
  }
}

/**
 * Whether `node` and everything constructed below it is strict DER: minimal length octets and
 * children that fill their parent exactly (the ASN.1 library parses BER leniently, so envelope
 * bytes no signature covers could otherwise change without notice).
 */
function strictDer(node: DerNode, depth = 0): boolean {
  const length = node.value.byteLength;
  const header = length < 0x80 ? 2 : length < 0x100 ? 3 : length < 0x10000 ? 4 : 5;
  if (node.raw.byteLength - length !== header || depth > 16) return false;
  if ((node.tag & 0x20) === 0) return true;
  try {
    return derChildren(node, 'ocsp').every((child) => strictDer(child, depth + 1));
  } catch {
    return false;
  }
}

function certIdNames(id: CertID, certificate: ParsedCertificate, issuer: ParsedCertificate): boolean {
  const hash = HASHES[id.hashAlgorithm.algorithm];
  if (hash === undefined) return false;
  if (serialHex(id.serialNumber) !== certificate.serial) return false;
  const nameHash = createHash(hash).update(issuer.subjectDer).digest();
  const keyHash = createHash(hash).update(publicKeyBits(issuer)).digest();
  return Buffer.compare(nameHash, new Uint8Array(id.issuerNameHash.buffer)) === 0 && Buffer.compare(keyHash, new Uint8Array(id.issuerKeyHash.buffer)) === 0;
}

/** Keys of the response's certificates that `issuer` signed for OCSP signing and that are valid now. */
function delegatedResponders(basic: BasicOCSPResponse, issuer: ParsedCertificate, now: Date): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const cert of (basic.certs ?? []).slice(0, 4)) {
    try {
      const x509 = new X509Certificate(Buffer.from(AsnConvert.serialize(cert as Certificate)));
      if (!x509.checkIssued(issuer.x509) || !x509.verify(issuer.x509.publicKey)) continue;
      if (new Date(x509.validFrom) > now || new Date(x509.validTo) < now) continue;
      const usage = x509.keyUsage;
      if (!Array.isArray(usage) || !usage.includes(id_kp_OCSPSigning)) continue;
      keys.push(x509.publicKey);
    } catch {
      // not a usable responder certificate
    }
  }
  return keys;
}

function judgeCrl(der: Uint8Array, certificate: ParsedCertificate, issuer: ParsedCertificate, now: Date): Verdict {
  if (der.byteLength > MAX_REVOCATION_BYTES) return { kind: 'skip', why: 'CRL too large' };
  let crl;
  try {
    crl = parseCrl(der, 'nvidia.crl');
  } catch {
    return undefined;
  }
  if (Buffer.compare(crl.issuerDer, issuer.subjectDer) !== 0) return undefined;
  if (!isCrlSignedBy(crl, issuer)) return { kind: 'skip', why: 'CRL not signed by the issuer' };
  const stale = windowProblem(crl.thisUpdate, crl.nextUpdate, now);
  if (stale !== undefined) return { kind: 'skip', why: stale };
  if (crl.revoked.has(certificate.serial)) return { kind: 'revoked', detail: `serial ${certificate.serial}` };
  return { kind: 'good' };
}

function windowProblem(thisUpdate: Date, nextUpdate: Date | undefined, now: Date): string | undefined {
  if (thisUpdate.getTime() - REVOCATION_SKEW_MS > now.getTime()) return `issued in the future (thisUpdate ${thisUpdate.toISOString()})`;
  const end = nextUpdate?.getTime() ?? thisUpdate.getTime() + REVOCATION_MAX_AGE_MS;
  if (now.getTime() > end) return `expired (current until ${new Date(end).toISOString()})`;
  return undefined;
}

function verifies(hash: string, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  try {
    return cryptoVerify(hash, data, key, signature);
  } catch {
    return false;
  }
}
