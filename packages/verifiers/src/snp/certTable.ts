import { ByteReader } from '../binary/byteReader.ts';
import { toHex } from '../binary/encoding.ts';
import { VerificationError } from '../verificationError.ts';
import type { SnpCertEntry, SnpCertType } from './snpEvidence.ts';

/** GUIDs of the GHCB extended-guest-request certificate table (GHCB spec, "SNP Extended Guest Request"). */
const CERT_TABLE_GUIDS: Readonly<Record<string, SnpCertType>> = {
  'c0b406a4-a803-4952-9743-3fb6014cd0ae': 'ARK',
  '4ab7b379-bbac-4fe4-a02f-05aef327c782': 'ASK',
  '63da758d-e664-4564-adc5-f4b93be8accd': 'VCEK',
  'a8074bc2-a25a-483e-aae6-39c045a0b8a1': 'VLEK',
  '92f81bc3-5811-4d3d-97ff-d19f88dc67ea': 'CRL',
};
const MAX_ENTRIES = 16;

/**
 * Parses the certificate table the host hands the guest with an extended report (also the
 * configfs-tsm `auxblob`): 24-byte entries `GUID ‖ offset u32 ‖ length u32`, an all-zero GUID
 * ends the table; offsets are from the start of the table.
 */
export function parseSnpCertTable(table: Uint8Array): SnpCertEntry[] {
  const r = new ByteReader(table, 'cert_table');
  const entries: SnpCertEntry[] = [];
  for (;;) {
    const guidBytes = r.bytes(16, 'guid');
    const offset = r.u32le('offset');
    const length = r.u32le('length');
    if (guidBytes.every((b) => b === 0)) break;
    if (entries.length >= MAX_ENTRIES) throw VerificationError.single('malformed_evidence', 'cert_table', 'too many entries', `<= ${MAX_ENTRIES}`);
    const data = new ByteReader(table, 'cert_table');
    data.seek(offset, 'entry.offset');
    entries.push({ type: CERT_TABLE_GUIDS[guidText(guidBytes)] ?? 'OTHER', data: data.bytes(length, 'entry.data') });
  }
  return entries;
}

/** The table stores GUIDs in their textual (big-endian) byte order. */
function guidText(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
