/**
 * The admin gate of ListReferenceValues / DeleteReferenceValue (and Register with
 * `protect_register`): `authorization: Bearer <jwt>` verified with the KBS's `bearer_jwt` rules
 * (@trustee/auth: `exp` required with 60 s leeway, `iss`/`aud` checked when configured). No admin
 * config → every admin call is refused: there is no "allow all" mode.
 */
import { AdminGateError, BearerJwtAuthenticator, createAdminGate as createBearerGate } from '@trustee/auth';
import type { AdminConfig } from './config.ts';
import { ConfigError } from './config.ts';
import { RvpsError } from './errors.ts';

export interface AdminGate {
  /** Resolves when the header carries a valid admin token; rejects with RvpsError otherwise. */
  authorize(authorization: string | undefined): Promise<void>;
}

/** Builds the gate once at startup (keys are read now, not per request). */
export async function createAdminGate(config: AdminConfig | undefined, now: () => Date = () => new Date()): Promise<AdminGate> {
  let authenticator: BearerJwtAuthenticator | undefined;
  if (config !== undefined) {
    try {
      authenticator = await BearerJwtAuthenticator.create(config.identityProviders, () => now().getTime());
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`admin: ${error.message}`, { path: 'admin', cause: error });
      throw error;
    }
  }
  const gate = createBearerGate(authenticator, 'config key "admin"');
  return {
    async authorize(authorization) {
      try {
        await gate.authorize(authorization);
      } catch (error) {
        if (error instanceof AdminGateError) throw new RvpsError(error.code, error.message);
        throw error;
      }
    },
  };
}
