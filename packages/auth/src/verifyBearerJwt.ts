/**
 * Verification of an admin's bearer JWT against configured keys, shared by the KBS
 * (`[admin.authentication.bearer_jwt]`) and the RVPS (`admin`): the first key source whose
 * signature check passes decides, `exp` is required, `exp`/`nbf`/`iat` are checked with the same
 * 60 s leeway (an `iat` in the future is refused), and `iss`/`aud` are checked
 * when configured. Loading the keys (paths, URIs, config errors) stays with each service.
 */
import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';

const CLOCK_TOLERANCE_S = 60;

/** One place a token's signature may verify against: a public key with its allowed algorithms, or a JWK set. */
export type JwtKeySource = { readonly key: KeyObject; readonly algorithms: readonly string[] } | { readonly jwks: JWTVerifyGetKey };

export interface BearerJwtConstraints {
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  readonly currentDate: Date;
}

/** The JWS algorithms a public key may verify; empty for key types admins cannot use. */
export function jwsAlgorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return ['ES256'];
      if (curve === 'secp384r1') return ['ES384'];
      if (curve === 'secp521r1') return ['ES512'];
      return [];
    }
    default:
      return [];
  }
}

/** A key source pinned to the algorithms of the key's type (no algorithm confusion). */
export function publicKeySource(key: KeyObject): JwtKeySource {
  return { key, algorithms: jwsAlgorithmsFor(key) };
}

/** A key source selecting the verification key from a JWK set by the token header. */
export function jwkSetSource(jwks: JSONWebKeySet): JwtKeySource {
  return { jwks: createLocalJWKSet(jwks) };
}

/**
 * The verified claims, or undefined when no source accepts the token.
 *
 * @example
 * const claims = await verifyBearerJwt(token, [publicKeySource(key)], { issuer: 'idp', currentDate: new Date() });
 */
export async function verifyBearerJwt(token: string, sources: readonly JwtKeySource[], constraints: BearerJwtConstraints): Promise<JWTPayload | undefined> {
  const options = {
    requiredClaims: ['exp'],
    clockTolerance: CLOCK_TOLERANCE_S,
    currentDate: constraints.currentDate,
    ...(constraints.issuer === undefined ? {} : { issuer: constraints.issuer }),
    ...(constraints.audience === undefined ? {} : { audience: constraints.audience }),
  };
  for (const source of sources) {
    try {
      const verified = 'key' in source ? await jwtVerify(token, source.key, { ...options, algorithms: [...source.algorithms] }) : await jwtVerify(token, source.jwks, options);
      // jose checks exp and nbf but not an `iat` in the future: a token issued later than now
      // (beyond the same leeway) was not issued by a sane clock, refuse it.
      const iat = verified.payload.iat;
      if (iat !== undefined && (typeof iat !== 'number' || iat > constraints.currentDate.getTime() / 1000 + CLOCK_TOLERANCE_S)) return undefined;
      return verified.payload;
    } catch {
      // the next source may hold the signing key
    }
  }
  return undefined;
}
