// Invariant: `tpm` evidence is accepted only when the TPMS_ATTEST quote is signed by the AK it
// carries (RSASSA/SHA-256), the PCR values hash to the quote's PCR digest, extraData is the
// expected report data padded to 32 bytes and PCR8 binds the init-data digest; claims carry
// upstream's names (ak_public as sent, report_data, init_data, pcr00..pcr23). Every signed byte,
// every PCR and every byte of the signature, tampered, is refused with a named check; hostile
// input is a typed VerificationError.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createTpmVerifier } from './tpmVerifier.ts';
import { parseTpmtSignature, TPM_ALG_ECDSA } from './tpmtSignature.ts';
import { akPublicText, createTestTpmEvidence, marshalRsassaSignature } from '../testing/tpmFactory.ts';
import { buildTpmQuote, testPcrs } from '../testing/azureFactory.ts';
import { flipByte } from '../testing/tdxTamper.ts';
import { failedChecks, rejection } from '../testing/verificationRejection.ts';
import type { Json, JsonObject, VerificationExpectations } from '../verifier.ts';

const verifier = createTpmVerifier();
const context = { now: () => new Date('2030-01-01T00:00:00Z'), collateral: {} };
const nonce = createHash('sha256').update('kbs nonce ‖ tee pubkey').digest();
const initDigest = createHash('sha256').update('init-data').digest();

async function run(evidence: Json, expected: VerificationExpectations = { reportData: nonce, initDataDigest: undefined }): Promise<JsonObject> {
  const [result] = await verifier.evaluate(evidence, expected, context);
  expect(result?.teeClass).toBe('cpu');
  return result?.claims as JsonObject;
}

/** Evidence with one member of `tpm_quote` replaced. */
function withQuote(evidence: Json, member: 'message' | 'signature', bytes: Uint8Array): Json {
  const e = evidence as { tpm_quote: Record<string, Json>; ak_public: string };
  return { ...e, tpm_quote: { ...e.tpm_quote, [member]: Buffer.from(bytes).toString('base64') } };
}

describe('tpm verifier on factory evidence', () => {
  test('verifies and emits upstream\'s claims', async () => {
    const { evidence, akPublic, quote } = createTestTpmEvidence({ reportData: nonce, initDataDigest: initDigest });
    const claims = await run(evidence, { reportData: nonce, initDataDigest: initDigest });
    expect(Object.keys(claims)).toEqual(['init_data', 'report_data', 'ak_public', ...Array.from({ length: 24 }, (_, i) => `pcr${String(i).padStart(2, '0')}`)]);
    expect(claims.ak_public).toBe(akPublic);
    expect(claims.report_data).toBe(nonce.toString('hex'));
    expect(claims.init_data).toBe(createHash('sha256').update(Buffer.alloc(32)).update(initDigest).digest('hex'));
    expect(claims.pcr08).toBe(claims.init_data);
    expect(claims.pcr11).toBe(Buffer.from(quote.pcrs[11] as Uint8Array).toString('hex'));
  });

  test('report data: padded to 32 bytes as the attester pads it; longer report data is cut to 32 (upstream)', async () => {
    const short = Buffer.from('short nonce');
    await run(createTestTpmEvidence({ reportData: short }).evidence, { reportData: short, initDataDigest: undefined });
    const long = createHash('sha384').update('48-byte runtime data digest').digest();
    const claims = await run(createTestTpmEvidence({ reportData: long }).evidence, { reportData: long, initDataDigest: undefined });
    expect(claims.report_data).toBe(long.subarray(0, 32).toString('hex'));
    const error = await rejection(run(createTestTpmEvidence({ reportData: nonce }).evidence, { reportData: flipByte(nonce, 31), initDataDigest: undefined }));
    expect([error.code, failedChecks(error)]).toEqual(['verification_failed', ['tpm_quote.nonce']]);
    // without expected report data the nonce is not checked (upstream NotProvided)
    await run(createTestTpmEvidence({ reportData: nonce }).evidence, { reportData: undefined, initDataDigest: undefined });
  });

  test('init-data: PCR8 must be SHA-256(0^32 ‖ digest); a digest of another size is a named failure', async () => {
    const { evidence } = createTestTpmEvidence({ reportData: nonce, initDataDigest: initDigest });
    expect(failedChecks(await rejection(run(evidence, { reportData: nonce, initDataDigest: flipByte(initDigest, 0) })))).toEqual(['tpm.init_data']);
    expect(failedChecks(await rejection(run(evidence, { reportData: nonce, initDataDigest: new Uint8Array(48) })))).toEqual(['tpm.init_data']);
  });

  test('a quote whose selection leaves out PCR8 is refused', async () => {
    const ak = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pcrs = testPcrs().filter((_, i) => i !== 8);
    const quote = buildTpmQuote(ak.privateKey, nonce, pcrs, 0xfffeff);
    const evidence = { tpm_quote: { signature: Buffer.from(marshalRsassaSignature(quote.signature)).toString('base64'), message: Buffer.from(quote.message).toString('base64'), pcrs: pcrs.map((p) => Buffer.from(p).toString('hex')) }, ak_public: akPublicText(ak.publicKey) };
    expect(failedChecks(await rejection(run(evidence)))).toEqual(['tpm.init_data_pcr']);
  });

  test('a quote signed by another AK than the one sent is refused', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { evidence } = createTestTpmEvidence({ reportData: nonce });
    const swapped = { ...(evidence as JsonObject), ak_public: akPublicText(other.publicKey) };
    expect(failedChecks(await rejection(run(swapped)))).toEqual(['tpm_quote.signature']);
  });

  test('ECDSA quotes and EC AKs are refused by name (upstream accepts RSASSA only)', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { evidence } = createTestTpmEvidence({ reportData: nonce });
    const ecdsa = Buffer.concat([Buffer.from([0x00, 0x18, 0x00, 0x0b, 0x00, 0x20]), Buffer.alloc(32, 1), Buffer.from([0x00, 0x20]), Buffer.alloc(32, 2)]);
    expect(parseTpmtSignature(ecdsa).sigAlg).toBe(TPM_ALG_ECDSA);
    const error = await rejection(run({ ...(withQuote(evidence, 'signature', ecdsa) as JsonObject), ak_public: akPublicText(ec.publicKey) }));
    expect(failedChecks(error)).toEqual(['tpm.ak_public.type', 'tpm.signature.scheme']);
    const sha1 = Buffer.from(marshalRsassaSignature(new Uint8Array(256)));
    sha1.writeUInt16BE(0x0004, 2);
    expect(failedChecks(await rejection(run(withQuote(evidence, 'signature', sha1))))).toEqual(['tpm.signature.scheme']);
  });
});

describe('tpm tampering: every signed byte, every signature byte, every PCR, the AK', () => {
  const { evidence, quote, signature } = createTestTpmEvidence({ reportData: nonce, initDataDigest: initDigest });
  const expected = { reportData: nonce, initDataDigest: initDigest };

  test('every byte of the TPMS_ATTEST message', async () => {
    for (let at = 0; at < quote.message.length; at += 1) {
      const error = await rejection(run(withQuote(evidence, 'message', flipByte(quote.message, at)), expected));
      const checks = failedChecks(error);
      // a flip either still parses (then the AK signature fails) or breaks the structure
      if (error.code === 'malformed_evidence') expect(checks[0], `byte ${at}`).toMatch(/^tpm_quote\.message\./);
      else expect(checks, `byte ${at}`).toContain('tpm_quote.signature');
    }
  });

  test('every byte of the TPMT_SIGNATURE', async () => {
    for (let at = 0; at < signature.length; at += 1) {
      const error = await rejection(run(withQuote(evidence, 'signature', flipByte(signature, at)), expected));
      const checks = failedChecks(error);
      if (at < 6) expect(checks[0], `byte ${at}`).toMatch(/^tpm\.signature\./);
      else expect(checks, `byte ${at}`).toEqual(['tpm_quote.signature']);
    }
  });

  test('every PCR value', async () => {
    const e = evidence as { tpm_quote: { pcrs: string[] } };
    for (let i = 0; i < 24; i += 1) {
      const pcrs = e.tpm_quote.pcrs.map((p, j) => (j === i ? Buffer.from(flipByte(Buffer.from(p, 'hex'), 5)).toString('hex') : p));
      const error = await rejection(run({ ...(evidence as JsonObject), tpm_quote: { ...e.tpm_quote, pcrs } }, expected));
      expect(failedChecks(error), `pcr ${i}`).toEqual(['tpm_quote.pcr_digest']);
    }
    const fewer = await rejection(run({ ...(evidence as JsonObject), tpm_quote: { ...e.tpm_quote, pcrs: e.tpm_quote.pcrs.slice(0, 23) } }, expected));
    expect(failedChecks(fewer)).toEqual(['tpm_quote.pcr_count', 'tpm_quote.pcr_digest']);
  });

  test('sampled bytes of the AK public key', async () => {
    const der = Buffer.from((evidence as { ak_public: string }).ak_public, 'base64');
    for (let at = 0; at < der.length; at += 7) {
      const error = await rejection(run({ ...(evidence as JsonObject), ak_public: Buffer.from(flipByte(der, at)).toString('base64') }, expected));
      expect(failedChecks(error)[0], `byte ${at}`).toMatch(/^(tpm\.evidence\.ak_public|tpm_quote\.signature|tpm\.ak_public)/);
    }
  });
});

describe('tpm hostile input', () => {
  const { evidence } = createTestTpmEvidence({ reportData: nonce });
  const e = evidence as { tpm_quote: Record<string, Json>; ak_public: string };
  test.each([
    ['not an object', 'x', 'tpm.evidence'],
    ['ak_public missing', { tpm_quote: e.tpm_quote }, 'tpm.evidence.ak_public'],
    ['ak_public not base64', { ...e, ak_public: '***' }, 'tpm.evidence.ak_public'],
    ['ak_public not a key', { ...e, ak_public: 'AAAA' }, 'tpm.evidence.ak_public'],
    ['tpm_quote missing', { ak_public: e.ak_public }, 'tpm.evidence.tpm_quote'],
    ['message not base64', { ...e, tpm_quote: { ...e.tpm_quote, message: 'zz' } }, 'tpm.evidence.tpm_quote.message'],
    ['signature missing', { ...e, tpm_quote: { ...e.tpm_quote, signature: null } }, 'tpm.evidence.tpm_quote.signature'],
    ['pcrs not an array', { ...e, tpm_quote: { ...e.tpm_quote, pcrs: 'ab' } }, 'tpm.evidence.tpm_quote.pcrs'],
    ['25 pcrs', { ...e, tpm_quote: { ...e.tpm_quote, pcrs: Array.from({ length: 25 }, () => '00'.repeat(32)) } }, 'tpm.evidence.tpm_quote.pcrs'],
    ['a SHA-1 sized pcr', { ...e, tpm_quote: { ...e.tpm_quote, pcrs: ['00'.repeat(20)] } }, 'tpm.evidence.tpm_quote.pcrs[0]'],
    ['a non-hex pcr', { ...e, tpm_quote: { ...e.tpm_quote, pcrs: ['zz'.repeat(32)] } }, 'tpm.evidence.tpm_quote.pcrs[0]'],
    ['an empty signature', { ...e, tpm_quote: { ...e.tpm_quote, signature: '' } }, 'tpm.signature.sigAlg'],
    ['a huge message', { ...e, tpm_quote: { ...e.tpm_quote, message: 'A'.repeat(8000) } }, 'tpm.evidence.tpm_quote.message'],
  ] as Array<[string, Json, string]>)('%s → malformed_evidence naming %s', async (_name, bad, check) => {
    const error = await rejection(run(bad));
    expect(error.code).toBe('malformed_evidence');
    expect(failedChecks(error)[0]).toBe(check);
  });

  test.each([
    ['unknown scheme', '00200000000100'],
    ['zero-size signature', '001400b0000'.padEnd(12, '0')],
    ['size beyond the buffer', '0014000b0100aa'],
    ['trailing byte', '0014000b0001aa00'],
    ['ECDSA missing s', '0018000b0001aa'],
  ])('TPMT_SIGNATURE %s is malformed', (_name, hex) => {
    expect(() => parseTpmtSignature(Buffer.from(hex, 'hex'))).toThrow(expect.objectContaining({ code: 'malformed_evidence' }));
  });
});
