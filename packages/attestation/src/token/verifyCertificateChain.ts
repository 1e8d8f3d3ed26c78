/**
 * X.509 path validation for tokens that carry their signer chain in `jwk.x5c` (kbs-protocol
 * §4.1), equivalent to what the Rust KBS asks of OpenSSL: every certificate on the path must be
 * inside its validity window at `now`, every signature must verify, every issuer must be a CA,
 * and the path must end at a certificate of the trusted store. Like OpenSSL with a store that
 * holds intermediates or the leaf itself, a trusted certificate anywhere on the path anchors it.
 */
import { X509Certificate } from 'node:crypto';

const MAX_PATH_LENGTH = 8;

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
  for (let depth = 0; depth <= MAX_PATH_LENGTH; depth++) {
    const window = validityProblem(current, now);
    if (window !== undefined) return { ok: false, problems: [...problems, window] };
    narrow(current);
    if (trusted.some((anchor) => anchor.raw.equals(current.raw))) return { ok: true, problems, validFromMs, validToMs };

    const anchor = trusted.find((candidate) => issues(candidate, current));
    if (anchor !== undefined) {
      const anchorWindow = validityProblem(anchor, now);
      if (anchorWindow !== undefined) return { ok: false, problems: [...problems, anchorWindow] };
      narrow(anchor);
      return { ok: true, problems, validFromMs, validToMs };
    }
    const next = intermediates.find((candidate) => !used.has(candidate) && issues(candidate, current));
    if (next === undefined) {
      problems.push(`no trusted issuer found for ${current.subject.replaceAll('\n', ', ')}`);
      return { ok: false, problems };
    }
    used.add(next);
    current = next;
  }
  return { ok: false, problems: [...problems, 'certificate path too long'] };
}

function issues(issuer: X509Certificate, subject: X509Certificate): boolean {
  if (!issuer.ca) return false;
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function validityProblem(certificate: X509Certificate, now: Date): string | undefined {
  const notBefore = Date.parse(certificate.validFrom);
  const notAfter = Date.parse(certificate.validTo);
  const name = certificate.subject.replaceAll('\n', ', ');
  if (Number.isNaN(notBefore) || Number.isNaN(notAfter)) return `certificate ${name} has an unreadable validity window`;
  if (now.getTime() < notBefore) return `certificate ${name} is not valid before ${certificate.validFrom}`;
  if (now.getTime() > notAfter) return `certificate ${name} expired at ${certificate.validTo}`;
  return undefined;
}
