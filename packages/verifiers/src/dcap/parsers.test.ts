// Invariant: the DCAP parsers (DER walker, CRLs, PCK SGX extension, signed-JSON member
// extraction, quote layout) read exactly what the bytes say and turn every malformed input into
// a typed VerificationError.
import { describe, expect, test } from 'vitest';
import { derChildren, derOid, derTime, parseDer, readDer } from './der.ts';
import { parseSignedJson, topLevelMembers } from './signedJson.ts';
import { parseCrl, parsePemChain } from './x509.ts';
import { parseDcapQuote, splitPemCertificates } from './parseQuote.ts';
import { parsePckPlatformInfo } from './pck.ts';
import { hasVectors, readVector } from '../testing/snpVectors.ts';
import { VerificationError } from '../verificationError.ts';

function typed(fn: () => unknown): VerificationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    return error as VerificationError;
  }
  throw new Error('expected a VerificationError');
}

describe('DER walker', () => {
  test('reads short and long lengths, OIDs and times', () => {
    const oid = Uint8Array.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01]);
    expect(derOid(parseDer(oid, 't'), 't')).toBe('1.2.840.113741.1.13.1');
    const long = Uint8Array.from([0x04, 0x81, 0x80, ...new Uint8Array(128)]);
    expect(parseDer(long, 't').value.length).toBe(128);
    expect(derTime(parseDer(Buffer.from('170d3235303631393130303033355a', 'hex'), 't'), 't').toISOString()).toBe('2025-06-19T10:00:35.000Z');
    expect(derTime(parseDer(Buffer.from('180f32303439313233313233353935395a', 'hex'), 't'), 't').toISOString()).toBe('2049-12-31T23:59:59.000Z');
  });

  test.each([
    ['truncated header', [0x30]],
    ['length past the end', [0x30, 0x05, 0x00]],
    ['indefinite length', [0x30, 0x80, 0x00, 0x00]],
    ['5-byte length', [0x04, 0x85, 1, 1, 1, 1, 1]],
    ['trailing bytes', [0x05, 0x00, 0x00]],
    ['multi-byte tag', [0x1f, 0x01, 0x00]],
  ])('%s is malformed', (_name, bytes) => {
    expect(typed(() => parseDer(Uint8Array.from(bytes), 't')).code).toBe('malformed_evidence');
  });

  test('children of a constructed node are bounds-checked', () => {
    const node = readDer(Uint8Array.from([0x30, 0x03, 0x02, 0x05, 0x00]), 0, 't').node;
    expect(typed(() => derChildren(node, 't')).code).toBe('malformed_evidence');
  });
});

describe('signed JSON member extraction', () => {
  test('returns the exact member text, whitespace and escapes included', () => {
    const text = '{ "tcbInfo" : {"a":"}\\"{","b":[1, {"c":2}]} , "signature":"' + 'ab'.repeat(64) + '" }';
    const signed = parseSignedJson(text, 'tcbInfo', 't');
    expect(signed.body).toBe('{"a":"}\\"{","b":[1, {"c":2}]}');
    expect(signed.value).toEqual({ a: '}"{', b: [1, { c: 2 }] });
    expect(signed.signature.length).toBe(64);
  });

  test.each([
    ['not an object', '[1]'],
    ['missing member', `{"signature":"${'00'.repeat(64)}"}`],
    ['missing signature', '{"tcbInfo":{}}'],
    ['short signature', '{"tcbInfo":{},"signature":"00"}'],
    ['duplicate member', `{"tcbInfo":{},"tcbInfo":{},"signature":"${'00'.repeat(64)}"}`],
    ['trailing text', `{"tcbInfo":{},"signature":"${'00'.repeat(64)}"}x`],
    ['unterminated', '{"tcbInfo":{"a":"'],
    ['too deep', `{"tcbInfo":${'['.repeat(100)}${']'.repeat(100)},"signature":"${'00'.repeat(64)}"}`],
  ])('%s is malformed', (_name, text) => {
    typed(() => parseSignedJson(text, 'tcbInfo', 't'));
  });

  test('top-level members keep scalars', () => {
    expect([...topLevelMembers('{"a":1,"b":true,"c":null}', 't').entries()]).toEqual([['a', '1'], ['b', 'true'], ['c', 'null']]);
  });
});

describe('PEM splitting', () => {
  test('rejects bad base64 and trailing garbage; tolerates NUL padding', () => {
    typed(() => splitPemCertificates('-----BEGIN CERTIFICATE-----\nA===\n-----END CERTIFICATE-----', 't'));
    typed(() => splitPemCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\ngarbage', 't'));
    expect(splitPemCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n\0\0', 't')).toHaveLength(1);
  });
});

describe.skipIf(!hasVectors('tdx/gotdx-pckcrl', 'tdx/gotdx-rootcrl.der', 'tdx/trustee-tdx_quote_6.dat', 'tdx/trustee-tdx_quote_5.dat'))('real CRLs, PCK certificates and quote layouts', () => {
  test('PCK CRL: 44 revoked serials, dates', () => {
    const crl = parseCrl(readVector('tdx/gotdx-pckcrl'), 'crl');
    expect(crl.revoked.size).toBe(44);
    expect(crl.thisUpdate.toISOString()).toBe('2023-06-08T07:27:52.000Z');
    expect(crl.nextUpdate?.toISOString()).toBe('2023-07-08T07:27:52.000Z');
    const root = parseCrl(readVector('tdx/gotdx-rootcrl.der'), 'crl');
    expect(root.revoked.size).toBe(0);
    expect(root.nextUpdate?.toISOString()).toBe('2024-04-02T10:22:51.000Z');
  });

  test('PCK SGX extension of quote_6: FMSPC, TCB, PCESVN, SGX type (MANIFEST facts)', () => {
    const quote = parseDcapQuote(readVector('tdx/trustee-tdx_quote_6.dat'));
    const [leaf, intermediate] = parsePemChain(quote.pckChainPem, 'chain');
    const info = parsePckPlatformInfo(leaf!, intermediate!);
    expect(info).toMatchObject({ fmspc: '00A06D080000', pceSvn: 11, sgxTcbComponents: [2, 2, 7, 7, 4, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0], pceId: '0000', sgxType: 2, ca: 'platform' });
    expect(quote.header.version).toBe(4);
    expect(quote.length).toBe(4936);
  });

  test('v5 TDX 1.5 quote layout', () => {
    const quote = parseDcapQuote(readVector('tdx/trustee-tdx_quote_5.dat'));
    expect(quote.v5?.bodyType).toBe(3);
    expect(quote.body.tee === 'tdx' && Buffer.from(quote.body.td.teeTcbSvn).toString('hex')).toBe('05010200000000000000000000000000');
    expect(quote.signedBytes.length).toBe(48 + 6 + 648);
  });
});
