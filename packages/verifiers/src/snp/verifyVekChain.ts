import type { FailedCheck } from '../verificationError.ts';
import type { AmdProduct } from './amdRoots.ts';
import type { AmdTrustAnchors } from './amdTrustAnchors.ts';
import type { AmdCertificate } from './vekCertificate.ts';

export type VekKind = 'vcek' | 'vlek';

export interface VekChainInput {
  readonly product: AmdProduct;
  readonly kind: VekKind;
  readonly vek: AmdCertificate;
  /** An ARK the evidence carried: accepted only if it is the anchor's key. */
  readonly ark?: AmdCertificate | undefined;
  /** An ASK/ASVK the evidence carried: used instead of the anchor's if the ARK signed it. */
  readonly intermediate?: AmdCertificate | undefined;
}

/**
 * Signature results are immutable facts about certificate bytes, so they are cached per
 * (signer fingerprint, subject fingerprint); validity dates are re-checked on every call.
 */
const signatureCache = new Map<string, boolean>();
const SIGNATURE_CACHE_LIMIT = 4096;

function signedBy(subject: AmdCertificate, issuer: AmdCertificate): boolean {
  const key = `${issuer.fingerprint}:${subject.fingerprint}`;
  const cached = signatureCache.get(key);
  if (cached !== undefined) return cached;
  let ok = false;
  try {
    ok = subject.x509.verify(issuer.publicKey);
  } catch {
    ok = false;
  }
  if (signatureCache.size >= SIGNATURE_CACHE_LIMIT) {
    const oldest = signatureCache.keys().next().value;
    if (oldest !== undefined) signatureCache.delete(oldest);
  }
  signatureCache.set(key, ok);
  return ok;
}

/**
 * Checks ARK → ASK (VCEK) or ARK → ASVK (VLEK) → VEK against the configured anchors, and that
 * every certificate in the path is valid at `now`. Returns every failed check.
 */
export function verifyVekChain(input: VekChainInput, anchors: AmdTrustAnchors, now: Date): FailedCheck[] {
  const anchor = anchors.get(input.product);
  if (anchor === undefined) {
    return [{ check: 'snp.vek.trust_anchor', message: `no trust anchor configured for ${input.product}`, expected: [...anchors.keys()].join(', ') || 'none', found: input.product }];
  }
  const failures: FailedCheck[] = [];
  if (input.ark !== undefined && !input.ark.publicKey.equals(anchor.ark.publicKey)) {
    failures.push({ check: 'snp.ark', message: `provided ARK is not the trusted ${input.product} root`, expected: anchor.ark.fingerprint, found: input.ark.fingerprint });
  }
  const intermediate = input.intermediate ?? (input.kind === 'vlek' ? anchor.asvk : anchor.ask);
  const intermediateName = input.kind === 'vlek' ? 'ASVK' : 'ASK';
  if (intermediate === undefined) {
    failures.push({ check: 'snp.vek.chain', message: `no ${intermediateName} trusted for ${input.product}` });
    return failures;
  }
  const intermediateTrusted = input.intermediate === undefined || signedBy(input.intermediate, anchor.ark);
  if (!intermediateTrusted) {
    // The VEK is not checked against an untrusted key (which could be made arbitrarily expensive).
    failures.push({ check: 'snp.ask.signature', message: `provided ${intermediateName} is not signed by the ${input.product} ARK`, found: input.intermediate?.subjectCn ?? '?' });
  } else if (!signedBy(input.vek, intermediate)) {
    failures.push({
      check: 'snp.vek.signature',
      message: `${input.kind.toUpperCase()} is not signed by the ${input.product} ${intermediateName}`,
      expected: intermediate.subjectCn ?? intermediateName,
      found: input.vek.issuerCn ?? '?',
    });
  }
  for (const [name, cert] of [
    [input.kind, input.vek],
    [intermediateName, intermediate],
    ['ARK', anchor.ark],
  ] as const) {
    if (now < cert.notBefore || now > cert.notAfter) {
      failures.push({
        check: `snp.${name.toLowerCase()}.validity`,
        message: `${name} certificate is not valid at the verification time`,
        expected: `${cert.notBefore.toISOString()}..${cert.notAfter.toISOString()}`,
        found: now.toISOString(),
      });
    }
  }
  return failures;
}
