/**
 * `[admin]` (upstream kbs/src/admin/config.rs), strict like upstream's serde
 * `deny_unknown_fields`: a legacy `type = ...` key or a typo is a startup error, not a silently
 * open admin API.
 */
import { bearerJwtSchema, type IdentityProviderConfig } from '@trustee/auth';
import { fail } from '@trustee/config';
import { z } from 'zod';

export type { IdentityProviderConfig };

export interface AclConfig {
  readonly role: string;
  readonly allowedEndpoints: string;
}

export type AdminConfig =
  | { readonly mode: 'InsecureAllowAll' }
  | { readonly mode: 'DenyAll' }
  | { readonly mode: 'AuthenticatedAuthorization'; readonly identityProviders: readonly IdentityProviderConfig[]; readonly acls: readonly AclConfig[] };

const aclSchema = z.strictObject({ role: z.string(), allowed_endpoints: z.string() }).transform((raw, ctx): AclConfig => {
  const pattern = raw.allowed_endpoints;
  if (!pattern.startsWith('^/kbs') || !pattern.endsWith('$')) fail(ctx, ['allowed_endpoints'], 'must start with ^/kbs and end with $');
  else {
    try {
      new RegExp(pattern, 'u');
    } catch (error) {
      fail(ctx, ['allowed_endpoints'], `invalid regular expression: ${(error as Error).message}`);
    }
  }
  return { role: raw.role, allowedEndpoints: pattern };
});

/** The `[admin]` table (required, like upstream's `KbsConfig.admin`). */
export const adminSchema = z
  .strictObject({
    authorization_mode: z.enum(['InsecureAllowAll', 'DenyAll', 'AuthenticatedAuthorization']).optional(),
    authentication: z.strictObject({ bearer_jwt: bearerJwtSchema.optional() }).optional(),
    authorization: z.strictObject({ regex_acl: z.strictObject({ acls: z.array(aclSchema).optional() }).optional() }).optional(),
  })
  .transform((raw, ctx): AdminConfig => {
    const mode = raw.authorization_mode ?? 'InsecureAllowAll';
    if (mode !== 'AuthenticatedAuthorization') {
      if (raw.authentication !== undefined || raw.authorization !== undefined) fail(ctx, [], 'authentication/authorization are only valid with authorization_mode = "AuthenticatedAuthorization"');
      return { mode };
    }
    const identityProviders = raw.authentication?.bearer_jwt;
    if (raw.authentication === undefined) fail(ctx, ['authentication'], 'required for AuthenticatedAuthorization');
    else if (identityProviders === undefined) fail(ctx, ['authentication', 'bearer_jwt'], 'required for AuthenticatedAuthorization');
    const regexAcl = raw.authorization?.regex_acl;
    if (raw.authorization === undefined) fail(ctx, ['authorization'], 'required for AuthenticatedAuthorization');
    else if (regexAcl === undefined) fail(ctx, ['authorization', 'regex_acl'], 'required for AuthenticatedAuthorization');
    return { mode, identityProviders: identityProviders ?? [], acls: regexAcl?.acls ?? [] };
  });
