/**
 * The admin gate the AS and the RVPS put in front of calls that change or reveal reference values
 * and policies: `authorization: Bearer <jwt>` verified by a `BearerJwtAuthenticator` (the KBS's
 * `bearer_jwt` rules). Without identity providers every call is refused: there is no
 * "allow all" mode.
 */
import type { JWTPayload } from 'jose';
import type { BearerJwtAuthenticator } from './bearerJwtAuthenticator.ts';
import { AdminGateError } from './errors.ts';

const BEARER = /^Bearer +([A-Za-z0-9_.-]+)\s*$/i;

export interface AdminGate {
  /** Whether identity providers are configured (otherwise every call is `permission_denied`). */
  readonly configured: boolean;
  /** The verified claims; rejects with AdminGateError. */
  authorize(authorization: string | undefined): Promise<JWTPayload>;
}

/**
 * @example
 * const gate = createAdminGate(await BearerJwtAuthenticator.create(providers), 'config key "admin"');
 * await gate.authorize(call.metadata.get('authorization')[0]);
 */
export function createAdminGate(authenticator: BearerJwtAuthenticator | undefined, configHint: string): AdminGate {
  if (authenticator === undefined) {
    return {
      configured: false,
      async authorize() {
        throw new AdminGateError('permission_denied', `admin operations are disabled: no admin key is configured (${configHint})`);
      },
    };
  }
  return {
    configured: true,
    async authorize(authorization) {
      const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
      if (token === undefined) throw new AdminGateError('unauthenticated', 'admin operation requires "authorization: Bearer <jwt>"');
      const claims = await authenticator.verify(token);
      if (claims === undefined) throw new AdminGateError('unauthenticated', 'admin token rejected: bad signature, expired, or wrong issuer/audience');
      return claims;
    },
  };
}
