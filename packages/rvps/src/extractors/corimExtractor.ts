import { Decoder, Tag } from 'cbor-x';
import { b64std } from '@trustee/protocol';
import { ReferenceValueError } from '../referenceValueError.ts';
import type { ExtractedReferenceValue, Extractor } from '../referenceValueProvider.ts';

/**
 * CBOR tags and map keys of draft-ietf-rats-corim (checked against veraison/corim-rs's CDDL).
 * 500 and 502 are the older drafts' outer wrappers (`corim`, `signed-corim`) some producers
 * still emit; 18 is COSE_Sign1.
 */
export const CORIM_TAG = {
  legacyCorim: 500,
  unsignedCorim: 501,
  legacySignedCorim: 502,
  coseSign1: 18,
  coswid: 505,
  comid: 506,
  uuid: 37,
  oid: 111,
  taggedBytes: 560,
} as const;

const CORIM_MAP = { id: 0, tags: 1 } as const;
const COMID = { triples: 4 } as const;
const TRIPLES = { referenceTriples: 0 } as const;
const ENVIRONMENT = { class: 0 } as const;
const CLASS = { vendor: 1, model: 2 } as const;
const MEASUREMENT = { mkey: 0, mval: 1 } as const;
const MVAL = { digests: 2, rawValue: 4, serialNumber: 8, name: 11 } as const;

type Cbor = unknown;

function invalid(message: string): ReferenceValueError {
  return new ReferenceValueError('invalid_reference_value', `corim: ${message}`);
}

function decodeCbor(bytes: Uint8Array, what: string): Cbor {
  // A fresh decoder per document: cbor-x keeps record structures per instance, and hostile
  // input must not leave state behind for the next registration.
  const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw invalid(`${what} is not well-formed CBOR: ${cborProblem(error)}`);
  }
}

/**
 * Our own words for what cbor-x refused: its messages speak of JavaScript limits ("length over
 * 4294967295") and internal states, which mean nothing to whoever sent the CoRIM.
 */
function cborProblem(error: unknown): string {
  // Nesting beyond the JS stack surfaces as RangeError.
  if (error instanceof RangeError) return 'items nested too deeply';
  const message = error instanceof Error ? error.message : '';
  if (/unexpected end/i.test(message)) return 'the data ends inside an item (truncated)';
  if (/end of buffer not reached/i.test(message)) return 'bytes follow the end of the document';
  if (/length over|exceeds/i.test(message)) return 'an array, map or string declares a length larger than the document';
  if (/indefinite length/i.test(message)) return 'indefinite-length strings are not accepted';
  if (/break stop code/i.test(message)) return 'a break code outside an indefinite-length item';
  return 'an item that is not valid CBOR';
}

function isMap(value: Cbor): value is Map<Cbor, Cbor> {
  return value instanceof Map;
}

function isBytes(value: Cbor): value is Uint8Array {
  return value instanceof Uint8Array;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function cborKind(value: Cbor): string {
  if (value === null) return 'null';
  if (value instanceof Map) return 'map';
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof Tag) return `tag ${value.tag}`;
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function expectMap(value: Cbor, path: string): Map<Cbor, Cbor> {
  if (!isMap(value)) throw invalid(`${path}: expected a map, found ${cborKind(value)}`);
  return value;
}

function expectArray(value: Cbor, path: string): Cbor[] {
  if (!Array.isArray(value)) throw invalid(`${path}: expected an array, found ${cborKind(value)}`);
  return value;
}

function optionalText(map: Map<Cbor, Cbor>, key: number, path: string): string | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${path}: expected text, found ${cborKind(value)}`);
  return value;
}

function formatUuid(bytes: Uint8Array): string {
  const text = hex(bytes);
  return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`;
}

/** Path component of a `$measured-element-type-choice`; OIDs (and unknown choices) add none, like upstream. */
function measuredElement(mkey: Cbor, path: string): string | undefined {
  if (typeof mkey === 'string') return mkey;
  if (typeof mkey === 'number' || typeof mkey === 'bigint') {
    if (typeof mkey === 'number' && (!Number.isInteger(mkey) || mkey < 0)) throw invalid(`${path}: integer mkey must be a uint`);
    if (typeof mkey === 'bigint' && mkey < 0n) throw invalid(`${path}: integer mkey must be a uint`);
    return `claim${mkey}`;
  }
  if (mkey instanceof Tag && mkey.tag === CORIM_TAG.uuid) {
    if (!isBytes(mkey.value) || mkey.value.byteLength !== 16) throw invalid(`${path}: UUID mkey must be 16 bytes`);
    return formatUuid(mkey.value);
  }
  return undefined;
}

function extractMeasurement(measurement: Cbor, base: readonly string[], path: string): ExtractedReferenceValue[] {
  const map = expectMap(measurement, path);
  const components = [...base];
  const mkey = map.get(MEASUREMENT.mkey);
  if (mkey !== undefined) {
    const component = measuredElement(mkey, `${path}.mkey`);
    if (component !== undefined) components.push(component);
  }
  const mval = expectMap(map.get(MEASUREMENT.mval), `${path}.mval`);
  const name = optionalText(mval, MVAL.name, `${path}.mval.name`);
  if (name !== undefined) components.push(name);
  const serialNumber = optionalText(mval, MVAL.serialNumber, `${path}.mval.serial-number`);
  if (serialNumber !== undefined) components.push(serialNumber);

  const values: ExtractedReferenceValue[] = [];
  const digests = mval.get(MVAL.digests);
  if (digests !== undefined) {
    const hexDigests = expectArray(digests, `${path}.mval.digests`).map((digest, index) => {
      const digestPath = `${path}.mval.digests[${index}]`;
      const [algorithm, value, ...rest] = expectArray(digest, digestPath);
      if (rest.length > 0 || (typeof algorithm !== 'number' && typeof algorithm !== 'string') || !isBytes(value)) {
        throw invalid(`${digestPath}: expected [alg: int / text, val: bytes]`);
      }
      return hex(value);
    });
    values.push({ name: [...components, 'digests'].join('/'), value: hexDigests });
  }
  const raw = mval.get(MVAL.rawValue);
  // Only `tagged-bytes` (#6.560) raw values become reference values; masked raw values
  // (#6.563) carry a mask no policy could apply to a plain hex string, so they are skipped like upstream.
  if (raw instanceof Tag && raw.tag === CORIM_TAG.taggedBytes) {
    if (!isBytes(raw.value)) throw invalid(`${path}.mval.raw-value: tagged-bytes must hold bytes`);
    values.push({ name: [...components, 'raw_bytes'].join('/'), value: hex(raw.value) });
  }
  return values;
}

function extractComid(comid: Cbor, path: string): ExtractedReferenceValue[] {
  const triples = expectMap(expectMap(comid, path).get(COMID.triples), `${path}.triples`);
  const referenceTriples = triples.get(TRIPLES.referenceTriples);
  if (referenceTriples === undefined) return [];
  const values: ExtractedReferenceValue[] = [];
  expectArray(referenceTriples, `${path}.triples.reference-triples`).forEach((triple, tripleIndex) => {
    const triplePath = `${path}.triples.reference-triples[${tripleIndex}]`;
    const [environment, claims, ...rest] = expectArray(triple, triplePath);
    if (rest.length > 0) throw invalid(`${triplePath}: expected [ref-env, ref-claims]`);
    const env = expectMap(environment, `${triplePath}.ref-env`);
    const base: string[] = [];
    const classMap = env.get(ENVIRONMENT.class);
    if (classMap !== undefined) {
      const klass = expectMap(classMap, `${triplePath}.ref-env.class`);
      const vendor = optionalText(klass, CLASS.vendor, `${triplePath}.ref-env.class.vendor`);
      if (vendor !== undefined) base.push(vendor);
      const model = optionalText(klass, CLASS.model, `${triplePath}.ref-env.class.model`);
      if (model !== undefined) base.push(model);
    }
    expectArray(claims, `${triplePath}.ref-claims`).forEach((claim, claimIndex) => {
      values.push(...extractMeasurement(claim, base, `${triplePath}.ref-claims[${claimIndex}]`));
    });
  });
  return values;
}

/** Drops leading `#6.500` / `#6.502` headers (`d9 01f4`, `d9 01f6`), as upstream and veraison's cocli do. */
function stripOuterTags(bytes: Uint8Array): Uint8Array {
  let offset = 0;
  while (bytes.byteLength - offset >= 3 && bytes[offset] === 0xd9) {
    const tag = ((bytes[offset + 1] as number) << 8) | (bytes[offset + 2] as number);
    if (tag !== CORIM_TAG.legacyCorim && tag !== CORIM_TAG.legacySignedCorim) break;
    offset += 3;
  }
  return bytes.subarray(offset);
}

/**
 * Reference values of an unsigned CoRIM: for every reference triple of every CoMID, the path
 * `vendor/model/<mkey>/<mval.name>/<serial-number>` (absent parts left out) gets `/digests`
 * (array of hex digests) and/or `/raw_bytes` (hex of a tagged-bytes raw value).
 *
 * Signed CoRIMs (COSE_Sign1) are refused: no trust anchor is configured to verify them, and
 * reading the payload of an unverified signature would suggest a check that did not happen
 * (upstream's corim-rs reads signed CoRIMs without verifying them).
 *
 * @example
 * extractCorimReferenceValues(cbor) // [{ name: 'ACME/RoadRunner/<uuid>/digests', value: ['a3a5…'] }]
 */
export function extractCorimReferenceValues(cbor: Uint8Array): ExtractedReferenceValue[] {
  const document = decodeCbor(stripOuterTags(cbor), 'CoRIM');
  if (!(document instanceof Tag)) throw invalid(`expected a tagged CoRIM (#6.501), found ${cborKind(document)}`);
  if (document.tag === CORIM_TAG.coseSign1) {
    throw invalid('signed CoRIMs (COSE_Sign1, tag 18) are not supported: signatures are not verified, register the unsigned CoRIM (#6.501)');
  }
  if (document.tag !== CORIM_TAG.unsignedCorim) throw invalid(`unexpected CoRIM tag ${document.tag} (expected 501, unsigned-corim-map)`);
  const corim = expectMap(document.value, 'corim-map');
  const id = corim.get(CORIM_MAP.id);
  if (typeof id !== 'string' && !(id instanceof Tag && id.tag === CORIM_TAG.uuid) && !isBytes(id)) {
    throw invalid(`corim-map.id: expected text or UUID, found ${cborKind(id)}`);
  }
  const values: ExtractedReferenceValue[] = [];
  expectArray(corim.get(CORIM_MAP.tags), 'corim-map.tags').forEach((tag, index) => {
    const path = `corim-map.tags[${index}]`;
    if (tag instanceof Tag && tag.tag === CORIM_TAG.comid) {
      if (!isBytes(tag.value)) throw invalid(`${path}: CoMID (#6.506) must wrap bytes`);
      values.push(...extractComid(decodeCbor(tag.value, `${path} CoMID`), `${path}.comid`));
    } else if (isBytes(tag)) {
      // Untagged bytes: some producers embed CoMIDs without #6.506; upstream tries them as CoMID and skips what does not parse.
      let comid: Cbor;
      try {
        comid = decodeCbor(tag, path);
      } catch {
        return;
      }
      if (isMap(comid) && isMap(comid.get(COMID.triples))) values.push(...extractComid(comid, `${path}.comid`));
    }
    // CoSWID (#6.505), CoTL (#6.508) and unknown tags carry no reference triples.
  });
  return values;
}

/** `corim` extractor: the payload is standard base64 of an unsigned CBOR CoRIM. */
export const corimExtractor: Extractor = {
  type: 'corim',
  extract(payload) {
    let bytes: Uint8Array;
    try {
      bytes = b64std.decode(payload);
    } catch {
      throw invalid('Failed to decode CoRIM as base64');
    }
    return extractCorimReferenceValues(bytes);
  },
};
