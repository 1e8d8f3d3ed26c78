import { VerificationError } from '../verificationError.ts';

/**
 * A small bounds-checked DER walker: just enough ASN.1 to read the Intel SGX PCK extensions,
 * CRLs and the CRL-number / distribution-point extensions. Every malformed length or tag is a
 * typed `malformed_evidence` error naming `what`, never a RangeError.
 */
export interface DerNode {
  readonly tag: number;
  /** The whole TLV (tag, length and contents). */
  readonly raw: Uint8Array;
  /** The contents only. */
  readonly value: Uint8Array;
}

export const DER_SEQUENCE = 0x30;
export const DER_SET = 0x31;
export const DER_INTEGER = 0x02;
export const DER_OCTET_STRING = 0x04;
export const DER_OID = 0x06;
export const DER_ENUMERATED = 0x0a;
export const DER_BIT_STRING = 0x03;
export const DER_UTC_TIME = 0x17;
export const DER_GENERALIZED_TIME = 0x18;
export const DER_BOOLEAN = 0x01;

function malformed(what: string, message: string): VerificationError {
  return VerificationError.single('malformed_evidence', `${what}.der`, message);
}

/** Reads one TLV at `offset`; returns the node and the offset after it. */
export function readDer(bytes: Uint8Array, offset: number, what: string): { node: DerNode; next: number } {
  if (offset + 2 > bytes.length) throw malformed(what, `truncated TLV header at offset ${offset}`);
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw malformed(what, 'multi-byte tags are not supported');
  let lengthByte = bytes[offset + 1] as number;
  let cursor = offset + 2;
  let length: number;
  if (lengthByte < 0x80) {
    length = lengthByte;
  } else {
    lengthByte &= 0x7f;
    if (lengthByte === 0 || lengthByte > 4) throw malformed(what, `unsupported length encoding at offset ${offset}`);
    if (cursor + lengthByte > bytes.length) throw malformed(what, `truncated length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < lengthByte; i++) length = length * 256 + (bytes[cursor + i] as number);
    cursor += lengthByte;
  }
  const end = cursor + length;
  if (end > bytes.length) throw malformed(what, `TLV at offset ${offset} claims ${length} bytes, only ${bytes.length - cursor} left`);
  return { node: { tag, raw: bytes.subarray(offset, end), value: bytes.subarray(cursor, end) }, next: end };
}

/** Parses exactly one TLV covering all of `bytes`. */
export function parseDer(bytes: Uint8Array, what: string): DerNode {
  const { node, next } = readDer(bytes, 0, what);
  if (next !== bytes.length) throw malformed(what, `${bytes.length - next} trailing bytes after the DER value`);
  return node;
}

/** The children of a constructed node (SEQUENCE, SET, context-specific constructed). */
export function derChildren(node: DerNode, what: string): DerNode[] {
  const out: DerNode[] = [];
  let offset = 0;
  while (offset < node.value.length) {
    const { node: child, next } = readDer(node.value, offset, what);
    out.push(child);
    offset = next;
  }
  return out;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined) throw malformed(what, `missing element (tag 0x${tag.toString(16)})`);
  if (node.tag !== tag) throw malformed(what, `expected tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`);
  return node;
}

/** Dotted-decimal form of an OBJECT IDENTIFIER node. */
export function derOid(node: DerNode, what: string): string {
  expectTag(node, DER_OID, what);
  const bytes = node.value;
  if (bytes.length === 0) throw malformed(what, 'empty OID');
  const parts: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw malformed(what, 'OID arc too large');
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    } else if (i === bytes.length - 1) {
      throw malformed(what, 'OID ends inside an arc');
    }
  }
  return parts.join('.');
}

/** A non-negative INTEGER/ENUMERATED as a safe JS number (SVNs, CRL numbers, enums). */
export function derSmallInt(node: DerNode, what: string): number {
  if (node.tag !== DER_INTEGER && node.tag !== DER_ENUMERATED) throw malformed(what, `expected INTEGER, found tag 0x${node.tag.toString(16)}`);
  const bytes = node.value;
  if (bytes.length === 0) throw malformed(what, 'empty INTEGER');
  if (((bytes[0] as number) & 0x80) !== 0) throw malformed(what, 'negative INTEGER');
  let value = 0;
  for (const b of bytes) {
    value = value * 256 + b;
    if (value > Number.MAX_SAFE_INTEGER) throw malformed(what, 'INTEGER too large');
  }
  return value;
}

/** INTEGER contents as lowercase hex without leading zero bytes (certificate serial form). */
export function derIntegerHex(node: DerNode, what: string): string {
  expectTag(node, DER_INTEGER, what);
  let bytes = node.value;
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  return Buffer.from(bytes).toString('hex');
}

/** UTCTime / GeneralizedTime (the `Z` forms DER requires). */
export function derTime(node: DerNode, what: string): Date {
  const text = Buffer.from(node.value).toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (node.tag === DER_UTC_TIME) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (match === null) throw malformed(what, `bad UTCTime ${JSON.stringify(text)}`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === DER_GENERALIZED_TIME) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (match === null) throw malformed(what, `bad GeneralizedTime ${JSON.stringify(text)}`);
    year = Number(match[1]);
  } else {
    throw malformed(what, `expected a time, found tag 0x${node.tag.toString(16)}`);
  }
  const ms = Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6]));
  return new Date(ms);
}

export function isTime(node: DerNode | undefined): boolean {
  return node !== undefined && (node.tag === DER_UTC_TIME || node.tag === DER_GENERALIZED_TIME);
}
