/**
 * Invariant: each builtin family returns OPA's values and raises OPA's error class and text for
 * bad input — never a raw JS exception — and hostile sizes end in an error, not a hang.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { BuiltinError } from '../builtinContract.ts';
import { RegoError } from '../errors.ts';
import { ObjectValue, SetValue, toRegoText, type Value } from '../value.ts';
import { callBuiltin, testEvaluation, v } from './testing.ts';

function text(name: string, ...args: Value[]): string {
  const result = callBuiltin(name, ...args);
  return result === undefined ? 'undefined' : toRegoText(result);
}

function errorOf(name: string, ...args: Value[]): { code: string; message: string } {
  try {
    callBuiltin(name, ...args);
  } catch (error) {
    expect(error).toBeInstanceOf(BuiltinError);
    const e = error as BuiltinError;
    return { code: e.code, message: e.message };
  }
  throw new Error(`${name} did not fail`);
}

/** A resource limit: the whole evaluation aborts (RegoError), never an undefined call. */
function limitOf(name: string, ...args: Value[]): string {
  try {
    callBuiltin(name, ...args);
  } catch (error) {
    expect(error).toBeInstanceOf(RegoError);
    expect((error as RegoError).code).toBe('eval_budget_exceeded');
    return (error as RegoError).message;
  }
  throw new Error(`${name} did not fail`);
}

describe('strings', () => {
  test.each([
    ['sprintf', ['%d items, %s, %.2f, %x, %v', v([3, 'ok', 3.14159, 255, { a: [1, 'b'] }])], '"3 items, ok, 3.14, ff, {\\"a\\": [1, \\"b\\"]}"'],
    ['sprintf', ['%d %s', v(['a'])], '"%!d(string=a) %!s(MISSING)"'],
    ['sprintf', ['%v %v %v', v([1e-7, 1234567.5, 1000000])], '"1e-07 1.2345675e+06 1000000"'],
    ['sprintf', ['%s', [123456789123456789123n]], '"123456789123456789123"'],
    ['format_int', [-5.7, 2], '"-101"'],
    ['indexof', ['aéb', 'b'], '2'],
    ['substring', ['héllo', 1, 3], '"éll"'],
    ['split', ['a.b.c', '.'], '["a", "b", "c"]'],
    ['strings.split_n', ['a.b.c.d', '.', -2], '["c", "d"]'],
    ['replace', ['abc', '', '-'], '"-a-b-c-"'],
    ['strings.replace_n', [v({ a: '1', '': 'X' }), 'ab'], '"X1XbX"'],
    ['trim_space', ['\u0085 x \t'], '"x"'],
    ['strings.count', ['cheese', ''], '7'],
    ['strings.reverse', ['ab😀'], '"😀ba"'],
    ['strings.render_template', ['{{range $i, $n := .names}}{{if $i}},{{end}}hi {{$n}}{{end}} {{.missing}}', v({ names: ['a', 'b'] })], '"hi a,hi b <undefined>"'],
  ] as Array<[string, Value[], string]>)('%s (case %#)', (name, args, expected) => {
    expect(text(name, ...args)).toBe(expected);
  });

  test('type errors name the builtin and operand', () => {
    expect(errorOf('strings.reverse', 1)).toEqual({ code: 'eval_type_error', message: 'strings.reverse: operand 1 must be string but got number' });
    expect(errorOf('concat', ',', v([1]))).toEqual({ code: 'eval_type_error', message: 'concat: operand 2 must be array of strings but got array containing number' });
    expect(errorOf('substring', 'abc', -1, 1).message).toBe('substring: negative offset');
  });

  test('huge formatting widths fail instead of allocating', () => {
    expect(limitOf('sprintf', '%999999999d', v([1]))).toContain('format width too large');
  });
});

describe('numbers, aggregates, collections', () => {
  test.each([
    ['sum', [v([1, 2.5])], '3.5'],
    ['product', [[18446744073709551617n, 2]], '36893488147419103234'],
    ['round', [-2.5], '-3'],
    ['abs', [-9223372036854775808n], '9223372036854775808'],
    ['numbers.range', [2, -1], '[2, 1, 0, -1]'],
    ['numbers.range_step', [10, 3, 2], '[10, 8, 6, 4]'],
    ['bits.lsh', [9223372036854775807n, 1], '18446744073709551614'],
    ['to_number', ['-42.0'], '-42'],
    ['count', ['héllo'], '5'],
    ['object.get', [v({ a: { b: [{ c: 1 }] } }), v(['a', 'b', 0, 'c']), 2], '1'],
    ['object.union_n', [v([{ a: { b: 2 } }, { a: 4 }, { a: { c: 3 } }])], '{"a": {"c": 3}}'],
    ['object.subset', [v([1, 2, 3, 4]), v([2, 3])], 'true'],
    ['array.flatten', [v([[1, [2]], 3])], '[1, [2], 3]'],
  ] as Array<[string, Value[], string]>)('%s (case %#)', (name, args, expected) => {
    expect(text(name, ...args)).toBe(expected);
  });

  test('exact arithmetic refuses absurd magnitudes instead of exhausting memory', () => {
    expect(limitOf('product', new Array<Value>(40).fill(10n ** 9000n))).toContain('number out of range');
  });

  test('hostile range sizes are refused', () => {
    expect(limitOf('numbers.range', 0, 1_000_000_000_000)).toContain('range too large');
    expect(errorOf('numbers.range_step', 0, 10, -2).message).toBe('numbers.range_step: step must be a positive integer');
    expect(errorOf('bits.lsh', 1, -1).message).toContain('must be an unsigned integer number but got a negative integer');
  });

  test('rand.intn and uuid.rfc4122 are stable within one evaluation', () => {
    const evaluation = testEvaluation();
    expect(evaluation.call('rand.intn', 'k', 1000)).toBe(evaluation.call('rand.intn', 'k', 1000));
    expect(evaluation.call('uuid.rfc4122', 'k')).toBe(evaluation.call('uuid.rfc4122', 'k'));
  });
});

describe('units, time, semver, uuid', () => {
  test.each([
    ['units.parse', ['1.1Ki'], '1126.4'],
    ['units.parse', ['100m'], '0.1'],
    ['units.parse_bytes', ['1.1KB'], '1100'],
    ['units.parse_bytes', ['10EiB'], '11529215046068469760'],
    ['time.parse_rfc3339_ns', ['1677-09-21T00:12:43.145224192-00:00'], '-9223372036854775808'],
    ['time.parse_ns', ['RFC822Z', '02 Jun 17 19:00 -0700'], '1496455200000000000'],
    ['time.format', [v([1670006453141828752n, 'Asia/Kolkata', 'Mon Jan 02 15:04:05 -0700 2006'])], '"Sat Dec 03 00:10:53 +0530 2022"'],
    ['time.date', [v([1517814000000000000, 'America/Los_Angeles'])], '[2018, 2, 4]'],
    ['time.format', [v([1670006453141828752n, 'Europe/Paris', 'Mon, 02 Jan 2006 15:04:05 MST'])], '"Fri, 02 Dec 2022 19:40:53 CET"'],
    ['time.add_date', [1585852421593912000n, 3, 9, 12], '1705257221593912000'],
    ['time.diff', [1703444325734390000n, 1257894000000000000n], '[14, 1, 13, 19, 58, 45]'],
    ['time.parse_duration_ns', ['1h30m0.5s'], '5400500000000'],
    ['semver.compare', ['1.0.0-alpha', '1.0.0'], '-1'],
    ['uuid.parse', ['{00000000-0000-4000-8000-000000000000}'], '{"variant": "RFC4122", "version": 4}'],
  ] as Array<[string, Value[], string]>)('%s (case %#)', (name, args, expected) => {
    expect(text(name, ...args)).toBe(expected);
  });

  test('Go-style time errors', () => {
    expect(errorOf('time.parse_ns', '2006-01-02', '2020-02-30').message).toBe('time.parse_ns: parsing time "2020-02-30": day out of range');
    expect(errorOf('time.parse_rfc3339_ns', '2262-04-11T23:47:16.854775808-00:00').message).toContain('time outside of valid range');
    expect(errorOf('time.parse_duration_ns', '1x').message).toContain('time: unknown unit "x" in duration "1x"');
    expect(errorOf('units.parse', '100 k').message).toBe('units.parse: spaces not allowed in resource strings');
    expect(errorOf('units.parse', '1e999999').message).toBe('units.parse: exponent too large');
    expect(errorOf('units.parse_bytes', '1e9999999').message).toBe('units.parse_bytes: exponent too large');
  });
});

describe('regex and glob', () => {
  test.each([
    ['regex.replace', ['-wy-wxxy-', 'w(x*)y', '0'], '"-0-0-"'],
    ['regex.find_n', ['a*', 'baaac', -1], '["", "aaa", ""]'],
    ['regex.split', ['[a-z]+$', 'foobar baz'], '["foobar ", ""]'],
    ['regex.find_all_string_submatch_n', ['(?P<x>a)(b)?', 'aab', -1], '[["a", "a", ""], ["ab", "a", "b"]]'],
    ['regex.match', ['\\Aa[[:digit:]]\\z', 'a1'], 'true'],
    ['regex.match', ['^v?\\d+\\.\\d+\\.\\d+(-[a-zA-Z0-9.]+)?$', 'v1.2.3-rc.1'], 'true'],
    ['regex.match', ['^[0-9a-f]{8}-[0-9a-f]{4}$', 'deadbeef-0123'], 'true'],
    ['regex.match', ['a\\-b', 'a-b'], 'true'],
    ['regex.match', ['^\\p{Greek}+\\pL$', 'αβx'], 'true'],
    ['regex.match', ['(?i)straße', 'STRAßE'], 'true'],
    ['glob.match', ['api-*.example.com', v([]), 'api-1.example.com'], 'true'],
    ['regex.template_match', ['urn:foo:{.*}', 'urn:foo:bar:baz', '{', '}'], 'true'],
    ['glob.match', ['*.github.com', v([]), 'api.github.com'], 'true'],
    ['glob.match', ['*', v(['.', '/']), 'a/b'], 'false'],
    ['glob.match', ['{**/,}x', null, 'x'], 'true'],
    ['regex.globs_match', ['a.a.[0-9]+z', '.b.b2359825792*594823z'], 'true'],
    ['regex.globs_match', ['[a-z]+', '[0-9]*'], 'false'],
  ] as Array<[string, Value[], string]>)('%s (case %#)', (name, args, expected) => {
    expect(text(name, ...args)).toBe(expected);
  });

  test('non-RE2 syntax is rejected, not reinterpreted', () => {
    expect(errorOf('regex.match', 'a(?=b)', 'ab').message).toContain('invalid or unsupported Perl syntax');
    expect(errorOf('regex.match', '(a)\\1', 'aa').message).toContain('invalid escape sequence');
    expect(callBuiltin('regex.is_valid', '++')).toBe(false);
  });

  test('patterns that backtrack catastrophically in other engines match in linear time (RE2)', () => {
    expect(callBuiltin('regex.match', '(a+)+$', `${'a'.repeat(40)}!`)).toBe(false);
    expect(callBuiltin('regex.match', '(x+x+)+y', `${'x'.repeat(28)}-xxy`)).toBe(true);
    expect(callBuiltin('regex.match', '^a*a*a*a*a*a*b$', 'a'.repeat(100))).toBe(false);
    expect(text('regex.find_n', '(x+x+)+y', `${'x'.repeat(5000)}y`, 1)).toBe(`["${'x'.repeat(5000)}y"]`);
  });
});

describe('net.cidr', () => {
  test.each([
    ['net.cidr_contains', ['10.0.0.0/8', '10.1.2.3'], 'true'],
    ['net.cidr_intersects', ['fd00::/8', 'fd12::/16'], 'true'],
    ['net.cidr_merge', [v(['192.0.128.0/24', '192.0.129.0/24'])], '{"192.0.128.0/23"}'],
    ['net.cidr_merge', [v(['2601:600:8a80:207e:a57d:7567:e2c9:e7b3/64'])], '{"2601:600:8a80:207e::/64"}'],
    ['net.cidr_expand', ['192.168.0.0/31'], '{"192.168.0.0", "192.168.0.1"}'],
    ['net.cidr_is_valid', ['192.168.1.1/33'], 'false'],
  ] as Array<[string, Value[], string]>)('%s (case %#)', (name, args, expected) => {
    expect(text(name, ...args)).toBe(expected);
  });

  test('expanding a huge network is refused', () => {
    expect(limitOf('net.cidr_expand', '10.0.0.0/8')).toContain('too many addresses');
  });
});

describe('encoding and json', () => {
  test.each([
    ['json.marshal', [v({ b: '<x>', a: [1, 2] })], '"{\\"a\\":[1,2],\\"b\\":\\"\\\\u003cx\\\\u003e\\"}"'],
    ['json.unmarshal', ['{"n": 18446744073709551617}'], '{"n": 18446744073709551617}'],
    ['yaml.unmarshal', ['a: yes\nb: [1, 2]\n'], '{"a": true, "b": [1, 2]}'],
    ['base64url.decode', ['aGVsbG8'], '"hello"'],
    ['urlquery.encode_object', [v({ b: ['x y', 'z&'], a: 'c' })], '"a=c&b=x+y&b=z%26"'],
    ['json.remove', [v({ a: { b: 1, c: 2 }, d: 3 }), v(['a/b', 'd'])], '{"a": {"c": 2}}'],
    ['json.filter', [v({ a: { b: 1, c: 2 }, d: 3 }), v(['a/b'])], '{"a": {"b": 1}}'],
    ['json.patch', [v({ a: [1] }), v([{ op: 'add', path: '/a/-', value: 2 }, { op: 'test', path: '/a/1', value: 2 }])], '{"a": [1, 2]}'],
    ['json.patch', [v({ a: 1 }), v([{ op: 'remove', path: '' }, { op: 'add', path: '', value: { b: 2 } }])], '{"b": 2}'],
    ['json.patch', [v({ a: 1 }), v([{ op: 'test', path: '/a', value: 2 }])], 'undefined'],
    ['json.filter', [v({ a: [[1], { b: 1 }] }), v([['a', 1]])], '{"a": []}'],
    ['crypto.sha256', ['abc'], '"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"'],
    ['crypto.hmac.equal', ['abc', 'abd'], 'false'],
  ] as Array<[string, Value[], string]>)('%s (case %#)', (name, args, expected) => {
    expect(text(name, ...args)).toBe(expected);
  });

  test('deeply nested JSON is refused without a stack overflow', () => {
    expect(errorOf('json.unmarshal', `${'['.repeat(5000)}${']'.repeat(5000)}`).code).toBe('eval_builtin_error');
  });

  test('Go-style decode errors', () => {
    expect(errorOf('hex.decode', 'fghijkl').message).toContain("invalid byte: U+0067 'g'");
    expect(errorOf('yaml.unmarshal', '[1,2,3').message).toContain('yaml: line 1: did not find');
  });
});

describe('io.jwt', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = ObjectValue.fromRecord(privateKey.export({ format: 'jwk' }) as Record<string, string>);
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const now = 1_700_000_000;

  test('encode_sign then verify and decode_verify round-trip with real ES256 signatures', () => {
    const token = callBuiltin('io.jwt.encode_sign', v({ alg: 'ES256', typ: 'JWT' }), v({ iss: 'opa', exp: now + 60 }), jwk) as string;
    expect(callBuiltin('io.jwt.verify_es256', token, publicPem)).toBe(true);
    const tampered = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    expect(callBuiltin('io.jwt.verify_es256', tampered, publicPem)).toBe(false);
    const evaluation = testEvaluation({ nowNs: BigInt(now) * 1_000_000_000n });
    const ok = evaluation.call('io.jwt.decode_verify', token, v({ cert: publicPem, iss: 'opa' })) as Value[];
    expect(ok[0]).toBe(true);
    const wrongIssuer = evaluation.call('io.jwt.decode_verify', token, v({ cert: publicPem, iss: 'other' })) as Value[];
    expect(wrongIssuer[0]).toBe(false);
    const expired = testEvaluation({ nowNs: BigInt(now + 60) * 1_000_000_000n }).call('io.jwt.decode_verify', token, v({ cert: publicPem })) as Value[];
    expect(expired[0]).toBe(false);
  });

  test('HMAC tokens verify only with the right secret', () => {
    const key = v({ kty: 'oct', k: Buffer.from('secret').toString('base64url') });
    const token = callBuiltin('io.jwt.encode_sign', v({ alg: 'HS256' }), v({ sub: '0' }), key) as string;
    expect(callBuiltin('io.jwt.verify_hs256', token, 'secret')).toBe(true);
    expect(callBuiltin('io.jwt.verify_hs256', token, 'Secret')).toBe(false);
  });

  test('malformed tokens raise OPA errors', () => {
    expect(errorOf('io.jwt.decode', 'abc').message).toContain('encoded JWT had no period separators');
    expect(errorOf('io.jwt.decode', 'a.b').message).toContain('encoded JWT must have 3 sections, found 2');
    expect(errorOf('io.jwt.decode_verify', 'a.b.c', v({})).message).toContain('no key constraint');
  });
});

describe('graph', () => {
  test('walk yields every path and value', () => {
    const pairs = callBuiltin('walk', v({ a: [1] })) as Value[];
    expect(pairs.map((p) => toRegoText(p))).toEqual(['[[], {"a": [1]}]', '[["a"], [1]]', '[["a", 0], 1]']);
  });

  test('reachable follows edges from the initial nodes', () => {
    const graph = v({ a: ['b'], b: ['c'], c: [], d: ['a'] });
    expect(callBuiltin('graph.reachable', graph, v(['a']))).toEqual(SetValue.of(['a', 'b', 'c']));
  });
});

describe('crypto.x509', () => {
  // Self-signed test root and a leaf it issued (generated with openssl for this test; no secrets).
  const root = `-----BEGIN CERTIFICATE-----
MIIBrTCCAVOgAwIBAgIUO1yStdgzOLXBsk4A4UYj7CRUovswCgYIKoZIzj0EAwIw
KzEVMBMGA1UECgwMVHJ1c3RlZSBUZXN0MRIwEAYDVQQDDAlUZXN0IFJvb3QwIBcN
MjYxMTIzMDk1MTUwWhgPMjEyNjEwMzAwOTUxNTBaMCsxFTATBgNVBAoMDFRydXN0
ZWUgVGVzdDESMBAGA1UEAwwJVGVzdCBSb290MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAETSxWD2w4vQdx1aHJL65oMw7pQ2YoYUnNhnDZnDg8zKxr+DcS25abnx99
btC1IUbtmrz7L9pTo8KcFUcCE1UJwKNTMFEwHQYDVR0OBBYEFB572KWNa7eRLZs8
KGfDuSNI3ibAMB8GA1UdIwQYMBaAFB572KWNa7eRLZs8KGfDuSNI3ibAMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAMf8Vpx297Zoq/HdLsntLZqg
Q9sXkWGgPCy5BblsUflLAiAJUuh9OzfbgnjaXhVgZ0dlciEhOyW8o4KaApl0Lzkk
IA==
-----END CERTIFICATE-----
`;
  const leaf = `-----BEGIN CERTIFICATE-----
MIIBvDCCAWKgAwIBAgIUaKI7EEW0PEQoBGcxCQ8OLpERioAwCgYIKoZIzj0EAwIw
KzEVMBMGA1UECgwMVHJ1c3RlZSBUZXN0MRIwEAYDVQQDDAlUZXN0IFJvb3QwIBcN
MjYxMTIzMDk1MTUwWhgPMjEyNjEwMzAwOTUxNTBaMBcxFTATBgNVBAMMDGxlYWYu
ZXhhbXBsZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKu5OFSWfjbCrskce8UE
t87hsH/gEqRFELa/o8AZoMvFEvE+kcTOTwoa7QW3bkXtROKea8uImrgNEqCkoxZR
OAujdjB0MDIGA1UdEQQrMCmCDGxlYWYuZXhhbXBsZYYZc3BpZmZlOi8vZXhhbXBs
ZS5vcmcvbGVhZjAdBgNVHQ4EFgQUshogTAlb8m5WbIYDkoJlWUxnSYgwHwYDVR0j
BBgwFoAUHnvYpY1rt5EtmzwoZ8O5I0jeJsAwCgYIKoZIzj0EAwIDSAAwRQIgWW41
BxwKmL4srVdGt/gJA+Ar69ioD2OCNSg6aNFR7NUCIQCu2SUUfIte27FmxOBRGbFm
4/DU8XZ+5yHH7G9Rxy7Xhw==
-----END CERTIFICATE-----
`;
  const leafKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3cMAq+7QPsvwy9tk
RYgKjxpDu8Uvag6LcC5Gqlt2rBShRANCAASruThUln42wq7JHHvFBLfO4bB/4BKk
RRC2v6PAGaDLxRLxPpHEzk8KGu0Ft25F7UTinmvLiJq4DRKgpKMWUTgL
-----END PRIVATE KEY-----
`;
  const csr = `-----BEGIN CERTIFICATE REQUEST-----
MIHQMHkCAQAwFzEVMBMGA1UEAwwMbGVhZi5leGFtcGxlMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEq7k4VJZ+NsKuyRx7xQS3zuGwf+ASpEUQtr+jwBmgy8US8T6R
xM5PChrtBbduRe1E4p5ry4iauA0SoKSjFlE4C6AAMAoGCCqGSM49BAMCA0cAMEQC
ID4CzOWtC6JgzUgOaD9ybfQM3jcp+9Ggl56fUzOTn8qeAiAGk/cCHGxB4bdiseLQ
E4+EvW5dS3f82+nnS1e3zazFFQ==
-----END CERTIFICATE REQUEST-----
`;

  test('parse_certificates renders Go-shaped fields', () => {
    const certs = callBuiltin('crypto.x509.parse_certificates', `${leaf}${root}`) as ObjectValue[];
    expect(certs).toHaveLength(2);
    const first = certs[0] as ObjectValue;
    expect(toRegoText((first.get('Subject') as ObjectValue).get('CommonName') as Value)).toBe('"leaf.example"');
    expect(toRegoText(first.get('DNSNames') as Value)).toBe('["leaf.example"]');
    expect(toRegoText(first.get('URIStrings') as Value)).toBe('["spiffe://example.org/leaf"]');
    expect(first.get('IsCA')).toBe(false);
    expect((certs[1] as ObjectValue).get('IsCA')).toBe(true);
  });

  test('parse_and_verify_certificates accepts root-first chains and rejects tampered order', () => {
    const evaluation = testEvaluation({ nowNs: BigInt(Date.now()) * 1_000_000n });
    const ok = evaluation.call('crypto.x509.parse_and_verify_certificates', `${root}${leaf}`) as Value[];
    expect(ok[0]).toBe(true);
    const bad = evaluation.call('crypto.x509.parse_and_verify_certificates', `${leaf}${root}`) as Value[];
    expect(bad[0]).toBe(false);
    const named = evaluation.call('crypto.x509.parse_and_verify_certificates_with_options', `${root}${leaf}`, v({ DNSName: 'leaf.example' })) as Value[];
    expect(named[0]).toBe(true);
    const otherName = evaluation.call('crypto.x509.parse_and_verify_certificates_with_options', `${root}${leaf}`, v({ DNSName: 'other.example' })) as Value[];
    expect(otherName[0]).toBe(false);
    const expired = evaluation.call('crypto.x509.parse_and_verify_certificates_with_options', `${root}${leaf}`, v({ CurrentTime: 0 })) as Value[];
    expect(expired[0]).toBe(false);
  });

  test('CSR subject, keypair matching and malformed input', () => {
    const request = callBuiltin('crypto.x509.parse_certificate_request', csr) as ObjectValue;
    expect(((request.get('Subject') as ObjectValue).get('CommonName'))).toBe('leaf.example');
    const pair = callBuiltin('crypto.x509.parse_keypair', leaf, leafKey) as ObjectValue;
    expect((pair.get('Certificate') as Value[])).toHaveLength(1);
    expect(errorOf('crypto.x509.parse_keypair', root, leafKey).message).toContain('private key does not match public key');
    expect(errorOf('crypto.x509.parse_certificates', 'bm90IGEgY2VydA==').message).toContain('x509: malformed certificate');
    expect(errorOf('crypto.x509.parse_certificates', 'not base64!').message).toContain('illegal base64');
  });
});

describe('json schema', () => {
  const schema = v({ properties: { id: { type: 'integer', minimum: 1 }, tags: { type: 'array', uniqueItems: true } }, required: ['id'], additionalProperties: false });

  test.each([
    [{ id: 5 }, 'true', '[]'],
    [{ id: 'x' }, 'false', '[{"desc": "Invalid type. Expected: integer, given: string", "error": "id: Invalid type. Expected: integer, given: string", "field": "id", "type": "invalid_type"}]'],
    [{}, 'false', '[{"desc": "id is required", "error": "(root): id is required", "field": "(root)", "type": "required"}]'],
    [{ id: 0, extra: 1 }, 'false', '[{"desc": "Additional property extra is not allowed", "error": "(root): Additional property extra is not allowed", "field": "(root)", "type": "additional_property_not_allowed"}, {"desc": "Must be greater than or equal to 1", "error": "id: Must be greater than or equal to 1", "field": "id", "type": "number_gte"}]'],
  ])('match_schema(%j)', (document, valid, errors) => {
    const [ok, list] = callBuiltin('json.match_schema', v(document), schema) as [Value, Value];
    expect(toRegoText(ok)).toBe(valid);
    expect(toRegoText(list)).toBe(errors);
  });

  test('verify_schema reports unknown primitive types like gojsonschema', () => {
    expect(toRegoText(callBuiltin('json.verify_schema', '{"type": "boolean"}') as Value)).toBe('[true, null]');
    const [ok, message] = callBuiltin('json.verify_schema', v({ type: 'unknown' })) as [Value, Value];
    expect(ok).toBe(false);
    expect(message).toContain('has a primitive type that is NOT VALID -- given: /unknown/');
  });
});

describe('graphql', () => {
  const schema = `
    type Query { employee(id: String!): Employee }
    type Employee { id: String! salary: Int! }
  `;

  test('parse_query returns the pruned gqlparser AST', () => {
    expect(toRegoText(callBuiltin('graphql.parse_query', '{ node(id: 4) { id } }') as Value)).toBe(
      '{"Operations": [{"Name": "", "Operation": "query", "SelectionSet": [{"Alias": "node", "Arguments": [{"Name": "id", "Value": {"ExpectedTypeHasDefault": false, "Kind": 1, "Raw": "4"}}], "Name": "node", "SelectionSet": [{"Alias": "id", "Name": "id"}]}]}]}',
    );
  });

  test.each([
    ['{ employee(id: "a") { salary } }', true],
    ['{ employee { salary } }', false],
    ['{ employee(id: "a") }', false],
    ['{ employee(id: "a") { bonus } }', false],
    ['query Q($v: String!) { employee(id: "a") { id } }', false],
    ['mutation { x }', false],
  ])('is_valid(%s) = %s', (query, valid) => {
    expect(callBuiltin('graphql.is_valid', query, schema)).toBe(valid);
  });

  test('validation and syntax errors carry gqlparser texts and locations', () => {
    expect(errorOf('graphql.parse', '{\n  employee { id }\n}', schema).message).toBe(
      'graphql.parse: Field "employee" argument "id" of type "String!" is required, but it was not provided in GraphQL string at location 2:3',
    );
    expect(errorOf('graphql.parse_query', '{ f(').message).toBe('graphql.parse_query: Expected Name, found <EOF> in GraphQL string at location 1:5');
    expect(callBuiltin('graphql.schema_is_valid', 'type A implements Missing { id: ID }')).toBe(false);
    expect(callBuiltin('graphql.schema_is_valid', schema)).toBe(true);
  });
});

describe('http.send and runtime', () => {
  test('http.send validates its request like OPA, then refuses network access', () => {
    expect(errorOf('http.send', v({ bad_key: 1, method: 'get', url: 'http://127.0.0.1:1' }))).toEqual({
      code: 'eval_type_error', message: 'http.send: operand 1 invalid request parameters(s): {"bad_key"}',
    });
    expect(errorOf('http.send', v({ method: 'get' })).message).toBe('http.send: operand 1 missing required request parameters(s): {"url"}');
    expect(errorOf('http.send', v({ method: 'get', url: 'http://127.0.0.1:1' })).message).toContain('network access is disabled');
  });

  test('opa.runtime is empty and test.sleep is bounded', () => {
    expect(toRegoText(callBuiltin('opa.runtime') as Value)).toBe('{}');
    expect(callBuiltin('test.sleep', '1ms')).toBe(null);
    expect(limitOf('test.sleep', '1h')).toContain('would exceed the evaluation deadline');
  });
});

describe('providers.aws.sign_req', () => {
  const config = v({ aws_access_key: 'AKIDEXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', aws_service: 's3', aws_region: 'us-east-1' });

  test('adds a SigV4 Authorization header computed from the request, key and time', () => {
    const signed = callBuiltin('providers.aws.sign_req', v({ method: 'get', url: 'https://example.com/a b?x=1' }), config, 1451311705000000000n) as ObjectValue;
    const headers = signed.get('headers') as ObjectValue;
    expect(headers.get('x-amz-date')).toBe('20151228T140825Z');
    expect(headers.get('host')).toBe('example.com');
    expect(String(headers.get('Authorization'))).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20151228\/us-east-1\/s3\/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=[0-9a-f]{64}$/);
    const other = callBuiltin('providers.aws.sign_req', v({ method: 'get', url: 'https://example.com/a b?x=2' }), config, 1451311705000000000n) as ObjectValue;
    expect((other.get('headers') as ObjectValue).get('Authorization')).not.toBe(headers.get('Authorization'));
  });

  test('validates the request and configuration like OPA', () => {
    expect(errorOf('providers.aws.sign_req', v({}), config, 0).message).toBe('providers.aws.sign_req: operand 1 missing required request parameters(s): {"method", "url"}');
    expect(errorOf('providers.aws.sign_req', v({ method: 'get', url: 'http://x' }), v({ example: 1 }), 0).message).toBe(
      'providers.aws.sign_req: operand 2 missing required AWS config parameters(s): {"aws_access_key", "aws_region", "aws_secret_access_key", "aws_service"}',
    );
    expect(errorOf('providers.aws.sign_req', v({ method: 'get', url: 'http://x' }), config, 1.5).message).toContain('could not convert time_ns value into a unix timestamp');
  });
});

describe('rego.parse_module', () => {
  test('renders OPA AST JSON for package, imports and rules', () => {
    const module = callBuiltin('rego.parse_module', 'x.rego', 'package foo.bar\n\nimport data.a\n\np if { a = true }') as ObjectValue;
    expect(toRegoText(module.get('package') as Value)).toBe('{"path": [{"type": "var", "value": "data"}, {"type": "string", "value": "foo"}, {"type": "string", "value": "bar"}]}');
    expect(toRegoText(module.get('imports') as Value)).toBe('[{"path": {"type": "ref", "value": [{"type": "var", "value": "data"}, {"type": "string", "value": "a"}]}}]');
    expect(toRegoText(module.get('rules') as Value)).toBe(
      '[{"body": [{"index": 0, "terms": [{"type": "ref", "value": [{"type": "var", "value": "eq"}]}, {"type": "var", "value": "a"}, {"type": "boolean", "value": true}]}], "head": {"name": "p", "ref": [{"type": "var", "value": "p"}], "value": {"type": "boolean", "value": true}}}]',
    );
  });

  test('syntax errors are eval_builtin_error with the parser text', () => {
    expect(errorOf('rego.parse_module', 'x.rego', 'package foo.').message).toContain('rego_parse_error: unexpected eof token: expected ident');
  });
});
