import { VerificationError } from '../verificationError.ts';

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Strict hex decoding (either case, even length, nothing else): `Buffer.from(s, 'hex')`
 * silently stops at the first bad character, which would let garbage through.
 */
export function fromHex(text: string, field: string): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw VerificationError.single('malformed_evidence', field, 'not a hex string', 'even-length hex', describeText(text));
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/**
 * Base64 decoding that accepts both alphabets and optional `=` padding, as serde_with's
 * `Base64<UrlSafe>` (padding-indifferent) and the guests' padded base64url do; anything else is
 * rejected instead of being skipped the way `Buffer.from` would.
 */
export function fromBase64Lenient(text: string, field: string): Uint8Array {
  const unpadded = text.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9+/_-]*$/.test(unpadded) || unpadded.length % 4 === 1) {
    throw VerificationError.single('malformed_evidence', field, 'not a base64 string', 'base64 or base64url', describeText(text));
  }
  return new Uint8Array(Buffer.from(unpadded.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

/** Standard base64 with padding (claims use it where upstream does). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** `regularize_data` of upstream: zero-pad or truncate to `length` bytes. */
export function regularize(data: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(data.subarray(0, length));
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** Describes untrusted text for an error message without echoing it whole. */
export function describeText(text: string): string {
  return text.length > 16 ? `${JSON.stringify(text.slice(0, 16))}... (${text.length} chars)` : JSON.stringify(text);
}
