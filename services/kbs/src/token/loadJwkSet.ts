/**
 * Loads the JWK sets of `[attestation_token] trusted_jwk_sets`: a plain path, a `file://` URL
 * or an `https://` URL. A URL is first read as a JWKS; when that fails, as an OpenID provider
 * (`<url>/.well-known/openid-configuration` → `jwks_uri`), like the Rust KBS.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@trustee/config';
import { isJsonObject, type JsonObject } from '@trustee/protocol';

export type Fetch = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;

export interface JwkSetLoadOptions {
  readonly fetch?: Fetch;
  readonly timeoutMs?: number;
}

const MAX_JWKS_BYTES = 1024 * 1024;

export async function loadJwkSet(location: string, options: JwkSetLoadOptions = {}): Promise<JsonObject[]> {
  if (/^https:\/\//i.test(location)) return loadRemote(location, options);
  // A trust anchor fetched over plain HTTP could be swapped by anyone on the path.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !location.startsWith('file://')) {
    throw new ConfigError(`attestation_token.trusted_jwk_sets: ${location}: only https:// and file:// URLs (or plain paths) are accepted`);
  }
  const path = location.startsWith('file://') ? fileURLToPath(location) : location;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`attestation_token.trusted_jwk_sets: cannot read ${location}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const keys = parseJwkSet(text);
  if (keys === undefined) throw new ConfigError(`attestation_token.trusted_jwk_sets: ${location} is not a JWK set`);
  return keys;
}

async function loadRemote(url: string, options: JwkSetLoadOptions): Promise<JsonObject[]> {
  const direct = await fetchText(url, options).catch(() => undefined);
  const keys = direct === undefined ? undefined : parseJwkSet(direct);
  if (keys !== undefined) return keys;
  const discoveryUrl = `${url.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const discovery = await fetchText(discoveryUrl, options);
  let jwksUri: unknown;
  try {
    const parsed: unknown = JSON.parse(discovery);
    jwksUri = isJsonObject(parsed) && Object.hasOwn(parsed, 'jwks_uri') ? parsed.jwks_uri : undefined;
  } catch {
    jwksUri = undefined;
  }
  if (typeof jwksUri !== 'string' || !/^https:\/\//i.test(jwksUri)) {
    throw new ConfigError(`attestation_token.trusted_jwk_sets: ${url} is neither a JWK set nor an OpenID provider with jwks_uri`);
  }
  const viaDiscovery = parseJwkSet(await fetchText(jwksUri, options));
  if (viaDiscovery === undefined) throw new ConfigError(`attestation_token.trusted_jwk_sets: ${jwksUri} is not a JWK set`);
  return viaDiscovery;
}

async function fetchText(url: string, options: JwkSetLoadOptions): Promise<string> {
  const doFetch: Fetch = options.fetch ?? ((input, init) => fetch(input, init));
  let response: Response;
  try {
    response = await doFetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000), headers: { accept: 'application/json' } });
  } catch (error) {
    throw new ConfigError(`attestation_token.trusted_jwk_sets: cannot fetch ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new ConfigError(`attestation_token.trusted_jwk_sets: ${url} answered HTTP ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_JWKS_BYTES) throw new ConfigError(`attestation_token.trusted_jwk_sets: ${url} is larger than ${MAX_JWKS_BYTES} bytes`);
  return text;
}

/** `{"keys": [jwk, …]}` → the JWK objects; `undefined` when the text is not a JWK set. */
export function parseJwkSet(text: string): JsonObject[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isJsonObject(parsed) || !Object.hasOwn(parsed, 'keys') || !Array.isArray(parsed.keys)) return undefined;
  return parsed.keys.filter(isJsonObject);
}
