import { VerificationError } from '../verificationError.ts';

/**
 * A cursor over untrusted bytes that can never read past the end: every read that would
 * overrun throws `VerificationError('malformed_evidence')` naming the field being read.
 *
 * @example
 * const reader = new ByteReader(report, 'snp report');
 * const version = reader.u32le('version');
 * const measurement = reader.bytes(48, 'measurement');
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #what: string;
  #offset = 0;

  /** `what` names the structure in error messages (`snp report`, `tdx quote`, ...). */
  constructor(bytes: Uint8Array, what = 'evidence') {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#what = what;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#offset;
  }

  /** Total length of the underlying buffer. */
  get length(): number {
    return this.#bytes.byteLength;
  }

  u8(field = 'u8'): number {
    const at = this.#take(1, field);
    return this.#view.getUint8(at);
  }

  u16le(field = 'u16'): number {
    const at = this.#take(2, field);
    return this.#view.getUint16(at, true);
  }

  u16be(field = 'u16'): number {
    const at = this.#take(2, field);
    return this.#view.getUint16(at, false);
  }

  u32le(field = 'u32'): number {
    const at = this.#take(4, field);
    return this.#view.getUint32(at, true);
  }

  u32be(field = 'u32'): number {
    const at = this.#take(4, field);
    return this.#view.getUint32(at, false);
  }

  u64le(field = 'u64'): bigint {
    const at = this.#take(8, field);
    return this.#view.getBigUint64(at, true);
  }

  u64be(field = 'u64'): bigint {
    const at = this.#take(8, field);
    return this.#view.getBigUint64(at, false);
  }

  /** A view (no copy) of the next `length` bytes. */
  bytes(length: number, field = 'bytes'): Uint8Array {
    const at = this.#take(length, field);
    return this.#bytes.subarray(at, at + length);
  }

  /** Everything left, as a view. */
  rest(): Uint8Array {
    const at = this.#offset;
    this.#offset = this.#bytes.byteLength;
    return this.#bytes.subarray(at);
  }

  skip(length: number, field = 'reserved'): void {
    this.#take(length, field);
  }

  /** Moves the cursor to an absolute offset inside the buffer. */
  seek(offset: number, field = 'offset'): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.#bytes.byteLength) {
      throw this.#overrun(field, offset, 0);
    }
    this.#offset = offset;
  }

  /** Throws unless every byte was consumed (trailing garbage is malformed). */
  expectEnd(field = 'end'): void {
    if (this.remaining !== 0) {
      throw VerificationError.single(
        'malformed_evidence',
        `${this.#what}.${field}`,
        `${this.remaining} unexpected trailing bytes`,
        String(this.#offset),
        String(this.#bytes.byteLength),
      );
    }
  }

  #take(length: number, field: string): number {
    if (!Number.isSafeInteger(length) || length < 0 || length > this.remaining) {
      throw this.#overrun(field, this.#offset, length);
    }
    const at = this.#offset;
    this.#offset += length;
    return at;
  }

  #overrun(field: string, at: number, length: number): VerificationError {
    return VerificationError.single(
      'malformed_evidence',
      `${this.#what}.${field}`,
      `truncated: reading ${length} bytes at offset ${at} runs past the end`,
      `at least ${at + length} bytes`,
      `${this.#bytes.byteLength} bytes`,
    );
  }
}
