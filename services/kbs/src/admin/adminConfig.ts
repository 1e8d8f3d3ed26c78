/**
 * `[admin]` (spec §3.2), parsed strictly like upstream's serde `deny_unknown_fields`: a legacy
 * `type = ...` key or a typo is a startup error, not a silently open admin API.
 */
import { AuthConfigError, parseBearerJwtConfig, type IdentityProviderConfig } from '@trustee/auth';
import { ConfigError, optionalString, optionalTable, rejectUnknownKeys, requiredString, table, tableArray, type Table } from '../configError.ts';

export type { IdentityProviderConfig };

export interface AclConfig {
  readonly role: string;
  readonly allowedEndpoints: string;
}

export type AdminConfig =
  | { readonly mode: 'InsecureAllowAll' }
  | { readonly mode: 'DenyAll' }
  | { readonly mode: 'AuthenticatedAuthorization'; readonly identityProviders: readonly IdentityProviderConfig[]; readonly acls: readonly AclConfig[] };

const MODES = ['InsecureAllowAll', 'DenyAll', 'AuthenticatedAuthorization'] as const;

function parseProviders(bearer: Table, path: string): IdentityProviderConfig[] {
  try {
    return parseBearerJwtConfig(bearer, path);
  } catch (error) {
    if (error instanceof AuthConfigError) throw new ConfigError(error.message);
    throw error;
  }
}

function parseAcl(raw: Table, path: string): AclConfig {
  rejectUnknownKeys(raw, ['role', 'allowed_endpoints'], path);
  const role = requiredString(raw, 'role', path);
  const allowedEndpoints = requiredString(raw, 'allowed_endpoints', path);
  if (!allowedEndpoints.startsWith('^/kbs') || !allowedEndpoints.endsWith('$')) {
    throw new ConfigError(`${path}.allowed_endpoints: must start with ^/kbs and end with $`);
  }
  try {
    new RegExp(allowedEndpoints, 'u');
  } catch (error) {
    throw new ConfigError(`${path}.allowed_endpoints: invalid regular expression: ${(error as Error).message}`);
  }
  return { role, allowedEndpoints };
}

export function parseAdminConfig(raw: unknown, path = 'admin'): AdminConfig {
  if (raw === undefined) throw new ConfigError(`${path}: the [admin] table is required`);
  const admin = table(raw, path);
  rejectUnknownKeys(admin, ['authorization_mode', 'authentication', 'authorization'], path);
  const mode = optionalString(admin, 'authorization_mode', path) ?? 'InsecureAllowAll';
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(`${path}.authorization_mode: unknown mode "${mode}", expected one of ${MODES.join(', ')}`);
  }
  if (mode !== 'AuthenticatedAuthorization') {
    if (admin['authentication'] !== undefined || admin['authorization'] !== undefined) {
      throw new ConfigError(`${path}: authentication/authorization are only valid with authorization_mode = "AuthenticatedAuthorization"`);
    }
    return { mode: mode as 'InsecureAllowAll' | 'DenyAll' };
  }
  const authentication = optionalTable(admin, 'authentication', path);
  if (authentication === undefined) throw new ConfigError(`${path}.authentication: required for AuthenticatedAuthorization`);
  rejectUnknownKeys(authentication, ['bearer_jwt'], `${path}.authentication`);
  const bearer = optionalTable(authentication, 'bearer_jwt', `${path}.authentication`);
  if (bearer === undefined) throw new ConfigError(`${path}.authentication.bearer_jwt: required for AuthenticatedAuthorization`);
  const bearerPath = `${path}.authentication.bearer_jwt`;
  const providers = parseProviders(bearer, bearerPath);

  const authorization = optionalTable(admin, 'authorization', path);
  if (authorization === undefined) throw new ConfigError(`${path}.authorization: required for AuthenticatedAuthorization`);
  rejectUnknownKeys(authorization, ['regex_acl'], `${path}.authorization`);
  const regexAcl = optionalTable(authorization, 'regex_acl', `${path}.authorization`);
  if (regexAcl === undefined) throw new ConfigError(`${path}.authorization.regex_acl: required for AuthenticatedAuthorization`);
  const aclPath = `${path}.authorization.regex_acl`;
  rejectUnknownKeys(regexAcl, ['acls'], aclPath);
  const acls = tableArray(regexAcl, 'acls', aclPath).map((acl, index) => parseAcl(acl, `${aclPath}.acls[${index}]`));
  return { mode, identityProviders: providers, acls };
}
