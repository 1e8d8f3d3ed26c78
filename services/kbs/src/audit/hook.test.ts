/**
 * Invariant: the audit hook never turns a refused request into a 500 — the digest of hostile
 * evidence (nested deeper than JSON.stringify can recurse) is still a digest.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { evidenceDigest } from './hook.ts';

describe('evidenceDigest', () => {
  it('hashes text as sent and JSON as serialised', () => {
    expect(evidenceDigest('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(evidenceDigest({ svn: '1' })).toBe(createHash('sha256').update('{"svn":"1"}').digest('hex'));
  });

  it('answers a digest for evidence nested 200 000 levels deep instead of throwing', () => {
    const deep: unknown = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(evidenceDigest(deep)).toMatch(/^[0-9a-f]{64}$/);
  });
});
