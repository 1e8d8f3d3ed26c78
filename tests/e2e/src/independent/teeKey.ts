/**
 * TEE key pairs as the Rust guest holds them (guest-components
 * `attestation-agent/kbs_protocol/src/keypair.rs`): EC P-256 (default), EC P-521 and RSA-2048 with
 * RSA-OAEP-256. The public JWK carries exactly the kbs-types members, in the order the Rust client
 * sends them; any extra member would break the report-data binding.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export type TeeKeyKind = 'P-256' | 'P-521' | 'RSA';

export type TeePubKeyJwk =
  | { kty: 'EC'; crv: string; alg: string; x: string; y: string }
  | { kty: 'RSA'; alg: string; n: string; e: string };

export interface TeeKeyPair {
  readonly kind: TeeKeyKind;
  readonly privateKey: KeyObject;
  readonly publicJwk: TeePubKeyJwk;
}

export function generateTeeKey(kind: TeeKeyKind): TeeKeyPair {
  if (kind === 'RSA') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    return teeKeyFromPrivate(privateKey);
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: kind === 'P-256' ? 'prime256v1' : 'secp521r1' });
  return teeKeyFromPrivate(privateKey);
}

/** Loads a PEM the way `kbs-client --tee-key-file` does: RSA PKCS#1 or EC P-256/P-521 PKCS#8. */
export function teeKeyFromPem(pem: string): TeeKeyPair {
  return teeKeyFromPrivate(createPrivateKey(pem));
}

export function teeKeyFromPrivate(privateKey: KeyObject): TeeKeyPair {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.kty === 'RSA') {
    if (jwk.n === undefined || jwk.e === undefined) throw new Error('RSA JWK without n/e');
    return { kind: 'RSA', privateKey, publicJwk: { kty: 'RSA', alg: 'RSA-OAEP-256', n: jwk.n, e: jwk.e } };
  }
  if (jwk.kty === 'EC' && (jwk.crv === 'P-256' || jwk.crv === 'P-521')) {
    if (jwk.x === undefined || jwk.y === undefined) throw new Error('EC JWK without x/y');
    const size = jwk.crv === 'P-256' ? 32 : 66;
    const x = Buffer.from(jwk.x, 'base64url');
    const y = Buffer.from(jwk.y, 'base64url');
    // The KBS refuses coordinates that are not exactly the field size (`kbs/src/jwe/mod.rs`).
    if (x.length !== size || y.length !== size) throw new Error(`EC coordinates are not ${size} bytes`);
    return {
      kind: jwk.crv,
      privateKey,
      publicJwk: { kty: 'EC', crv: jwk.crv, alg: 'ECDH-ES+A256KW', x: jwk.x, y: jwk.y },
    };
  }
  throw new Error(`unsupported TEE key type ${String(jwk.kty)} ${String(jwk.crv)}`);
}

/** The PEM form `kbs-client --tee-key-file` accepts: PKCS#1 for RSA, PKCS#8 for EC. */
export function teeKeyPem(key: TeeKeyPair): string {
  const type = key.kind === 'RSA' ? 'pkcs1' : 'pkcs8';
  return key.privateKey.export({ format: 'pem', type }).toString();
}
