/**
 * Invariant: the independent guest pieces (JCS digest, sample evidence, JWE decryption with the
 * Rust client's rebuilt AAD) reproduce the fixed vectors below before they are used to
 * judge the KBS.
 */
import { createECDH, createPrivateKey, createPublicKey, generateKeyPairSync, publicEncrypt, constants, randomBytes, createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { b64stdDecode, b64urlDecode, b64urlEncode } from './base64.ts';
import { concatKdf, decryptJwe, rustRebuiltAad } from './jwe.ts';
import { jcs } from './jcs.ts';
import { deviceRuntimeData, digest, primaryRuntimeData, sampleEvidence } from './runtimeData.ts';
import { teeKeyFromPrivate, teeKeyFromPem, teeKeyPem, generateTeeKey, type TeePubKeyJwk } from './teeKey.ts';

const vectorJwk: TeePubKeyJwk = {
  kty: 'EC',
  crv: 'P-256',
  alg: 'ECDH-ES+A256KW',
  x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA',
  y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs',
};
const vectorNonce = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

function p256PrivateKey(dHex: string) {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(dHex, 'hex'));
  const pub = ecdh.getPublicKey();
  return createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: b64urlEncode(Buffer.from(dHex, 'hex')),
      x: b64urlEncode(pub.subarray(1, 33)),
      y: b64urlEncode(pub.subarray(33, 65)),
    },
  });
}

describe('independent JCS and runtime-data digest (fixed vector)', () => {
  it('derives the vector public key from the vector private scalar', () => {
    const key = teeKeyFromPrivate(p256PrivateKey('45b230cf32333599ba58acfee0cb502c9ff86002ad707037a211296dc986806b'));
    expect(key.publicJwk).toEqual(vectorJwk);
    expect(JSON.stringify(key.publicJwk)).toBe(
      '{"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":"MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA","y":"1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs"}',
    );
  });

  it('builds the primary JCS string and its SHA-384 byte for byte', () => {
    const primary = primaryRuntimeData(vectorNonce, vectorJwk, '');
    expect(primary).toBe(
      '{"additional-evidence":"","nonce":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA","y":"1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs"}}',
    );
    const hash = digest(primary, 'sha384');
    expect(hash.toString('hex')).toBe(
      '24ac8cc0cdfb9e30d6ff9274e30c4f8ba82d37265ddca1370175585c7e1cb160ea257f142495676a20ae74e32d005c90',
    );
    expect(sampleEvidence(hash)).toEqual({ svn: '1', report_data: 'JKyMwM37njDW/5J04wxPi6gtNyZd3KE3AXVYXH4csWDqJX8UJJVnaiCudOMtAFyQ' });
  });

  it('builds the device digest without additional-evidence', () => {
    const device = deviceRuntimeData(vectorNonce, vectorJwk);
    expect(device.startsWith('{"nonce":')).toBe(true);
    expect(digest(device, 'sha384').toString('hex')).toBe(
      '90296af3cb94a661fdadb93f37cef4f9d075cc3a0cde20c5d6d1bc5f078cdb6f738aaa3958718d77aad01bdfb71b8f94',
    );
  });

  it.each([
    [{ b: 1, a: [true, null, 'x'] }, '{"a":[true,null,"x"],"b":1}'],
    [{ '\u00e9': 1, z: 2, A: 3 }, '{"A":3,"z":2,"\u00e9":1}'],
    [{ '\ud83d\ude00': 1, '\ufb33': 2 }, '{"\ud83d\ude00":1,"\ufb33":2}'],
    [{ n: 1e21, m: 0.1, k: -0 }, '{"k":0,"m":0.1,"n":1e+21}'],
    ['line\nbreak\u0001', '"line\\nbreak\\u0001"'],
  ])('canonicalises %j as RFC 8785 does', (input, expected) => {
    expect(jcs(input)).toBe(expected);
  });
});

describe('independent JWE decryption (fixed vector)', () => {
  const vectorResponse = {
    protected:
      'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJFQyIsIngiOiJkSU9ZdHdVZ3E5SU9HY3JYLXZjX01XRzhrbThSekxnYzdVNnNpZkRQWEZnIiwieSI6InI2Y2hONm44c0tTRE9wMHR1anVUXzQ4VGpXdHhFVmtFT3Y4aVl2VlBWWkkifX0',
    encrypted_key: 'IzS0m_c9JNNs_FDbyrRAKQuwOK_ifqjTFzIOQMyQ1-m0lkOYMPM-Uw',
    iv: 'AAECAwQFBgcICQoL',
    ciphertext: 'stkByFvbXfPzveSljyA',
    tag: '2x9MoJt7O2ZCFPACn6COeQ',
  };

  it('derives the vector KEK with the hand-written Concat KDF', () => {
    const z = Buffer.from('571d9b6daefadae8af45cb18a7e20fd179b446ea3072c4decef5742bb7b0d0ac', 'hex');
    expect(concatKdf(z, 'ECDH-ES+A256KW', 256).toString('hex')).toBe('c64c0771806fbdac418df031b562e782fbd43968b69838b040a5389d2869c919');
  });

  it('rebuilds the vector protected header byte for byte and decrypts the vector', () => {
    expect(rustRebuiltAad(vectorResponse.protected)).toBe(vectorResponse.protected);
    const key = p256PrivateKey('45b230cf32333599ba58acfee0cb502c9ff86002ad707037a211296dc986806b');
    const result = decryptJwe(vectorResponse, key);
    expect(result.plaintext.toString('utf8')).toBe('hello from kbs');
    expect(result.header.alg).toBe('ECDH-ES+A256KW');
  });

  it('notices a protected header that is not in the Rust client form', () => {
    const reordered = b64urlEncode(
      Buffer.from(JSON.stringify({ enc: 'A256GCM', alg: 'ECDH-ES+A256KW', epk: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' } })),
    );
    expect(rustRebuiltAad(reordered)).not.toBe(reordered);
    const key = p256PrivateKey('45b230cf32333599ba58acfee0cb502c9ff86002ad707037a211296dc986806b');
    expect(() => decryptJwe({ ...vectorResponse, tag: 'AAAAAAAAAAAAAAAAAAAAAA' }, key)).toThrow();
  });

  it('decrypts an RSA-OAEP-256 JWE built with node:crypto', () => {
    const key = generateTeeKey('RSA');
    const cek = randomBytes(32);
    const iv = randomBytes(12);
    const protectedB64 = b64urlEncode(Buffer.from('{"alg":"RSA-OAEP-256","enc":"A256GCM"}'));
    const cipher = createCipheriv('aes-256-gcm', cek, iv);
    cipher.setAAD(Buffer.from(protectedB64, 'ascii'));
    const ciphertext = Buffer.concat([cipher.update('rsa secret'), cipher.final()]);
    const encryptedKey = publicEncrypt(
      { key: createPublicKey(key.privateKey), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      cek,
    );
    const jwe = {
      protected: protectedB64,
      encrypted_key: b64urlEncode(encryptedKey),
      iv: b64urlEncode(iv),
      ciphertext: b64urlEncode(ciphertext),
      tag: b64urlEncode(cipher.getAuthTag()),
    };
    expect(decryptJwe(jwe, key.privateKey).plaintext.toString()).toBe('rsa secret');
  });
});

describe('independent TEE keys', () => {
  it.each(['P-256', 'P-521', 'RSA'] as const)('round-trips a %s key through the --tee-key-file PEM form', (kind) => {
    const key = generateTeeKey(kind);
    const pem = teeKeyPem(key);
    expect(pem).toContain(kind === 'RSA' ? 'BEGIN RSA PRIVATE KEY' : 'BEGIN PRIVATE KEY');
    expect(teeKeyFromPem(pem).publicJwk).toEqual(key.publicJwk);
    expect(Object.keys(key.publicJwk)).toEqual(kind === 'RSA' ? ['kty', 'alg', 'n', 'e'] : ['kty', 'crv', 'alg', 'x', 'y']);
  });

  it('rejects a P-384 key, which the Rust client cannot hold', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(() => teeKeyFromPrivate(privateKey)).toThrow();
  });
});

describe('strict base64', () => {
  it.each(['AA==', 'A', 'AB+/', 'AA A'])('b64url rejects %j', (text) => {
    expect(() => b64urlDecode(text)).toThrow();
  });
  it.each(['AA', 'AB', 'AA=', 'A'])('b64std rejects %j', (text) => {
    expect(() => b64stdDecode(text)).toThrow();
  });
});
