export { ERROR_TYPE_PREFIX, KBS_ERROR_VARIANTS, KBS_ERROR_VARIANT_NAMES, errorTypeUri, errorVariantOf, ProtocolError, JweError } from './errors.ts';
export type { ErrorInformation, KbsErrorVariant, ProtocolErrorCode } from './errors.ts';
export { b64url, b64std } from './base64.ts';
export type { Base64Codec } from './base64.ts';
export { canonicalJson } from './canonicalJson.ts';
export { isJsonObject, own, jsonKind, setOwn } from './json.ts';
export { runtimeDataDigest, primaryRuntimeData, deviceRuntimeData, DEFAULT_RUNTIME_HASH } from './runtimeData.ts';
export type { RuntimeHashAlgorithm } from './runtimeData.ts';
export { parseTeePubKey, teePubKeyFromKey, EC_COORDINATE_LENGTH, ML_KEM_768_PUBLIC_KEY_LENGTH } from './teePubKey.ts';
export type { TeePubKey, EcTeePubKey, RsaTeePubKey, AkpTeePubKey } from './teePubKey.ts';
export {
  KBS_PROTOCOL_VERSION,
  HASH_ALGORITHMS,
  TEE_NAMES,
  DEVICE_TEE_NAMES,
  isCpuTee,
  parseAuthRequest,
  parseChallenge,
  parseAttestationRequest,
  parseAdditionalEvidence,
  parseAttestResponse,
  parseJweResponse,
  parseErrorInformation,
} from './messages.ts';
export type { AuthRequest, Challenge, InitData, RuntimeData, TeeEvidence, AttestationRequest, AttestResponse, JweResponse, Json, JsonObject, HashAlgorithmName, TeeWireName } from './messages.ts';
export type { InitDataInput, RuntimeDataHashAlgorithm, RuntimeDataInput, VerificationRequest } from './verificationRequest.ts';
export {
  ALLOW_ALL_RESOURCE_POLICY,
  DENY_ALL_RESOURCE_POLICY,
  AFFIRMING_RESOURCE_POLICY,
  DEFAULT_RESOURCE_POLICY,
  BUNDLED_RESOURCE_POLICIES,
} from './resourcePolicies.ts';
export { encryptForTeeKey, decryptJweResponse } from './jwe.ts';
