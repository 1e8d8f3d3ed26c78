/**
 * Which AS calls need the admin token (config `admin`, see config.ts), checked by both
 * transports through this one table:
 * - reading or deleting reference values in bulk (ListReferenceValues, DeleteReferenceValue):
 *   always, as on the standalone RVPS; without an `admin` section they are PERMISSION_DENIED.
 *   With a remote RVPS the RVPS decides (the caller's `authorization` is forwarded to it) and
 *   the AS checks too when it has an `admin` section.
 * - policies (set, get, list, delete): with `admin.protect_policies`.
 * - RegisterReferenceValue: with `admin.protect_register`.
 * Evaluation, challenges, QueryReferenceValue (policies and the KBS read values through it) and
 * the JWKS stay open, as upstream.
 */
import { AdminGateError, BearerJwtAuthenticator, createAdminGate, type AdminGate } from '@trustee/auth';
import type { AsAdminConfig } from './config.ts';
import { ConfigError } from './config.ts';
import { AsError } from './errors.ts';

export type GuardedOperation = 'policy' | 'register_reference_value' | 'reference_value_admin';

export interface AdminGuard {
  /** Resolves when `authorization` may perform `operation`; rejects with AsError `unauthenticated` / `permission_denied`. */
  check(operation: GuardedOperation, authorization: string | undefined): Promise<void>;
}

/** Loads the identity providers' keys once, at startup. */
export async function createAdminGuard(config: AsAdminConfig | undefined, options: { readonly remoteRvps: boolean; readonly now: () => Date }): Promise<AdminGuard> {
  let gate: AdminGate;
  try {
    const authenticator = config === undefined ? undefined : await BearerJwtAuthenticator.create(config.identityProviders, () => options.now().getTime());
    gate = createAdminGate(authenticator, 'as-config.json key "admin"');
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`admin.bearer_jwt: ${error.message}`, { path: 'admin.bearer_jwt', cause: error });
    throw error;
  }
  const required = (operation: GuardedOperation): boolean => {
    switch (operation) {
      case 'policy':
        return config?.protectPolicies === true;
      case 'register_reference_value':
        return config?.protectRegister === true;
      case 'reference_value_admin':
        return !options.remoteRvps || gate.configured;
    }
  };
  return {
    async check(operation, authorization) {
      if (!required(operation)) return;
      try {
        await gate.authorize(authorization);
      } catch (error) {
        if (error instanceof AdminGateError) throw new AsError(error.code, error.message);
        throw error;
      }
    },
  };
}
