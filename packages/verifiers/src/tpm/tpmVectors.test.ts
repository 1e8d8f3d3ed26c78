// Invariant: Trustee's real TPM evidence (tpm/trustee-tpm_evidence.json) verifies to the MANIFEST
// facts (RSASSA/SHA-256 by its RSA-2048 AK, 24 PCRs hashing to the quote's digest, the 64-byte
// extraData), and every tampered copy is refused with a named check.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createTpmVerifier } from './tpmVerifier.ts';
import { parseTpmEvidence } from './tpmEvidence.ts';
import { parseTpmsAttest } from './tpmsAttest.ts';
import { hasVectors, readVectorText } from '../testing/snpVectors.ts';
import { flipByte } from '../testing/tdxTamper.ts';
import { failedChecks, rejection } from '../testing/verificationRejection.ts';
import type { Json, JsonObject, VerificationExpectations } from '../verifier.ts';

const FILE = 'tpm/trustee-tpm_evidence.json';
const EXTRA_DATA = 'a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120' + '00'.repeat(16);
const none: VerificationExpectations = { reportData: undefined, initDataDigest: undefined };
const context = { now: () => new Date(), collateral: {} };

async function run(evidence: Json, expected: VerificationExpectations = none): Promise<JsonObject> {
  const [result] = await createTpmVerifier().evaluate(evidence, expected, context);
  return result?.claims as JsonObject;
}

describe.skipIf(!hasVectors(FILE))('real TPM evidence (../shared/vectors)', () => {
  const evidence = (): { ak_public: string; tpm_quote: { message: string; signature: string; pcrs: string[] } } => JSON.parse(readVectorText(FILE));

  test('verifies to the MANIFEST facts', async () => {
    const raw = evidence();
    const parsed = parseTpmEvidence(raw as unknown as Json);
    expect([parsed.message.length, parsed.signature.sigAlg, parsed.signature.hashAlg]).toEqual([177, 0x0014, 0x000b]);
    expect(parsed.akPublicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const pcrDigest = createHash('sha256').update(Buffer.concat(parsed.pcrs)).digest('hex');
    expect(pcrDigest).toBe('019de64c9318655e422c3d03831169896e31f02a1d74e4d8fef575bf4e0d75fa');
    expect(Buffer.from(parseTpmsAttest(parsed.message).pcrDigest).toString('hex')).toBe(pcrDigest);
    const claims = await run(raw as unknown as Json);
    expect(claims.report_data).toBe(EXTRA_DATA);
    expect(claims.ak_public).toBe(raw.ak_public);
    expect(claims.init_data).toBe(raw.tpm_quote.pcrs[8]);
    expect(Object.keys(claims).filter((k) => k.startsWith('pcr'))).toHaveLength(24);
  });

  test('its 64-byte extraData predates the 32-byte attester: any expected report data is refused as upstream refuses it', async () => {
    const error = await rejection(run(evidence() as unknown as Json, { reportData: Buffer.from(EXTRA_DATA, 'hex'), initDataDigest: undefined }));
    expect(failedChecks(error)).toEqual(['tpm_quote.nonce']);
  });

  test('every byte of the message, every signature byte, every PCR and sampled AK bytes, tampered, are refused by name', async () => {
    const raw = evidence();
    const message = Buffer.from(raw.tpm_quote.message, 'base64');
    const signature = Buffer.from(raw.tpm_quote.signature, 'base64');
    const withQuote = (member: 'message' | 'signature', bytes: Uint8Array): Json => ({ ...raw, tpm_quote: { ...raw.tpm_quote, [member]: Buffer.from(bytes).toString('base64') } }) as unknown as Json;
    for (let at = 0; at < message.length; at += 1) {
      const error = await rejection(run(withQuote('message', flipByte(message, at))));
      expect(failedChecks(error)[0], `message byte ${at}`).toMatch(/^tpm_quote\.(signature|message\.)/);
    }
    for (let at = 0; at < signature.length; at += 1) {
      const error = await rejection(run(withQuote('signature', flipByte(signature, at))));
      expect(failedChecks(error)[0], `signature byte ${at}`).toMatch(at < 6 ? /^tpm\.signature\./ : /^tpm_quote\.signature$/);
    }
    for (let i = 0; i < raw.tpm_quote.pcrs.length; i += 1) {
      const pcrs = raw.tpm_quote.pcrs.map((p, j) => (j === i ? Buffer.from(flipByte(Buffer.from(p, 'hex'), 0)).toString('hex') : p));
      expect(failedChecks(await rejection(run({ ...raw, tpm_quote: { ...raw.tpm_quote, pcrs } } as unknown as Json))), `pcr ${i}`).toEqual(['tpm_quote.pcr_digest']);
    }
    const ak = Buffer.from(raw.ak_public, 'base64');
    for (let at = 30; at < ak.length; at += 11) {
      const error = await rejection(run({ ...raw, ak_public: Buffer.from(flipByte(ak, at)).toString('base64') } as unknown as Json));
      expect(failedChecks(error)[0], `AK byte ${at}`).toMatch(/^(tpm_quote\.signature|tpm\.evidence\.ak_public)$/);
    }
  });
});
