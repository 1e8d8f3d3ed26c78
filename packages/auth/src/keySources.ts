/**
 * Loading admin verification keys from `public_key_uri` / `jwk_set_uri` (the KBS's
 * `[admin.authentication.bearer_jwt]`, the AS's and the RVPS's `admin`): a plain path,
 * `file://` URL or `https://` URL (fetched with a timeout — a hung identity provider must not
 * hang startup). JWK set URIs fall back to OpenID discovery like upstream.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { JSONWebKeySet } from 'jose';
import { ConfigError } from '@trustee/config';

const FETCH_TIMEOUT_MS = 10_000;
const MAX_DOCUMENT_BYTES = 1024 * 1024;

async function fetchText(url: string): Promise<string> {
  if (!url.startsWith('https://')) throw new ConfigError(`${url}: only https:// URLs are fetched`);
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (!response.ok) throw new ConfigError(`${url}: HTTP ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_DOCUMENT_BYTES) throw new ConfigError(`${url}: document too large`);
  return text;
}

/** Reads a document from a path, `file://` or `https://` URI. */
export async function readUri(uri: string): Promise<string> {
  if (uri.startsWith('https://')) return fetchText(uri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) throw new ConfigError(`${uri}: unsupported URI scheme (use a path, file:// or https://)`);
  const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
  return readFile(path, 'utf8');
}

/** A PEM public key (EC, RSA or Ed25519; SPKI or PKCS#1 RSA). */
export async function loadPublicKey(uri: string): Promise<KeyObject> {
  const pem = await readUri(uri).catch((error: unknown) => {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${uri}: not readable (${(error as Error).message})`);
  });
  try {
    const key = createPublicKey(pem);
    if (!['ec', 'rsa', 'ed25519'].includes(key.asymmetricKeyType ?? '')) throw new Error(`unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
    return key;
  } catch (error) {
    throw new ConfigError(`${uri}: not a PEM EC, RSA or Ed25519 public key (${(error as Error).message})`);
  }
}

function asJwks(text: string): JSONWebKeySet | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { keys?: unknown }).keys)) return parsed as JSONWebKeySet;
  return undefined;
}

/** A JWK set: the document itself, or (https) via `<uri>/.well-known/openid-configuration` → `jwks_uri`. */
export async function loadJwkSet(uri: string): Promise<JSONWebKeySet> {
  const direct = await readUri(uri).catch((error: unknown) => {
    if (error instanceof ConfigError) throw error;
    if (!uri.startsWith('https://')) throw new ConfigError(`${uri}: not readable (${(error as Error).message})`);
    return undefined;
  });
  const jwks = direct === undefined ? undefined : asJwks(direct);
  if (jwks !== undefined) return jwks;
  if (!uri.startsWith('https://')) throw new ConfigError(`${uri}: not a JWK set`);
  const discovery = JSON.parse(await fetchText(`${uri.replace(/\/+$/, '')}/.well-known/openid-configuration`)) as { jwks_uri?: unknown };
  if (typeof discovery.jwks_uri !== 'string') throw new ConfigError(`${uri}: OpenID configuration has no jwks_uri`);
  const discovered = asJwks(await fetchText(discovery.jwks_uri));
  if (discovered === undefined) throw new ConfigError(`${discovery.jwks_uri}: not a JWK set`);
  return discovered;
}
