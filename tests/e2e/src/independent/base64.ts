/**
 * Strict base64 codecs for the independent client. Node's Buffer decoder is lenient (it skips
 * junk characters), so every decode re-encodes and compares: a value that does not round-trip
 * is rejected instead of silently altered.
 */

export function b64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Decodes unpadded base64url; rejects padding, foreign characters and non-canonical tails. */
export function b64urlDecode(text: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url (no padding)');
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new Error('non-canonical base64url');
  return bytes;
}

export function b64stdEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** Decodes padded standard base64; rejects anything that does not round-trip. */
export function b64stdDecode(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error('not standard base64');
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw new Error('non-canonical standard base64');
  return bytes;
}
