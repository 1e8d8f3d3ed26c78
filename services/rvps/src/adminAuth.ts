/**
 * The admin gate of ListReferenceValues / DeleteReferenceValue (and Register with
 * `protect_register`): `authorization: Bearer <jwt>` signed by the configured key, with `exp`
 * required (60 s leeway) and `iss`/`aud` checked when configured. No admin config → every
 * admin call is refused: there is no "allow all" mode.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { jwkSetSource, jwsAlgorithmsFor, publicKeySource, verifyBearerJwt, type JwtKeySource } from '@trustee/auth';
import type { JSONWebKeySet } from 'jose';
import type { AdminConfig } from './config.ts';
import { RvpsConfigError } from './config.ts';
import { RvpsError } from './errors.ts';

const BEARER = /^Bearer +([A-Za-z0-9_.-]+)\s*$/i;

export interface AdminGate {
  /** Resolves when the header carries a valid admin token; rejects with RvpsError otherwise. */
  authorize(authorization: string | undefined): Promise<void>;
}

async function loadPublicKey(path: string): Promise<KeyObject> {
  let key: KeyObject;
  try {
    key = createPublicKey(await readFile(path, 'utf8'));
  } catch (error) {
    throw new RvpsConfigError(`admin.public_key_path ${path}: not a readable PEM public key (${(error as Error).message})`);
  }
  if (jwsAlgorithmsFor(key).length === 0) throw new RvpsConfigError(`admin.public_key_path ${path}: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

async function loadJwks(path: string): Promise<JwtKeySource> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new RvpsConfigError(`admin.jwks_path ${path}: not a readable JSON file (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new RvpsConfigError(`admin.jwks_path ${path}: not a JWK set ({"keys": [...]})`);
  }
  return jwkSetSource(parsed as JSONWebKeySet);
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
  const sources: JwtKeySource[] = [];
  if (config.publicKeyPath !== undefined) sources.push(publicKeySource(await loadPublicKey(config.publicKeyPath)));
  if (config.jwksPath !== undefined) sources.push(await loadJwks(config.jwksPath));
  return {
    async authorize(authorization) {
      const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
      if (token === undefined) throw new RvpsError('unauthenticated', 'admin operation requires "authorization: Bearer <jwt>"');
      const claims = await verifyBearerJwt(token, sources, { issuer: config.issuer, audience: config.audience, currentDate: now() });
      if (claims !== undefined) return;
      throw new RvpsError('unauthenticated', 'admin token rejected: bad signature, expired, or wrong issuer/audience');
    },
  };
}
