/**
 * The TEE public key a client sends in `runtime-data.tee-pubkey` (kbs-types `TeePubKey`, upstream
 * kbs-types `src/lib.rs`). The server keeps exactly the kbs-types members and drops any other JWK
 * member, then hashes the re-serialised key, so parsing must yield the same member set the Rust
 * server would.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { b64url } from './base64.ts';
import { ProtocolError } from './errors.ts';

export interface EcTeePubKey {
  kty: 'EC';
  crv: string;
  alg: string;
  x: string;
  y: string;
}
export interface RsaTeePubKey {
  kty: 'RSA';
  alg: string;
  n: string;
  e: string;
}
export interface AkpTeePubKey {
  kty: 'AKP';
  alg: string;
  pub: string;
}
export type TeePubKey = EcTeePubKey | RsaTeePubKey | AkpTeePubKey;

/** Byte length of an affine coordinate for the curves the KBS can encrypt to. */
export const EC_COORDINATE_LENGTH: Readonly<Record<string, number>> = { 'P-256': 32, 'P-521': 66 };

/** Byte length of an ML-KEM-768 encapsulation key (FIPS 203). */
export const ML_KEM_768_PUBLIC_KEY_LENGTH = 1184;

/**
 * Parses an untrusted tee-pubkey JWK. Extra members are dropped; missing or non-string
 * members, unknown `kty`, invalid base64url and wrong EC coordinate lengths are ProtocolErrors.
 *
 * @example parseTeePubKey({ kty: 'RSA', alg: 'RSA-OAEP-256', n: '…', e: 'AQAB', kid: 'x' }) // kid dropped
 */
export function parseTeePubKey(json: unknown): TeePubKey {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ProtocolError('tee-pubkey must be a JSON object');
  }
  const record = json as Record<string, unknown>;
  const kty = member(record, 'kty');
  switch (kty) {
    case 'EC': {
      const key: EcTeePubKey = { kty, crv: member(record, 'crv'), alg: member(record, 'alg'), x: member(record, 'x'), y: member(record, 'y') };
      const x = decodeMember(key.x, 'x');
      const y = decodeMember(key.y, 'y');
      const expected = EC_COORDINATE_LENGTH[key.crv];
      if (expected !== undefined && (x.length !== expected || y.length !== expected)) {
        throw new ProtocolError(`tee-pubkey ${key.crv} coordinates must be ${expected} bytes, got x=${x.length} y=${y.length}`);
      }
      return key;
    }
    case 'RSA': {
      const key: RsaTeePubKey = { kty, alg: member(record, 'alg'), n: member(record, 'n'), e: member(record, 'e') };
      if (decodeMember(key.n, 'n').length === 0 || decodeMember(key.e, 'e').length === 0) {
        throw new ProtocolError('tee-pubkey RSA n and e must not be empty');
      }
      return key;
    }
    case 'AKP': {
      const key: AkpTeePubKey = { kty, alg: member(record, 'alg'), pub: member(record, 'pub') };
      const pub = decodeMember(key.pub, 'pub');
      if (key.alg === 'ML-KEM-768+A192KW' && pub.length !== ML_KEM_768_PUBLIC_KEY_LENGTH) {
        throw new ProtocolError(`tee-pubkey ML-KEM-768 key must be ${ML_KEM_768_PUBLIC_KEY_LENGTH} bytes, got ${pub.length}`);
      }
      return key;
    }
    default:
      throw new ProtocolError(`tee-pubkey has unsupported kty ${JSON.stringify(kty)}`);
  }
}

function member(record: Record<string, unknown>, name: string): string {
  const value = Object.hasOwn(record, name) ? record[name] : undefined;
  if (typeof value !== 'string') throw new ProtocolError(`tee-pubkey member ${name} must be a string`);
  return value;
}

function decodeMember(value: string, name: string): Uint8Array {
  try {
    return b64url.decode(value);
  } catch {
    throw new ProtocolError(`tee-pubkey member ${name} is not base64url without padding`);
  }
}

const NODE_CURVE_TO_JWK: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp521r1: 'P-521' };

/**
 * Builds the tee-pubkey JWK for a key pair the client owns, exactly as the Rust client does:
 * EC P-256/P-521 → `ECDH-ES+A256KW`, RSA → `RSA-OAEP-256`.
 */
export function teePubKeyFromKey(key: KeyObject): EcTeePubKey | RsaTeePubKey {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  if (publicKey.asymmetricKeyType === 'ec') {
    const namedCurve = publicKey.asymmetricKeyDetails?.namedCurve ?? '';
    const crv = NODE_CURVE_TO_JWK[namedCurve];
    if (crv === undefined || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
      throw new ProtocolError(`TEE key curve ${namedCurve} is not supported (P-256 or P-521 only)`);
    }
    return { kty: 'EC', crv, alg: 'ECDH-ES+A256KW', x: jwk.x, y: jwk.y };
  }
  if (publicKey.asymmetricKeyType === 'rsa' && typeof jwk.n === 'string' && typeof jwk.e === 'string') {
    return { kty: 'RSA', alg: 'RSA-OAEP-256', n: jwk.n, e: jwk.e };
  }
  throw new ProtocolError(`TEE key type ${publicKey.asymmetricKeyType ?? 'unknown'} is not supported`);
}
