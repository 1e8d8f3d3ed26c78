/**
 * io.jwt.* builtins: decode, verify_{RS,PS,ES,HS}{256,384,512} / verify_eddsa, decode_verify
 * (constraints cert/secret/alg/iss/aud/time, nested cty=JWT, exp/nbf) and encode_sign(_raw),
 * following OPA's decoding order and error texts. Crypto is node:crypto only; HMAC comparison
 * is constant-time.
 */
import {
  X509Certificate, createHmac, createPrivateKey, createPublicKey, sign as cryptoSign, timingSafeEqual,
  verify as cryptoVerify, type KeyObject,
} from 'node:crypto';
import { builtinError, operandError, type BuiltinContext, type BuiltinDefinition } from '../builtinContract.ts';
import { ObjectValue, compareNumbers, isNumber, makeNumber, type Value } from '../value.ts';
import { objectArg, stringArg } from './args.ts';
import { decodeBase64Strict } from './encoding.ts';
import { isValidJson, marshalJson, parseJsonValue } from './jsonText.ts';
import { errorClassWithCode } from '@trustee/errors';

class JwtError extends errorClassWithCode('invalid_jwt') {}

interface Token { header: string; payload: string; signature: string }

const ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA']);

function splitToken(fn: string, v: Value): Token {
  const encoded = stringArg(fn, v, 1);
  if (!encoded.includes('.')) throw new JwtError('encoded JWT had no period separators');
  const parts = encoded.split('.');
  if (parts.length !== 3) throw new JwtError(`encoded JWT must have 3 sections, found ${parts.length}`);
  return { header: parts[0] as string, payload: parts[1] as string, signature: parts[2] as string };
}

/** OPA's base64url.decode: pads unpadded input, then strict URL-alphabet decoding. */
function base64UrlBytes(s: string): Buffer {
  let padded = s;
  if (!padded.endsWith('=')) {
    switch (padded.length % 4) {
      case 0: break;
      case 2: padded += '=='; break;
      case 3: padded += '='; break;
      default: throw new JwtError(`illegal base64url string: ${s}`);
    }
  }
  try {
    return decodeBase64Strict(padded, true);
  } catch (error) {
    throw new JwtError(error instanceof Error ? error.message : String(error));
  }
}

function jsonObject(text: string): ObjectValue {
  let v: Value;
  try {
    v = parseJsonValue(text);
  } catch (error) {
    throw new JwtError(`invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!(v instanceof ObjectValue)) throw new JwtError('decoded JSON type was not an Object');
  return v;
}

function decodeHeader(token: Token): ObjectValue {
  let bytes: Buffer;
  try {
    bytes = base64UrlBytes(token.header);
  } catch (error) {
    throw new JwtError(`JWT header had invalid encoding: ${(error as Error).message}`);
  }
  let header: ObjectValue;
  try {
    header = jsonObject(bytes.toString('utf8'));
  } catch (error) {
    throw new JwtError(`bad JWT header: ${(error as Error).message}`);
  }
  if (header.has('enc')) throw new JwtError('JWT is a JWE object, which is not supported');
  return header;
}

function decodePayloadText(token: Token): string {
  try {
    return base64UrlBytes(token.payload).toString('utf8');
  } catch (error) {
    throw new JwtError(`JWT payload had invalid encoding: ${(error as Error).message}`);
  }
}

function decodeSignature(token: Token): Buffer {
  try {
    return base64UrlBytes(token.signature);
  } catch (error) {
    throw new JwtError(`JWT signature had invalid encoding: ${(error as Error).message}`);
  }
}

function decode(fn: string, v: Value, depth = 0): Value {
  if (depth > 16) throw new JwtError('JWT nesting too deep');
  const token = splitToken(fn, v);
  const header = decodeHeader(token);
  const payloadText = decodePayloadText(token);
  if (header.get('cty') === 'JWT') return decode(fn, payloadText.replace(/^["']+|["']+$/g, ''), depth + 1);
  const payload = jsonObject(payloadText);
  const signature = decodeSignature(token).toString('hex');
  return [header, payload, signature];
}

// ---------------------------------------------------------------------------------------------
// Keys

interface VerificationKey { key: KeyObject; alg: string; kid: string }

function keysFromCertOrJwk(text: string): VerificationKey[] {
  const pem = /^-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/.exec(text.replace(/^\s+/, ''));
  if (pem !== null) {
    const rest = text.replace(/^\s+/, '').slice(pem[0].length);
    if (rest.trim().length > 0) throw new JwtError('extra data after a PEM certificate block');
    if (pem[1] === 'CERTIFICATE') {
      try {
        return [{ key: new X509Certificate(text).publicKey, alg: '', kid: '' }];
      } catch (error) {
        throw new JwtError(`failed to parse a PEM certificate: ${(error as Error).message}`);
      }
    }
    if (pem[1] === 'PUBLIC KEY') {
      try {
        return [{ key: createPublicKey(text), alg: '', kid: '' }];
      } catch (error) {
        throw new JwtError(`failed to parse a PEM public key: ${(error as Error).message}`);
      }
    }
    throw new JwtError('failed to extract a Key from the PEM certificate');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new JwtError(`failed to parse a JWK key (set): ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object') throw new JwtError('failed to parse a JWK key (set): not an object');
  const set = parsed as { keys?: unknown };
  const list = Array.isArray(set.keys) ? set.keys : [parsed];
  const out: VerificationKey[] = [];
  for (const jwk of list) {
    if (jwk === null || typeof jwk !== 'object') continue;
    const record = jwk as Record<string, unknown>;
    const alg = typeof record['alg'] === 'string' ? record['alg'] : '';
    if (alg !== '' && !ALGORITHMS.has(alg)) continue;
    let key: KeyObject;
    try {
      if (record['kty'] === 'oct') continue;
      const publicJwk = { ...record };
      for (const privateField of ['d', 'p', 'q', 'dp', 'dq', 'qi']) delete publicJwk[privateField];
      key = createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch (error) {
      throw new JwtError(`failed to parse a JWK key (set): ${(error as Error).message}`);
    }
    out.push({ key, alg, kid: typeof record['kid'] === 'string' ? record['kid'] : '' });
  }
  return out;
}

const HASHES: Readonly<Record<string, string>> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Verifies a JWS signature over `input` with a public key for `alg` (jwsbb.Verify semantics). */
function verifyWithKey(key: KeyObject, alg: string, input: Buffer, signature: Buffer): boolean {
  try {
    const family = alg.slice(0, 2);
    const hash = HASHES[alg.slice(2)];
    if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519' && cryptoVerify(null, input, key, signature);
    if (hash === undefined) return false;
    if (family === 'RS') return key.asymmetricKeyType === 'rsa' && cryptoVerify(hash, input, key, signature);
    if (family === 'PS') {
      return (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss')
        && cryptoVerify(hash, input, { key, padding: 6, saltLength: -2 }, signature);
    }
    if (family === 'ES') return key.asymmetricKeyType === 'ec' && cryptoVerify(hash, input, { key, dsaEncoding: 'ieee-p1363' }, signature);
    return false;
  } catch {
    return false;
  }
}

function hmac(alg: string, secret: Buffer, input: Buffer): Buffer {
  const hash = HASHES[alg.slice(2)] ?? 'sha256';
  return createHmac(hash, secret).update(input).digest();
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// verify_* builtins

function verifyAsymmetric(fn: string, args: readonly Value[], alg: string): boolean {
  const token = splitToken(fn, args[0] as Value);
  const keyText = stringArg(fn, args[1] as Value, 2);
  const keys = keysFromCertOrJwk(keyText);
  const signature = decodeSignature(token);
  const header = decodeHeader(token);
  const headerAlg = typeof header.get('alg') === 'string' ? (header.get('alg') as string) : '';
  const kid = typeof header.get('kid') === 'string' ? (header.get('kid') as string) : '';
  const input = Buffer.from(`${token.header}.${token.payload}`, 'utf8');
  if (kid !== '') {
    const byKid = keys.find((k) => k.kid === kid);
    if (byKid !== undefined) return verifyWithKey(byKid.key, alg, input, signature);
  }
  for (const key of keys) {
    if (key.alg !== '' && key.alg !== headerAlg) continue;
    if (verifyWithKey(key.key, alg, input, signature)) return true;
  }
  return false;
}

function verifyHmac(fn: string, args: readonly Value[], alg: string): boolean {
  const jwt = stringArg(fn, args[0] as Value, 1);
  const secret = stringArg(fn, args[1] as Value, 2);
  const token = splitToken(fn, jwt);
  const expected = hmac(alg, Buffer.from(secret, 'utf8'), Buffer.from(`${token.header}.${token.payload}`, 'utf8'));
  return constantTimeEqual(decodeSignature(token), expected);
}

// ---------------------------------------------------------------------------------------------
// decode_verify

interface Constraints { secret: string; alg: string; iss: string; aud: string; keys?: VerificationKey[]; time: number }

function parseConstraints(fn: string, v: Value, nowNs: bigint): Constraints {
  const object = objectArg(fn, v, 2);
  const c: Constraints = { secret: '', alg: '', iss: '', aud: '', time: -1 };
  for (const [k, val] of object.entries()) {
    const name = String(k);
    const str = (): string => {
      if (typeof val !== 'string') throw new JwtError(`${name} constraint: must be a string`);
      return val;
    };
    switch (name) {
      case 'cert':
        if (typeof val !== 'string') throw new JwtError('cert constraint: must be a string');
        c.keys = keysFromCertOrJwk(val);
        break;
      case 'secret': c.secret = str(); break;
      case 'alg': c.alg = str(); break;
      case 'iss': c.iss = str(); break;
      case 'aud': c.aud = str(); break;
      case 'time': {
        if (!isNumber(val)) throw new JwtError('token time constraint: must be a number');
        const t = Number(typeof val === 'bigint' ? val : typeof val === 'number' ? val : val.toNumber());
        if (t < 0) throw new JwtError('token time constraint: must not be negative');
        c.time = t;
        break;
      }
      default: throw new JwtError(`unknown token validation constraint: ${name}`);
    }
  }
  if (c.time === -1) c.time = Number(nowNs);
  const keyConstraints = (c.keys !== undefined ? 1 : 0) + (c.secret !== '' ? 1 : 0);
  if (keyConstraints > 1) throw new JwtError('duplicate key constraints');
  if (keyConstraints < 1) throw new JwtError('no key constraint');
  return c;
}

function signatureValid(c: Constraints, kid: string, alg: string, token: Token, signature: Buffer): boolean {
  const input = Buffer.from(`${token.header}.${token.payload}`, 'utf8');
  if (c.keys !== undefined) {
    if (kid !== '') {
      const byKid = c.keys.find((k) => k.kid === kid);
      if (byKid !== undefined) return verifyWithKey(byKid.key, alg, input, signature);
    }
    return c.keys.some((k) => (k.alg === '' || k.alg === alg) && verifyWithKey(k.key, alg, input, signature));
  }
  if (!alg.startsWith('HS') || HASHES[alg.slice(2)] === undefined) return false;
  return constantTimeEqual(signature, hmac(alg, Buffer.from(c.secret, 'utf8'), input));
}

function headerValid(header: ObjectValue): { valid: boolean; alg: string; kid: string; cty: string } {
  let alg = '';
  let kid = '';
  let cty = '';
  let crit: Set<string> | undefined;
  const unknown: string[] = [];
  for (const [k, v] of header.entries()) {
    const name = String(k);
    if (name === 'alg' || name === 'kid' || name === 'typ' || name === 'cty') {
      if (typeof v !== 'string') throw new JwtError(`${name}: must be a string`);
      if (name === 'alg') alg = v;
      if (name === 'kid') kid = v;
      if (name === 'cty') cty = v;
    } else if (name === 'crit') {
      if (!Array.isArray(v)) throw new JwtError('crit: must be a list');
      crit = new Set(v.filter((e): e is string => typeof e === 'string'));
      if (crit.size === 0) throw new JwtError('crit: must be a nonempty list');
    } else {
      unknown.push(name);
    }
  }
  const valid = alg !== '' && !unknown.some((u) => crit?.has(u) === true);
  return { valid, alg, kid, cty };
}

function decodeVerify(fn: string, args: readonly Value[], ctx: BuiltinContext): Value {
  const constraints = parseConstraints(fn, args[1] as Value, ctx.nowNs);
  const unverified: Value = [false, new ObjectValue(), new ObjectValue()];
  let current: Value = args[0] as Value;
  let token: Token;
  let header: ObjectValue;
  let payloadText: string;
  for (let depth = 0; ; depth++) {
    if (depth > 16) throw new JwtError('JWT nesting too deep');
    token = splitToken(fn, current);
    header = decodeHeader(token);
    const parsed = headerValid(header);
    if (!parsed.valid) return unverified;
    if (constraints.alg !== '' && constraints.alg !== parsed.alg) return unverified;
    const signature = decodeSignature(token);
    if (!signatureValid(constraints, parsed.kid, parsed.alg, token, signature)) return unverified;
    payloadText = decodePayloadText(token);
    if (parsed.cty.toUpperCase() === 'JWT') {
      current = payloadText;
      continue;
    }
    break;
  }
  const payload = jsonObject(payloadText);
  if (constraints.iss !== '') {
    const iss = payload.get('iss');
    if (iss === undefined || iss !== constraints.iss) return unverified;
  }
  const aud = payload.get('aud');
  if (aud !== undefined) {
    const ok = typeof aud === 'string' ? aud === constraints.aud
      : Array.isArray(aud) ? aud.some((a) => a === constraints.aud) : false;
    if (!ok) return unverified;
  } else if (constraints.aud !== '') {
    return unverified;
  }
  const nowSeconds = makeNumber(constraints.time / 1e9);
  const exp = payload.get('exp');
  if (exp !== undefined) {
    if (!isNumber(exp)) throw new JwtError('exp value must be a number');
    if (compareNumbers(nowSeconds, exp) !== -1) return unverified;
  }
  const nbf = payload.get('nbf');
  if (nbf !== undefined) {
    if (!isNumber(nbf)) throw new JwtError('nbf value must be a number');
    if (compareNumbers(nowSeconds, nbf) === -1) return unverified;
  }
  return [true, header, payload];
}

// ---------------------------------------------------------------------------------------------
// encode_sign

function parseHeaderAlg(headerText: string): string {
  if (headerText === '') throw new JwtError("missing or invalid 'alg' header: cannot parse JSON: cannot parse empty string");
  const notFound = new JwtError('missing or invalid \'alg\' header: jwsbb: header "alg" not found');
  if (!headerText.trimStart().startsWith('{')) throw notFound;
  let parsed: unknown;
  try {
    parsed = JSON.parse(headerText);
  } catch {
    throw new JwtError("missing or invalid 'alg' header: cannot parse JSON");
  }
  const alg = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)['alg'] : undefined;
  if (alg === undefined) throw notFound;
  if (typeof alg !== 'string') throw new JwtError('missing or invalid \'alg\' header: jwsbb: header "alg" is not a string');
  return alg;
}

function headerTyp(headerText: string): string | undefined {
  try {
    const parsed = JSON.parse(headerText) as Record<string, unknown>;
    return typeof parsed['typ'] === 'string' ? parsed['typ'] : undefined;
  } catch {
    return undefined;
  }
}

function firstJwk(jwkText: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwkText);
  } catch (error) {
    throw new JwtError(`failed to parse JWK: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object') throw new JwtError('failed to parse JWK: not an object');
  const set = parsed as { keys?: unknown };
  if (Array.isArray(set.keys)) {
    const first = set.keys[0] as unknown;
    if (first === undefined) throw new JwtError('no keys found in JWK set');
    if (first === null || typeof first !== 'object') throw new JwtError('failed to parse JWK: not an object');
    return first as Record<string, unknown>;
  }
  return parsed as Record<string, unknown>;
}

function signInput(alg: string, jwk: Record<string, unknown>, input: Buffer): Buffer {
  const hash = HASHES[alg.slice(2)];
  if (alg.startsWith('HS')) {
    const k = jwk['k'];
    if (jwk['kty'] !== 'oct' || typeof k !== 'string') throw new JwtError(`invalid key type for ${alg}`);
    return hmac(alg, Buffer.from(k, 'base64url'), input);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw new JwtError(`failed to create private key from JWK: ${(error as Error).message}`);
  }
  if (alg === 'EdDSA') return cryptoSign(null, input, key);
  if (hash === undefined) throw new JwtError(`unknown JWS algorithm: ${alg}`);
  if (alg.startsWith('RS')) return cryptoSign(hash, input, key);
  if (alg.startsWith('PS')) return cryptoSign(hash, input, { key, padding: 6, saltLength: Number(alg.slice(2)) / 8 });
  return cryptoSign(hash, input, { key, dsaEncoding: 'ieee-p1363' });
}

function encodeSign(headerText: string, payloadText: string, jwkText: string): string {
  const jwk = firstJwk(jwkText);
  const alg = parseHeaderAlg(headerText);
  if (!ALGORITHMS.has(alg)) throw new JwtError(`unknown JWS algorithm: ${alg}`);
  const typ = headerTyp(headerText);
  if ((typ === undefined || typ === 'JWT') && !isValidJson(payloadText)) throw new JwtError('type is JWT but payload is not JSON');
  const signingInput = `${Buffer.from(headerText, 'utf8').toString('base64url')}.${Buffer.from(payloadText, 'utf8').toString('base64url')}`;
  const signature = signInput(alg, jwk, Buffer.from(signingInput, 'utf8'));
  return `${signingInput}.${signature.toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------------

function wrap<T>(fn: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof JwtError) throw builtinError(fn, error.message);
    throw error;
  }
}

const verifier = (alg: string): BuiltinDefinition => ({
  name: alg === 'EdDSA' ? 'io.jwt.verify_eddsa' : `io.jwt.verify_${alg.toLowerCase()}`,
  arity: 2,
  impl: (args, ctx) => wrap(ctx.name, () => (alg.startsWith('HS') ? verifyHmac(ctx.name, args, alg) : verifyAsymmetric(ctx.name, args, alg))),
});

export const jwtBuiltins: BuiltinDefinition[] = [
  { name: 'io.jwt.decode', arity: 1, impl: ([t], ctx) => wrap(ctx.name, () => decode(ctx.name, t as Value)) },
  ...['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA'].map(verifier),
  { name: 'io.jwt.decode_verify', arity: 2, impl: (args, ctx) => wrap(ctx.name, () => decodeVerify(ctx.name, args, ctx)) },
  {
    name: 'io.jwt.encode_sign', arity: 3,
    impl: ([h, p, k], ctx) => wrap(ctx.name, () => {
      for (const [i, v] of [h, p, k].entries()) if (!(v instanceof ObjectValue)) throw operandError(ctx.name, i + 1, 'object', v as Value);
      return encodeSign(marshalJson(h as Value), marshalJson(p as Value), marshalJson(k as Value));
    }),
  },
  {
    name: 'io.jwt.encode_sign_raw', arity: 3,
    impl: ([h, p, k], ctx) => wrap(ctx.name, () => {
      const jwk = stringArg(ctx.name, k as Value, 3);
      return encodeSign(stringArg(ctx.name, h as Value, 1), stringArg(ctx.name, p as Value, 2), jwk);
    }),
  },
];
