// Invariant: the decoders accept only canonical encodings, like the strict Rust engines the
// KBS uses (padded base64url policy bodies and sloppy nonces are rejected, never repaired).
import { describe, expect, it } from 'vitest';
import { b64std, b64url } from './base64.ts';
import { ProtocolError } from './errors.ts';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe('b64url', () => {
  it.each<[string, Uint8Array]>([
    ['', bytes()],
    ['AA', bytes(0)],
    ['AAE', bytes(0, 1)],
    ['-_8', bytes(0xfb, 0xff)],
    ['AAECAw', bytes(0, 1, 2, 3)],
  ])('decodes %j', (text, expected) => {
    expect(b64url.decode(text)).toEqual(expected);
    expect(b64url.encode(expected)).toBe(text);
  });

  it.each(['AA==', 'AAE=', '+/8', 'AA E', 'A', 'AB', 'AAF', 'AA\n', 'é'])('rejects %j', (text) => {
    expect(() => b64url.decode(text)).toThrow(ProtocolError);
  });
});

describe('b64std', () => {
  it.each<[string, Uint8Array]>([
    ['', bytes()],
    ['AA==', bytes(0)],
    ['AAE=', bytes(0, 1)],
    ['+/8=', bytes(0xfb, 0xff)],
    ['AAECAw==', bytes(0, 1, 2, 3)],
  ])('decodes %j', (text, expected) => {
    expect(b64std.decode(text)).toEqual(expected);
    expect(b64std.encode(expected)).toBe(text);
  });

  it.each(['AA', 'AAE', '-_8=', 'AA=', 'AB==', 'AAF=', 'AA==AA==', ' AA==', 'A===', '='])('rejects %j', (text) => {
    expect(() => b64std.decode(text)).toThrow(ProtocolError);
  });
});
