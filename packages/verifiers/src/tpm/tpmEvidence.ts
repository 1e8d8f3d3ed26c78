import { createPublicKey, type KeyObject } from 'node:crypto';
import { fromHex } from '../binary/encoding.ts';
import { objectFromJson, stringFromJson } from '../binary/jsonBytes.ts';
import { decodeBase64Std } from '../tdx/tdxVerifier.ts';
import { VerificationError } from '../verificationError.ts';
import type { Json } from '../verifier.ts';
import { parseTpmtSignature, type TpmtSignature } from './tpmtSignature.ts';

/** The `tpm` evidence as guest-components' TPM attester sends it, decoded. */
export interface TpmEvidence {
  /** `ak_public` as sent (standard base64 of the DER SubjectPublicKeyInfo): the claim policies compare. */
  readonly akPublicText: string;
  readonly akPublicKey: KeyObject;
  /** The marshalled TPMS_ATTEST the AK signed. */
  readonly message: Uint8Array;
  readonly signature: TpmtSignature;
  /** SHA-256 PCR values in the order the quote's selection lists them. */
  readonly pcrs: readonly Uint8Array[];
}

/** Limits: a TPM has 24 PCRs per bank; a quote's TPMS_ATTEST is ~150-300 bytes, an RSA-4096 SPKI ~550. */
const MAX_PCRS = 24;
const MAX_MESSAGE_BYTES = 4096;
const MAX_SIGNATURE_BYTES = 1024;
const MAX_AK_BYTES = 4096;

/**
 * Parses `{"ak_public": b64(DER SPKI), "tpm_quote": {"signature": b64(TPMT_SIGNATURE),
 * "message": b64(TPMS_ATTEST), "pcrs": [64 hex chars, ...]}}` (deps/verifier/src/tpm/mod.rs).
 * Every member is typed and size-bounded; a bad one is `malformed_evidence` naming it.
 */
export function parseTpmEvidence(evidence: Json): TpmEvidence {
  const root = objectFromJson(evidence, 'tpm.evidence');
  const akPublicText = stringFromJson(root['ak_public'], 'tpm.evidence.ak_public');
  const akDer = decodeBase64Std(akPublicText, 'tpm.evidence.ak_public', MAX_AK_BYTES);
  let akPublicKey: KeyObject;
  try {
    akPublicKey = createPublicKey({ key: Buffer.from(akDer), format: 'der', type: 'spki' });
  } catch {
    throw VerificationError.single('malformed_evidence', 'tpm.evidence.ak_public', 'ak_public is not a DER SubjectPublicKeyInfo');
  }
  const quote = objectFromJson(root['tpm_quote'], 'tpm.evidence.tpm_quote');
  const message = decodeBase64Std(stringFromJson(quote['message'], 'tpm.evidence.tpm_quote.message'), 'tpm.evidence.tpm_quote.message', MAX_MESSAGE_BYTES);
  const signatureBytes = decodeBase64Std(stringFromJson(quote['signature'], 'tpm.evidence.tpm_quote.signature'), 'tpm.evidence.tpm_quote.signature', MAX_SIGNATURE_BYTES);
  const pcrList = quote['pcrs'];
  if (!Array.isArray(pcrList)) throw VerificationError.single('malformed_evidence', 'tpm.evidence.tpm_quote.pcrs', 'expected an array of hex PCR values');
  if (pcrList.length > MAX_PCRS) throw VerificationError.single('malformed_evidence', 'tpm.evidence.tpm_quote.pcrs', 'too many PCR values', `<= ${MAX_PCRS}`, String(pcrList.length));
  const pcrs = pcrList.map((pcr, i) => {
    const field = `tpm.evidence.tpm_quote.pcrs[${i}]`;
    const text = stringFromJson(pcr, field);
    // upstream: "PCR should be 64 hex characters (32 bytes)"
    if (text.length !== 64) throw VerificationError.single('malformed_evidence', field, 'a PCR value is 64 hex characters (SHA-256)', '64', String(text.length));
    return fromHex(text, field);
  });
  return { akPublicText, akPublicKey, message, signature: parseTpmtSignature(signatureBytes), pcrs };
}
