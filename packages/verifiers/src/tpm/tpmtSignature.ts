import { ByteReader } from '../binary/byteReader.ts';
import { VerificationError } from '../verificationError.ts';

/** TPM_ALG_ID values of TPMT_SIGNATURE.sigAlg (TPM 2.0 Part 2, 6.3). */
export const TPM_ALG_RSASSA = 0x0014;
export const TPM_ALG_RSAPSS = 0x0016;
export const TPM_ALG_ECDSA = 0x0018;

/** A parsed TPMT_SIGNATURE: RSA schemes carry one signature, ECDSA carries r and s. */
export type TpmtSignature =
  | { readonly sigAlg: typeof TPM_ALG_RSASSA | typeof TPM_ALG_RSAPSS; readonly hashAlg: number; readonly signature: Uint8Array }
  | { readonly sigAlg: typeof TPM_ALG_ECDSA; readonly hashAlg: number; readonly r: Uint8Array; readonly s: Uint8Array };

/** RSA signatures beyond 4096-bit keys, or ECC scalars beyond P-521, are not something a TPM makes. */
const MAX_RSA_SIGNATURE = 512;
const MAX_ECC_PARAMETER = 66;

/**
 * Parses a marshalled TPMT_SIGNATURE (big-endian: sigAlg, hashAlg, then TPM2B_PUBLIC_KEY_RSA or
 * two TPM2B_ECC_PARAMETERs), as guest-components' TPM attester sends it (`Signature::marshall`).
 * Every read is bounds-checked; trailing bytes and other schemes are `malformed_evidence`.
 */
export function parseTpmtSignature(bytes: Uint8Array): TpmtSignature {
  const r = new ByteReader(bytes, 'tpm.signature');
  const sigAlg = r.u16be('sigAlg');
  const hashAlg = r.u16be('hash');
  const sized = (field: string, max: number): Uint8Array => {
    const size = r.u16be(`${field}.size`);
    if (size === 0 || size > max) throw VerificationError.single('malformed_evidence', `tpm.signature.${field}.size`, 'signature component size out of range', `1..${max}`, String(size));
    return r.bytes(size, field);
  };
  let parsed: TpmtSignature;
  if (sigAlg === TPM_ALG_RSASSA || sigAlg === TPM_ALG_RSAPSS) {
    parsed = { sigAlg, hashAlg, signature: sized('sig', MAX_RSA_SIGNATURE) };
  } else if (sigAlg === TPM_ALG_ECDSA) {
    parsed = { sigAlg, hashAlg, r: sized('signatureR', MAX_ECC_PARAMETER), s: sized('signatureS', MAX_ECC_PARAMETER) };
  } else {
    throw VerificationError.single('malformed_evidence', 'tpm.signature.sigAlg', 'unknown TPM signature scheme', 'RSASSA (0x0014), RSAPSS (0x0016) or ECDSA (0x0018)', `0x${sigAlg.toString(16).padStart(4, '0')}`);
  }
  r.expectEnd();
  return parsed;
}
