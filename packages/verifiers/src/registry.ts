/**
 * TeeName → Verifier. Each TEE's engineer adds one line here when their verifier works; a TEE
 * without a line is rejected with a typed `unsupported` error rather than a crash.
 */
import { azSnpVtpmVerifier } from './az-snp-vtpm/index.ts';
import { sampleDeviceVerifier, sampleVerifier } from './sample/index.ts';
import { tdxVerifier } from './tdx/index.ts';
import { azTdxVtpmVerifier } from './az-tdx-vtpm/index.ts';
import { snpVerifier } from './snp/index.ts';
import { nvidiaVerifier } from './nvidia/index.ts';
import { sgxVerifier } from './sgx/index.ts';
import { tpmVerifier } from './tpm/index.ts';
import { isTeeName, type TeeName, type Verifier } from './verifier.ts';
import { VerificationError } from './verificationError.ts';

const VERIFIERS: Partial<Record<TeeName, Verifier>> = {
  sample: sampleVerifier,
  sampledevice: sampleDeviceVerifier,
  tdx: tdxVerifier,
  'az-tdx-vtpm': azTdxVtpmVerifier,
  snp: snpVerifier,
  'az-snp-vtpm': azSnpVtpmVerifier,
  nvidia: nvidiaVerifier,
  sgx: sgxVerifier,
  tpm: tpmVerifier,
};

/**
 * Returns the verifier for a TEE name as it appears on the wire.
 *
 * @throws VerificationError with code `unsupported` for an unknown name or a TEE without a verifier.
 * @example const claims = await getVerifier('sample').evaluate(evidence, expected, context);
 */
export function getVerifier(tee: string): Verifier {
  if (!isTeeName(tee)) {
    throw VerificationError.single('unsupported', 'tee', 'unknown TEE type', 'a kbs-types TEE name', JSON.stringify(tee).slice(0, 64));
  }
  const verifier = VERIFIERS[tee];
  if (verifier === undefined) {
    throw VerificationError.single('unsupported', 'tee', `no verifier is available for TEE ${tee}`, supportedTees().join(', '), tee);
  }
  return verifier;
}

/** TEE names that have a verifier in this build, sorted. */
export function supportedTees(): TeeName[] {
  return (Object.keys(VERIFIERS) as TeeName[]).sort();
}
