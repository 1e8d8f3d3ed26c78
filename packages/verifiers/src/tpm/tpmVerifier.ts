import { regularize, toHex } from '../binary/encoding.ts';
import { VerificationError, type FailedCheck } from '../verificationError.ts';
import type { Json, JsonObject, VerificationExpectations, VerifiedClaims, Verifier } from '../verifier.ts';
import { parseTpmEvidence } from './tpmEvidence.ts';
import { TPM_ALG_SHA256 } from './tpmsAttest.ts';
import { TPM_ALG_RSASSA } from './tpmtSignature.ts';
import { checkInitDataPcr, INIT_DATA_PCR, pcrClaims, verifyTpmQuote } from './verifyTpmQuote.ts';
import { akFingerprint, loadTrustedAks, type TpmVerifierOptions } from './trustedAks.ts';

/** The attester zero-pads (or cuts) the report data to this many bytes before quoting it as extraData. */
export const TPM_REPORT_DATA_SIZE = 32;

function refuse(failures: FailedCheck[]): never {
  throw new VerificationError('verification_failed', failures);
}

/**
 * Creates the `tpm` verifier (deps/verifier/src/tpm/mod.rs): the TPMS_ATTEST quote must be signed
 * by the AK in the evidence (RSASSA-PKCS1-v1_5 / SHA-256, the one scheme upstream accepts), the
 * SHA-256 digest of the PCR values must equal the quote's PCR digest, extraData must equal the
 * expected report data zero-padded to 32 bytes, and PCR8 must equal SHA-256(0^32 ‖ init-data
 * digest) when one is expected.
 *
 * Without `trustedAks` the AK itself is not trusted here: like upstream, the verifier proves only
 * that the AK holder quoted these PCRs for this nonce; the attestation policy decides whether the
 * AK is trusted (`input.tpm.ak_public in query_reference_value("trusted_aks")` in the default
 * policy). With `trustedAks` (SHA-256 of DER SPKI, see trustedAks.ts) an AK outside the set is
 * refused first (`tpm.ak_public.trusted`).
 *
 * Claims: `ak_public` (as sent), `report_data` (hex extraData), `init_data` (hex PCR8) and
 * `pcr00` … `pcr23`, named by the signed PCR selection.
 *
 * @example
 * const [{ claims }] = await createTpmVerifier().evaluate(evidence, { reportData: nonce, initDataDigest: undefined }, context);
 */
export function createTpmVerifier(options: { readonly trustedAks?: ReadonlySet<string> } = {}): Verifier {
  const trusted = options.trustedAks;
  return {
    tee: 'tpm',
    async evaluate(evidence: Json, expected: VerificationExpectations): Promise<VerifiedClaims[]> {
      const parsed = parseTpmEvidence(evidence);
      if (trusted !== undefined) {
        const fingerprint = akFingerprint(parsed.akPublicKey);
        if (!trusted.has(fingerprint)) {
          refuse([{ check: 'tpm.ak_public.trusted', message: `the AK is not one of the ${trusted.size} trusted AK keys (trusted_ak_keys_dir)`, expected: 'a trusted AK', found: `sha256 ${fingerprint}` }]);
        }
      }
      const failures: FailedCheck[] = [];
      if (parsed.akPublicKey.asymmetricKeyType !== 'rsa') {
        failures.push({ check: 'tpm.ak_public.type', message: 'the AK is not an RSA key (only RSASSA quotes are supported, as upstream)', expected: 'rsa', found: String(parsed.akPublicKey.asymmetricKeyType) });
      }
      const signature = parsed.signature;
      if (signature.sigAlg !== TPM_ALG_RSASSA || signature.hashAlg !== TPM_ALG_SHA256) {
        failures.push({
          check: 'tpm.signature.scheme',
          message: 'unsupported TPM signature scheme (upstream accepts RSASSA with SHA-256 only)',
          expected: 'RSASSA/SHA-256 (0x0014/0x000b)',
          found: `0x${signature.sigAlg.toString(16).padStart(4, '0')}/0x${signature.hashAlg.toString(16).padStart(4, '0')}`,
        });
      }
      if (failures.length > 0 || signature.sigAlg !== TPM_ALG_RSASSA) refuse(failures);
      const nonce = expected.reportData === undefined ? undefined : regularize(expected.reportData, TPM_REPORT_DATA_SIZE);
      const verified = verifyTpmQuote({ message: parsed.message, signature: signature.signature, pcrs: parsed.pcrs }, parsed.akPublicKey, nonce);
      const pcr8 = verified.pcrs.get(INIT_DATA_PCR);
      if (pcr8 === undefined) {
        refuse([{ check: 'tpm.init_data_pcr', message: `PCR${INIT_DATA_PCR} (init-data) is not in the quote`, expected: `a selection with PCR${INIT_DATA_PCR}`, found: [...verified.pcrs.keys()].join(',') }]);
      }
      const initFailures = checkInitDataPcr(verified.pcrs, expected.initDataDigest, 'tpm');
      if (initFailures.length > 0) refuse(initFailures);
      const claims: JsonObject = {
        init_data: toHex(pcr8),
        report_data: toHex(verified.attest.extraData),
        ak_public: parsed.akPublicText,
        ...pcrClaims(verified.pcrs),
      };
      return [{ teeClass: 'cpu', claims }];
    },
  };
}

/**
 * The `tpm` verifier for the `tpm_verifier` config keys: with `trustedAkKeysDir` the keys there
 * are loaded now (an unreadable directory throws; skipped files and the count go to `warn`),
 * without it the plain verifier.
 *
 * @example const verifier = await tpmVerifierFromOptions({ trustedAkKeysDir: '/etc/tpm/trusted_ak_keys', maxTrustedAkKeys: 50 });
 * @throws Error naming the directory, RangeError for a bad `maxTrustedAkKeys`.
 */
export async function tpmVerifierFromOptions(options: TpmVerifierOptions): Promise<Verifier> {
  if (options.trustedAkKeysDir === undefined) return createTpmVerifier();
  const loaded = await loadTrustedAks(options.trustedAkKeysDir, options.maxTrustedAkKeys);
  for (const { file, reason } of loaded.skipped) options.warn?.(`tpm verifier: skipped trusted AK key ${file}: ${reason}`);
  options.warn?.(`tpm verifier: ${loaded.fingerprints.size} trusted AK key(s) from ${options.trustedAkKeysDir}; evidence with any other AK is refused`);
  return createTpmVerifier({ trustedAks: loaded.fingerprints });
}

/** The `tpm` verifier. */
export const tpmVerifier: Verifier = createTpmVerifier();
