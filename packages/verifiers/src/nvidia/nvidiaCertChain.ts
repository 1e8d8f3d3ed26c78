/**
 * An NVIDIA device certificate chain (leaf first, root last, as the GPU/NVSwitch returns it and
 * upstream's deps/verifier/src/nvidia/cert_chain.rs reads it) checked against the pinned
 * NVIDIA Device Identity CA: every link's issuer name and signature, every validity window
 * against the verification clock, CA basic constraints on every issuer, and the leaf's FWID
 * (TCG DICE TcbInfo extension 2.23.133.5.4.1, last 48 bytes as upstream reads it).
 */
import { createHash } from 'node:crypto';
import { toHex } from '../binary/encoding.ts';
import { splitPemCertificates } from '../dcap/parseQuote.ts';
import { isSignedBy, parseCertificate, type ParsedCertificate } from '../dcap/x509.ts';
import type { FailedCheck } from '../verificationError.ts';
import { VerificationError } from '../verificationError.ts';

/** TCG DICE TcbInfo; NVIDIA's leaf carries the firmware id the report's FWID TLV repeats. */
export const OID_DICE_TCB_INFO = '2.23.133.5.4.1';
const FWID_LENGTH = 48;
/** Real chains have 5 certificates; anything much longer is not a device chain. */
export const MAX_CHAIN_LENGTH = 10;
/** Largest PEM chain accepted (5 certificates take ~5 KB). */
export const MAX_CHAIN_PEM_BYTES = 64 * 1024;

export interface NvidiaChainCheck {
  readonly certificates: readonly ParsedCertificate[];
  /** The leaf (report signing) certificate. */
  readonly leaf: ParsedCertificate;
  /** Lowercase hex FWID from the leaf, when it carries the extension. */
  readonly leafFwid: string | undefined;
  /** Every failed chain check (empty: the chain is good). */
  readonly failures: FailedCheck[];
}

/**
 * Parses `pem` and checks it against `rootFingerprints` (SHA-256 of root DER, lowercase hex).
 * Parse errors throw (`malformed_evidence`); verification failures are returned so the caller
 * can report them with the report's own failures.
 */
export function checkNvidiaCertChain(pem: string, rootFingerprints: ReadonlySet<string>, now: Date, what: string): NvidiaChainCheck {
  if (pem.length > MAX_CHAIN_PEM_BYTES) throw VerificationError.single('malformed_evidence', 'nvidia.cert_chain.size', `${what}: certificate chain too large`, `<= ${MAX_CHAIN_PEM_BYTES}`, String(pem.length));
  const certificates = splitPemCertificates(pem, 'nvidia.cert_chain').map((der, index) => parseCached(der, `nvidia.cert_chain[${index}]`));
  if (certificates.length > MAX_CHAIN_LENGTH) {
    throw VerificationError.single('malformed_evidence', 'nvidia.cert_chain.size', `${what}: too many certificates`, `<= ${MAX_CHAIN_LENGTH}`, String(certificates.length));
  }
  const leaf = certificates[0];
  if (leaf === undefined) throw VerificationError.single('malformed_evidence', 'nvidia.cert_chain.length', `${what}: no certificate in the chain`, '>= 2', '0');
  const failures: FailedCheck[] = [];
  const fail = (check: string, message: string, expected?: string, found?: string): void => {
    failures.push({ check, message: `${what}: ${message}`, ...(expected === undefined ? {} : { expected }), ...(found === undefined ? {} : { found }) });
  };

  if (certificates.length < 2) fail('nvidia.cert_chain.length', 'the chain must hold at least the signing certificate and the root CA', '>= 2', String(certificates.length));
  const root = certificates[certificates.length - 1] as ParsedCertificate;
  // The pin is on the whole DER, so the root's own signature needs no check.
  if (!rootFingerprints.has(root.fingerprint256)) fail('nvidia.cert_chain.root', `the chain ends in ${describe(root)}, not the pinned NVIDIA Device Identity CA`, [...rootFingerprints].join(' | '), root.fingerprint256);

  for (const [index, cert] of certificates.entries()) {
    if (now < cert.notBefore || now > cert.notAfter) {
      fail('nvidia.cert_chain.validity', `certificate ${index} (${describe(cert)}) is not valid at ${now.toISOString()}`, `${cert.notBefore.toISOString()}..${cert.notAfter.toISOString()}`, now.toISOString());
    }
    const issuer = certificates[index + 1];
    if (issuer === undefined) continue;
    if (!isSignedByCached(cert, issuer)) fail('nvidia.cert_chain.signature', `certificate ${index} (${describe(cert)}) is not signed by certificate ${index + 1} (${describe(issuer)})`);
    if (!issuer.x509.ca) fail('nvidia.cert_chain.ca', `certificate ${index + 1} (${describe(issuer)}) issues certificate ${index} but is not a CA`);
  }

  const extension = leaf.extensions.get(OID_DICE_TCB_INFO);
  const leafFwid = extension !== undefined && extension.value.byteLength >= FWID_LENGTH ? toHex(extension.value.subarray(extension.value.byteLength - FWID_LENGTH)) : undefined;
  return { certificates, leaf, leafFwid, failures };
}

/**
 * Device chains repeat (every GPU of a model shares its intermediates, every attestation its
 * leaf), so parsed certificates and verified links are kept in small bounded caches keyed by
 * SHA-256 of the DER: a link's signature is a pure function of the two certificates' bytes.
 */
const MAX_CACHED = 512;
const parsed = new Map<string, ParsedCertificate>();
const verifiedLinks = new Set<string>();

function parseCached(der: Uint8Array, what: string): ParsedCertificate {
  const key = createHash('sha256').update(der).digest('hex');
  const hit = parsed.get(key);
  if (hit !== undefined) return hit;
  const cert = parseCertificate(der, what);
  if (parsed.size >= MAX_CACHED) parsed.delete(parsed.keys().next().value as string);
  parsed.set(key, cert);
  return cert;
}

function isSignedByCached(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  const key = `${cert.fingerprint256}:${issuer.fingerprint256}`;
  if (verifiedLinks.has(key)) return true;
  if (!isSignedBy(cert, issuer)) return false;
  if (verifiedLinks.size >= MAX_CACHED) verifiedLinks.delete(verifiedLinks.values().next().value as string);
  verifiedLinks.add(key);
  return true;
}

function describe(cert: ParsedCertificate): string {
  return cert.commonName === '' ? `serial ${cert.serial}` : cert.commonName;
}
