// Invariant: no read ever goes past the end of the buffer; an overrun is a typed
// `malformed_evidence` error naming the field, never a RangeError.
import { describe, expect, test } from 'vitest';
import { ByteReader } from './byteReader.ts';
import { VerificationError } from '../verificationError.ts';

describe('ByteReader', () => {
  const bytes = Uint8Array.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b]);

  test('reads little-endian integers and advances', () => {
    const r = new ByteReader(bytes);
    expect(r.u8()).toBe(0x01);
    expect(r.u16le()).toBe(0x0302);
    expect(r.u32le()).toBe(0x07060504);
    expect(r.offset).toBe(7);
    expect(r.remaining).toBe(4);
    expect(Array.from(r.bytes(2))).toEqual([0x08, 0x09]);
    r.skip(1);
    expect(r.u8()).toBe(0x0b);
    r.expectEnd();
  });

  test('u64le returns a bigint, big-endian variants read network order', () => {
    expect(new ByteReader(bytes).u64le()).toBe(0x0807060504030201n);
    expect(new ByteReader(bytes).u64be()).toBe(0x0102030405060708n);
    expect(new ByteReader(bytes).u16be()).toBe(0x0102);
    expect(new ByteReader(bytes).u32be()).toBe(0x01020304);
  });

  test('works on a subarray with a non-zero byteOffset', () => {
    const r = new ByteReader(bytes.subarray(3, 7));
    expect(r.u32le()).toBe(0x07060504);
    expect(() => r.u8()).toThrow(VerificationError);
  });

  test.each([
    ['u8', (r: ByteReader) => r.u8('x')],
    ['u16le', (r: ByteReader) => r.u16le('x')],
    ['u32le', (r: ByteReader) => r.u32le('x')],
    ['u64le', (r: ByteReader) => r.u64le('x')],
    ['bytes', (r: ByteReader) => r.bytes(12, 'x')],
    ['negative bytes', (r: ByteReader) => r.bytes(-1, 'x')],
    ['fractional skip', (r: ByteReader) => r.skip(1.5, 'x')],
    ['seek past end', (r: ByteReader) => r.seek(100, 'x')],
  ])('%s past the end throws malformed_evidence', (_name, read) => {
    const r = new ByteReader(bytes.subarray(0, 0), 'thing');
    try {
      read(r);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).code).toBe('malformed_evidence');
      expect((error as VerificationError).failures[0]?.check).toBe('thing.x');
    }
  });

  test('a failed read does not move the cursor', () => {
    const r = new ByteReader(bytes);
    r.skip(10);
    expect(() => r.u16le()).toThrow(VerificationError);
    expect(r.offset).toBe(10);
    expect(r.u8()).toBe(0x0b);
  });

  test('expectEnd rejects trailing bytes', () => {
    const r = new ByteReader(bytes);
    r.skip(3);
    expect(() => r.expectEnd()).toThrow(/trailing/);
    expect(r.rest().length).toBe(8);
    r.expectEnd();
  });
});
