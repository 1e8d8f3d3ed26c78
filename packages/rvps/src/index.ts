/**
 * @trustee/rvps-core — the reference value provider core (upstream's `rvps` crate): the
 * registration message, the extractors (`sample`, `swid`, `corim`), the limits every stored value
 * is held to, expiration, the built-in RVPS over the key-value store and the gRPC client of a
 * standalone RVPS. services/rvps serves it; the attestation core (packages/attestation) queries
 * it through `ReferenceValueProvider` and depends on nothing else here.
 *
 * ```ts
 * import { createBuiltinRvps } from '@trustee/rvps-core';
 * const rvps = createBuiltinRvps(store);
 * await rvps.register(JSON.stringify({ version: '0.1.0', type: 'sample', payload: b64std.encode(JSON.stringify({ svn: ['1'] })) }));
 * await rvps.query('svn'); // ['1']
 * ```
 *
 * Differences from upstream, on purpose: expired values read as absent; every value is held to
 * the limits of referenceValueLimits.ts and a registration to MAX_VALUES_PER_REGISTRATION values.
 */
export { ReferenceValueError, REFERENCE_VALUE_ERROR_CODES, type ReferenceValueErrorCode } from './referenceValueError.ts';
export {
  createBuiltinRvps,
  REFERENCE_VALUE_NAMESPACE,
  MAX_VALUES_PER_REGISTRATION,
  type BuiltinRvps,
  type BuiltinRvpsOptions,
  type ReferenceValueRecord,
} from './builtinRvps.ts';
export { defaultExpiration, formatExpiration, parseExpiration } from './expiration.ts';
export { checkReferenceValue, MAX_REFERENCE_VALUE_BYTES, MAX_REFERENCE_VALUE_DEPTH, MAX_REFERENCE_VALUE_NAME_LENGTH } from './referenceValueLimits.ts';
export { sampleExtractor } from './extractors/sampleExtractor.ts';
export { swidExtractor } from './extractors/swidExtractor.ts';
export { corimExtractor } from './extractors/corimExtractor.ts';
export { parseRegistrationMessage, RVPS_MESSAGE_VERSION, MAX_REGISTRATION_MESSAGE_BYTES, type RegistrationMessage } from './registrationMessage.ts';
export type { CallContext, CallerCredentials, ReferenceValueProvider, Extractor, ExtractedReferenceValue, ExtractorContext } from './referenceValueProvider.ts';
export { createGrpcRvpsClient, rvpsTarget, HEALTHCHECK_REFERENCE_VALUE_ID, type GrpcRvpsClient, type GrpcRvpsClientOptions } from './grpcRvpsClient.ts';
