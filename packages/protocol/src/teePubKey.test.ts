// Invariant: parseTeePubKey keeps exactly the kbs-types members (the server hashes the
// re-serialised key, so extra members must disappear) and rejects keys the KBS could never use.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { b64url } from './base64.ts';
import { ProtocolError } from './errors.ts';
import { parseTeePubKey, teePubKeyFromKey } from './teePubKey.ts';

const c32 = b64url.encode(Buffer.alloc(32, 1));
const c66 = b64url.encode(Buffer.alloc(66, 1));
const ec = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: c32, y: c32 };
const rsa = { kty: 'RSA', alg: 'RSA-OAEP-256', n: b64url.encode(Buffer.alloc(256, 0xc1)), e: 'AQAB' };
const akp = { kty: 'AKP', alg: 'ML-KEM-768+A192KW', pub: b64url.encode(Buffer.alloc(1184, 2)) };

describe('parseTeePubKey', () => {
  it.each<[string, unknown, unknown]>([
    ['EC P-256', ec, ec],
    ['EC P-521', { ...ec, crv: 'P-521', x: c66, y: c66 }, { ...ec, crv: 'P-521', x: c66, y: c66 }],
    ['EC on a curve the KBS cannot encrypt to is kept (JWE fails later, like upstream)', { ...ec, crv: 'P-384', x: b64url.encode(Buffer.alloc(48)), y: b64url.encode(Buffer.alloc(48)) }, { ...ec, crv: 'P-384', x: b64url.encode(Buffer.alloc(48)), y: b64url.encode(Buffer.alloc(48)) }],
    ['RSA', rsa, rsa],
    ['AKP', akp, akp],
    ['extra EC members dropped', { ...ec, use: 'enc', kid: '1', d: 'secret', n: 'x' }, ec],
    ['extra RSA members dropped', { ...rsa, x5c: ['a'], key_ops: ['wrapKey'] }, rsa],
  ])('accepts %s', (_name, input, expected) => {
    const parsed = parseTeePubKey(input);
    expect(parsed).toEqual(expected);
    expect(Object.keys(parsed).sort()).toEqual(Object.keys(expected as object).sort());
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', [ec]],
    ['a string', JSON.stringify(ec)],
    ['missing kty', { ...ec, kty: undefined }],
    ['unknown kty', { ...ec, kty: 'OKP' }],
    ['lowercase kty', { ...ec, kty: 'ec' }],
    ['EC missing crv', { ...ec, crv: undefined }],
    ['EC missing alg', { ...ec, alg: undefined }],
    ['EC missing y', { ...ec, y: undefined }],
    ['EC numeric x', { ...ec, x: 5 }],
    ['P-256 x of 31 bytes', { ...ec, x: b64url.encode(Buffer.alloc(31, 1)) }],
    ['P-256 y of 33 bytes', { ...ec, y: b64url.encode(Buffer.alloc(33, 1)) }],
    ['P-521 coordinates of 65 bytes', { ...ec, crv: 'P-521', x: b64url.encode(Buffer.alloc(65, 1)), y: c66 }],
    ['P-521 with P-256 coordinates', { ...ec, crv: 'P-521' }],
    ['padded x', { ...ec, x: `${b64url.encode(Buffer.alloc(31, 1))}=` }],
    ['standard-alphabet x', { ...ec, x: b64url.encode(Buffer.alloc(32, 0xff)).replace(/_/g, '/') }],
    ['RSA missing n', { ...rsa, n: undefined }],
    ['RSA empty e', { ...rsa, e: '' }],
    ['RSA missing alg', { ...rsa, alg: undefined }],
    ['AKP missing pub', { ...akp, pub: undefined }],
    ['AKP ML-KEM-768 key of the wrong size', { ...akp, pub: b64url.encode(Buffer.alloc(1183, 2)) }],
    ['members inherited from the prototype', Object.create(ec) as object],
  ])('rejects %s', (_name, input) => {
    expect(() => parseTeePubKey(input)).toThrow(ProtocolError);
  });
});

describe('teePubKeyFromKey', () => {
  it.each([
    ['prime256v1', 'P-256', 32],
    ['secp521r1', 'P-521', 66],
  ])('EC %s → %s JWK with %d-byte coordinates and exactly the kbs-types members', (namedCurve, crv, size) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    const key = teePubKeyFromKey(privateKey);
    expect(Object.keys(key)).toEqual(['kty', 'crv', 'alg', 'x', 'y']);
    expect(key).toMatchObject({ kty: 'EC', crv, alg: 'ECDH-ES+A256KW' });
    if (key.kty !== 'EC') throw new Error('unreachable');
    expect(b64url.decode(key.x)).toHaveLength(size);
    expect(teePubKeyFromKey(publicKey)).toEqual(key);
  });

  it('RSA → RSA-OAEP-256 JWK', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = teePubKeyFromKey(privateKey);
    expect(Object.keys(key)).toEqual(['kty', 'alg', 'n', 'e']);
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RSA-OAEP-256', e: 'AQAB' });
  });

  it.each([
    ['P-384', generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey],
    ['Ed25519', generateKeyPairSync('ed25519').privateKey],
  ])('rejects %s', (_name, key) => {
    expect(() => teePubKeyFromKey(key)).toThrow(ProtocolError);
  });
});
