/**
 * Invariant: structured runtime data binds as H(JCS(x)); raw runtime data binds as is (upstream's
 * code, not its docs); absent runtime data is not checked.
 */
import { describe, expect, test } from 'vitest';
import { AttestationError } from './attestationError.ts';
import { expectedReportData } from './expectedReportData.ts';

describe('expectedReportData', () => {
  test('structured runtime data: JCS then sha384 by default', () => {
    const structured = { b: 1, a: 'test', c: { d: 'e' } };
    const result = expectedReportData({ structured });
    expect(Buffer.from(result.reportData!).toString('hex')).toBe(
      'e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3',
    );
    expect(result.runtimeDataClaims).toBe(structured);
  });

  test('primary runtime data vector', () => {
    const runtimeData = {
      'tee-pubkey': {
        kty: 'EC',
        crv: 'P-256',
        alg: 'ECDH-ES+A256KW',
        x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA',
        y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs',
      },
      nonce: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
      'additional-evidence': '',
    };
    expect(Buffer.from(expectedReportData({ structured: runtimeData }, 'sha384').reportData!).toString('hex')).toBe(
      '24ac8cc0cdfb9e30d6ff9274e30c4f8ba82d37265ddca1370175585c7e1cb160ea257f142495676a20ae74e32d005c90',
    );
  });

  test('sha256 and sha512 give digests of their length', () => {
    expect(expectedReportData({ structured: {} }, 'sha256').reportData).toHaveLength(32);
    expect(expectedReportData({ structured: {} }, 'sha512').reportData).toHaveLength(64);
  });

  test('raw runtime data is used as is, not hashed', () => {
    const raw = new Uint8Array([1, 2, 3]);
    expect(expectedReportData({ raw })).toEqual({ reportData: raw, runtimeDataClaims: null });
  });

  test('absent runtime data is not checked', () => {
    expect(expectedReportData(undefined)).toEqual({ reportData: undefined, runtimeDataClaims: null });
  });

  test.each(['md5', 'sha-384', 'SHA384', 'sm3'])('rejects hash algorithm %s', (algorithm) => {
    expect(() => expectedReportData({ structured: {} }, algorithm)).toThrowError(AttestationError);
  });
});
