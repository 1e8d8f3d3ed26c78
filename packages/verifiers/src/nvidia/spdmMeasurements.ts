/**
 * The SPDM 1.1 GET_MEASUREMENTS request and MEASUREMENTS response an NVIDIA GPU or NVSwitch
 * returns as its attestation report (layout: DMTF DSP0274 §10.11, as read by upstream's
 * deps/verifier/src/nvidia/spdm_request.rs and spdm_response.rs and NVIDIA nvtrust's
 * local_gpu_verifier `spdm_msrt_req_msg.py` / `spdm_msrt_resp_msg.py`):
 *
 *   request  (37 B): version u8, code 0xE0, param1 (bit 0: signature requested), param2,
 *                    nonce[32], slot id u8
 *   response:        version u8, code 0x60, param1, param2, block count u8, record length u24le,
 *                    record (blocks: index u8, spec u8 = 1 (DMTF), size u16le,
 *                    DMTF measurement: type u8, size u16le, value), nonce[32],
 *                    opaque length u16le, opaque data (NVIDIA TLVs: type u16le, size u16le, value),
 *                    signature (ECDSA P-384 r||s, 96 B)
 *
 * The signature covers request || response up to the signature. Every read is bounds-checked
 * (ByteReader); anything that does not fit is `malformed_evidence` naming the field.
 */
import { ByteReader } from '../binary/byteReader.ts';
import { toHex } from '../binary/encoding.ts';
import type { Json, JsonObject } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';

export const SPDM_VERSION_1_1 = 0x11;
export const SPDM_GET_MEASUREMENTS = 0xe0;
export const SPDM_MEASUREMENTS = 0x60;
export const SPDM_NONCE_SIZE = 32;
export const SPDM_REQUEST_SIZE = 37;
/** Raw ECDSA P-384 r||s. */
export const SPDM_SIGNATURE_SIZE = 96;
/** DMTF measurement specification (the only one NVIDIA devices use). */
const DMTF_MEASUREMENT_SPECIFICATION = 1;

export interface SpdmMeasurementBlock {
  readonly index: number;
  /** DMTF measurement value type (bit 7: raw bit stream rather than digest). */
  readonly valueType: number;
  readonly value: Uint8Array;
}

export interface SpdmMeasurementReport {
  readonly request: { readonly version: number; readonly param1: number; readonly param2: number; readonly nonce: Uint8Array; readonly slotId: number };
  readonly response: {
    readonly version: number;
    readonly param1: number;
    readonly param2: number;
    readonly blocks: readonly SpdmMeasurementBlock[];
    readonly responderNonce: Uint8Array;
    /** NVIDIA opaque data decoded with upstream's key names and value shapes. */
    readonly opaque: JsonObject;
  };
  /** request || response without the signature: what the device signed. */
  readonly signedBytes: Uint8Array;
  /** ECDSA P-384 signature, r||s. */
  readonly signature: Uint8Array;
}

/** NVIDIA opaque-data TLV types and upstream's claim names for them (spdm_response.rs `OpaqueDataType`). */
export const OPAQUE_DATA_TYPES: ReadonlyMap<number, string> = new Map([
  [1, 'cert_issuer_name'],
  [2, 'cert_authority_key_identifier'],
  [3, 'driver_version'],
  [4, 'gpu_info'],
  [5, 'id_sku'],
  [6, 'vbios_version'],
  [7, 'manufacturer_id'],
  [8, 'tamper_detection'],
  [9, 'smc'],
  [10, 'vpr'],
  [11, 'nvdec0_status'],
  [12, 'measurement_count'],
  [13, 'cpr_info'],
  [14, 'board_id'],
  [15, 'chip_sku'],
  [16, 'chip_sku_mod'],
  [17, 'project'],
  [18, 'project_sku'],
  [19, 'project_sku_mod'],
  [20, 'fwid'],
  [21, 'protected_pcie_status'],
  [22, 'switch_pdi'],
  [23, 'floorswept_ports'],
  [24, 'position_id'],
  [25, 'lock_switch_status'],
  [32, 'gpu_link_conn'],
  [33, 'sys_enable_status'],
  [34, 'opaque_data_version'],
  [35, 'chip_info'],
  [36, 'feature_flag'],
]);

/** Types upstream decodes as NUL-terminated text. */
const TEXT_TYPES = new Set(['driver_version', 'chip_sku', 'chip_sku_mod', 'nvdec0_status', 'project', 'project_sku', 'protected_pcie_status', 'chip_info']);

/**
 * Parses an SPDM GET_MEASUREMENTS request + MEASUREMENTS response pair.
 *
 * Trailing bytes after the signature are tolerated only when they are all zero (a real CoCo
 * capture, vectors/nvidia/trustee-hopper_coco_report1.txt, carries one 0x00 pad byte; upstream
 * ignores whatever follows); they are not signed and not read.
 *
 * @example const report = parseSpdmMeasurementReport(bytes); report.request.nonce
 * @throws VerificationError `malformed_evidence` naming the field that does not fit.
 */
export function parseSpdmMeasurementReport(bytes: Uint8Array): SpdmMeasurementReport {
  const reader = new ByteReader(bytes, 'nvidia.spdm');
  const request = {
    version: expectByte(reader, 'request.version', SPDM_VERSION_1_1),
    code: expectByte(reader, 'request.code', SPDM_GET_MEASUREMENTS),
    param1: reader.u8('request.param1'),
    param2: reader.u8('request.param2'),
    nonce: reader.bytes(SPDM_NONCE_SIZE, 'request.nonce'),
    slotId: reader.u8('request.slot_id'),
  };
  if ((request.param1 & 0x01) === 0) malformed('request.param1', 'the request did not ask for a signature', 'bit 0 set', `0x${request.param1.toString(16)}`);

  const version = expectByte(reader, 'response.version', SPDM_VERSION_1_1);
  expectByte(reader, 'response.code', SPDM_MEASUREMENTS);
  const param1 = reader.u8('response.param1');
  const param2 = reader.u8('response.param2');
  const blockCount = reader.u8('response.number_of_blocks');
  const recordLength = reader.u8('response.record_length') | (reader.u8('response.record_length') << 8) | (reader.u8('response.record_length') << 16);
  const blocks = parseMeasurementRecord(new ByteReader(reader.bytes(recordLength, 'response.measurement_record'), 'nvidia.spdm.measurement_record'), blockCount);
  const responderNonce = reader.bytes(SPDM_NONCE_SIZE, 'response.nonce');
  const opaqueLength = reader.u16le('response.opaque_length');
  const opaque = parseOpaqueData(new ByteReader(reader.bytes(opaqueLength, 'response.opaque_data'), 'nvidia.spdm.opaque_data'));
  const signedLength = reader.offset;
  const signature = reader.bytes(SPDM_SIGNATURE_SIZE, 'response.signature');
  const trailing = reader.rest();
  if (trailing.some((byte) => byte !== 0)) malformed('trailing', `${trailing.byteLength} non-zero bytes after the signature`, '0', String(trailing.byteLength));

  return {
    request: { version: request.version, param1: request.param1, param2: request.param2, nonce: request.nonce, slotId: request.slotId },
    response: { version, param1, param2, blocks, responderNonce, opaque },
    signedBytes: bytes.subarray(0, signedLength),
    signature,
  };
}

function parseMeasurementRecord(reader: ByteReader, count: number): SpdmMeasurementBlock[] {
  const blocks: SpdmMeasurementBlock[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < count; i += 1) {
    const index = reader.u8(`block[${i}].index`);
    const specification = reader.u8(`block[${i}].measurement_specification`);
    if (specification !== DMTF_MEASUREMENT_SPECIFICATION) malformed(`measurement_record.block[${i}].measurement_specification`, 'only DMTF measurements are supported', '1', String(specification));
    const size = reader.u16le(`block[${i}].measurement_size`);
    const measurement = new ByteReader(reader.bytes(size, `block[${i}].measurement`), `nvidia.spdm.measurement_record.block[${i}]`);
    const valueType = measurement.u8('dmtf_type');
    const valueSize = measurement.u16le('dmtf_size');
    const value = measurement.bytes(valueSize, 'dmtf_value');
    measurement.expectEnd('dmtf_value');
    if (seen.has(index)) malformed(`measurement_record.block[${i}].index`, `measurement index ${index} appears twice`);
    seen.add(index);
    blocks.push({ index, valueType, value });
  }
  reader.expectEnd('blocks');
  return blocks;
}

function parseOpaqueData(reader: ByteReader): JsonObject {
  const out: JsonObject = {};
  while (reader.remaining > 0) {
    const type = reader.u16le('type');
    const size = reader.u16le('size');
    const value = reader.bytes(size, `type ${type} value`);
    // Types upstream's table lacks (NVSwitch firmware sends 26) are kept as hex rather than
    // refused: they are signed like the rest, and NVIDIA's own SDK passes them through too.
    const name = OPAQUE_DATA_TYPES.get(type) ?? `opaque_type_${type}`;
    if (Object.hasOwn(out, name)) malformed(`opaque_data.${name}`, `opaque data type ${name} appears twice`);
    out[name] = decodeOpaqueValue(name, value);
  }
  return out;
}

function decodeOpaqueValue(name: string, value: Uint8Array): Json {
  if (TEXT_TYPES.has(name)) return Buffer.from(value).toString('utf8').replace(/\0+$/, '');
  switch (name) {
    case 'vbios_version':
      return vbiosVersion(value);
    case 'measurement_count': {
      if (value.byteLength % 4 !== 0) malformed('opaque_data.measurement_count', 'length is not a multiple of 4', 'multiple of 4', String(value.byteLength));
      const counts: JsonObject = {};
      const reader = new ByteReader(value, 'nvidia.spdm.opaque_data.measurement_count');
      for (let i = 1; reader.remaining > 0; i += 1) counts[String(i)] = reader.u32le(`count ${i}`);
      return counts;
    }
    case 'switch_pdi': {
      if (value.byteLength % 8 !== 0) malformed('opaque_data.switch_pdi', 'length is not a multiple of 8', 'multiple of 8', String(value.byteLength));
      const pdis: Json[] = [];
      for (let at = 0; at < value.byteLength; at += 8) pdis.push(toHex(value.subarray(at, at + 8)));
      return pdis;
    }
    case 'opaque_data_version':
      return Number(leU64(name, value));
    case 'feature_flag':
      return ['SPT', 'MPT', 'PPCIE'][Number(leU64(name, value))] ?? 'unknown';
    default:
      return toHex(value);
  }
}

/** Upstream's `format_vbios_version`: the first half reversed, dot-joined, then the middle byte. */
function vbiosVersion(value: Uint8Array): string {
  const half = Math.floor(value.byteLength / 2);
  if (half >= value.byteLength) malformed('opaque_data.vbios_version', 'empty VBIOS version');
  const parts = Array.from(value.subarray(0, half)).reverse().map(hexByte);
  return `${parts.join('.')}.${hexByte(value[half] as number)}`;
}

function hexByte(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** A little-endian integer of at most 8 bytes that must fit a JSON-safe number. */
function leU64(name: string, value: Uint8Array): number {
  if (value.byteLength > 8) malformed(`opaque_data.${name}`, 'integer longer than 8 bytes', '<= 8', String(value.byteLength));
  let n = 0n;
  for (let i = value.byteLength - 1; i >= 0; i -= 1) n = (n << 8n) | BigInt(value[i] as number);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) malformed(`opaque_data.${name}`, 'integer too large');
  return Number(n);
}

function expectByte(reader: ByteReader, field: string, expected: number): number {
  const found = reader.u8(field);
  if (found !== expected) malformed(field, `unexpected ${field}`, `0x${expected.toString(16)}`, `0x${found.toString(16)}`);
  return found;
}

function malformed(field: string, message: string, expected?: string, found?: string): never {
  throw VerificationError.single('malformed_evidence', `nvidia.spdm.${field}`, message, expected, found);
}
