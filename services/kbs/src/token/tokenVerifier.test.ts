/**
 * Invariant: a token is accepted only when its signature verifies with a key the KBS trusts —
 * a header JWK vouched for by an x5c chain to trusted_certs_paths (or any header JWK with
 * insecure_header_jwk), or a kid from trusted_jwk_sets — with the JWK's own alg, and an exp no
 * more than 60 s in the past. The TEE key is found at the first JSON pointer present.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as x509 from '@peculiar/x509';
import { CompactSign, type CompactJWSHeaderParameters, type JWK } from 'jose';
import { beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '@trustee/config';
import type { TrusteeError } from '@trustee/errors';
import type { JsonObject } from '@trustee/protocol';
import { TokenError } from './tokenError.ts';
import { createTokenVerifier, resolvePointer, type TokenVerifier, type TokenVerifierConfig } from './tokenVerifier.ts';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const subtle = webcrypto.subtle;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const NOW = new Date('2026-06-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const DAY = 24 * 3600 * 1000;

interface Identity {
  keys: CryptoKeyPair;
  jwk: JWK;
  cert: x509.X509Certificate;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function publicJwk(keys: CryptoKeyPair, alg = 'ES256'): Promise<JWK> {
  const { kty, crv, x, y } = (await subtle.exportKey('jwk', keys.publicKey)) as JWK;
  return { kty, crv, alg, x, y } as JWK;
}

async function ca(name: string, validity: { notBefore: Date; notAfter: Date } = { notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + 365 * DAY) }): Promise<Identity> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    ...validity,
    signingAlgorithm: EC,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, 2, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return { keys, jwk: await publicJwk(keys), cert };
}

async function issued(name: string, issuer: Identity, options: { isCa?: boolean; notBefore?: Date; notAfter?: Date; keys?: CryptoKeyPair; extensions?: x509.Extension[] } = {}): Promise<Identity> {
  const keys = options.keys ?? (await keyPair());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: String(Math.floor(Math.random() * 1e9)),
    subject: `CN=${name}`,
    issuer: issuer.cert.subject,
    notBefore: options.notBefore ?? new Date(NOW.getTime() - DAY),
    notAfter: options.notAfter ?? new Date(NOW.getTime() + 30 * DAY),
    signingAlgorithm: EC,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions: options.extensions ?? (options.isCa ? [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)] : []),
  });
  return { keys, jwk: await publicJwk(keys), cert };
}

const b64 = (cert: x509.X509Certificate): string => Buffer.from(cert.rawData).toString('base64');

async function sign(signingKey: CryptoKey, header: CompactJWSHeaderParameters, payload: JsonObject): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header).sign(signingKey);
}

const claims = (exp: number | null = NOW_S + 300): JsonObject => ({ iat: NOW_S, ...(exp === null ? {} : { exp }), iss: 'test' });

const dir = mkdtempSync(join(tmpdir(), 'token-verifier-'));
function writeTemp(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const base: TokenVerifierConfig = { trustedCertsPaths: [], trustedJwkSets: [], extraTeekeyPaths: [], insecureHeaderJwk: false };

let root: Identity;
let intermediate: Identity;
let leaf: Identity;
let otherRoot: Identity;
let rootPath: string;
let intermediatePath: string;
let leafPath: string;
let otherRootPath: string;
let jwksPath: string;
let jwksKey: CryptoKeyPair;

beforeAll(async () => {
  root = await ca('Trustee Test Root');
  intermediate = await issued('Trustee Test Intermediate', root, { isCa: true });
  leaf = await issued('AS signer', intermediate);
  otherRoot = await ca('Foreign Root');
  rootPath = writeTemp('root.pem', root.cert.toString('pem'));
  intermediatePath = writeTemp('intermediate.pem', intermediate.cert.toString('pem'));
  leafPath = writeTemp('leaf.pem', leaf.cert.toString('pem'));
  otherRootPath = writeTemp('other.pem', otherRoot.cert.toString('pem'));
  jwksKey = await keyPair();
  jwksPath = writeTemp('jwks.json', JSON.stringify({ keys: [{ ...(await publicJwk(jwksKey)), kid: 'key-1' }, { kty: 'EC', kid: 'no-alg', crv: 'P-256', x: (await publicJwk(jwksKey)).x, y: (await publicJwk(jwksKey)).y }] }));
});

async function verifier(config: Partial<TokenVerifierConfig>, fetch?: Parameters<typeof createTokenVerifier>[1] extends infer D ? (D extends { fetch?: infer F } ? F : never) : never): Promise<TokenVerifier> {
  return createTokenVerifier({ ...base, ...config }, { now: () => NOW, ...(fetch === undefined ? {} : { fetch }) });
}

async function rejection(promise: Promise<unknown>): Promise<TrusteeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenError || error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a TokenError or ConfigError');
}

function x5cHeader(identity: Identity, chain: x509.X509Certificate[]): CompactJWSHeaderParameters {
  return { typ: 'JWT', alg: 'ES256', jwk: { ...identity.jwk, x5c: chain.map(b64) } };
}

describe('createTokenVerifier: accepted tokens', () => {
  test('insecure_header_jwk trusts the header key', async () => {
    const token = await sign(leaf.keys.privateKey, { typ: 'JWT', alg: 'ES256', jwk: leaf.jwk }, claims());
    expect(await (await verifier({ insecureHeaderJwk: true })).verify(token)).toEqual(claims());
  });

  test.each<[string, () => string[], () => x509.X509Certificate[]]>([
    ['root trusted, intermediate in x5c', () => [rootPath], () => [leaf.cert, intermediate.cert]],
    ['intermediate (the issuer CA) trusted', () => [intermediatePath], () => [leaf.cert]],
    ['leaf itself trusted', () => [leafPath], () => [leaf.cert]],
    ['one of several trusted files', () => [otherRootPath, rootPath], () => [leaf.cert, intermediate.cert]],
  ])('x5c chain: %s', async (_name, trusted, chain) => {
    const token = await sign(leaf.keys.privateKey, x5cHeader(leaf, chain()), claims());
    expect(await (await verifier({ trustedCertsPaths: trusted() })).verify(token)).toMatchObject({ iss: 'test' });
  });

  test('exp exactly 60 s in the past is still accepted', async () => {
    const token = await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, claims(NOW_S - 60));
    await (await verifier({ insecureHeaderJwk: true })).verify(token);
  });

  test.each<[string, () => string]>([
    ['plain path', () => jwksPath],
    ['file:// URL', () => pathToFileURL(jwksPath).href],
  ])('trusted_jwk_sets by kid: %s', async (_name, location) => {
    const token = await sign(jwksKey.privateKey, { alg: 'ES256', kid: 'key-1' }, claims());
    await (await verifier({ trustedJwkSets: [location()] })).verify(token);
  });

  test('https JWK set through OpenID discovery', async () => {
    const requested: string[] = [];
    const jwks = JSON.stringify({ keys: [{ ...(await publicJwk(jwksKey)), kid: 'key-1' }] });
    const fetch = async (url: string): Promise<Response> => {
      requested.push(url);
      if (url === 'https://issuer.example') return new Response('<html>', { status: 200 });
      if (url === 'https://issuer.example/.well-known/openid-configuration') return Response.json({ jwks_uri: 'https://issuer.example/keys' });
      if (url === 'https://issuer.example/keys') return new Response(jwks);
      return new Response('', { status: 404 });
    };
    const token = await sign(jwksKey.privateKey, { alg: 'ES256', kid: 'key-1' }, claims());
    await (await verifier({ trustedJwkSets: ['https://issuer.example'] }, fetch)).verify(token);
    expect(requested).toEqual(['https://issuer.example', 'https://issuer.example/.well-known/openid-configuration', 'https://issuer.example/keys']);
  });

  test('RSA PS384 key from a JWK set uses the JWK alg', async () => {
    const rsa = (await subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const { kty, n, e } = (await subtle.exportKey('jwk', rsa.publicKey)) as JWK;
    const path = writeTemp('rsa.json', JSON.stringify({ keys: [{ kty, n, e, alg: 'PS384', kid: 'rsa' }] }));
    const token = await sign(rsa.privateKey, { alg: 'PS384', kid: 'rsa' }, claims());
    await (await verifier({ trustedJwkSets: [path] })).verify(token);
  });
});

describe('createTokenVerifier: rejected tokens', () => {
  test.each<[string, () => Promise<{ token: string; config: Partial<TokenVerifierConfig> }>, string]>([
    [
      'forged signature (payload swapped)',
      async () => {
        const token = await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, claims());
        const [h, , s] = token.split('.');
        const forged = Buffer.from(JSON.stringify({ ...claims(), iss: 'evil' })).toString('base64url');
        return { token: `${h}.${forged}.${s}`, config: { insecureHeaderJwk: true } };
      },
      'signature verification failed',
    ],
    ...(
      [
        ['ES256 signature in DER form', (t: string) => t.replace(/[^.]+$/, Buffer.concat([Buffer.from([0x30, 0x44, 0x02, 0x20]), Buffer.alloc(32, 1), Buffer.from([0x02, 0x20]), Buffer.alloc(32, 1)]).toString('base64url'))],
        ['ES256 signature truncated', (t: string) => t.slice(0, -4)],
        // The second-to-last character carries six signature bits; it is always replaced by a different one.
        ['ES256 signature bit flipped', (t: string) => `${t.slice(0, -2)}${t.at(-2) === 'A' ? 'B' : 'A'}${t.slice(-1)}`],
        ['ES256 signature with base64 padding', (t: string) => `${t}==`],
        ['empty signature', (t: string) => t.replace(/[^.]+$/, '')],
      ] as Array<[string, (token: string) => string]>
    ).map(([name, tamper]): [string, () => Promise<{ token: string; config: Partial<TokenVerifierConfig> }>, string] => [
      name,
      async () => ({ token: tamper(await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, claims())), config: { insecureHeaderJwk: true } }),
      'signature verification failed',
    ]),
    ['four segments', async () => ({ token: `${await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, claims())}.AAAA`, config: { insecureHeaderJwk: true } }), 'token header'],
    [
      'ES256 with an unknown crit extension',
      async () => {
        // jose refuses to produce it, so the JWS is assembled here.
        const input = `${Buffer.from(JSON.stringify({ alg: 'ES256', jwk: leaf.jwk, crit: ['x-unknown'], 'x-unknown': 1 })).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}`;
        const signature = Buffer.from(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, leaf.keys.privateKey, Buffer.from(input))).toString('base64url');
        return { token: `${input}.${signature}`, config: { insecureHeaderJwk: true } };
      },
      'signature verification failed',
    ],
    ['expired (61 s past exp)', async () => ({ token: await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, claims(NOW_S - 61)), config: { insecureHeaderJwk: true } }), 'token expired'],
    ['no exp', async () => ({ token: await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, claims(null)), config: { insecureHeaderJwk: true } }), 'no numeric exp'],
    [
      'foreign signer (header jwk of another key)',
      async () => ({ token: await sign(otherRoot.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, claims()), config: { insecureHeaderJwk: true } }),
      'signature verification failed',
    ],
    [
      'x5c chain not trusted',
      async () => ({ token: await sign(leaf.keys.privateKey, x5cHeader(leaf, [leaf.cert, intermediate.cert]), claims()), config: { trustedCertsPaths: [otherRootPath] } }),
      'x5c chain is not trusted',
    ],
    [
      'x5c chain missing its intermediate',
      async () => ({ token: await sign(leaf.keys.privateKey, x5cHeader(leaf, [leaf.cert]), claims()), config: { trustedCertsPaths: [rootPath] } }),
      'x5c chain is not trusted',
    ],
    [
      'jwk / x5c leaf mismatch',
      async () => ({ token: await sign(otherRoot.keys.privateKey, { alg: 'ES256', jwk: { ...otherRoot.jwk, x5c: [b64(leaf.cert), b64(intermediate.cert)] } }, claims()), config: { trustedCertsPaths: [rootPath] } }),
      'does not certify the header jwk',
    ],
    [
      'header jwk without x5c and without insecure_header_jwk',
      async () => ({ token: await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, claims()), config: { trustedCertsPaths: [rootPath] } }),
      'no x5c chain',
    ],
    [
      'header jwk with only JWK sets configured',
      async () => ({ token: await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, claims()), config: { trustedJwkSets: [jwksPath] } }),
      'no trusted_certs_paths',
    ],
    [
      'missing alg on the JWK',
      async () => {
        const { alg: _alg, ...withoutAlg } = leaf.jwk;
        return { token: await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: withoutAlg }, claims()), config: { insecureHeaderJwk: true } };
      },
      'carries no alg',
    ],
    ['missing alg on a JWK set key', async () => ({ token: await sign(jwksKey.privateKey, { alg: 'ES256', kid: 'no-alg' }, claims()), config: { trustedJwkSets: [jwksPath] } }), 'carries no alg'],
    ['kid not found', async () => ({ token: await sign(jwksKey.privateKey, { alg: 'ES256', kid: 'key-2' }, claims()), config: { trustedJwkSets: [jwksPath] } }), 'is not in any trusted JWK set'],
    ['neither jwk nor kid', async () => ({ token: await sign(jwksKey.privateKey, { alg: 'ES256' }, claims()), config: { trustedJwkSets: [jwksPath] } }), 'neither a header jwk nor a kid'],
    [
      'header alg differs from the JWK alg',
      async () => {
        const es384 = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as CryptoKeyPair;
        const { kty, crv, x, y } = (await subtle.exportKey('jwk', es384.publicKey)) as JWK;
        return { token: await sign(es384.privateKey, { alg: 'ES384', jwk: { kty, crv, x, y, alg: 'ES256' } as JWK }, claims()), config: { insecureHeaderJwk: true } };
      },
      'cannot be used with ES256',
    ],
    [
      'leaf certificate expired',
      async () => {
        const old = await issued('old signer', root, { notBefore: new Date(NOW.getTime() - 10 * DAY), notAfter: new Date(NOW.getTime() - DAY) });
        return { token: await sign(old.keys.privateKey, x5cHeader(old, [old.cert]), claims()), config: { trustedCertsPaths: [rootPath] } };
      },
      'expired at',
    ],
    [
      'leaf certificate not yet valid',
      async () => {
        const future = await issued('future signer', root, { notBefore: new Date(NOW.getTime() + DAY), notAfter: new Date(NOW.getTime() + 10 * DAY) });
        return { token: await sign(future.keys.privateKey, x5cHeader(future, [future.cert]), claims()), config: { trustedCertsPaths: [rootPath] } };
      },
      'not valid before',
    ],
    [
      'issuer that is not a CA',
      async () => {
        const notCa = await issued('not a CA', root);
        const child = await issued('child', notCa);
        return { token: await sign(child.keys.privateKey, x5cHeader(child, [child.cert, notCa.cert]), claims()), config: { trustedCertsPaths: [rootPath] } };
      },
      'x5c chain is not trusted',
    ],
    ['garbage token', async () => ({ token: 'a.b.c', config: { insecureHeaderJwk: true } }), 'token header'],
    ['alg none', async () => ({ token: `${Buffer.from('{"alg":"none","jwk":{}}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`, config: { insecureHeaderJwk: true } }), 'carries no alg'],
  ])('%s', async (_name, build, message) => {
    const { token, config } = await build();
    const error = await rejection((await verifier(config)).verify(token));
    expect(error.code).toBe('token_invalid');
    expect(error.message).toContain(message);
  });
});

describe('createTokenVerifier: verified x5c chains are cached only within their validity', () => {
  test('a chain accepted once is refused after its leaf expires, and a changed chain is verified afresh', async () => {
    let now = NOW;
    const shortLived = await issued('short-lived signer', intermediate, { notAfter: new Date(NOW.getTime() + DAY) });
    const cached = await createTokenVerifier({ ...base, trustedCertsPaths: [rootPath] }, { now: () => now });
    const token = (exp: number): Promise<string> => sign(shortLived.keys.privateKey, x5cHeader(shortLived, [shortLived.cert, intermediate.cert]), claims(exp));
    expect((await cached.verify(await token(NOW_S + 300))).iss).toBe('test');
    expect((await cached.verify(await token(NOW_S + 301))).iss).toBe('test');

    now = new Date(NOW.getTime() + 2 * DAY);
    const expired = await rejection(cached.verify(await token(Math.floor(now.getTime() / 1000) + 300)));
    expect(expired.message).toContain('expired at');

    now = NOW;
    const withoutIntermediate = sign(shortLived.keys.privateKey, x5cHeader(shortLived, [shortLived.cert]), claims());
    expect((await rejection(cached.verify(await withoutIntermediate))).message).toContain('x5c chain is not trusted');
    const otherKey = sign(leaf.keys.privateKey, { typ: 'JWT', alg: 'ES256', jwk: { ...leaf.jwk, x5c: [b64(shortLived.cert), b64(intermediate.cert)] } }, claims());
    expect((await rejection(cached.verify(await otherKey))).message).toContain('does not certify the header jwk');
  });
});

describe('createTokenVerifier: a remembered header still needs a valid signature and valid claims', () => {
  test('new tokens under an accepted header verify; a forged signature, an altered payload or an expired token under it do not', async () => {
    const verifier = await createTokenVerifier({ ...base, trustedCertsPaths: [rootPath] }, { now: () => NOW });
    const header = x5cHeader(leaf, [leaf.cert, intermediate.cert]);
    const first = await sign(leaf.keys.privateKey, header, claims());
    const second = await sign(leaf.keys.privateKey, header, { ...claims(), jti: 'second' });
    expect((await verifier.verify(first)).iss).toBe('test');
    expect((await verifier.verify(second)).jti).toBe('second');
    // Same header bytes, signed by a key the header does not name.
    const forged = await sign(otherRoot.keys.privateKey, header, claims());
    expect(forged.split('.')[0]).toBe(first.split('.')[0]);
    expect((await rejection(verifier.verify(forged))).message).toContain('signature verification failed');
    const [h, , sig] = first.split('.');
    const altered = `${h}.${Buffer.from(JSON.stringify({ ...claims(), iss: 'mallory' })).toString('base64url')}.${sig}`;
    expect((await rejection(verifier.verify(altered))).message).toContain('signature verification failed');
    const stale = await sign(leaf.keys.privateKey, header, claims(NOW_S - 3600));
    expect((await rejection(verifier.verify(stale))).message).toBe('token expired');
  });
});

describe('createTokenVerifier: a token verified once is re-checked for time on every use', () => {
  test('the same token text is refused once exp has passed, or once its x5c leaf has expired', async () => {
    let now = NOW;
    const shortLived = await issued('short-lived signer 2', intermediate, { notAfter: new Date(NOW.getTime() + DAY) });
    const cached = await createTokenVerifier({ ...base, trustedCertsPaths: [rootPath] }, { now: () => now });
    const shortToken = await sign(shortLived.keys.privateKey, x5cHeader(shortLived, [shortLived.cert, intermediate.cert]), claims(NOW_S + 300));
    const longToken = await sign(shortLived.keys.privateKey, x5cHeader(shortLived, [shortLived.cert, intermediate.cert]), claims(NOW_S + 10 * 24 * 3600));
    const first = await cached.verify(shortToken);
    expect(await cached.verify(shortToken)).toEqual(first);
    expect(Object.isFrozen(first)).toBe(true);
    await cached.verify(longToken);

    now = new Date(NOW.getTime() + 361_000);
    expect((await rejection(cached.verify(shortToken))).message).toBe('token expired');
    now = new Date(NOW.getTime() + 2 * DAY);
    expect((await rejection(cached.verify(longToken))).message).toContain('expired at');
  });
});

describe('createTokenVerifier: configuration', () => {
  test('nothing trusted and insecure_header_jwk false is a startup error', async () => {
    const error = await rejection(verifier({}));
    expect(error.code).toBe('invalid_config');
  });

  test.each<[string, Partial<TokenVerifierConfig>]>([
    ['unreadable certificate file', { trustedCertsPaths: ['/nonexistent.pem'] }],
    ['file without certificates', { trustedCertsPaths: [writeTemp('empty.pem', 'nothing')] }],
    ['JWK set that is not one', { trustedJwkSets: [writeTemp('bad.json', '{"k": 1}')] }],
    ['extra_teekey_paths entry that is not a pointer', { insecureHeaderJwk: true, extraTeekeyPaths: ['tee-pubkey'] }],
    ['plain http JWK set', { trustedJwkSets: ['http://issuer.example/jwks'] }],
  ])('%s is a startup error', async (_name, config) => {
    const error = await rejection(verifier(config));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('invalid_config');
  });
});

describe('extractTeePubKey', () => {
  const key = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA', y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs' };
  const other = { kty: 'RSA', alg: 'RSA-OAEP-256', n: 'AQAB', e: 'AQAB' };
  const ear = { submods: { cpu0: { 'ear.veraison.annotated-evidence': { runtime_data_claims: { 'tee-pubkey': key } } } } };

  test.each<[string, JsonObject, string[], unknown]>([
    ['EAR location', ear, [], key],
    ['Intel TA runtime data first', { ...ear, tdx: { attester_runtime_data: { 'tee-pubkey': other } } }, [], other],
    ['Intel TA user data', { tdx: { attester_user_data: { 'tee-pubkey': other } }, 'tee-pubkey': key }, [], other],
    ['legacy simple token', { customized_claims: { runtime_data: { 'tee-pubkey': other } }, ...ear }, [], other],
    ['generic top-level', { 'tee-pubkey': key }, [], key],
    ['extra path wins', { ...ear, custom: { k: other } }, ['/custom/k'], other],
    ['absent extra path falls through', ear, ['/missing'], key],
    ['nothing present', { submods: {} }, [], undefined],
  ])('%s', async (_name, document, extra, expected) => {
    const v = await verifier({ insecureHeaderJwk: true, extraTeekeyPaths: extra });
    expect(v.extractTeePubKey(document)).toEqual(expected);
  });

  test('the first present value must parse; members outside kbs-types are dropped', async () => {
    const v = await verifier({ insecureHeaderJwk: true });
    expect(v.extractTeePubKey({ 'tee-pubkey': { ...key, kid: 'dropped' } })).toEqual(key);
    const error = (() => {
      try {
        v.extractTeePubKey({ submods: { cpu0: { 'ear.veraison.annotated-evidence': { runtime_data_claims: { 'tee-pubkey': 'nope' } } } }, 'tee-pubkey': key });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).code).toBe('tee_pubkey_invalid');
  });

  test('resolvePointer follows RFC 6901 escapes and array indices', () => {
    expect(resolvePointer({ 'a/b': { '~k': [1, 2] } }, '/a~1b/~0k/1')).toBe(2);
    expect(resolvePointer({ a: [1] }, '/a/01')).toBeUndefined();
    expect(resolvePointer({ a: 1 }, '')).toEqual({ a: 1 });
    expect(resolvePointer({ a: 1 }, 'a')).toBeUndefined();
    expect(resolvePointer({}, '/__proto__')).toBeUndefined();
  });
});

describe('createTokenVerifier: the x5c leaf must be allowed to sign, under RFC 5280 path rules', () => {
  const usage = (flags: number): x509.Extension => new x509.KeyUsagesExtension(flags, true);
  const eku = (...oids: string[]): x509.Extension => new x509.ExtendedKeyUsageExtension(oids);
  const endEntity = new x509.BasicConstraintsExtension(false, undefined, true);

  async function tokenFrom(signer: Identity, chain: x509.X509Certificate[]): Promise<string> {
    return sign(signer.keys.privateKey, x5cHeader(signer, chain), claims());
  }

  test.each<[string, () => Promise<{ token: string; trusted?: string[] }>, string]>([
    [
      'keyUsage keyEncipherment only',
      async () => {
        const tls = await issued('kex only', intermediate, { extensions: [endEntity, usage(x509.KeyUsageFlags.keyEncipherment)] });
        return { token: await tokenFrom(tls, [tls.cert, intermediate.cert]) };
      },
      'has a keyUsage without digitalSignature',
    ],
    [
      'extendedKeyUsage serverAuth only (a TLS server key of the same CA)',
      async () => {
        const tls = await issued('tls server', intermediate, { extensions: [endEntity, usage(x509.KeyUsageFlags.digitalSignature), eku(x509.ExtendedKeyUsage.serverAuth)] });
        return { token: await tokenFrom(tls, [tls.cert, intermediate.cert]) };
      },
      'is limited to extendedKeyUsage serverAuth, which does not include signing',
    ],
    [
      'basicConstraints CA:TRUE',
      async () => {
        const caLeaf = await issued('ca leaf', intermediate, { extensions: [new x509.BasicConstraintsExtension(true, undefined, true), usage(x509.KeyUsageFlags.digitalSignature)] });
        return { token: await tokenFrom(caLeaf, [caLeaf.cert, intermediate.cert]) };
      },
      'is a CA (basicConstraints CA:TRUE)',
    ],
    [
      'keyUsage keyCertSign without basicConstraints',
      async () => {
        const signer = await issued('cert signer', intermediate, { extensions: [usage(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign)] });
        return { token: await tokenFrom(signer, [signer.cert, intermediate.cert]) };
      },
      'has keyUsage keyCertSign',
    ],
    ['the trusted root used as leaf', async () => ({ token: await tokenFrom(root, [root.cert]) }), 'is a CA (basicConstraints CA:TRUE)'],
    [
      'a trusted self-signed end-entity certificate',
      async () => {
        const keys = await keyPair();
        const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '05', name: 'CN=self', notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + DAY), signingAlgorithm: EC, keys, extensions: [endEntity, usage(x509.KeyUsageFlags.digitalSignature)] });
        const self: Identity = { keys, jwk: await publicJwk(keys), cert };
        return { token: await tokenFrom(self, [cert]), trusted: [writeTemp('self.pem', cert.toString('pem'))] };
      },
      'is a trusted root itself',
    ],
    [
      'an expired intermediate',
      async () => {
        const expired = await issued('expired intermediate', root, { isCa: true, notBefore: new Date(NOW.getTime() - 10 * DAY), notAfter: new Date(NOW.getTime() - DAY) });
        const signer = await issued('signer under expired', expired, { notBefore: new Date(NOW.getTime() - 5 * DAY) });
        return { token: await tokenFrom(signer, [signer.cert, expired.cert]) };
      },
      'CN=expired intermediate expired at',
    ],
    [
      'an intermediate whose keyUsage lacks keyCertSign',
      async () => {
        const weak = await issued('no certsign', root, { extensions: [new x509.BasicConstraintsExtension(true, undefined, true), usage(x509.KeyUsageFlags.digitalSignature)] });
        const signer = await issued('signer under no certsign', weak);
        return { token: await tokenFrom(signer, [signer.cert, weak.cert]) };
      },
      'has a keyUsage without keyCertSign',
    ],
    [
      'a path longer than a pathLenConstraint allows',
      async () => {
        const first = await issued('pathlen 0', root, { extensions: [new x509.BasicConstraintsExtension(true, 0, true), usage(x509.KeyUsageFlags.keyCertSign)] });
        const second = await issued('below pathlen 0', first, { isCa: true });
        const signer = await issued('signer too deep', second);
        return { token: await tokenFrom(signer, [signer.cert, second.cert, first.cert]) };
      },
      'allows 0 CA certificate(s) below it (pathLenConstraint), found 1',
    ],
  ])('refused: %s', async (_name, make, text) => {
    const { token, trusted } = await make();
    const error = await rejection((await verifier({ trustedCertsPaths: trusted ?? [rootPath] })).verify(token));
    expect(error.code).toBe('token_invalid');
    expect(error.message).toContain(text);
  });

  test.each<[string, () => x509.Extension[]]>([
    ['no extensions', () => []],
    ['CA:FALSE, digitalSignature', () => [endEntity, usage(x509.KeyUsageFlags.digitalSignature)]],
    ['digitalSignature and nonRepudiation, documentSigning EKU', () => [endEntity, usage(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation), eku('1.3.6.1.5.5.7.3.36')]],
    ['anyExtendedKeyUsage next to serverAuth', () => [endEntity, usage(x509.KeyUsageFlags.digitalSignature), eku(x509.ExtendedKeyUsage.serverAuth, '2.5.29.37.0')]],
  ])('accepted: a valid chain root → intermediate → leaf with %s', async (_name, extensions) => {
    const signer = await issued('good signer', intermediate, { extensions: extensions() });
    const token = await tokenFrom(signer, [signer.cert, intermediate.cert]);
    expect(await (await verifier({ trustedCertsPaths: [rootPath] })).verify(token)).toMatchObject({ iss: 'test' });
  });
});

describe('createTokenVerifier: nbf has the same 60 s leeway as exp', () => {
  const withNbf = (nbf: unknown): JsonObject => ({ ...claims(NOW_S + 7200), nbf } as JsonObject);

  test.each<[string, unknown]>([
    ['one hour ahead', NOW_S + 3600],
    ['61 s ahead', NOW_S + 61],
    ['not a number', 'soon'],
  ])('refused: nbf %s', async (_name, nbf) => {
    const token = await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, withNbf(nbf));
    const error = await rejection((await verifier({ insecureHeaderJwk: true })).verify(token));
    expect(error.message).toMatch(/token not valid yet|nbf claim is not a number/);
  });

  test.each<[string, number]>([
    ['60 s ahead', NOW_S + 60],
    ['in the past', NOW_S - 3600],
  ])('accepted: nbf %s', async (_name, nbf) => {
    const token = await sign(leaf.keys.privateKey, { alg: 'ES256', jwk: leaf.jwk }, withNbf(nbf));
    expect(await (await verifier({ insecureHeaderJwk: true })).verify(token)).toMatchObject({ nbf });
  });
});
