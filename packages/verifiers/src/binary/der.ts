import { VerificationError } from '../verificationError.ts';

/** One DER TLV: `tag` is the identifier octet, `value` a view of the contents. */
export interface DerNode {
  readonly tag: number;
  readonly value: Uint8Array;
  /** The whole TLV (header + contents), e.g. to hash a TBSCertificate. */
  readonly raw: Uint8Array;
}

const MAX_LENGTH_OCTETS = 4;

/**
 * Reads one DER TLV at `offset` of `bytes`; every length is checked against the buffer.
 * Only single-octet tags are supported (all of X.509 uses them).
 */
export function readDer(bytes: Uint8Array, offset: number, what: string): { node: DerNode; next: number } {
  const fail = (message: string): VerificationError =>
    VerificationError.single('malformed_evidence', `${what}.der`, message, undefined, `offset ${offset}`);
  if (offset + 2 > bytes.byteLength) throw fail('truncated DER header');
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw fail('multi-octet DER tags are not supported');
  let length = bytes[offset + 1] as number;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > MAX_LENGTH_OCTETS) throw fail('unsupported DER length form');
    if (offset + 2 + count > bytes.byteLength) throw fail('truncated DER length');
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + (bytes[offset + 2 + i] as number);
    header += count;
  }
  const start = offset + header;
  if (start + length > bytes.byteLength) throw fail('DER value runs past the end');
  return { node: { tag, value: bytes.subarray(start, start + length), raw: bytes.subarray(offset, start + length) }, next: start + length };
}

/** Parses exactly one TLV covering all of `bytes`. */
export function parseDer(bytes: Uint8Array, what: string): DerNode {
  const { node, next } = readDer(bytes, 0, what);
  if (next !== bytes.byteLength) {
    throw VerificationError.single('malformed_evidence', `${what}.der`, 'trailing bytes after DER value');
  }
  return node;
}

/** The children of a constructed node (SEQUENCE, SET, explicit tag). */
export function derChildren(node: DerNode, what: string): DerNode[] {
  const children: DerNode[] = [];
  let offset = 0;
  while (offset < node.value.byteLength) {
    const { node: child, next } = readDer(node.value, offset, what);
    children.push(child);
    offset = next;
  }
  return children;
}

/** Dotted-decimal form of an OBJECT IDENTIFIER's contents. */
export function decodeOid(value: Uint8Array): string {
  const parts: number[] = [];
  let current = 0;
  for (const byte of value) {
    current = current * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(current);
      current = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

/** A non-negative DER INTEGER that fits in a safe integer, else undefined. */
export function decodeSmallUnsigned(value: Uint8Array): number | undefined {
  if (value.byteLength === 0 || value.byteLength > 6 || ((value[0] as number) & 0x80) !== 0) return undefined;
  let out = 0;
  for (const byte of value) out = out * 256 + byte;
  return out;
}
