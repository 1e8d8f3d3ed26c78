/**
 * X.509 path validation for tokens that carry their signer chain in `jwk.x5c` (upstream trustee
 * `kbs/src/token/mod.rs`), with RFC 5280's rules: every certificate on the path must be inside its
 * validity window at `now`, every signature must verify, every issuer must be a CA
 * (basicConstraints CA:TRUE), may sign certificates when it states a keyUsage (keyCertSign), and
 * must not have more CAs below it than its pathLenConstraint allows; the path must end at a
 * certificate of the trusted store. Like OpenSSL with a store that holds intermediates or the leaf
 * itself, a trusted certificate anywhere on the path anchors it.
 *
 * `signingLeafProblems` adds what the leaf must be to sign tokens. Upstream's KBS
 * (kbs/src/token/jwk.rs) runs OpenSSL's `verify_cert` without a purpose, so it accepts any leaf
 * that chains to a trusted certificate: a TLS server key, a CA key, the root itself. Here the
 * leaf must be an end entity whose stated usages include signing (RFC 5280 §4.2.1.3, §4.2.1.12:
 * a key whose certificate lists usages may be used only for those).
 */
import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as X509 from '@peculiar/x509';

const MAX_PATH_LENGTH = 8;

/** anyExtendedKeyUsage (RFC 5280 §4.2.1.12) and id-kp-documentSigning (RFC 9336). */
export const SIGNING_EXTENDED_KEY_USAGES: Readonly<Record<string, string>> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.36': 'documentSigning',
};

// @peculiar/x509 (and the reflect-metadata polyfill its tsyringe needs) is loaded at the first
// chain check, not at import: it was a fifth of the KBS's start-up CPU (bench/startup.bench.ts),
// and only tokens with an x5c chain need it. `require`: both are CommonJS and needed synchronously.
const require = createRequire(import.meta.url);
let x509Module: typeof X509 | undefined;
let ekuNames: Readonly<Record<string, string>> | undefined;
function x509(): typeof X509 {
  if (x509Module === undefined) {
    require('reflect-metadata');
    x509Module = require('@peculiar/x509') as typeof X509;
  }
  return x509Module;
}
function ekuName(oid: string): string {
  ekuNames ??= Object.fromEntries(Object.entries(x509().ExtendedKeyUsage).map(([name, value]) => [value, name]));
  return ekuNames[oid] ?? oid;
}

export interface ChainResult {
  readonly ok: boolean;
  /** Every reason a path failed, for the error message. */
  readonly problems: readonly string[];
  /**
   * When `ok`: the instants (ms since the epoch, inclusive) between which every certificate on
   * the accepted path is valid. The path search depends on `now` only through these windows, so
   * the same inputs verify identically at any instant inside this window (callers may cache).
   */
  readonly validFromMs?: number;
  readonly validToMs?: number;
}

/** The extensions path validation reads; `undefined` members are absent extensions. */
interface Profile {
  readonly ca: boolean;
  readonly pathLength: number | undefined;
  readonly keyUsage: number | undefined;
  readonly extendedKeyUsages: readonly string[] | undefined;
}

const profiles = new WeakMap<X509Certificate, Profile | string>();

/** The certificate's profile, or a problem text when an extension does not parse. */
function profileOf(certificate: X509Certificate): Profile | string {
  const cached = profiles.get(certificate);
  if (cached !== undefined) return cached;
  let profile: Profile | string;
  try {
    const lib = x509();
    const parsed = new lib.X509Certificate(certificate.raw);
    const basic = parsed.getExtension(lib.BasicConstraintsExtension);
    const usage = parsed.getExtension(lib.KeyUsagesExtension);
    const extended = parsed.getExtension(lib.ExtendedKeyUsageExtension);
    profile = {
      ca: basic?.ca === true,
      pathLength: basic?.ca === true ? basic.pathLength : undefined,
      keyUsage: usage === null ? undefined : usage.usages,
      extendedKeyUsages: extended === null ? undefined : extended.usages.map((oid) => String(oid)),
    };
  } catch (error) {
    profile = `certificate ${nameOf(certificate)} has extensions that do not parse (${(error as Error).message})`;
  }
  profiles.set(certificate, profile);
  return profile;
}

function nameOf(certificate: X509Certificate): string {
  return certificate.subject.replaceAll('\n', ', ');
}

/**
 * `issuer` signed `subject`: names chain and the signature verifies. (Not `checkIssued`: OpenSSL's
 * issuer check also refuses an issuer whose keyUsage lacks keyCertSign, which would hide that
 * reason behind "no issuer found"; the CA rules are checked, and named, in `issues`.)
 */
function signedBy(subject: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return subject.issuer === issuer.subject && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function isSelfSigned(certificate: X509Certificate): boolean {
  return signedBy(certificate, certificate);
}

/**
 * Why `leaf` may not sign tokens (empty when it may): it must not be a CA (basicConstraints
 * CA:TRUE or keyUsage keyCertSign), must state digitalSignature when it states a keyUsage, must
 * allow signing when it states an extendedKeyUsage (anyExtendedKeyUsage or documentSigning; a
 * TLS serverAuth/clientAuth key does not sign tokens), and must not be a trusted root itself.
 */
export function signingLeafProblems(leaf: X509Certificate, trusted: readonly X509Certificate[]): string[] {
  const profile = profileOf(leaf);
  if (typeof profile === 'string') return [profile];
  const name = nameOf(leaf);
  const problems: string[] = [];
  if (profile.ca) problems.push(`the signing certificate ${name} is a CA (basicConstraints CA:TRUE); tokens must be signed by an end-entity certificate`);
  if (profile.keyUsage !== undefined) {
    if ((profile.keyUsage & x509().KeyUsageFlags.keyCertSign) !== 0) problems.push(`the signing certificate ${name} has keyUsage keyCertSign (a certificate-signing key)`);
    if ((profile.keyUsage & x509().KeyUsageFlags.digitalSignature) === 0) problems.push(`the signing certificate ${name} has a keyUsage without digitalSignature`);
  }
  const ekus = profile.extendedKeyUsages;
  if (ekus !== undefined && !ekus.some((oid) => oid in SIGNING_EXTENDED_KEY_USAGES)) {
    const named = ekus.map((oid) => ekuName(oid)).join(', ');
    problems.push(`the signing certificate ${name} is limited to extendedKeyUsage ${named}, which does not include signing (anyExtendedKeyUsage or documentSigning)`);
  }
  if (isSelfSigned(leaf) && trusted.some((anchor) => anchor.raw.equals(leaf.raw))) {
    problems.push(`the signing certificate ${name} is a trusted root itself; sign tokens with a certificate it issues`);
  }
  return problems;
}

export function verifyCertificateChain(leaf: X509Certificate, intermediates: readonly X509Certificate[], trusted: readonly X509Certificate[], now: Date): ChainResult {
  const problems: string[] = [];
  let current = leaf;
  const used = new Set<X509Certificate>();
  let validFromMs = -Infinity;
  let validToMs = Infinity;
  const narrow = (certificate: X509Certificate): void => {
    validFromMs = Math.max(validFromMs, Date.parse(certificate.validFrom));
    validToMs = Math.min(validToMs, Date.parse(certificate.validTo));
  };
  // CA certificates on the path below the issuer being looked for (pathLenConstraint counts them).
  for (let casBelow = 0; casBelow <= MAX_PATH_LENGTH; casBelow++) {
    const window = validityProblem(current, now);
    if (window !== undefined) return { ok: false, problems: [...problems, window] };
    narrow(current);
    if (trusted.some((anchor) => anchor.raw.equals(current.raw))) return { ok: true, problems, validFromMs, validToMs };

    const subject = current;
    const anchor = trusted.find((candidate) => issues(candidate, subject, casBelow, problems));
    if (anchor !== undefined) {
      const anchorWindow = validityProblem(anchor, now);
      if (anchorWindow !== undefined) return { ok: false, problems: [...problems, anchorWindow] };
      narrow(anchor);
      return { ok: true, problems, validFromMs, validToMs };
    }
    const next = intermediates.find((candidate) => !used.has(candidate) && issues(candidate, subject, casBelow, problems));
    if (next === undefined) {
      problems.push(`no trusted issuer found for ${nameOf(current)}`);
      return { ok: false, problems };
    }
    used.add(next);
    current = next;
  }
  return { ok: false, problems: [...problems, 'certificate path too long'] };
}

/**
 * Whether `issuer` signed `subject` and may have: a CA that may sign certificates, with room in
 * its pathLenConstraint. A certificate that signed it but may not is recorded in `problems`.
 */
function issues(issuer: X509Certificate, subject: X509Certificate, casBelow: number, problems: string[]): boolean {
  if (!signedBy(subject, issuer)) return false;
  const profile = profileOf(issuer);
  const name = nameOf(issuer);
  if (typeof profile === 'string') problems.push(profile);
  else if (!profile.ca) problems.push(`issuer ${name} is not a CA (basicConstraints CA:TRUE missing)`);
  else if (profile.keyUsage !== undefined && (profile.keyUsage & x509().KeyUsageFlags.keyCertSign) === 0) problems.push(`issuer ${name} has a keyUsage without keyCertSign`);
  else if (profile.pathLength !== undefined && casBelow > profile.pathLength) problems.push(`issuer ${name} allows ${profile.pathLength} CA certificate(s) below it (pathLenConstraint), found ${casBelow}`);
  else return true;
  return false;
}

function validityProblem(certificate: X509Certificate, now: Date): string | undefined {
  const notBefore = Date.parse(certificate.validFrom);
  const notAfter = Date.parse(certificate.validTo);
  const name = nameOf(certificate);
  if (Number.isNaN(notBefore) || Number.isNaN(notAfter)) return `certificate ${name} has an unreadable validity window`;
  if (now.getTime() < notBefore) return `certificate ${name} is not valid before ${certificate.validFrom}`;
  if (now.getTime() > notAfter) return `certificate ${name} expired at ${certificate.validTo}`;
  return undefined;
}
