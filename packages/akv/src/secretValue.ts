/**
 * Secret values: Key Vault stores strings, the KBS stores bytes. Values the KBS writes are
 * base64 with a content type naming that encoding; secrets an operator typed into the portal
 * or `az keyvault secret set` (any other content type) are served as their UTF-8 bytes.
 */
import { StorageError } from '@trustee/storage';

export const BASE64_CONTENT_TYPE = 'application/octet-stream;base64';

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface EncodedSecretValue {
  readonly value: string;
  readonly contentType: string;
}

export function encodeSecretValue(bytes: Uint8Array): EncodedSecretValue {
  return { value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), contentType: BASE64_CONTENT_TYPE };
}

function isBase64ContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.replace(/\s+/g, '').toLowerCase() === BASE64_CONTENT_TYPE;
}

/**
 * The bytes of a secret. `name` only serves the error message; the value never appears in it.
 * Throws StorageError('backend_failure') when a secret claims our base64 content type but its
 * value is not strict base64 (edited by hand in the portal).
 */
export function decodeSecretValue(value: string, contentType: string | undefined, name: string): Uint8Array {
  if (!isBase64ContentType(contentType)) return new Uint8Array(Buffer.from(value, 'utf8'));
  if (!STRICT_BASE64.test(value)) {
    throw new StorageError('backend_failure', `Key Vault secret ${name} has content type ${BASE64_CONTENT_TYPE} but its value is not base64`);
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}
