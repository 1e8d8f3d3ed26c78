/**
 * The admin gate for every admin path. `authorize` throws AdminDenied with
 * upstream's reason text; the route decides which error variant wraps it (AdminAuthAccess for
 * the built-in admin endpoints, AdminAuthInitialization for plugin admin paths — upstream's
 * quirk, kept for byte compatibility).
 */
import type { AdminConfig } from './adminConfig.ts';
import { BearerJwtAuthenticator } from '@trustee/auth';
import { RegexAcl } from './regexAcl.ts';
import { errorClassWithCode } from '@trustee/errors';

export class AdminDenied extends errorClassWithCode('admin_denied') {}

const BEARER = /^Bearer +([^\s]+)\s*$/i;

/** Who was let in, for the audit log (never the token itself). */
export interface AdminIdentity {
  readonly role?: string;
  readonly subject?: string;
  readonly issuer?: string;
}

export interface AdminAuthorizer {
  readonly mode: AdminConfig['mode'];
  /** Resolves with the caller's identity when allowed; rejects with AdminDenied (reason = upstream's text) otherwise. */
  authorize(authorization: string | undefined, uri: string): Promise<AdminIdentity>;
}

export async function createAdminAuthorizer(config: AdminConfig, now: () => number = Date.now): Promise<AdminAuthorizer> {
  switch (config.mode) {
    case 'InsecureAllowAll':
      return { mode: config.mode, authorize: async () => ({}) };
    case 'DenyAll':
      return {
        mode: config.mode,
        authorize: async () => {
          throw new AdminDenied('Admin access denied: Admin access denied as DenyAll authorization_mode is enabled');
        },
      };
    case 'AuthenticatedAuthorization': {
      const authenticator = await BearerJwtAuthenticator.create(config.identityProviders, now);
      const acl = new RegexAcl(config.acls);
      return {
        mode: config.mode,
        async authorize(authorization, uri) {
          const match = authorization === undefined ? null : BEARER.exec(authorization);
          if (match?.[1] === undefined) throw new AdminDenied('Failed to parse HTTP Auth Bearer header');
          const claims = await authenticator.verify(match[1]);
          if (claims === undefined) throw new AdminDenied('Admin access denied: Cannot verify token with any of the issuers');
          const role = claims['role'];
          if (typeof role !== 'string') throw new AdminDenied('Admin access denied: Missing required `role` claim in JWT');
          if (!acl.allows(role, uri)) throw new AdminDenied(`Admin access denied: Role ${role} not allowed for path ${uri}`);
          return {
            role,
            ...(typeof claims.sub === 'string' ? { subject: claims.sub } : {}),
            ...(typeof claims.iss === 'string' ? { issuer: claims.iss } : {}),
          };
        },
      };
    }
  }
}
