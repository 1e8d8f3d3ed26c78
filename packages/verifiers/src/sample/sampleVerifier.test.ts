/**
 * Invariant: the sample TEEs accept evidence only when the standard-base64 report_data equals
 * the expected runtime-data digest byte for byte, and emit exactly upstream's claim set.
 */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { VerificationError } from '../verificationError.ts';
import { rejection } from '../testing/verificationRejection.ts';
import type { Json, VerifierContext } from '../verifier.ts';
import { getVerifier, supportedTees } from '../registry.ts';
import { SUPPORTED_TEES } from '../supported.ts';
import { sampleDeviceVerifier } from './sampleDeviceVerifier.ts';
import { MAX_SAMPLE_FIELD_LENGTH } from './parseSampleEvidence.ts';
import { sampleVerifier } from './sampleVerifier.ts';

const context: VerifierContext = { now: () => new Date('2026-01-01T00:00:00Z'), collateral: {} };
const digest = new Uint8Array(createHash('sha384').update('runtime').digest());
const reportData = Buffer.from(digest).toString('base64');

describe('sampleVerifier', () => {
  test('emits upstream claims and class cpu when report_data matches', async () => {
    const result = await sampleVerifier.evaluate({ svn: '1', report_data: reportData }, { reportData: digest, initDataDigest: undefined }, context);
    expect(result).toEqual([
      { teeClass: 'cpu', claims: { svn: '1', report_data: reportData, launch_digest: 'abcde', platform_version: { major: 1, minor: 4 }, debug: false } },
    ]);
    expect(Object.keys(result[0]!.claims)).toEqual(['svn', 'report_data', 'launch_digest', 'platform_version', 'debug']);
  });

  test('adds init_data as standard base64 of the digest when init-data is given', async () => {
    const initDigest = new Uint8Array(createHash('sha256').update('init').digest());
    const [result] = await sampleVerifier.evaluate({ svn: '1', report_data: reportData }, { reportData: digest, initDataDigest: initDigest }, context);
    expect(result!.claims.init_data).toBe(Buffer.from(initDigest).toString('base64'));
  });

  test('does not check report_data when no runtime data was supplied', async () => {
    const [result] = await sampleVerifier.evaluate({ svn: '7' }, { reportData: undefined, initDataDigest: undefined }, context);
    expect(result!.claims.report_data).toBe('');
  });

  const padded = Buffer.concat([digest, Buffer.alloc(16)]).toString('base64');
  const truncated = Buffer.from(digest.subarray(0, 32)).toString('base64');
  const flipped = Buffer.from(digest.map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64');
  test.each<[string, Json, string, string]>([
    ['zero-padded digest', { svn: '1', report_data: padded }, 'verification_failed', 'sample.report_data'],
    ['truncated digest', { svn: '1', report_data: truncated }, 'verification_failed', 'sample.report_data'],
    ['one bit flipped', { svn: '1', report_data: flipped }, 'verification_failed', 'sample.report_data'],
    ['base64url alphabet', { svn: '1', report_data: reportData.replaceAll('+', '-').replaceAll('/', '_') + '-_' }, 'malformed_evidence', 'sample.report_data'],
    ['missing report_data', { svn: '1' }, 'verification_failed', 'sample.report_data'],
    ['numeric svn', { svn: 1, report_data: reportData }, 'malformed_evidence', 'sample.svn'],
    ['non-object evidence', [1, 2], 'malformed_evidence', 'sample.evidence'],
    ['report_data not a string', { svn: '1', report_data: 5 }, 'malformed_evidence', 'sample.report_data'],
    ['an svn of 1.9 MB (issue 8: it reached the token)', { svn: '9'.repeat(1_900_000), report_data: reportData }, 'malformed_evidence', 'sample.svn'],
    ['svn one character over the limit', { svn: '9'.repeat(MAX_SAMPLE_FIELD_LENGTH + 1), report_data: reportData }, 'malformed_evidence', 'sample.svn'],
    ['padded report_data', { svn: '1', report_data: `${reportData}${' '.repeat(MAX_SAMPLE_FIELD_LENGTH)}` }, 'malformed_evidence', 'sample.report_data'],
  ])('rejects %s', async (_name, evidence, code, check) => {
    const error = await rejection(sampleVerifier.evaluate(evidence, { reportData: digest, initDataDigest: undefined }, context));
    expect(error.code).toBe(code);
    expect(error.failures[0]?.check).toBe(check);
  });
});

describe('sampleDeviceVerifier', () => {
  test('emits svn and report_data only, class gpu, ignoring init-data', async () => {
    const result = await sampleDeviceVerifier.evaluate({ svn: '2', report_data: reportData, extra: true }, { reportData: digest, initDataDigest: digest }, context);
    expect(result).toEqual([{ teeClass: 'gpu', claims: { svn: '2', report_data: reportData } }]);
  });

  test('rejects a foreign digest', async () => {
    const other = new Uint8Array(createHash('sha384').update('other').digest());
    const error = await rejection(sampleDeviceVerifier.evaluate({ svn: '2', report_data: reportData }, { reportData: other, initDataDigest: undefined }, context));
    expect(error.code).toBe('verification_failed');
  });
});

describe('registry', () => {
  test('maps sample names to their verifiers', () => {
    expect(getVerifier('sample')).toBe(sampleVerifier);
    expect(getVerifier('sampledevice')).toBe(sampleDeviceVerifier);
    expect(supportedTees()).toContain('sample');
    // The list the config readers check against (supported.ts) is the registry's.
    expect(supportedTees()).toEqual([...SUPPORTED_TEES]);
  });

  test.each(['bogus', '', '__proto__', 'sev'])('rejects %j with a typed unsupported error', (tee) => {
    expect(() => getVerifier(tee)).toThrowError(VerificationError);
    try {
      getVerifier(tee);
    } catch (error) {
      expect((error as VerificationError).code).toBe('unsupported');
    }
  });
});
