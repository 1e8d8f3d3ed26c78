// Invariant: canonicalJson produces RFC 8785 bytes (key order by UTF-16 code units, even for
// integer-like keys that JavaScript objects reorder), so runtime-data digests match the Rust
// serde_json_canonicalizer on both sides of the wire.
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.ts';
import { canonicalJson } from './canonicalJson.ts';

describe('canonicalJson', () => {
  it('reproduces the primary runtime-data vector string', () => {
    const runtimeData = {
      'tee-pubkey': { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA', y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs' },
      nonce: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
      'additional-evidence': '',
    };
    expect(canonicalJson(runtimeData)).toBe(
      '{"additional-evidence":"","nonce":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA","y":"1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs"}}',
    );
  });

  it.each<[string, unknown, string]>([
    ['integer-like keys sort as strings', { b: 1, '10': 2, '2': 3, a: 4 }, '{"10":2,"2":3,"a":4,"b":1}'],
    ['UTF-16 code unit order (RFC 8785 §3.2.3 example)', JSON.parse('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}'),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'],
    ['RFC 8785 §3.2.2 number and literal example', JSON.parse('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}'),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'],
    ['negative zero', [-0, 0.1, 1e21, 1e-7, 100], '[0,0.1,1e+21,1e-7,100]'],
    ['nested arrays and empty containers', { z: [[], {}, [{ b: null, a: [] }]] }, '{"z":[[],{},[{"a":[],"b":null}]]}'],
    ['undefined members are absent', { a: undefined, b: 1 }, '{"b":1}'],
    ['null-prototype objects', Object.assign(Object.create(null) as object, { y: 1, x: 2 }), '{"x":2,"y":1}'],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['NaN', NaN],
    ['Infinity', [Infinity]],
    ['bigint', { a: 1n }],
    ['function', { a: () => 1 }],
    ['undefined at top level', undefined],
    ['undefined in an array', [undefined]],
    ['a Date', new Date(0)],
    ['a Uint8Array', new Uint8Array(2)],
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate key', { '\udc00x': 1 }],
    ['deep nesting', JSON.parse('['.repeat(2000) + ']'.repeat(2000))],
  ])('rejects %s with ProtocolError', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow(ProtocolError);
  });
});
