import { isWithinKeyLimits, MAX_KEY_LENGTH, MAX_KEY_SLASHES, StorageError, type KeyValueStore } from '@trustee/storage';
import { ReferenceValueError } from './referenceValueError.ts';
import { isJsonObject, own, type Json } from '@trustee/protocol';
import { defaultExpiration, formatExpiration, parseExpiration } from './expiration.ts';
import { corimExtractor } from './extractors/corimExtractor.ts';
import { sampleExtractor } from './extractors/sampleExtractor.ts';
import { swidExtractor } from './extractors/swidExtractor.ts';
import type { Extractor, ReferenceValueProvider } from './referenceValueProvider.ts';
import { checkReferenceValue } from './referenceValueLimits.ts';
import { RVPS_MESSAGE_VERSION, parseRegistrationMessage } from './registrationMessage.ts';

/** Upstream's namespace for reference values in the unified key-value storage. */
export const REFERENCE_VALUE_NAMESPACE = 'reference_value';

/**
 * Most reference values one registration may write. Real RIMs and CoRIMs carry tens to hundreds;
 * without a cap a 4 MiB `sample` message of tiny members means ~400k durable writes (minutes of
 * fsyncs on SQLite) from one unauthenticated request. Upstream has no cap.
 */
export const MAX_VALUES_PER_REGISTRATION = 10_000;

/** Stored record, byte-compatible with upstream's `ReferenceValue` JSON. */
export interface ReferenceValueRecord {
  readonly version: string;
  readonly name: string;
  readonly expiration: string;
  readonly value: Json;
}

export interface BuiltinRvpsOptions {
  readonly now?: () => Date;
  /** Extra or replacement extractors by type; `sample`, `swid` and `corim` are always present unless replaced (upstream enables all three). */
  readonly extractors?: readonly Extractor[];
  /** Namespace override (tests, or a separate RVPS storage). */
  readonly namespace?: string;
}

export interface BuiltinRvps extends ReferenceValueProvider {
  list(): Promise<string[]>;
  delete(id: string): Promise<boolean>;
  /** The full stored record (with its expiration) or `undefined` when absent or expired. */
  getRecord(id: string): Promise<ReferenceValueRecord | undefined>;
  /** Extractor types this instance accepts, sorted. */
  readonly extractorTypes: readonly string[];
}

/**
 * The in-process RVPS over a key-value store (namespace `reference_value`). Unlike upstream,
 * expiry is enforced: an expired value reads as absent, and the store is told the expiry so
 * persistent backends drop the row.
 *
 * @example
 * const rvps = createBuiltinRvps(store);
 * await rvps.register(JSON.stringify({ version: '0.1.0', type: 'sample', payload: btoa('{"svn":["1"]}') }));
 * await rvps.query('svn'); // ["1"]
 */
export function createBuiltinRvps(store: KeyValueStore, options: BuiltinRvpsOptions = {}): BuiltinRvps {
  const now = options.now ?? (() => new Date());
  const namespace = options.namespace ?? REFERENCE_VALUE_NAMESPACE;
  const extractors = new Map<string, Extractor>([sampleExtractor, swidExtractor, corimExtractor].map((extractor) => [extractor.type, extractor]));
  for (const extractor of options.extractors ?? []) extractors.set(extractor.type, extractor);

  async function getRecord(id: string): Promise<ReferenceValueRecord | undefined> {
    if (typeof id !== 'string') throw new ReferenceValueError('rvps_error', 'reference value id must be a string');
    let bytes: Uint8Array | undefined;
    try {
      bytes = await store.get(namespace, id);
    } catch (error) {
      // An id the backend cannot even store (e.g. `rvps:///…:tag` on LocalFs) was never registered.
      if (error instanceof StorageError && error.code === 'invalid_key') return undefined;
      throw new ReferenceValueError('rvps_error', `reference value storage: ${(error as Error).message}`, { cause: error });
    }
    if (bytes === undefined) return undefined;
    const record = decodeRecord(bytes, id);
    const expiration = parseExpiration(record.expiration);
    if (expiration === undefined) throw new ReferenceValueError('rvps_error', `stored reference value ${JSON.stringify(id)} has an invalid expiration`);
    return expiration.getTime() <= now().getTime() ? undefined : record;
  }

  return {
    extractorTypes: [...extractors.keys()].sort(),
    async register(message) {
      const parsed = parseRegistrationMessage(message);
      const extractor = extractors.get(parsed.type);
      if (extractor === undefined) throw new ReferenceValueError('invalid_reference_value', `Could not find extractor for ${parsed.type}`);
      const at = now();
      const values = extractor.extract(parsed.payload, { now: at });
      if (values.length > MAX_VALUES_PER_REGISTRATION) {
        throw new ReferenceValueError('invalid_reference_value', `registration yields ${values.length} reference values, more than the limit of ${MAX_VALUES_PER_REGISTRATION}`);
      }
      // Every value is checked before the first is written: a refused registration stores nothing.
      for (const value of values) {
        checkReferenceValue(value.name, value.value);
        // The name is the storage key: every backend takes keys up to MAX_KEY_LENGTH characters.
        if (!isWithinKeyLimits(value.name)) {
          throw new ReferenceValueError('invalid_reference_value', `reference value name ${JSON.stringify(value.name.slice(0, 128))} is not a valid storage key (at most ${MAX_KEY_LENGTH} characters, ${MAX_KEY_SLASHES} "/")`);
        }
      }
      const defaultExpiry = defaultExpiration(at);
      for (const value of values) {
        const expiration = value.expiration ?? defaultExpiry;
        const record: ReferenceValueRecord = { version: RVPS_MESSAGE_VERSION, name: value.name, expiration: formatExpiration(expiration), value: value.value };
        try {
          await store.set(namespace, value.name, new TextEncoder().encode(JSON.stringify(record)), { overwrite: true, expiresAtMs: expiration.getTime() });
        } catch (error) {
          if (error instanceof StorageError && error.code === 'invalid_key') {
            throw new ReferenceValueError('invalid_reference_value', `reference value name ${JSON.stringify(value.name.slice(0, 128))} is not a valid storage key: ${error.message}`);
          }
          throw new ReferenceValueError('rvps_error', `reference value storage: ${(error as Error).message}`, { cause: error });
        }
      }
    },
    async query(id) {
      return (await getRecord(id))?.value;
    },
    getRecord,
    async list() {
      const ids = await storage(() => store.list(namespace));
      const live: string[] = [];
      for (const id of ids) if ((await getRecord(id)) !== undefined) live.push(id);
      return live;
    },
    async delete(id) {
      return storage(() => store.delete(namespace, id));
    },
  };
}

function decodeRecord(bytes: Uint8Array, id: string): ReferenceValueRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ReferenceValueError('rvps_error', `stored reference value ${JSON.stringify(id)} is not JSON`);
  }
  if (!isJsonObject(parsed)) throw new ReferenceValueError('rvps_error', `stored reference value ${JSON.stringify(id)} is not an object`);
  const version = own(parsed, 'version');
  const name = own(parsed, 'name');
  const expiration = own(parsed, 'expiration');
  const value = own(parsed, 'value');
  if (typeof version !== 'string' || typeof name !== 'string' || typeof expiration !== 'string' || value === undefined) {
    throw new ReferenceValueError('rvps_error', `stored reference value ${JSON.stringify(id)} lacks version, name, expiration or value`);
  }
  return { version, name, expiration, value };
}

async function storage<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ReferenceValueError) throw error;
    throw new ReferenceValueError('rvps_error', `reference value storage: ${(error as Error).message}`, { cause: error });
  }
}
