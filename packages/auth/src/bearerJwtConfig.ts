/**
 * The `bearer_jwt` table, in the KBS's format (kbs-protocol §3.2, upstream
 * kbs/src/admin/authentication/bearer_jwt.rs): `identity_providers = [{ issuer?, audience?,
 * public_key_uri?, jwk_set_uri? }, …]`, at least one provider, each with a key source. Parsed
 * strictly: a typo in a security section is an error, not a silently open or closed API.
 */
import { AuthConfigError } from './errors.ts';

export interface IdentityProviderConfig {
  readonly issuer?: string;
  readonly audience?: string;
  readonly publicKeyUri?: string;
  readonly jwkSetUri?: string;
}

const PROVIDER_KEYS = ['issuer', 'audience', 'public_key_uri', 'jwk_set_uri'];

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function optionalString(table: Record<string, unknown>, key: string, path: string): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new AuthConfigError(`${path}.${key}: expected a string`);
  return value;
}

/** Worded like the KBS's other `[admin]` errors (serde's `deny_unknown_fields`). */
function rejectUnknownKeys(table: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(table)) {
    if (!allowed.includes(key)) throw new AuthConfigError(`${path}: unknown field \`${key}\`, expected one of ${allowed.map((name) => `\`${name}\``).join(', ')}`);
  }
}

/** One `identity_providers` entry. */
export function parseIdentityProvider(raw: unknown, path: string): IdentityProviderConfig {
  if (!isTable(raw)) throw new AuthConfigError(`${path}: expected a table`);
  rejectUnknownKeys(raw, PROVIDER_KEYS, path);
  const issuer = optionalString(raw, 'issuer', path);
  const audience = optionalString(raw, 'audience', path);
  const publicKeyUri = optionalString(raw, 'public_key_uri', path);
  const jwkSetUri = optionalString(raw, 'jwk_set_uri', path);
  if (publicKeyUri === undefined && jwkSetUri === undefined) throw new AuthConfigError(`${path}: public_key_uri or jwk_set_uri required`);
  return {
    ...(issuer === undefined ? {} : { issuer }),
    ...(audience === undefined ? {} : { audience }),
    ...(publicKeyUri === undefined ? {} : { publicKeyUri }),
    ...(jwkSetUri === undefined ? {} : { jwkSetUri }),
  };
}

/**
 * A `bearer_jwt` table → its identity providers.
 *
 * @example
 * parseBearerJwtConfig({ identity_providers: [{ issuer: 'ops', public_key_uri: '/etc/as/admin.pub' }] }, 'admin.bearer_jwt');
 */
export function parseBearerJwtConfig(raw: unknown, path: string): IdentityProviderConfig[] {
  if (!isTable(raw)) throw new AuthConfigError(`${path}: expected a table`);
  rejectUnknownKeys(raw, ['identity_providers'], path);
  const providers = raw['identity_providers'];
  if (!Array.isArray(providers)) throw new AuthConfigError(`${path}.identity_providers: expected an array of tables`);
  if (providers.length === 0) throw new AuthConfigError(`${path}.identity_providers: at least one identity provider required`);
  return providers.map((provider: unknown, index) => parseIdentityProvider(provider, `${path}.identity_providers[${index}]`));
}
