/**
 * Invariant: the built-in RVPS stores upstream's record format under the value's name, answers
 * queries with the bare value, replaces whole values on re-registration and — unlike upstream —
 * treats expired values as absent.
 */
import { describe, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFsStore, MemoryStore } from '@trustee/storage';
import { ReferenceValueError } from './referenceValueError.ts';
import { createBuiltinRvps, REFERENCE_VALUE_NAMESPACE } from './builtinRvps.ts';
import { defaultExpiration, formatExpiration, parseExpiration } from './expiration.ts';
import type { Extractor } from './referenceValueProvider.ts';

function sampleMessage(values: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(values)).toString('base64'), ...extra });
}

describe('createBuiltinRvps', () => {
  test('sample registration stores upstream records with a 12-month expiry', async () => {
    const store = new MemoryStore();
    const now = new Date('2026-03-15T10:20:30.456Z');
    const rvps = createBuiltinRvps(store, { now: () => now });
    await rvps.register(sampleMessage({ svn: ['1'], major_version: 1 }));
    expect(await rvps.query('svn')).toEqual(['1']);
    expect(await rvps.query('major_version')).toBe(1);
    expect(await rvps.query('absent')).toBeUndefined();
    const stored = JSON.parse(new TextDecoder().decode(await store.get(REFERENCE_VALUE_NAMESPACE, 'svn')));
    expect(stored).toEqual({ version: '0.1.0', name: 'svn', expiration: '2027-03-15T10:20:30Z', value: ['1'] });
    expect(await rvps.list()).toEqual(['major_version', 'svn']);
  });

  test('version defaults to 0.1.0 and re-registration replaces the whole value', async () => {
    const rvps = createBuiltinRvps(new MemoryStore());
    await rvps.register(JSON.stringify({ type: 'sample', payload: Buffer.from('{"svn":["1","2"]}').toString('base64') }));
    await rvps.register(sampleMessage({ svn: ['3'] }));
    expect(await rvps.query('svn')).toEqual(['3']);
  });

  test('expired values read as absent (expiry enforced)', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const store = new MemoryStore(() => 0);
    const rvps = createBuiltinRvps(store, { now: () => now });
    await rvps.register(sampleMessage({ svn: ['1'] }));
    now = new Date('2026-12-31T23:59:59Z');
    expect(await rvps.query('svn')).toEqual(['1']);
    now = new Date('2027-01-01T00:00:00Z');
    expect(await rvps.query('svn')).toBeUndefined();
    expect(await rvps.list()).toEqual([]);
  });

  test('delete removes a value', async () => {
    const rvps = createBuiltinRvps(new MemoryStore());
    await rvps.register(sampleMessage({ a: 1 }));
    expect(await rvps.delete('a')).toBe(true);
    expect(await rvps.query('a')).toBeUndefined();
    expect(await rvps.delete('a')).toBe(false);
  });

  test('extractors plug in by type', async () => {
    const custom: Extractor = { type: 'corim', extract: (payload) => [{ name: 'corim/digests', value: [payload] }] };
    const rvps = createBuiltinRvps(new MemoryStore(), { extractors: [custom] });
    expect(rvps.extractorTypes).toEqual(['corim', 'sample', 'swid']);
    await rvps.register(JSON.stringify({ version: '0.1.0', type: 'corim', payload: 'abc' }));
    expect(await rvps.query('corim/digests')).toEqual(['abc']);
  });

  test.each<[string, string, string]>([
    ['not JSON', '{', 'not valid JSON'],
    ['array', '[]', 'must be a JSON object'],
    ['other version', sampleMessage({ a: 1 }, { version: '0.2.0' }), 'Version unmatched!'],
    ['unknown type', JSON.stringify({ type: 'in-toto', payload: '' }), 'Could not find extractor for in-toto'],
    ['provenance instead of payload', JSON.stringify({ type: 'sample', provenance: 'e30=' }), 'payload must be a string'],
    ['payload not base64', JSON.stringify({ type: 'sample', payload: '!!' }), 'not standard base64'],
    ['payload not an object', JSON.stringify({ type: 'sample', payload: Buffer.from('[1]').toString('base64') }), 'must be a JSON object'],
    ['payload not JSON', JSON.stringify({ type: 'sample', payload: Buffer.from('nope').toString('base64') }), 'not UTF-8 JSON'],
  ])('rejects %s', async (_name, message, text) => {
    const rvps = createBuiltinRvps(new MemoryStore());
    const error = await rvps.register(message).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ReferenceValueError);
    expect((error as ReferenceValueError).code).toBe('invalid_reference_value');
    expect((error as ReferenceValueError).message).toContain(text);
  });
});

describe('expiration', () => {
  test.each<[string, string]>([
    ['2026-03-15T10:20:30.999Z', '2027-03-15T10:20:30Z'],
    ['2028-02-29T00:00:00Z', '2029-02-28T00:00:00Z'],
    ['2026-12-31T23:59:59Z', '2027-12-31T23:59:59Z'],
  ])('%s + 12 months = %s', (from, to) => {
    expect(formatExpiration(defaultExpiration(new Date(from)))).toBe(to);
  });

  test.each(['2026-01-01T00:00:00.000Z', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-01-01 00:00:00Z', ''])('parseExpiration rejects %j', (text) => {
    expect(parseExpiration(text)).toBeUndefined();
  });
});

describe('createBuiltinRvps over a key-validating store', () => {
  test('an id the backend rejects reads as absent; registering it is a typed error', async () => {
    const store = new LocalFsStore({ dirPath: mkdtempSync(join(tmpdir(), 'rvps-')) });
    const rvps = createBuiltinRvps(store);
    expect(await rvps.query('rvps:///github.com/x:latest')).toBeUndefined();
    const error = await rvps.register(sampleMessage({ 'a:b': 1 })).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((error as ReferenceValueError).code).toBe('invalid_reference_value');
    await rvps.register(sampleMessage({ 'rvps/github.com/x': ['1'] }));
    expect(await rvps.query('rvps/github.com/x')).toEqual(['1']);
  });
});

describe('createBuiltinRvps refuses values an appraisal could not use', () => {
  function nested(depth: number): string {
    return `{"svn": ${'['.repeat(depth)}"1"${']'.repeat(depth)}}`;
  }
  function rawSampleMessage(json: string): string {
    return JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(json).toString('base64') });
  }
  async function refusal(rvps: ReturnType<typeof createBuiltinRvps>, message: string): Promise<ReferenceValueError> {
    const error = await rvps.register(message).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ReferenceValueError);
    expect((error as ReferenceValueError).code).toBe('invalid_reference_value');
    return error as ReferenceValueError;
  }

  test.each([
    ['nested 3,000 deep', nested(3000), 'reference value "svn": value is nested deeper than 32 levels'],
    ['nested 10,000 deep (no stack overflow)', nested(10_000), 'nested deeper than 32 levels'],
    ['nested 33 deep', nested(33), 'nested deeper than 32 levels'],
    ['null', '{"svn": null}', 'null is not a reference value'],
    ['null inside a list', '{"svn": ["1", null]}', 'null is not a reference value'],
    ['larger than 1 MiB', JSON.stringify({ svn: ['x'.repeat(600_000), 'y'.repeat(600_000)] }), 'larger than 1048576 bytes'],
    ['a name longer than 4096 characters', JSON.stringify({ ['n'.repeat(4097)]: ['1'] }), 'name is longer than 4096 characters'],
    ['an empty name', '{"": ["1"]}', 'name must not be empty'],
    ['a name longer than the storage key limit (any backend)', JSON.stringify({ a: ['1'], ['n'.repeat(201)]: ['1'] }), 'is not a valid storage key (at most 200 characters'],
  ])('%s', async (_name, payload, text) => {
    const rvps = createBuiltinRvps(new MemoryStore());
    await rvps.register(sampleMessage({ svn: ['good'], other: ['kept'] }));
    expect((await refusal(rvps, rawSampleMessage(payload))).message).toContain(text);
    // Nothing of the refused registration is stored; earlier values still answer.
    expect(await rvps.query('svn')).toEqual(['good']);
    expect(await rvps.query('other')).toEqual(['kept']);
  });

  test('a refused value in a registration stores none of its siblings', async () => {
    const rvps = createBuiltinRvps(new MemoryStore());
    await refusal(rvps, rawSampleMessage(`{"a": ["1"], "b": ${nested(40).slice(8, -1)}}`));
    expect(await rvps.list()).toEqual([]);
  });

  test('what upstream extractors and kbs-client produce is accepted: strings, integers, booleans, lists and objects of them, 32 levels', async () => {
    const rvps = createBuiltinRvps(new MemoryStore());
    const values = { s: 'abc', i: 7, b: true, l: ['1', 2, false], o: { k: ['v'] }, deep: JSON.parse(nested(32)).svn as unknown };
    await rvps.register(sampleMessage(values));
    for (const [name, value] of Object.entries(values)) expect(await rvps.query(name)).toEqual(value);
  });
});
