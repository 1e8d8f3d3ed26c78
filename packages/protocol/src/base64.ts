/**
 * Strict base64 codecs. Decoders accept only the canonical encoding (the one the encoder
 * would produce), like the Rust `base64` engines used by trustee: wrong alphabet, wrong
 * padding or non-zero trailing bits are rejected.
 */
import { ProtocolError } from './errors.ts';

export interface Base64Codec {
  encode(bytes: Uint8Array): string;
  /** Throws ProtocolError on anything but the canonical encoding. */
  decode(text: string): Uint8Array;
}

function strictCodec(encoding: 'base64url' | 'base64', alphabet: RegExp, label: string): Base64Codec {
  return {
    encode(bytes) {
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding);
    },
    decode(text) {
      if (typeof text !== 'string' || !alphabet.test(text)) {
        throw new ProtocolError(`invalid ${label}: unexpected character or padding`);
      }
      const bytes = Buffer.from(text, encoding);
      if (bytes.toString(encoding) !== text) {
        throw new ProtocolError(`invalid ${label}: non-canonical encoding`);
      }
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  };
}

/** base64url without padding (RFC 4648 §5), as used by JOSE and the KBS admin bodies. */
export const b64url: Base64Codec = strictCodec('base64url', /^[A-Za-z0-9_-]*$/, 'base64url (no padding)');

/** Standard base64 with padding (RFC 4648 §4), as used for nonces and sample report data. */
export const b64std: Base64Codec = strictCodec('base64', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'standard base64');
