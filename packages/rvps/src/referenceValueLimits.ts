/**
 * What a reference value may be, checked before anything is stored (and on values a remote RVPS
 * returns). Appraisal policies compare evidence claims against these values on every
 * attestation, so one value that a policy cannot walk within its budget would break every later
 * appraisal. Upstream's extractors yield hex strings or lists of them (swid, corim) and whatever
 * JSON a `sample` payload holds (kbs-client sends strings, integers or booleans, alone or in a
 * list); serde_json refuses documents nested deeper than 128.
 *
 * Accepted: strings, finite numbers, booleans, and arrays/objects of those, nested at most
 * `MAX_REFERENCE_VALUE_DEPTH` deep, at most `MAX_REFERENCE_VALUE_BYTES` as JSON text. `null` is
 * refused: `query_reference_value` answers null for an absent value, so a stored null could not
 * be told from none. The walk is iterative: a hostile value nested 10,000 deep costs no stack.
 */
import { ReferenceValueError } from './referenceValueError.ts';

/** Levels of arrays/objects around a scalar: `"a"` is 0, `["a"]` is 1. */
export const MAX_REFERENCE_VALUE_DEPTH = 32;
/** Longest JSON text of one value (a reference value list of 10k sha384 digests is ~1 MiB). */
export const MAX_REFERENCE_VALUE_BYTES = 1024 * 1024;
/** Longest reference value name (id); upstream ids are short paths. */
export const MAX_REFERENCE_VALUE_NAME_LENGTH = 4096;

function refuse(name: string, reason: string): ReferenceValueError {
  return new ReferenceValueError('invalid_reference_value', `reference value ${JSON.stringify(name.slice(0, 128))}: ${reason}`);
}

/**
 * Throws `invalid_reference_value` naming the value and the broken rule.
 *
 * @example
 * checkReferenceValue('svn', ['1', '2']);          // ok
 * checkReferenceValue('svn', [[[...3000 levels]]]); // throws: nested deeper than 32 levels
 */
export function checkReferenceValue(name: string, value: unknown): void {
  if (name.length === 0) throw new ReferenceValueError('invalid_reference_value', 'reference value name must not be empty');
  if (name.length > MAX_REFERENCE_VALUE_NAME_LENGTH) throw refuse(name, `name is longer than ${MAX_REFERENCE_VALUE_NAME_LENGTH} characters`);
  // [value, depth of the containers around it]
  const pending: Array<[unknown, number]> = [[value, 0]];
  let bytes = 0;
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (typeof current === 'string') bytes += current.length + 2;
    else if (typeof current === 'number') {
      if (!Number.isFinite(current)) throw refuse(name, 'numbers must be finite');
      bytes += String(current).length;
    } else if (typeof current === 'boolean') bytes += 5;
    else if (current === null || current === undefined) throw refuse(name, 'null is not a reference value (it reads as "no reference value")');
    else if (typeof current === 'object') {
      if (depth >= MAX_REFERENCE_VALUE_DEPTH) throw refuse(name, `value is nested deeper than ${MAX_REFERENCE_VALUE_DEPTH} levels`);
      bytes += 2;
      if (Array.isArray(current)) {
        for (const item of current as unknown[]) {
          bytes += 1;
          pending.push([item, depth + 1]);
        }
      } else {
        for (const [key, item] of Object.entries(current)) {
          bytes += key.length + 4;
          pending.push([item, depth + 1]);
        }
      }
    } else throw refuse(name, `values must be strings, numbers, booleans, arrays or objects, found ${typeof current}`);
    if (bytes > MAX_REFERENCE_VALUE_BYTES) throw refuse(name, `value is larger than ${MAX_REFERENCE_VALUE_BYTES} bytes as JSON`);
  }
}
