/**
 * The admin gate of ListReferenceValues / DeleteReferenceValue (and Register with
 * `protect_register`): `authorization: Bearer <jwt>` signed by the configured key, with `exp`
 * required (60 s leeway) and `iss`/`aud` checked when configured. No admin config → every
 * admin call is refused: there is no "allow all" mode.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { AdminConfig } from './config.ts';
import { RvpsConfigError } from './config.ts';
import { RvpsError } from './errors.ts';

const CLOCK_TOLERANCE_S = 60;
const BEARER = /^Bearer +([A-Za-z0-9_.-]+)\s*$/i;

export interface AdminGate {
  /** Resolves when the header carries a valid admin token; rejects with RvpsError otherwise. */
  authorize(authorization: string | undefined): Promise<void>;
}

function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return ['ES256'];
      if (curve === 'secp384r1') return ['ES384'];
      if (curve === 'secp521r1') return ['ES512'];
      return [];
    }
    default:
      return [];
  }
}

async function loadPublicKey(path: string): Promise<KeyObject> {
  let key: KeyObject;
  try {
    key = createPublicKey(await readFile(path, 'utf8'));
  } catch (error) {
    throw new RvpsConfigError(`admin.public_key_path ${path}: not a readable PEM public key (${(error as Error).message})`);
  }
  if (algorithmsFor(key).length === 0) throw new RvpsConfigError(`admin.public_key_path ${path}: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

async function loadJwks(path: string): Promise<JWTVerifyGetKey> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new RvpsConfigError(`admin.jwks_path ${path}: not a readable JSON file (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new RvpsConfigError(`admin.jwks_path ${path}: not a JWK set ({"keys": [...]})`);
  }
  return createLocalJWKSet(parsed as JSONWebKeySet);
}

/** Builds the gate once at startup (keys are read now, not per request). */
export async function createAdminGate(config: AdminConfig | undefined, now: () => Date = () => new Date()): Promise<AdminGate> {
  if (config === undefined) {
    return {
      async authorize() {
        throw new RvpsError('permission_denied', 'admin operations are disabled: no admin key is configured (config key "admin")');
      },
    };
  }
  const sources: Array<{ key: KeyObject; algorithms: string[] } | { jwks: JWTVerifyGetKey }> = [];
  if (config.publicKeyPath !== undefined) {
    const key = await loadPublicKey(config.publicKeyPath);
    sources.push({ key, algorithms: algorithmsFor(key) });
  }
  if (config.jwksPath !== undefined) sources.push({ jwks: await loadJwks(config.jwksPath) });
  return {
    async authorize(authorization) {
      const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
      if (token === undefined) throw new RvpsError('unauthenticated', 'admin operation requires "authorization: Bearer <jwt>"');
      const options = {
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: now(),
        ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
        ...(config.audience === undefined ? {} : { audience: config.audience }),
      };
      for (const source of sources) {
        try {
          if ('key' in source) await jwtVerify(token, source.key, { ...options, algorithms: source.algorithms });
          else await jwtVerify(token, source.jwks, options);
          return;
        } catch {
          // try the next key source
        }
      }
      throw new RvpsError('unauthenticated', 'admin token rejected: bad signature, expired, or wrong issuer/audience');
    },
  };
}
