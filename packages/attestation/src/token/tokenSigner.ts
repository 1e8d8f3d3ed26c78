/**
 * The EAR signing key (upstream trustee `attestation-service/src/ear_token/broker.rs`): ES256 over
 * P-256 only. With `signer.key_path` the PEM key is used; without it a key is generated ONCE and
 * persisted in the key-value store, so restarts and replicas sharing the store keep issuing tokens
 * verifiable with the same JWK (upstream generates an ephemeral key per process).
 */
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { KeyValueStore } from '@trustee/storage';
import { AttestationError } from '../attestationError.ts';
import type { TokenSignerConfig } from '../config.ts';
import type { Logger } from '@trustee/log';
import { parsePemCertificates } from '@trustee/config';

export const SIGNING_KEY_NAMESPACE = 'attestation_service_keys';
export const SIGNING_KEY_NAME = 'ear-signing-key.pem';
const P256_ONLY = 'Only P-256 attestation token signing keys are supported';

/** The public JWK placed in every token header and served as the JWKS. */
export interface SignerJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly alg: 'ES256';
  readonly x: string;
  readonly y: string;
  readonly x5u?: string;
  readonly x5c?: readonly string[];
}

export interface TokenSigner {
  readonly jwk: SignerJwk;
  /** Signs the payload bytes as a compact JWS with header `{"typ":"JWT","alg":"ES256","jwk":…}`. */
  sign(payload: Uint8Array): Promise<string>;
}

export async function loadTokenSigner(signer: TokenSignerConfig | undefined, store: KeyValueStore, log: Logger): Promise<TokenSigner> {
  const privateKey = signer === undefined ? await persistedKey(store, log) : await configuredKey(signer.keyPath);
  const chain = signer?.certPath === undefined ? undefined : await readCertificateChain(signer.certPath);
  const { x, y } = coordinates(privateKey);
  const jwk: SignerJwk = {
    kty: 'EC',
    crv: 'P-256',
    alg: 'ES256',
    x,
    y,
    ...(signer?.certUrl === undefined ? {} : { x5u: signer.certUrl }),
    ...(chain === undefined ? {} : { x5c: chain.map((cert) => cert.raw.toString('base64')) }),
  };
  const leaf = chain?.[0];
  if (leaf !== undefined && !leaf.publicKey.equals(createPublicKey(privateKey))) {
    log.warn('attestation token signer: the first certificate of cert_path does not certify the signing key; verifiers using x5c will reject the tokens');
  }
  // Member order is the wire order: {"typ":"JWT","alg":"ES256","jwk":{...}}. The header is the
  // same for every token, so its base64url form is computed once.
  const protectedHeader = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256', jwk }), 'utf8').toString('base64url');
  return {
    jwk,
    async sign(payload) {
      try {
        // RFC 7515 compact serialisation; node:crypto's synchronous ECDSA costs about a third of
        // WebCrypto's job round trip, and ES256 wants the raw r||s (IEEE P1363) signature form.
        const signingInput = `${protectedHeader}.${Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64url')}`;
        const signature = sign('sha256', Buffer.from(signingInput, 'ascii'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
        return `${signingInput}.${signature.toString('base64url')}`;
      } catch (error) {
        throw new AttestationError('token_issue_failed', `cannot sign the attestation token: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}

async function configuredKey(keyPath: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(keyPath, 'utf8');
  } catch (error) {
    throw new AttestationError('invalid_config', `attestation_token_broker.signer.key_path: cannot read ${keyPath}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  return parseP256PrivateKey(pem, `attestation_token_broker.signer.key_path (${keyPath})`);
}

/** Parses a PEM private key and insists on P-256. */
export function parseP256PrivateKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new AttestationError('invalid_config', `${where}: not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new AttestationError('invalid_config', P256_ONLY);
  }
  return key;
}

async function persistedKey(store: KeyValueStore, log: Logger): Promise<KeyObject> {
  const existing = await storage(() => store.get(SIGNING_KEY_NAMESPACE, SIGNING_KEY_NAME));
  if (existing !== undefined) {
    log.info('attestation token signer: using the P-256 key persisted in storage (no signer.key_path configured)');
    return parseP256PrivateKey(new TextDecoder().decode(existing), 'persisted attestation token signing key');
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // Two replicas starting together both generate; overwrite=false lets the first write win and
  // both continue with the stored key.
  await storage(() => store.set(SIGNING_KEY_NAMESPACE, SIGNING_KEY_NAME, new TextEncoder().encode(pem), { overwrite: false }));
  const stored = await storage(() => store.get(SIGNING_KEY_NAMESPACE, SIGNING_KEY_NAME));
  if (stored === undefined) throw new AttestationError('storage_error', 'attestation token signing key vanished from storage after it was written');
  log.info('attestation token signer: generated a P-256 key and persisted it in storage (no signer.key_path configured)');
  return parseP256PrivateKey(new TextDecoder().decode(stored), 'persisted attestation token signing key');
}

function coordinates(privateKey: KeyObject): { x: string; y: string } {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw new AttestationError('invalid_config', P256_ONLY);
  return { x: leftPad32(jwk.x), y: leftPad32(jwk.y) };
}

function leftPad32(coordinate: string): string {
  const bytes = Buffer.from(coordinate, 'base64url');
  if (bytes.length > 32) throw new AttestationError('invalid_config', P256_ONLY);
  return Buffer.concat([Buffer.alloc(32 - bytes.length), bytes]).toString('base64url');
}

/** Every CERTIFICATE block of a PEM file, in file order, each parsed (so garbage fails at startup). */
export async function readCertificateChain(path: string): Promise<X509Certificate[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new AttestationError('invalid_config', `attestation_token_broker.signer.cert_path: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  const certificates = parsePemCertificates(text);
  if (certificates.length === 0) throw new AttestationError('invalid_config', `attestation_token_broker.signer.cert_path: ${path} holds no PEM certificate`);
  return certificates;
}


async function storage<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof AttestationError) throw error;
    throw new AttestationError('storage_error', `signing key storage: ${(error as Error).message}`, { cause: error });
  }
}
