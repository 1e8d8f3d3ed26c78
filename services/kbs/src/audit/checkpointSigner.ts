/**
 * The key that signs retention checkpoints (Ed25519, node:crypto). `[audit] checkpoint_key`
 * names a PKCS#8 PEM file (the dev setup writes one); without it the KBS keeps one in the store
 * (namespace `kbs_audit_signer`, created once with a conditional write so all replicas share
 * it). A key held in the same store proves less than a file kept elsewhere: `audit verify
 * --public-key` pins the expected signer either way.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { KeyValueStore } from '@trustee/storage';
import { sha256Hex } from './record.ts';

export const SIGNER_NAMESPACE = 'kbs_audit_signer';
const SIGNER_KEY = 'checkpoint-key.pem';

export interface CheckpointSigner {
  /** base64 of the SPKI DER public key. */
  readonly publicKey: string;
  /** First 16 hex digits of SHA-256 over the SPKI DER. */
  readonly fingerprint: string;
  sign(data: string): string;
}

function signerOf(privateKey: KeyObject): CheckpointSigner {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`audit checkpoint key must be an Ed25519 key, got ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return {
    publicKey: der.toString('base64'),
    fingerprint: sha256Hex(der).slice(0, 16),
    sign: (data) => sign(null, Buffer.from(data, 'utf8'), privateKey).toString('base64'),
  };
}

export function generateCheckpointKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export async function loadCheckpointSigner(options: { readonly keyPath?: string | undefined; readonly store: KeyValueStore }): Promise<CheckpointSigner> {
  if (options.keyPath !== undefined) {
    const pem = await readFile(options.keyPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new Error(`audit.checkpoint_key: cannot read ${options.keyPath} (${error.code ?? error.message})`);
    });
    return signerOf(createPrivateKey(pem));
  }
  const fresh = new TextEncoder().encode(generateCheckpointKeyPem());
  await options.store.set(SIGNER_NAMESPACE, SIGNER_KEY, fresh, { overwrite: false });
  const stored = await options.store.get(SIGNER_NAMESPACE, SIGNER_KEY);
  if (stored === undefined) throw new Error('audit checkpoint key vanished from the store');
  return signerOf(createPrivateKey(new TextDecoder().decode(stored)));
}

/** Public key (base64 SPKI DER) from a PEM public or private key, for `--public-key`. */
export function publicKeyFromPem(pem: string): string {
  const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

export function verifySignature(publicKey: string, data: string, signature: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    return verify(null, Buffer.from(data, 'utf8'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function fingerprintOf(publicKey: string): string {
  return sha256Hex(Buffer.from(publicKey, 'base64')).slice(0, 16);
}
