import { b64url } from '@trustee/protocol';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a policy upload field: base64url WITHOUT padding (strict, like upstream's
 * URL_SAFE_NO_PAD engine), then UTF-8. Throws Error with a client-safe message.
 */
export function decodePolicyText(value: unknown): string {
  if (typeof value !== 'string') throw new Error('`policy` must be a string');
  let bytes: Uint8Array;
  try {
    bytes = b64url.decode(value);
  } catch {
    throw new Error('`policy` is not base64url without padding');
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new Error('`policy` is not UTF-8 text');
  }
}
