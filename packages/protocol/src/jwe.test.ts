// Invariant: a resource encrypted by the KBS decrypts with the TEE key for every supported key
// type, and the protected header bytes are exactly what the Rust client rebuilds,
// so the fixed JWE vector below reproduces byte for byte.
import { constants, createECDH, createPrivateKey, generateKeyPairSync, privateDecrypt, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { b64url } from './base64.ts';
import { JweError, ProtocolError } from './errors.ts';
import { decryptJweResponse, encryptForTeeKey, encryptForTeeKeyWith } from './jwe.ts';
import type { JweResponse } from './messages.ts';
import { parseTeePubKey, teePubKeyFromKey, type TeePubKey } from './teePubKey.ts';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

const VECTOR_D = '45b230cf32333599ba58acfee0cb502c9ff86002ad707037a211296dc986806b';
const VECTOR_KEY: TeePubKey = {
  kty: 'EC',
  crv: 'P-256',
  alg: 'ECDH-ES+A256KW',
  x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA',
  y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs',
};
const VECTOR_RESPONSE: JweResponse = {
  protected:
    'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJFQyIsIngiOiJkSU9ZdHdVZ3E5SU9HY3JYLXZjX01XRzhrbThSekxnYzdVNnNpZkRQWEZnIiwieSI6InI2Y2hONm44c0tTRE9wMHR1anVUXzQ4VGpXdHhFVmtFT3Y4aVl2VlBWWkkifX0',
  encrypted_key: 'IzS0m_c9JNNs_FDbyrRAKQuwOK_ifqjTFzIOQMyQ1-m0lkOYMPM-Uw',
  iv: 'AAECAwQFBgcICQoL',
  ciphertext: 'stkByFvbXfPzveSljyA',
  tag: '2x9MoJt7O2ZCFPACn6COeQ',
};

function vectorPrivateKey(): KeyObject {
  return createPrivateKey({ key: { ...VECTOR_KEY, d: b64url.encode(hex(VECTOR_D)) }, format: 'jwk' });
}

function headerOf(jwe: JweResponse): string {
  return Buffer.from(b64url.decode(jwe.protected)).toString('utf8');
}

describe('fixed JWE vector', () => {
  it('encrypts byte-exactly with the vector ephemeral key, CEK and IV', () => {
    const jwe = encryptForTeeKeyWith(utf8('hello from kbs'), VECTOR_KEY, {
      ephemeralPrivateKey: hex('a0d30e1dad1856ad1105c2883c93a29819455ac048fcbeede463ebcc03429250'),
      cek: hex('101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f'),
      iv: hex('000102030405060708090a0b'),
    });
    expect(jwe).toEqual(VECTOR_RESPONSE);
    expect(JSON.stringify(jwe)).toBe(JSON.stringify(VECTOR_RESPONSE));
    expect(headerOf(jwe)).toBe(
      '{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"crv":"P-256","kty":"EC","x":"dIOYtwUgq9IOGcrX-vc_MWG8km8RzLgc7U6sifDPXFg","y":"r6chN6n8sKSDOp0tujuT_48TjWtxEVkEOv8iYvVPVZI"}}',
    );
  });

  it('decrypts the vector with the TEE private key', () => {
    expect(Buffer.from(decryptJweResponse(VECTOR_RESPONSE, vectorPrivateKey())).toString('utf8')).toBe('hello from kbs');
  });

  it.each([
    ['ciphertext', { ...VECTOR_RESPONSE, ciphertext: 'stkByFvbXfPzveSljyE' }],
    ['tag', { ...VECTOR_RESPONSE, tag: '2x9MoJt7O2ZCFPACn6COeA' }],
    ['iv', { ...VECTOR_RESPONSE, iv: 'AAECAwQFBgcICQoM' }],
    ['encrypted key', { ...VECTOR_RESPONSE, encrypted_key: 'IzS0m_c9JNNs_FDbyrRAKQuwOK_ifqjTFzIOQMyQ1-m0lkOYMPM-Uh' }],
    ['protected header (AAD)', { ...VECTOR_RESPONSE, protected: b64url.encode(utf8(headerOf(VECTOR_RESPONSE).replace('"A256GCM",', '"A256GCM" ,'))) }],
  ])('rejects a tampered %s', (_what, tampered) => {
    expect(() => decryptJweResponse(tampered, vectorPrivateKey())).toThrow(JweError);
  });
});

describe('round trips for every supported key type', () => {
  const plaintext = utf8('a secret resource \u00e9\u{1f511}');

  it.each([
    ['EC P-256', 'prime256v1', 32],
    ['EC P-521', 'secp521r1', 66],
  ])('%s', (_name, namedCurve, size) => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve });
    const key = teePubKeyFromKey(privateKey);
    expect(parseTeePubKey(key)).toEqual(key);
    const jwe = encryptForTeeKey(plaintext, key);
    const header = JSON.parse(headerOf(jwe)) as { epk: { crv: string; x: string; y: string } };
    expect(Object.keys(header)).toEqual(['alg', 'enc', 'epk']);
    expect(Object.keys(header.epk)).toEqual(['crv', 'kty', 'x', 'y']);
    expect(header.epk.crv).toBe(key.kty === 'EC' ? key.crv : '');
    expect(b64url.decode(header.epk.x)).toHaveLength(size);
    expect(b64url.decode(header.epk.y)).toHaveLength(size);
    expect(b64url.decode(jwe.encrypted_key)).toHaveLength(40);
    expect(decryptJweResponse(jwe, privateKey)).toEqual(plaintext);
  });

  it('RSA-OAEP-256', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = teePubKeyFromKey(privateKey);
    expect(key.alg).toBe('RSA-OAEP-256');
    const jwe = encryptForTeeKey(plaintext, key);
    expect(headerOf(jwe)).toBe('{"alg":"RSA-OAEP-256","enc":"A256GCM"}');
    expect(decryptJweResponse(jwe, privateKey)).toEqual(plaintext);
  });

  it('RSA1_5: encrypts a PKCS#1 v1.5 block; client-side decryption is refused on Node 20', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key: TeePubKey = { ...teePubKeyFromKey(privateKey), alg: 'RSA1_5' } as TeePubKey;
    const cek = Buffer.alloc(32, 7);
    const jwe = encryptForTeeKeyWith(plaintext, key, { cek });
    expect(headerOf(jwe)).toBe('{"alg":"RSA1_5","enc":"A256GCM"}');
    // Node refuses PKCS#1 v1.5 private decryption, so check the EME-PKCS1-v1_5 block by hand.
    const block = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, b64url.decode(jwe.encrypted_key));
    expect(block[0]).toBe(0);
    expect(block[1]).toBe(2);
    const separator = block.indexOf(0, 2);
    expect(separator).toBe(block.length - 33);
    expect(block.subarray(2, separator).includes(0)).toBe(false);
    expect(block.subarray(separator + 1)).toEqual(cek);
    expect(() => decryptJweResponse(jwe, privateKey)).toThrow(/RSA1_5/);
  });
});

describe('unsupported keys are JweErrors', () => {
  const p256 = teePubKeyFromKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'jwk' });
  const rsa = teePubKeyFromKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);

  it.each<[string, TeePubKey]>([
    ['EC with alg ECDH-ES', { ...p256, alg: 'ECDH-ES' } as TeePubKey],
    ['EC P-384', { kty: 'EC', crv: 'P-384', alg: 'ECDH-ES+A256KW', x: String(p384.x), y: String(p384.y) }],
    ['EC point not on the curve', { ...p256, y: b64url.encode(Buffer.alloc(32, 1)) } as TeePubKey],
    ['EC coordinate too short', { ...p256, x: b64url.encode(Buffer.alloc(31, 1)) } as TeePubKey],
    ['RSA with alg RSA-OAEP', { ...rsa, alg: 'RSA-OAEP' } as TeePubKey],
    ['RSA with a garbage modulus', { ...rsa, n: 'AA' } as TeePubKey],
    ['AKP ML-KEM-768', { kty: 'AKP', alg: 'ML-KEM-768+A192KW', pub: b64url.encode(Buffer.alloc(1184, 1)) }],
  ])('%s', (_name, key) => {
    expect(() => encryptForTeeKey(utf8('x'), key)).toThrow(JweError);
  });

  it('JweError is a ProtocolError', () => {
    expect(new JweError('x')).toBeInstanceOf(ProtocolError);
  });
});

describe('decryption rejects malformed responses', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const good = encryptForTeeKey(utf8('payload'), teePubKeyFromKey(privateKey));
  const header = JSON.parse(headerOf(good)) as Record<string, unknown>;
  const withHeader = (patch: Record<string, unknown>): JweResponse => ({ ...good, protected: b64url.encode(utf8(JSON.stringify({ ...header, ...patch }))) });

  it.each<[string, JweResponse]>([
    ['enc A128GCM', withHeader({ enc: 'A128GCM' })],
    ['alg dir', withHeader({ alg: 'dir' })],
    ['alg RSA-OAEP-256 for an EC key', withHeader({ alg: 'RSA-OAEP-256' })],
    ['epk on another curve', withHeader({ epk: { ...(header.epk as object), crv: 'P-521' } })],
    ['no epk', withHeader({ epk: undefined })],
    ['padded base64url', { ...good, iv: `${good.iv}=` }],
    ['short tag', { ...good, tag: good.tag.slice(0, 20) }],
    ['protected not JSON', { ...good, protected: b64url.encode(utf8('not json')) }],
  ])('%s', (_name, jwe) => {
    expect(() => decryptJweResponse(jwe, privateKey)).toThrow(JweError);
  });

  it('a response for another key fails the key unwrap', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    expect(() => decryptJweResponse(good, other)).toThrow(JweError);
  });

  it('the ephemeral key differs between encryptions', () => {
    const key = teePubKeyFromKey(privateKey);
    expect(encryptForTeeKey(utf8('a'), key).protected).not.toBe(encryptForTeeKey(utf8('a'), key).protected);
    // Sanity: the vector's ephemeral key really is the one in the header.
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(hex('a0d30e1dad1856ad1105c2883c93a29819455ac048fcbeede463ebcc03429250'));
    expect(b64url.encode(ecdh.getPublicKey().subarray(1, 33))).toBe('dIOYtwUgq9IOGcrX-vc_MWG8km8RzLgc7U6sifDPXFg');
  });
});
