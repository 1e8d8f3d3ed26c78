/**
 * Invariant: the corim extractor reads reference triples of unsigned CoRIMs (real CBOR built
 * here with cbor-x) into `vendor/model/mkey/name/serial/{digests,raw_bytes}` names, and every
 * malformed, hostile or signed input ends in a typed `invalid_reference_value` error.
 */
import { describe, expect, test } from 'vitest';
import { Encoder, Tag } from 'cbor-x';
import { MemoryStore } from '@trustee/storage';
import { createBuiltinRvps } from '../builtinRvps.ts';
import { corimExtractor, extractCorimReferenceValues } from './corimExtractor.ts';
import { rejection } from '../testing/referenceValueRejection.ts';

const encoder = new Encoder({ mapsAsObjects: false, useRecords: false });
const cbor = (value: unknown): Buffer => Buffer.from(encoder.encode(value));
const now = { now: new Date('2026-01-01T00:00:00Z') };

const UUID = Buffer.from('31fb5abf023e4992aa4e95f9c1503bfa', 'hex');
const DIGEST_A = Buffer.alloc(32, 0xa1);
const DIGEST_B = Buffer.alloc(48, 0xb2);

type Entries = Array<[number, unknown]>;
const map = (entries: Entries): Map<number, unknown> => new Map(entries);

function comid(referenceTriples: unknown[], extra: Entries = []): Buffer {
  return cbor(map([[1, map([[0, 'comid-1']])], [4, map([[0, referenceTriples], ...extra])]]));
}

function corim(tags: unknown[], tag = 501): Buffer {
  return cbor(new Tag(map([[0, 'corim-1'], [1, tags]]), tag));
}

const environment = map([[0, map([[1, 'ACME'], [2, 'RoadRunner']])]]);

const triple = [
  environment,
  [
    map([[0, new Tag(UUID, 37)], [1, map([[2, [[1, DIGEST_A], ['sha-384', DIGEST_B]]]])]]),
    map([[0, 'firmware'], [1, map([[11, 'boot'], [8, 'SN-1'], [4, new Tag(Buffer.from([1, 2, 3]), 560)]])]]),
    map([[0, 7], [1, map([[2, [[1, DIGEST_B]]], [4, new Tag([Buffer.from([1]), Buffer.from([0xff])], 563)]])]]),
    map([[0, new Tag(Buffer.from([0x2a, 0x03]), 111)], [1, map([[11, 'oid-keyed'], [2, [[1, DIGEST_A]]]])]]),
    map([[1, map([[1, 5]])]]),
  ],
];

const expected = [
  { name: 'ACME/RoadRunner/31fb5abf-023e-4992-aa4e-95f9c1503bfa/digests', value: [DIGEST_A.toString('hex'), DIGEST_B.toString('hex')] },
  { name: 'ACME/RoadRunner/firmware/boot/SN-1/raw_bytes', value: '010203' },
  { name: 'ACME/RoadRunner/claim7/digests', value: [DIGEST_B.toString('hex')] },
  { name: 'ACME/RoadRunner/oid-keyed/digests', value: [DIGEST_A.toString('hex')] },
];

describe('corimExtractor', () => {
  test('reference triples of a tagged CoMID become digests and raw_bytes values', () => {
    expect(extractCorimReferenceValues(corim([new Tag(comid([triple]), 506)]))).toEqual(expected);
  });

  test('leading #6.500 / #6.502 headers are stripped', () => {
    const body = corim([new Tag(comid([triple]), 506)]);
    expect(extractCorimReferenceValues(Buffer.concat([Buffer.from([0xd9, 0x01, 0xf4, 0xd9, 0x01, 0xf6]), body]))).toEqual(expected);
  });

  test('untagged CoMID bytes are read; bytes that are not a CoMID and CoSWID tags are skipped', () => {
    const tags = [comid([triple]), Buffer.from('not cbor \xff'), new Tag(cbor(map([[0, 'swid']])), 505), new Tag(Buffer.alloc(2), 508)];
    expect(extractCorimReferenceValues(corim(tags))).toEqual(expected);
  });

  test('environments without class and CoMIDs without reference triples', () => {
    const noClass = [map([[1, new Tag(UUID, 37)]]), [map([[0, 'x'], [1, map([[2, [[1, DIGEST_A]]]])]])]];
    const tags = [new Tag(comid([noClass]), 506), new Tag(cbor(map([[1, map([[0, 'c']])], [4, map([[1, []]])]])), 506)];
    expect(extractCorimReferenceValues(corim(tags))).toEqual([{ name: 'x/digests', value: [DIGEST_A.toString('hex')] }]);
  });

  test('registered through the built-in RVPS under the corim type', async () => {
    const rvps = createBuiltinRvps(new MemoryStore());
    const payload = corim([new Tag(comid([triple]), 506)]).toString('base64');
    await rvps.register(JSON.stringify({ version: '0.1.0', type: 'corim', payload }));
    expect(await rvps.query('ACME/RoadRunner/firmware/boot/SN-1/raw_bytes')).toBe('010203');
    expect(corimExtractor.extract(payload, now)).toEqual(expected);
  });

  const badMeasurement = (mval: unknown, mkey?: unknown): Buffer =>
    corim([new Tag(comid([[environment, [map(mkey === undefined ? [[1, mval]] : [[0, mkey], [1, mval]])]]]), 506)]);

  test.each<[string, Uint8Array, string]>([
    ['signed CoRIM (COSE_Sign1)', cbor(new Tag([Buffer.alloc(1), map([]), Buffer.alloc(4), Buffer.alloc(64)], 18)), 'signed CoRIMs'],
    ['signed CoRIM behind #6.502', Buffer.concat([Buffer.from([0xd9, 0x01, 0xf6]), cbor(new Tag([], 18))]), 'signed CoRIMs'],
    ['untagged corim-map', cbor(map([[0, 'id'], [1, []]])), 'expected a tagged CoRIM'],
    ['unknown outer tag', cbor(new Tag(map([]), 999)), 'unexpected CoRIM tag 999'],
    ['corim-map not a map', cbor(new Tag([1, 2], 501)), 'corim-map: expected a map'],
    ['missing id', cbor(new Tag(map([[1, []]]), 501)), 'corim-map.id'],
    ['tags not an array', cbor(new Tag(map([[0, 'id'], [1, 'x']]), 501)), 'corim-map.tags: expected an array'],
    ['CoMID tag wrapping a map', corim([new Tag(map([]), 506)]), 'must wrap bytes'],
    ['CoMID bytes not CBOR', corim([new Tag(Buffer.from([0x5b, 0xff]), 506)]), 'CoMID is not well-formed CBOR'],
    ['CoMID without triples', corim([new Tag(cbor(map([[1, map([])]])), 506)]), 'triples: expected a map'],
    ['triple with three members', corim([new Tag(comid([[environment, [], 1]]), 506)]), 'expected [ref-env, ref-claims]'],
    ['vendor not text', corim([new Tag(comid([[map([[0, map([[1, 5]])]]), []]]), 506)]), 'class.vendor: expected text'],
    ['mval missing', corim([new Tag(comid([[environment, [map([[0, 'k']])]]]), 506)]), 'mval: expected a map'],
    ['digest without bytes', badMeasurement(map([[2, [[1, 'abc']]]])), 'expected [alg: int / text, val: bytes]'],
    ['digests not an array', badMeasurement(map([[2, 5]])), 'digests: expected an array'],
    ['name not text', badMeasurement(map([[11, 5]])), 'mval.name: expected text'],
    ['negative integer mkey', badMeasurement(map([[2, []]]), -1), 'must be a uint'],
    ['short UUID mkey', badMeasurement(map([[2, []]]), new Tag(Buffer.alloc(4), 37)), 'UUID mkey must be 16 bytes'],
    ['raw tagged-bytes without bytes', badMeasurement(map([[4, new Tag('x', 560)]])), 'tagged-bytes must hold bytes'],
    ['empty input', new Uint8Array(0), 'not well-formed CBOR'],
    ['truncated', corim([new Tag(comid([triple]), 506)]).subarray(0, 40), 'not well-formed CBOR: the data ends inside an item (truncated)'],
    ['trailing bytes', Buffer.concat([corim([]), Buffer.from([0])]), 'not well-formed CBOR: bytes follow the end of the document'],
    ['deep nesting', Buffer.concat([Buffer.from([0xd9, 0x01, 0xf5]), Buffer.alloc(1_000_000, 0x81)]), 'not well-formed CBOR: items nested too deeply'],
    ['huge array length', Buffer.from([0xd9, 0x01, 0xf5, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'not well-formed CBOR: an array, map or string declares a length larger than the document'],
    ['huge byte string length', Buffer.from([0xd9, 0x01, 0xf5, 0x5a, 0xff, 0xff, 0xff, 0xf0, 0x00]), 'not well-formed CBOR'],
    ['huge map length', Buffer.from([0xd9, 0x01, 0xf5, 0xba, 0x7f, 0xff, 0xff, 0xff, 0x00]), 'not well-formed CBOR'],
    ['unterminated indefinite array', Buffer.from([0xd9, 0x01, 0xf5, 0x9f, 0x01, 0x02]), 'not well-formed CBOR'],
  ])('rejects %s', (_name, bytes, text) => {
    const message = rejection(() => extractCorimReferenceValues(bytes)).message;
    expect(message).toContain(text);
    // The CBOR library's own wording (JavaScript limits, 2^32 lengths) never reaches the caller.
    expect(message).not.toMatch(/4294967295|JavaScript|Unexpected end of CBOR/);
  });

  test('rejects a payload that is not standard base64', () => {
    expect(rejection(() => corimExtractor.extract('***', now)).message).toContain('base64');
  });

  test('a decoder failure leaves no state behind: the next CoRIM still decodes', () => {
    rejection(() => extractCorimReferenceValues(Buffer.alloc(200_000, 0x81)));
    expect(extractCorimReferenceValues(corim([new Tag(comid([triple]), 506)]))).toEqual(expected);
  });
});
