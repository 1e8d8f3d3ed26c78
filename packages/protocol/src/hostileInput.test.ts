// Invariant: every parser of this package, fed arbitrary JSON-shaped values, either returns a
// typed value or throws ProtocolError — never a raw TypeError/RangeError.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { b64std, b64url } from './base64.ts';
import { canonicalJson } from './canonicalJson.ts';
import { ProtocolError } from './errors.ts';
import { decryptJweResponse } from './jwe.ts';
import {
  parseAdditionalEvidence,
  parseAttestationRequest,
  parseAttestResponse,
  parseAuthRequest,
  parseChallenge,
  parseErrorInformation,
  parseJweResponse,
  type JweResponse,
} from './messages.ts';
import { parseTeePubKey } from './teePubKey.ts';

/** Small deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const KEYS = ['kty', 'crv', 'alg', 'x', 'y', 'n', 'e', 'pub', 'nonce', 'tee-pubkey', 'runtime-data', 'tee-evidence', 'init-data', 'primary_evidence', 'additional_evidence', 'format', 'body', 'type', 'detail', 'token', 'protected', '__proto__', 'constructor'];
const STRINGS = ['', 'EC', 'RSA', 'AKP', 'P-256', 'P-521', 'ECDH-ES+A256KW', 'AA', 'AA==', '\ud800', 'x'.repeat(100), b64url.encode(Buffer.alloc(32, 1))];

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return [0, -0, 1.5, 1e308, -1, Number.MAX_SAFE_INTEGER][Math.floor(next() * 6)];
    case 3:
    case 4:
      return STRINGS[Math.floor(next() * STRINGS.length)];
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      const count = Math.floor(next() * 6);
      for (let i = 0; i < count; i++) object[KEYS[Math.floor(next() * KEYS.length)] ?? 'k'] = randomValue(next, depth + 1);
      return object;
    }
  }
}

const parsers: Array<[string, (value: unknown) => unknown]> = [
  ['parseTeePubKey', parseTeePubKey],
  ['parseAttestationRequest', parseAttestationRequest],
  ['parseAuthRequest', parseAuthRequest],
  ['parseChallenge', parseChallenge],
  ['parseAttestResponse', parseAttestResponse],
  ['parseJweResponse', parseJweResponse],
  ['parseErrorInformation', parseErrorInformation],
  ['canonicalJson', canonicalJson],
  ['parseAdditionalEvidence', (value) => parseAdditionalEvidence(typeof value === 'string' ? value : JSON.stringify(value) ?? '')],
  ['b64url.decode', (value) => b64url.decode(value as string)],
  ['b64std.decode', (value) => b64std.decode(value as string)],
];

describe.each(parsers)('%s on hostile input', (_name, parse) => {
  it('throws only ProtocolError', () => {
    const next = prng(0x5eed);
    for (let i = 0; i < 2000; i++) {
      const value = randomValue(next, 0);
      try {
        parse(value);
      } catch (error) {
        expect(error, `input ${JSON.stringify(value)}`).toBeInstanceOf(ProtocolError);
      }
    }
  });
});

describe('decryptJweResponse on hostile input', () => {
  it('throws only ProtocolError (JweError)', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const next = prng(7);
    const headers = ['{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}', '{"alg":"RSA-OAEP-256","enc":"A256GCM"}', '{"enc":"A256GCM"}', '[]', 'null', '"x"'];
    for (let i = 0; i < 300; i++) {
      const jwe: JweResponse = {
        protected: next() < 0.8 ? b64url.encode(Buffer.from(headers[Math.floor(next() * headers.length)] ?? '')) : JSON.stringify(randomValue(next, 3)) ?? '',
        encrypted_key: b64url.encode(Buffer.alloc(Math.floor(next() * 48), 1)),
        iv: b64url.encode(Buffer.alloc(next() < 0.8 ? 12 : 3)),
        ciphertext: JSON.stringify(randomValue(next, 3)) ?? '',
        tag: b64url.encode(Buffer.alloc(next() < 0.8 ? 16 : 5)),
      };
      expect(() => decryptJweResponse(jwe, key)).toThrow(ProtocolError);
    }
  });
});
