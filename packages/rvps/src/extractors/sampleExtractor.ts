import { b64std, isJsonObject, jsonKind } from '@trustee/protocol';
import { ReferenceValueError } from '../referenceValueError.ts';
import type { ExtractedReferenceValue, Extractor } from '../referenceValueProvider.ts';

/**
 * `sample` extractor: the payload is standard base64 of a JSON object `{"<name>": <value>, …}`;
 * each member becomes one reference value whose value is stored verbatim (usually a list,
 * sometimes a scalar — policies use `in` and `==` accordingly).
 */
export const sampleExtractor: Extractor = {
  type: 'sample',
  extract(payload) {
    let bytes: Uint8Array;
    try {
      bytes = b64std.decode(payload);
    } catch {
      throw new ReferenceValueError('invalid_reference_value', 'sample payload is not standard base64');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      throw new ReferenceValueError('invalid_reference_value', 'sample payload is not UTF-8 JSON');
    }
    if (!isJsonObject(parsed)) throw new ReferenceValueError('invalid_reference_value', `sample payload must be a JSON object, found ${jsonKind(parsed)}`);
    const values: ExtractedReferenceValue[] = [];
    for (const [name, value] of Object.entries(parsed)) values.push({ name, value });
    return values;
  },
};
