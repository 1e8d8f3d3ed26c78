import { bytesFromJsonArray, jsonKind, objectFromJson } from '../binary/jsonBytes.ts';
import { VerificationError } from '../verificationError.ts';
import { parseSnpReportJson } from './snpReportJson.ts';
import type { SnpReport } from './snpReport.ts';

/** `cert_type` of the sev crate's `CertTableEntry` (serde: unit variants as strings, `{"OTHER": uuid}`). */
export type SnpCertType = 'ARK' | 'ASK' | 'VCEK' | 'VLEK' | 'CRL' | 'Empty' | 'OTHER';

export interface SnpCertEntry {
  readonly type: SnpCertType;
  readonly data: Uint8Array;
}

export interface SnpEvidence {
  readonly report: SnpReport;
  /** `null`/absent on the wire: fetch the VCEK from collateral. */
  readonly certChain: readonly SnpCertEntry[] | undefined;
}

const MAX_CERT_ENTRIES = 16;
const MAX_CERT_BYTES = 16 * 1024;
const KNOWN_TYPES = new Set(['ARK', 'ASK', 'VCEK', 'VLEK', 'CRL', 'Empty']);

/**
 * Parses `{"attestation_report": {...}, "cert_chain": [...] | null}` as CoCo guests send it
 * (guest-components `SnpEvidence`).
 */
export function parseSnpEvidence(value: unknown): SnpEvidence {
  const evidence = objectFromJson(value, 'evidence');
  const report = parseSnpReportJson(evidence['attestation_report']);
  const rawChain = evidence['cert_chain'];
  if (rawChain === undefined || rawChain === null) return { report, certChain: undefined };
  if (!Array.isArray(rawChain)) throw VerificationError.single('malformed_evidence', 'cert_chain', 'expected an array or null', 'array', jsonKind(rawChain));
  if (rawChain.length > MAX_CERT_ENTRIES) throw VerificationError.single('malformed_evidence', 'cert_chain', 'too many certificate entries', `<= ${MAX_CERT_ENTRIES}`, String(rawChain.length));
  const certChain = rawChain.map((raw, i): SnpCertEntry => {
    const entry = objectFromJson(raw, `cert_chain[${i}]`);
    const data = entry['data'];
    if (Array.isArray(data) && data.length > MAX_CERT_BYTES) {
      throw VerificationError.single('malformed_evidence', `cert_chain[${i}].data`, 'certificate too large', `<= ${MAX_CERT_BYTES}`, String(data.length));
    }
    return { type: certType(entry['cert_type'], `cert_chain[${i}].cert_type`), data: bytesFromJsonArray(data, `cert_chain[${i}].data`) };
  });
  return { report, certChain };
}

function certType(value: unknown, field: string): SnpCertType {
  if (typeof value === 'string' && KNOWN_TYPES.has(value)) return value as SnpCertType;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && typeof (value as Record<string, unknown>)['OTHER'] === 'string') {
    return 'OTHER';
  }
  throw VerificationError.single('malformed_evidence', field, 'unknown certificate type', 'ARK, ASK, VCEK, VLEK, CRL, Empty or {"OTHER": uuid}', jsonKind(value));
}
