/**
 * The TEE key pair whose public half goes into `runtime-data.tee-pubkey` and to which the KBS
 * encrypts resources. Like the Rust client: P-256 by default, P-521 or RSA-2048 on request,
 * or loaded from a PEM (RSA PKCS#1 → RSA-OAEP-256; EC P-256/P-521 PKCS#8 → ECDH-ES+A256KW).
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { teePubKeyFromKey, type TeePubKey } from '@trustee/protocol';
import { KbsClientError } from './kbsClientError.ts';

/** AA `tee_key_algorithm` names (ML-KEM-768+A192KW is absent: no ML-KEM in Node 20). */
export const TEE_KEY_ALGORITHMS = ['ECDH-ES+A256KW-P256', 'ECDH-ES+A256KW-P521', 'RSA-OAEP-256'] as const;
export type TeeKeyAlgorithm = (typeof TEE_KEY_ALGORITHMS)[number];

export interface TeeKeyPair {
  readonly privateKey: KeyObject;
  readonly publicJwk: TeePubKey;
}

export function generateTeeKey(algorithm: TeeKeyAlgorithm = 'ECDH-ES+A256KW-P256'): TeeKeyPair {
  let privateKey: KeyObject;
  switch (algorithm) {
    case 'ECDH-ES+A256KW-P256':
      privateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      break;
    case 'ECDH-ES+A256KW-P521':
      privateKey = generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey;
      break;
    case 'RSA-OAEP-256':
      privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      break;
  }
  return { privateKey, publicJwk: teePubKeyFromKey(privateKey) };
}

export function isTeeKeyAlgorithm(value: string): value is TeeKeyAlgorithm {
  return (TEE_KEY_ALGORITHMS as readonly string[]).includes(value);
}

/** Loads a TEE private key from PEM: RSA (PKCS#1 or PKCS#8) or EC P-256/P-521 (PKCS#8 or SEC1). */
export function loadTeeKey(pem: string): TeeKeyPair {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new KbsClientError('usage', 'TEE key file is not a PEM private key', { cause: error });
  }
  try {
    return { privateKey, publicJwk: teePubKeyFromKey(privateKey) };
  } catch (error) {
    throw new KbsClientError('usage', `unsupported TEE key: ${(error as Error).message}`, { cause: error });
  }
}
