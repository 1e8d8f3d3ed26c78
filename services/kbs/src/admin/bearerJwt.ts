/**
 * `[admin.authentication.bearer_jwt]` (spec §3.2): the admin's `Authorization: Bearer <jwt>` is
 * verified against each identity provider in order; the first whose key verifies the signature
 * and whose `iss`/`aud` constraints hold wins. `exp` is required (60 s leeway).
 */
import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { IdentityProviderConfig } from './adminConfig.ts';
import { loadJwkSet, loadPublicKey } from './keySources.ts';

const CLOCK_TOLERANCE_S = 60;

interface Provider {
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly keys: ReadonlyArray<{ readonly key: KeyObject; readonly algorithms: string[] } | { readonly jwks: JWTVerifyGetKey }>;
}

function algorithmsFor(key: KeyObject): string[] {
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

function audienceMatches(aud: JWTPayload['aud'], expected: string): boolean {
  return typeof aud === 'string' ? aud === expected : Array.isArray(aud) && aud.includes(expected);
}

export class BearerJwtAuthenticator {
  readonly #providers: readonly Provider[];
  readonly #now: () => number;

  private constructor(providers: readonly Provider[], now: () => number) {
    this.#providers = providers;
    this.#now = now;
  }

  /** Loads every provider's keys once, at startup. */
  static async create(configs: readonly IdentityProviderConfig[], now: () => number = Date.now): Promise<BearerJwtAuthenticator> {
    const providers: Provider[] = [];
    for (const config of configs) {
      const keys: Array<Provider['keys'][number]> = [];
      if (config.publicKeyUri !== undefined) {
        const key = await loadPublicKey(config.publicKeyUri);
        keys.push({ key, algorithms: algorithmsFor(key) });
      }
      if (config.jwkSetUri !== undefined) keys.push({ jwks: createLocalJWKSet(await loadJwkSet(config.jwkSetUri)) });
      providers.push({ issuer: config.issuer, audience: config.audience, keys });
    }
    return new BearerJwtAuthenticator(providers, now);
  }

  /** The verified claims, or undefined when no provider accepts the token. */
  async verify(token: string): Promise<JWTPayload | undefined> {
    const currentDate = new Date(this.#now());
    for (const provider of this.#providers) {
      for (const source of provider.keys) {
        let payload: JWTPayload;
        try {
          const options = { requiredClaims: ['exp'], clockTolerance: CLOCK_TOLERANCE_S, currentDate };
          payload =
            'key' in source
              ? (await jwtVerify(token, source.key, { ...options, algorithms: source.algorithms })).payload
              : (await jwtVerify(token, source.jwks, options)).payload;
        } catch {
          continue;
        }
        if (provider.issuer !== undefined && payload.iss !== provider.issuer) continue;
        if (provider.audience !== undefined && !audienceMatches(payload.aud, provider.audience)) continue;
        return payload;
      }
    }
    return undefined;
  }
}
