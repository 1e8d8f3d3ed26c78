/**
 * Minimal bounds-checked DER reader: enough to split concatenated certificates, read X.501
 * names (subject/issuer) and the subject of a PKCS#10 certificate request. Every read checks
 * the remaining length; malformed input throws DerError.
 */
import { errorClassWithCode } from '@trustee/errors';

export class DerError extends errorClassWithCode('invalid_der') {}

export interface DerNode {
  readonly tag: number;
  /** The whole TLV. */
  readonly raw: Uint8Array;
  /** The value bytes. */
  readonly content: Uint8Array;
}

const MAX_DEPTH = 64;

/** Reads one TLV at `offset`; returns it and the offset after it. */
export function readTlv(bytes: Uint8Array, offset: number): { node: DerNode; next: number } {
  if (offset + 2 > bytes.length) throw new DerError('truncated tag/length');
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported');
  let length = bytes[offset + 1] as number;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError('unsupported length encoding');
    if (offset + 2 + count > bytes.length) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[offset + 2 + i] as number);
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new DerError('value runs past the end of the input');
  return {
    node: { tag, raw: bytes.subarray(offset, end), content: bytes.subarray(offset + header, end) },
    next: end,
  };
}

/** The TLVs directly inside a constructed node. */
export function children(node: DerNode, depth = 0): DerNode[] {
  if (depth > MAX_DEPTH) throw new DerError('nesting too deep');
  const out: DerNode[] = [];
  let offset = 0;
  while (offset < node.content.length) {
    const { node: child, next } = readTlv(node.content, offset);
    out.push(child);
    offset = next;
  }
  return out;
}

/** Splits a buffer of concatenated DER SEQUENCEs (a certificate chain). */
export function splitSequences(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const { node, next } = readTlv(bytes, offset);
    if (node.tag !== 0x30) throw new DerError('expected a SEQUENCE');
    out.push(node.raw);
    offset = next;
  }
  return out;
}

export function decodeOid(content: Uint8Array): number[] {
  if (content.length === 0) throw new DerError('empty OID');
  const first = content[0] as number;
  const out = [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80];
  let value = 0;
  for (let i = 1; i < content.length; i++) {
    const b = content[i] as number;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError('OID arc too large');
    if ((b & 0x80) === 0) {
      out.push(value);
      value = 0;
    }
  }
  return out;
}

/** Decodes a DirectoryString-ish value (UTF8, Printable, IA5, T61 as latin1, BMP). */
export function decodeString(node: DerNode): string {
  switch (node.tag) {
    case 0x1e: {
      let s = '';
      for (let i = 0; i + 1 < node.content.length; i += 2) s += String.fromCharCode(((node.content[i] as number) << 8) | (node.content[i + 1] as number));
      return s;
    }
    case 0x14: return Buffer.from(node.content).toString('latin1');
    default: return Buffer.from(node.content).toString('utf8');
  }
}

export interface NameAttribute { type: number[]; value: string }

/** The attributes of an X.501 Name (SEQUENCE OF SET OF AttributeTypeAndValue), in order. */
export function readName(name: DerNode): NameAttribute[] {
  if (name.tag !== 0x30) throw new DerError('expected a Name SEQUENCE');
  const out: NameAttribute[] = [];
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [oid, value] = children(atv);
      if (oid === undefined || value === undefined || oid.tag !== 0x06) throw new DerError('malformed AttributeTypeAndValue');
      out.push({ type: decodeOid(oid.content), value: decodeString(value) });
    }
  }
  return out;
}
