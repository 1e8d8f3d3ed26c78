import { createHash } from 'node:crypto';
import { ByteReader } from '../binary/index.ts';
import { VerificationError } from '../verificationError.ts';
import type { JsonObject } from '../verifier.ts';
import { renderDevicePaths, utf16Lossy } from './devicePaths.ts';

/**
 * CC event log (CCEL) in the TCG PC Client crypto-agile format: a TCG_PCR_EVENT carrying the
 * Spec ID event (digest sizes), then TCG_PCR_EVENT2 entries. Entries are rendered as Trustee's
 * eventlog crate serialises them (`uefi_event_logs` claim): `{details, digest_matches_event,
 * digests: [{alg, digest}], event (base64), index, type_name}`.
 */

export interface EventDigest {
  /** TCG algorithm id (0x0c = SHA-384). */
  readonly algId: number;
  readonly digest: Uint8Array;
}

export interface CcelEntry {
  /** CC measurement register index (TDX: 1..4 = RTMR0..3, 0 = MRTD). */
  readonly index: number;
  readonly eventType: number;
  readonly digests: readonly EventDigest[];
  readonly data: Uint8Array;
  /** The claim form of this entry. */
  readonly json: JsonObject;
}

export const TCG_ALG_SHA384 = 0x0c;

const ALGORITHMS: Record<number, { name: string; hash?: string }> = {
  0x01: { name: 'RSA' },
  0x03: { name: 'TDES' },
  0x04: { name: 'SHA-1' },
  0x0b: { name: 'SHA-256', hash: 'sha256' },
  0x0c: { name: 'SHA-384', hash: 'sha384' },
  0x0d: { name: 'SHA-512', hash: 'sha512' },
  0x12: { name: 'SM3', hash: 'sm3' },
};

export const EVENT_TYPES: Record<number, string> = {
  0x0: 'EV_PREBOOT_CERT', 0x1: 'EV_POST_CODE', 0x2: 'EV_UNUSED', 0x3: 'EV_NO_ACTION', 0x4: 'EV_SEPARATOR', 0x5: 'EV_ACTION',
  0x6: 'EV_EVENT_TAG', 0x7: 'EV_S_CRTM_CONTENTS', 0x8: 'EV_S_CRTM_VERSION', 0x9: 'EV_CPU_MICROCODE', 0xa: 'EV_PLATFORM_CONFIG_FLAGS',
  0xb: 'EV_TABLE_OF_DEVICES', 0xc: 'EV_COMPACT_HASH', 0xd: 'EV_IPL', 0xe: 'EV_IPL_PARTITION_DATA', 0xf: 'EV_NONHOST_CODE',
  0x10: 'EV_NONHOST_CONFIG', 0x11: 'EV_NONHOST_INFO', 0x12: 'EV_OMIT_BOOT_DEVICE_EVENTS',
  0x80000000: 'EV_EFI_EVENT_BASE', 0x80000001: 'EV_EFI_VARIABLE_DRIVER_CONFIG', 0x80000002: 'EV_EFI_VARIABLE_BOOT',
  0x80000003: 'EV_EFI_BOOT_SERVICES_APPLICATION', 0x80000004: 'EV_EFI_BOOT_SERVICES_DRIVER', 0x80000005: 'EV_EFI_RUNTIME_SERVICES_DRIVER',
  0x80000006: 'EV_EFI_GPT_EVENT', 0x80000007: 'EV_EFI_ACTION', 0x80000008: 'EV_EFI_PLATFORM_FIRMWARE_BLOB',
  0x80000009: 'EV_EFI_HANDOFF_TABLES', 0x8000000a: 'EV_EFI_PLATFORM_FIRMWARE_BLOB2', 0x8000000b: 'EV_EFI_HANDOFF_TABLES2',
  0x8000000c: 'EV_EFI_VARIABLE_BOOT2', 0x80000010: 'EV_EFI_HCRTM_EVENT', 0x800000e0: 'EV_EFI_VARIABLE_AUTHORITY',
  0x800000e1: 'EV_EFI_SPDM_FIRMWARE_BLOB', 0x800000e2: 'EV_EFI_SPDM_FIRMWARE_CONFIG',
};

const AAEL_TAGGED_EVENT_ID = 0x4141454c;

function malformed(check: string, message: string): VerificationError {
  return VerificationError.single('malformed_evidence', `ccel.${check}`, message);
}

function strictUtf8(b: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    throw malformed(what, 'event data is not valid UTF-8');
  }
}

const lossyUtf8 = (b: Uint8Array): string => new TextDecoder('utf-8').decode(b);

function isControl(codePoint: number): boolean {
  return codePoint <= 0x1f || (codePoint >= 0x7f && codePoint <= 0x9f);
}

function formatGuidRaw(b: Uint8Array): string {
  const h = (s: number, e: number): string => Buffer.from(b.subarray(s, e)).toString('hex');
  return `${h(0, 4)}-${h(4, 6)}-${h(6, 8)}-${h(8, 10)}-${h(10, 16)}`;
}

/** `details` for one event, per event type (mirrors the upstream per-type parsers). */
function eventDetails(type: number, data: Uint8Array): JsonObject {
  switch (type) {
    case 0x1: case 0x5: case 0xc: case 0x12: case 0x80000007:
      return { string: strictUtf8(data, 'event.string') };
    case 0xa: {
      let text = '';
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(data);
      } catch {
        text = '';
      }
      text = text.replaceAll(String.fromCharCode(0x10), ' ');
      return { string: Array.from(text).filter((c) => !isControl(c.codePointAt(0) as number)).join('') };
    }
    case 0x8000000a: case 0x8000000b: {
      // upstream takes bytes [1, data[0]): the length byte counts the terminating NUL
      if (data.length === 0) throw malformed('event.blob2', 'empty event data');
      const end = data[0] as number;
      if (end < 1 || data.length < end) throw malformed('event.blob2', `description length ${end} does not fit ${data.length} bytes`);
      return { string: strictUtf8(data.subarray(1, end), 'event.blob2') };
    }
    case 0xd: {
      if (data.length < 2) throw malformed('event.ipl', 'IPL event shorter than 2 bytes');
      if (data[0] === 0x2e && data[1] === 0x00) {
        const end = data.length - 2;
        if (end === 0 || end % 2 !== 0 || end < 2) throw malformed('event.ipl', 'IPL event is not a UTF-16 string');
        return { string: utf16Lossy(data.subarray(2, end)) };
      }
      const nul = data.indexOf(0);
      const slice = nul === -1 ? data : data.subarray(0, nul);
      try {
        return { string: new TextDecoder('utf-8', { fatal: true }).decode(slice) };
      } catch {
        return { string: Buffer.from(data).toString('hex') };
      }
    }
    case 0x6: {
      const r = new ByteReader(data, 'ccel.event_tag');
      const id = r.u32le('event_id');
      const size = r.u32le('data_size');
      const body = r.bytes(size, 'data');
      const details: JsonObject = { string: lossyUtf8(body).replace(/\0/g, '') };
      if (id === AAEL_TAGGED_EVENT_ID) {
        const text = strictUtf8(body, 'event.aael');
        const first = text.indexOf(' ');
        const second = first === -1 ? -1 : text.indexOf(' ', first + 1);
        if (second === -1) throw malformed('event.aael', 'AAEL event needs "<domain> <operation> <content>"');
        const contentText = text.slice(second + 1);
        let content: JsonObject[string];
        try {
          content = JSON.parse(contentText) as JsonObject[string];
        } catch {
          content = contentText;
        }
        details.unicode_name = 'AAEL';
        details.data = { domain: text.slice(0, first), operation: text.slice(first + 1, second), content };
      }
      return details;
    }
    case 0x80000001: case 0x80000002: case 0x8000000c: case 0x800000e0: {
      const r = new ByteReader(data, 'ccel.efi_variable');
      const guid = r.bytes(16, 'guid');
      const nameLength = r.u64le('unicode_name_length');
      const dataLength = r.u64le('variable_data_length');
      if (nameLength * 2n > BigInt(r.remaining)) throw malformed('efi_variable', 'unicode name runs past the event');
      const nameBytes = r.bytes(Number(nameLength) * 2, 'unicode_name');
      let name: string;
      try {
        name = new TextDecoder('utf-16le', { fatal: true }).decode(nameBytes);
      } catch {
        throw malformed('efi_variable', 'unicode name is not valid UTF-16');
      }
      if (dataLength > BigInt(r.remaining)) throw malformed('efi_variable', 'variable data runs past the event');
      const variable = dataLength > 0n ? Buffer.from(r.bytes(Number(dataLength), 'variable_data')).toString('base64') : '';
      return {
        unicode_name: name,
        unicode_name_length: Number(nameLength),
        variable_data: variable,
        variable_data_length: Number(dataLength),
        variable_name: formatGuidRaw(guid),
      };
    }
    case 0x80000003: {
      if (data.length < 32) throw malformed('event.boot_services_app', 'event shorter than 32 bytes');
      const pathLength = Buffer.from(data.subarray(24, 32)).readBigUInt64LE(0);
      if (pathLength === 0n) return {};
      if (pathLength < 4n || pathLength - 4n > BigInt(data.length - 32)) throw malformed('event.boot_services_app', 'device path length does not fit the event');
      const paths = renderDevicePaths(data.subarray(32, 32 + Number(pathLength) - 4));
      if (paths === undefined) throw malformed('event.boot_services_app', 'malformed device path');
      return { device_paths: paths };
    }
    default:
      return {};
  }
}

function digestsMatch(data: Uint8Array, digests: readonly EventDigest[]): boolean {
  for (const d of digests) {
    const hash = ALGORITHMS[d.algId]?.hash;
    if (hash === undefined) throw malformed('digest', `cannot compare digests of algorithm 0x${d.algId.toString(16)}`);
    if (Buffer.compare(createHash(hash).update(data).digest(), d.digest) !== 0) return false;
  }
  return true;
}

/** Limits keep a hostile log from costing more than a real one. */
const MAX_EVENTS = 100_000;

/**
 * Parses a CCEL area dump (trailing padding after the terminator is ignored).
 *
 * @example
 * const log = parseCcel(Buffer.from(evidence.cc_eventlog, 'base64'));
 * const rtmr0 = replayCcel(log, 1, TCG_ALG_SHA384);
 */
export function parseCcel(bytes: Uint8Array): CcelEntry[] {
  const r = new ByteReader(bytes, 'ccel');
  r.u32le('spec_event.pcr_index');
  const firstType = r.u32le('spec_event.type');
  if (firstType !== 0x3) throw malformed('spec_event', `the first event must be EV_NO_ACTION (Spec ID event), found 0x${firstType.toString(16)}`);
  r.skip(20, 'spec_event.digest');
  const specSize = r.u32le('spec_event.size');
  const spec = new ByteReader(r.bytes(specSize, 'spec_event.data'), 'ccel.spec_event');
  spec.skip(24, 'header');
  const count = spec.u32le('number_of_algorithms');
  const sizes = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const alg = spec.u16le('algorithm_id');
    const size = spec.u16le('digest_size');
    if (ALGORITHMS[alg] === undefined) throw malformed('spec_event', `unknown algorithm 0x${alg.toString(16)}`);
    sizes.set(alg, size);
  }
  const vendorSize = spec.u8('vendor_info_size');
  spec.skip(vendorSize, 'vendor_info');
  spec.expectEnd('spec_event');

  const entries: CcelEntry[] = [];
  while (r.remaining > 0) {
    const marker = r.u64le('terminator');
    if (marker === 0n || marker === 0xffffffffffffffffn) break;
    r.seek(r.offset - 8);
    if (entries.length >= MAX_EVENTS) throw malformed('events', `more than ${MAX_EVENTS} events`);
    const index = r.u32le('event.mr_index');
    const type = r.u32le('event.type');
    const typeName = EVENT_TYPES[type];
    if (typeName === undefined) throw malformed('event.type', `unknown event type 0x${type.toString(16)}`);
    const digestCount = r.u32le('event.digest_count');
    // one digest per bank the Spec ID event declares; more would only cost hashing time
    if (digestCount > sizes.size) throw malformed('event.digest_count', `${digestCount} digests, but the Spec ID event declares ${sizes.size} algorithm(s)`);
    const digests: EventDigest[] = [];
    for (let i = 0; i < digestCount; i++) {
      const algId = r.u16le('event.digest.algorithm');
      const size = sizes.get(algId);
      if (ALGORITHMS[algId] === undefined) throw malformed('event.digest', `unknown algorithm 0x${algId.toString(16)}`);
      if (size === undefined) throw malformed('event.digest', `no digest size for algorithm 0x${algId.toString(16)} in the Spec ID event`);
      digests.push({ algId, digest: r.bytes(size, 'event.digest') });
    }
    const dataSize = r.u32le('event.size');
    const data = r.bytes(dataSize, 'event.data');
    const digestMatches = digestsMatch(data, digests);
    const details = eventDetails(type, data);
    entries.push({
      index,
      eventType: type,
      digests,
      data,
      json: {
        details,
        digest_matches_event: digestMatches,
        digests: digests.map((d) => ({ alg: (ALGORITHMS[d.algId] as { name: string }).name, digest: Buffer.from(d.digest).toString('hex') })),
        event: Buffer.from(data).toString('base64'),
        index,
        type_name: typeName,
      },
    });
  }
  return entries;
}

/** Replays one measurement register: `M = H(M ‖ digest)` over that index's digests in log order. */
export function replayCcel(entries: readonly CcelEntry[], index: number, algId: number): Uint8Array {
  const alg = ALGORITHMS[algId]?.hash;
  if (alg === undefined) throw malformed('replay', `cannot replay with algorithm 0x${algId.toString(16)}`);
  let value: Uint8Array = new Uint8Array(createHash(alg).digest().length);
  for (const entry of entries) {
    if (entry.index !== index) continue;
    for (const d of entry.digests) {
      if (d.algId === algId) value = createHash(alg).update(value).update(d.digest).digest();
    }
  }
  return value;
}
