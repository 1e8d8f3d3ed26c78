/**
 * Typed readers over the bounds-checked DER walker of `binary/der.ts`: just enough ASN.1 to read
 * the Intel SGX PCK extensions, CRLs and the CRL-number / distribution-point extensions. Every
 * malformed length or tag is a typed `malformed_evidence` error naming `what`, never a RangeError.
 */
import type { DerNode } from '../binary/der.ts';
import { VerificationError } from '../verificationError.ts';

export { readDer, parseDer, derChildren, type DerNode } from '../binary/der.ts';

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
