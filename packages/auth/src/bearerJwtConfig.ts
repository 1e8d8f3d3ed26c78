/**
 * The `bearer_jwt` table, in the KBS's format (upstream kbs/src/admin/authentication/bearer_jwt.rs):
 * `identity_providers = [{ issuer?, audience?, public_key_uri?, jwk_set_uri? }, …]`, at least one
 * provider, each with a key source. Strict like every config table: a typo in a security section
 * is an error, not a silently open or closed API.
 */
import { fail, validateConfig } from '@trustee/config';
import { z } from 'zod';

export interface IdentityProviderConfig {
  readonly issuer?: string;
  readonly audience?: string;
  readonly publicKeyUri?: string;
  readonly jwkSetUri?: string;
}

/** One `identity_providers` entry. */
export const identityProviderSchema = z
  .strictObject({ issuer: z.string().optional(), audience: z.string().optional(), public_key_uri: z.string().optional(), jwk_set_uri: z.string().optional() })
  .transform((raw, ctx): IdentityProviderConfig => {
    if (raw.public_key_uri === undefined && raw.jwk_set_uri === undefined) fail(ctx, [], 'public_key_uri or jwk_set_uri required');
    return {
      ...(raw.issuer === undefined ? {} : { issuer: raw.issuer }),
      ...(raw.audience === undefined ? {} : { audience: raw.audience }),
      ...(raw.public_key_uri === undefined ? {} : { publicKeyUri: raw.public_key_uri }),
      ...(raw.jwk_set_uri === undefined ? {} : { jwkSetUri: raw.jwk_set_uri }),
    };
  });

/** A `bearer_jwt` table → its identity providers. */
export const bearerJwtSchema = z
  .strictObject({ identity_providers: z.array(identityProviderSchema).min(1) })
  .transform((raw): IdentityProviderConfig[] => raw.identity_providers);

/**
 * Validates a `bearer_jwt` table held apart from its file; throws ConfigError.
 *
 * @example
 * parseBearerJwtConfig({ identity_providers: [{ issuer: 'ops', public_key_uri: '/etc/as/admin.pub' }] }, 'admin.bearer_jwt');
 */
export function parseBearerJwtConfig(raw: unknown, path: string): IdentityProviderConfig[] {
  return validateConfig(bearerJwtSchema, raw, { at: path }).value;
}
