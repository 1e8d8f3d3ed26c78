import { ByteReader } from '../binary/byteReader.ts';
import { VerificationError } from '../verificationError.ts';

/** TPM_GENERATED_VALUE: every TPMS_ATTEST produced by a TPM starts with it. */
export const TPM_GENERATED_VALUE = 0xff544347;
/** TPM_ST_ATTEST_QUOTE. */
export const TPM_ST_ATTEST_QUOTE = 0x8018;
/** TPM_ALG_SHA256. */
export const TPM_ALG_SHA256 = 0x000b;

export interface TpmsPcrSelection {
  /** TPM_ALG_ID of the bank (0x000b = SHA-256). */
  readonly hashAlg: number;
  /** Selected PCR indices in ascending order (the order the digest covers them). */
  readonly pcrs: readonly number[];
}

/** A parsed TPMS_ATTEST of type quote (TPM 2.0 Part 2, 10.12.12). */
export interface TpmsAttest {
  readonly magic: number;
  readonly type: number;
  readonly qualifiedSigner: Uint8Array;
  /** `extraData`: the caller's nonce (qualifying data). */
  readonly extraData: Uint8Array;
  readonly clock: bigint;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
  readonly firmwareVersion: bigint;
  readonly pcrSelections: readonly TpmsPcrSelection[];
  readonly pcrDigest: Uint8Array;
}

/** PCR selections beyond this are not something a TPM produces (TPM2 has at most a few banks). */
const MAX_PCR_SELECTIONS = 16;

/**
 * Parses a marshalled TPMS_ATTEST (big-endian) that must be a quote; any other structure,
 * truncation or trailing byte is `malformed_evidence`.
 */
export function parseTpmsAttest(message: Uint8Array): TpmsAttest {
  const r = new ByteReader(message, 'tpm_quote.message');
  const magic = r.u32be('magic');
  if (magic !== TPM_GENERATED_VALUE) {
    throw VerificationError.single('malformed_evidence', 'tpm_quote.message.magic', 'not a TPM-generated structure', hex32(TPM_GENERATED_VALUE), hex32(magic));
  }
  const type = r.u16be('type');
  if (type !== TPM_ST_ATTEST_QUOTE) {
    throw VerificationError.single('malformed_evidence', 'tpm_quote.message.type', 'TPM attestation is not a quote', '0x8018', `0x${type.toString(16)}`);
  }
  const qualifiedSigner = r.bytes(r.u16be('qualifiedSigner.size'), 'qualifiedSigner');
  const extraData = r.bytes(r.u16be('extraData.size'), 'extraData');
  const clock = r.u64be('clockInfo.clock');
  const resetCount = r.u32be('clockInfo.resetCount');
  const restartCount = r.u32be('clockInfo.restartCount');
  const safe = r.u8('clockInfo.safe');
  const firmwareVersion = r.u64be('firmwareVersion');
  const count = r.u32be('pcrSelect.count');
  if (count > MAX_PCR_SELECTIONS) {
    throw VerificationError.single('malformed_evidence', 'tpm_quote.message.pcrSelect.count', 'too many PCR selections', `<= ${MAX_PCR_SELECTIONS}`, String(count));
  }
  const pcrSelections: TpmsPcrSelection[] = [];
  for (let i = 0; i < count; i += 1) {
    const hashAlg = r.u16be('pcrSelect.hash');
    const bitmap = r.bytes(r.u8('pcrSelect.sizeofSelect'), 'pcrSelect.pcrSelect');
    const pcrs: number[] = [];
    bitmap.forEach((byte, index) => {
      for (let bit = 0; bit < 8; bit += 1) if (byte & (1 << bit)) pcrs.push(index * 8 + bit);
    });
    pcrSelections.push({ hashAlg, pcrs });
  }
  const pcrDigest = r.bytes(r.u16be('pcrDigest.size'), 'pcrDigest');
  r.expectEnd();
  return {
    magic,
    type,
    qualifiedSigner,
    extraData,
    clock,
    resetCount,
    restartCount,
    safe: safe !== 0,
    firmwareVersion,
    pcrSelections,
    pcrDigest,
  };
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
