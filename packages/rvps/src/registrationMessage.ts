import { ReferenceValueError } from './referenceValueError.ts';
import { isJsonObject, jsonKind, own } from '@trustee/protocol';

export const RVPS_MESSAGE_VERSION = '0.1.0';

export interface RegistrationMessage {
  readonly version: string;
  readonly type: string;
  readonly payload: string;
}

/** Largest message accepted (the payload carries whole RIMs/CoRIMs, base64-encoded). */
export const MAX_REGISTRATION_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Parses an RVPS registration message. The payload field is `payload` (upstream's README calls it
 * `provenance`, the code does not); `version` defaults to 0.1.0 and no other version is accepted.
 */
export function parseRegistrationMessage(text: string): RegistrationMessage {
  if (typeof text !== 'string') throw new ReferenceValueError('invalid_reference_value', 'registration message must be JSON text');
  if (text.length > MAX_REGISTRATION_MESSAGE_BYTES) {
    throw new ReferenceValueError('invalid_reference_value', `registration message is larger than ${MAX_REGISTRATION_MESSAGE_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ReferenceValueError('invalid_reference_value', 'registration message is not valid JSON');
  }
  if (!isJsonObject(parsed)) throw new ReferenceValueError('invalid_reference_value', `registration message must be a JSON object, found ${jsonKind(parsed)}`);
  const version = own(parsed, 'version') ?? RVPS_MESSAGE_VERSION;
  if (version !== RVPS_MESSAGE_VERSION) throw new ReferenceValueError('invalid_reference_value', 'Version unmatched!');
  const type = own(parsed, 'type');
  if (typeof type !== 'string') throw new ReferenceValueError('invalid_reference_value', `registration message field type must be a string, found ${jsonKind(type)}`);
  const payload = own(parsed, 'payload');
  if (typeof payload !== 'string') throw new ReferenceValueError('invalid_reference_value', `registration message field payload must be a string, found ${jsonKind(payload)}`);
  return { version, type, payload };
}
