import { timingSafeEqual } from 'node:crypto';
import { regularize, toHex } from '../binary/encoding.ts';
import type { DcapTrustOptions } from '../dcap/verifyQuote.ts';
import { parseCcel, replayCcel, TCG_ALG_SHA384, type CcelEntry } from '../eventlog/parseCcel.ts';
import { VerificationError, type FailedCheck } from '../verificationError.ts';
import type { Json, VerificationExpectations, VerifiedClaims, Verifier, VerifierContext } from '../verifier.ts';
import { tdxParsedClaims } from './tdxClaims.ts';
import { verifyTdQuote } from './verifyTdQuote.ts';

/** TDX evidence as the guest sends it: `{"quote": "<std b64>", "cc_eventlog": "<std b64>" | null}`. */
export interface TdxEvidence {
  readonly quote: Uint8Array;
  readonly ccEventLog: Uint8Array | undefined;
}

/** At most this many bytes of CCEL are accepted (real CCEL areas are 64 KiB .. 1 MiB). */
const MAX_CCEL_BYTES = 8 * 1024 * 1024;
const MAX_QUOTE_BYTES = 64 * 1024;

/** Strict standard base64 (canonical padding), as Rust's `STANDARD` engine decodes it. */
export function decodeBase64Std(text: string, field: string, maxBytes: number): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw VerificationError.single('malformed_evidence', field, 'not standard base64', 'padded base64', `${text.length} chars`);
  }
  const decodedLength = (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
  if (decodedLength > maxBytes) {
    throw VerificationError.single('malformed_evidence', field, 'too large', `<= ${maxBytes} bytes`, `${decodedLength} bytes`);
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (Buffer.from(bytes).toString('base64') !== text) {
    throw VerificationError.single('malformed_evidence', field, 'non-canonical base64');
  }
  return bytes;
}

/** Parses the evidence JSON: `quote` required and non-empty; `cc_eventlog` null, absent or "" means none. */
export function parseTdxEvidence(evidence: Json): TdxEvidence {
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) {
    throw VerificationError.single('malformed_evidence', 'tdx.evidence', 'TDX evidence must be a JSON object');
  }
  const quote = evidence['quote'];
  if (typeof quote !== 'string') throw VerificationError.single('malformed_evidence', 'tdx.evidence.quote', 'missing "quote" string');
  if (quote.length === 0) throw VerificationError.single('malformed_evidence', 'tdx.evidence.quote', 'TDX quote is empty');
  const log = evidence['cc_eventlog'];
  if (log !== undefined && log !== null && typeof log !== 'string') {
    throw VerificationError.single('malformed_evidence', 'tdx.evidence.cc_eventlog', '"cc_eventlog" must be a string or null');
  }
  return {
    quote: decodeBase64Std(quote, 'tdx.evidence.quote', MAX_QUOTE_BYTES),
    ccEventLog: typeof log === 'string' && log.length > 0 ? decodeBase64Std(log, 'tdx.evidence.cc_eventlog', MAX_CCEL_BYTES) : undefined,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks the runtime-data and init-data bindings (upstream's regularise-to-64 / -48 rules).
 * Returns the failures; empty when both hold or were not requested.
 */
export function checkTdxBindings(reportData: Uint8Array, mrConfigId: Uint8Array, expected: VerificationExpectations, prefix = 'tdx'): FailedCheck[] {
  const failures: FailedCheck[] = [];
  if (expected.reportData !== undefined) {
    const want = regularize(expected.reportData, 64);
    if (!sameBytes(want, reportData)) {
      failures.push({ check: `${prefix}.report_data`, message: 'REPORT_DATA is different from that in the TDX quote', expected: toHex(want), found: toHex(reportData) });
    }
  }
  if (expected.initDataDigest !== undefined) {
    const want = regularize(expected.initDataDigest, 48);
    if (!sameBytes(want, mrConfigId)) {
      failures.push({ check: `${prefix}.init_data`, message: 'MRCONFIGID is different from the init-data digest', expected: toHex(want), found: toHex(mrConfigId) });
    }
  }
  return failures;
}

/** Replays CC MR 1..4 (SHA-384) and compares with RTMR0..3. */
export function checkRtmrReplay(entries: readonly CcelEntry[], rtmrs: readonly Uint8Array[]): FailedCheck[] {
  const failures: FailedCheck[] = [];
  rtmrs.forEach((rtmr, i) => {
    const replayed = replayCcel(entries, i + 1, TCG_ALG_SHA384);
    if (!sameBytes(replayed, rtmr)) {
      failures.push({ check: `tdx.ccel.rtmr_${i}`, message: `event log replay of CC MR ${i + 1} does not match RTMR${i}`, expected: toHex(rtmr), found: toHex(replayed) });
    }
  });
  return failures;
}

export type TdxVerifierOptions = DcapTrustOptions;

/**
 * Creates the `tdx` verifier. `trustAnchors` (SHA-256 fingerprints of root CAs) defaults to the
 * production Intel SGX Root CA; tests pass their own root explicitly.
 *
 * @example
 * const claims = await createTdxVerifier().evaluate(evidence, { reportData, initDataDigest: undefined }, { now: () => new Date(), collateral });
 */
export function createTdxVerifier(options: TdxVerifierOptions = {}): Verifier {
  return {
    tee: 'tdx',
    async evaluate(evidence: Json, expected: VerificationExpectations, context: VerifierContext): Promise<VerifiedClaims[]> {
      const parsed = parseTdxEvidence(evidence);
      const eventLog = parsed.ccEventLog === undefined ? undefined : parseCcel(parsed.ccEventLog);
      const verified = await verifyTdQuote(parsed.quote, context, options);
      const body = verified.body;
      const failures = checkTdxBindings(body.reportData, body.mrConfigId, expected);
      if (eventLog !== undefined) failures.push(...checkRtmrReplay(eventLog, [body.rtmr0, body.rtmr1, body.rtmr2, body.rtmr3]));
      if (failures.length > 0) throw new VerificationError('verification_failed', failures);
      const claims = { ...tdxParsedClaims(verified.quote, body, eventLog, verified.dcap.platform), ...verified.dcap.supplemental };
      return [{ teeClass: 'cpu', claims }];
    },
  };
}

/** The `tdx` verifier trusting only the production Intel SGX Root CA. */
export const tdxVerifier: Verifier = createTdxVerifier();
