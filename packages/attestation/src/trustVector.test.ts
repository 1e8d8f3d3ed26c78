/**
 * Invariant: trust_claims/extensions results are interpreted exactly like upstream (integer i8
 * wrap, subset allowed, empty rejected) except that hostile shapes are typed errors, never
 * crashes; the EAR status is the worst AR4SI tier.
 */
import { describe, expect, test } from 'vitest';
import { AttestationError } from './attestationError.ts';
import type { Json } from '@trustee/protocol';
import { parseExtensions, parseTrustClaims, statusOf, tierOf, zeroTrustVector, type EarStatus, type TrustVector } from './trustVector.ts';

describe('tierOf', () => {
  test.each<[number, EarStatus]>([
    [0, 'none'],
    [1, 'none'],
    [-1, 'none'],
    [2, 'affirming'],
    [-2, 'affirming'],
    [31, 'affirming'],
    [-32, 'affirming'],
    [32, 'warning'],
    [-33, 'warning'],
    [95, 'warning'],
    [-96, 'warning'],
    [96, 'contraindicated'],
    [-97, 'contraindicated'],
    [127, 'contraindicated'],
    [-128, 'contraindicated'],
  ])('%i → %s', (value, tier) => {
    expect(tierOf(value)).toBe(tier);
  });
});

describe('statusOf', () => {
  test.each<[TrustVector, EarStatus]>([
    [{}, 'none'],
    [zeroTrustVector(), 'none'],
    [{ hardware: 2, executables: 3, configuration: 2 }, 'affirming'],
    [{ hardware: 2, executables: 33, configuration: 2 }, 'warning'],
    [{ hardware: 97, executables: 3, configuration: 2 }, 'contraindicated'],
    [{ hardware: 2, executables: 33, configuration: 36, 'file-system': 0 }, 'warning'],
  ])('%j → %s', (vector, status) => {
    expect(statusOf(vector)).toBe(status);
  });
});

function failure(action: () => unknown): AttestationError {
  try {
    action();
  } catch (error) {
    if (error instanceof AttestationError) return error;
    throw error;
  }
  throw new Error('expected an AttestationError');
}

describe('parseTrustClaims', () => {
  test('accepts a subset and keeps only the claims set', () => {
    expect(parseTrustClaims({ hardware: 2, executables: 3 }, 'p')).toEqual({ hardware: 2, executables: 3 });
  });

  test.each<[number, number]>([
    [127, 127],
    [128, -128],
    [200, -56],
    [255, -1],
    [256, 0],
    [-129, 127],
    [-128, -128],
    [1000, -24],
  ])('casts %i to i8 %i like Rust "as i8"', (value, expected) => {
    expect(parseTrustClaims({ hardware: value }, 'p').hardware).toBe(expected);
  });

  test.each<[string, Json | undefined, string]>([
    ['undefined value', undefined, 'Trust claims is not an object'],
    ['string', '<undefined>', 'Trust claims is not an object'],
    ['array', [1], 'Trust claims is not an object'],
    ['null', null, 'Trust claims is not an object'],
    ['empty object', {}, 'At least one policy claim must be set.'],
    ['unknown claim', { hardwares: 2 }, 'unknown trust claim "hardwares"'],
    ['float value', { hardware: 2.5 }, 'must be an integer'],
    ['string value', { hardware: '2' }, 'must be an integer'],
    ['boolean value', { hardware: true }, 'must be an integer'],
    ['beyond i64', { hardware: 2 ** 64 }, 'must be an integer'],
    ['__proto__ claim', JSON.parse('{"__proto__": 2}') as Json, 'unknown trust claim'],
  ])('rejects %s', (_name, value, message) => {
    const error = failure(() => parseTrustClaims(value, 'default_cpu'));
    expect(error.code).toBe('invalid_policy_result');
    expect(error.message).toContain(message);
  });
});

describe('parseExtensions', () => {
  test('accepts name/key/value entries', () => {
    const value = [{ name: 'ear.trustee.identifiers', key: -18, value: { validated: {} } }];
    expect(parseExtensions(value, 'p')).toEqual(value);
  });

  test.each<[string, Json | undefined]>([
    ['undefined', undefined],
    ['object', { name: 'x' }],
    ['entry not an object', [1]],
    ['missing name', [{ key: 1, value: 1 }]],
    ['non-integer key', [{ name: 'x', key: 1.5, value: 1 }]],
    ['key beyond i32', [{ name: 'x', key: 2 ** 31, value: 1 }]],
    ['missing value', [{ name: 'x', key: 1 }]],
    ['duplicate name', [{ name: 'x', key: 1, value: 1 }, { name: 'x', key: 2, value: 1 }]],
    ['duplicate key', [{ name: 'x', key: 1, value: 1 }, { name: 'y', key: 1, value: 1 }]],
    ['reserved name', [{ name: 'ear.status', key: 1, value: 'affirming' }]],
  ])('rejects %s', (_name, value) => {
    expect(failure(() => parseExtensions(value, 'p')).code).toBe('invalid_policy_result');
  });
});
