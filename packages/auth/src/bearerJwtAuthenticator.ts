/**
 * `bearer_jwt` (upstream trustee `kbs/src/admin/authentication/bearer_jwt.rs`; the KBS's
 * `[admin.authentication.bearer_jwt]`, the AS's and the RVPS's `admin.bearer_jwt`): the admin's
 * `Authorization: Bearer <jwt>` is verified against each identity provider in order; the first
 * whose key verifies the signature and whose `iss`/`aud` constraints hold wins. `exp` is required
 * (60 s leeway).
 */
import type { JWTPayload } from 'jose';
import type { IdentityProviderConfig } from './bearerJwtConfig.ts';
import { loadJwkSet, loadPublicKey } from './keySources.ts';
import { jwkSetSource, publicKeySource, verifyBearerJwt, type JwtKeySource } from './verifyBearerJwt.ts';

interface Provider {
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly keys: readonly JwtKeySource[];
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
      const keys: JwtKeySource[] = [];
      if (config.publicKeyUri !== undefined) keys.push(publicKeySource(await loadPublicKey(config.publicKeyUri)));
      if (config.jwkSetUri !== undefined) keys.push(jwkSetSource(await loadJwkSet(config.jwkSetUri)));
      providers.push({ issuer: config.issuer, audience: config.audience, keys });
    }
    return new BearerJwtAuthenticator(providers, now);
  }

  /** The verified claims, or undefined when no provider accepts the token. */
  async verify(token: string): Promise<JWTPayload | undefined> {
    const currentDate = new Date(this.#now());
    for (const provider of this.#providers) {
      const payload = await verifyBearerJwt(token, provider.keys, { issuer: provider.issuer, audience: provider.audience, currentDate });
      if (payload !== undefined) return payload;
    }
    return undefined;
  }
}
