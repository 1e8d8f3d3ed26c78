import type { KeyObject } from 'node:crypto';
import { regularize } from '../binary/encoding.ts';
import type { Json } from '../verifier.ts';
import { buildTpmQuote, testAttestationKey, testPcrs, type TestTpmQuote } from './azureFactory.ts';

/**
 * Test-only `tpm` evidence as guest-components' TPM attester sends it: a TPM2_Quote over PCRs
 * 0-23 (SHA-256) with the report data zero-padded to 32 bytes as extraData, signed
 * RSASSA-PKCS1-v1_5/SHA-256 by a generated RSA AK, the signature marshalled as TPMT_SIGNATURE
 * and the AK as base64 DER SubjectPublicKeyInfo.
 */

export interface TestTpmOptions {
  readonly reportData?: Uint8Array;
  /** Extended into PCR8 as the attester does: PCR8 = SHA-256(0^32 ‖ digest). */
  readonly initDataDigest?: Uint8Array;
  /** Another AK (default: the process-wide test AK). */
  readonly ak?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
  /** extraData as quoted (default: reportData padded to 32 bytes). */
  readonly nonce?: Uint8Array;
}

export interface TestTpmEvidence {
  readonly evidence: Json;
  readonly quote: TestTpmQuote;
  /** The marshalled TPMT_SIGNATURE. */
  readonly signature: Uint8Array;
  /** `ak_public` as sent. */
  readonly akPublic: string;
}

/** TPMT_SIGNATURE { sigAlg RSASSA, hash SHA-256, TPM2B sig }. */
export function marshalRsassaSignature(signature: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + signature.byteLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0x0014);
  view.setUint16(2, 0x000b);
  view.setUint16(4, signature.byteLength);
  out.set(signature, 6);
  return out;
}

/** The base64 DER SPKI of a public key (the `ak_public` claim and the `trusted_aks` reference value). */
export function akPublicText(publicKey: KeyObject): string {
  return publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
}

/**
 * @example
 * const { evidence, akPublic } = createTestTpmEvidence({ reportData: nonce });
 * await createTpmVerifier().evaluate(evidence, { reportData: nonce, initDataDigest: undefined }, context);
 */
export function createTestTpmEvidence(options: TestTpmOptions = {}): TestTpmEvidence {
  const ak = options.ak ?? testAttestationKey();
  const nonce = options.nonce ?? regularize(options.reportData ?? new Uint8Array(0), 32);
  const quote = buildTpmQuote(ak.privateKey, nonce, testPcrs(options.initDataDigest));
  const signature = marshalRsassaSignature(quote.signature);
  const akPublic = akPublicText(ak.publicKey);
  const evidence: Json = {
    tpm_quote: {
      signature: Buffer.from(signature).toString('base64'),
      message: Buffer.from(quote.message).toString('base64'),
      pcrs: quote.pcrs.map((pcr) => Buffer.from(pcr).toString('hex')),
    },
    ak_public: akPublic,
  };
  return { evidence, quote, signature, akPublic };
}
