import { VerificationError } from '../verificationError.ts';

/**
 * Bytes from a JSON array of numbers (serde's `Vec<u8>` / `[u8; N]` form); every element must be
 * an integer 0..255 and, when `length` is given, the array must have exactly that many.
 */
export function bytesFromJsonArray(value: unknown, field: string, length?: number): Uint8Array {
  if (!Array.isArray(value)) throw VerificationError.single('malformed_evidence', field, 'expected an array of bytes', 'array', jsonKind(value));
  if (length !== undefined && value.length !== length) {
    throw VerificationError.single('malformed_evidence', field, 'wrong byte array length', String(length), String(value.length));
  }
  const out = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i += 1) {
    const byte: unknown = value[i];
    if (typeof byte !== 'number' || !Number.isInteger(byte) || byte < 0 || byte > 255) {
      throw VerificationError.single('malformed_evidence', `${field}[${i}]`, 'not a byte', '0..255', jsonKind(byte));
    }
    out[i] = byte;
  }
  return out;
}

/** An unsigned JSON integer no larger than `max` (serde's u8/u32). */
export function uintFromJson(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw VerificationError.single('malformed_evidence', field, `expected an integer 0..${max}`, undefined, jsonKind(value));
  }
  return value;
}

/**
 * A u64 from JSON. `JSON.parse` rounds integers above 2^53, so values beyond
 * `Number.MAX_SAFE_INTEGER` are rejected rather than silently corrupted.
 */
export function u64FromJson(value: unknown, field: string): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw VerificationError.single('malformed_evidence', field, 'expected an unsigned integer below 2^53', undefined, jsonKind(value));
  }
  return BigInt(value);
}

export function objectFromJson(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw VerificationError.single('malformed_evidence', field, 'expected a JSON object', 'object', jsonKind(value));
  }
  return value as Record<string, unknown>;
}

export function stringFromJson(value: unknown, field: string): string {
  if (typeof value !== 'string') throw VerificationError.single('malformed_evidence', field, 'expected a string', 'string', jsonKind(value));
  return value;
}

/** A short description of a JSON value's kind for error messages (never the value itself). */
export function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : 'number';
  return typeof value;
}
