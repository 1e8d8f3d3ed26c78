export { KbsClient, KBS_PREFIX, USER_AGENT, tokenTimes } from './kbsClient.ts';
export type { KbsClientOptions, AttestationPolicyOptions } from './kbsClient.ts';
export { KbsClientError } from './kbsClientError.ts';
export type { KbsClientErrorCode } from './kbsClientError.ts';
export { sampleAttester, sampleDeviceAttester, sampleDeviceEnabled, fixedEvidenceAttester, commandAttester } from './attesters.ts';
export type { Attester, CommandAttesterOptions } from './attesters.ts';
export { generateTeeKey, loadTeeKey, isTeeKeyAlgorithm, TEE_KEY_ALGORITHMS } from './teeKey.ts';
export type { TeeKeyAlgorithm, TeeKeyPair } from './teeKey.ts';
export { initDataDigest, initDataMessage } from './initData.ts';
export { parseResourceLocation } from './resourceUri.ts';
export type { ResourceLocation } from './resourceUri.ts';
export { SessionCookieJar, SESSION_COOKIE } from './cookieJar.ts';
export { createHttpTransport } from './httpTransport.ts';
export type { HttpTransport, HttpRequest, HttpResponse, HttpTransportOptions } from './httpTransport.ts';
export {
  ALLOW_ALL_RESOURCE_POLICY,
  DENY_ALL_RESOURCE_POLICY,
  AFFIRMING_RESOURCE_POLICY,
  DEFAULT_RESOURCE_POLICY,
  BUNDLED_RESOURCE_POLICIES,
} from '@trustee/protocol';
export { mintAdminToken, generateAdminKeyPair, jwsAlgorithmFor, parseDuration } from './adminToken.ts';
export type { AdminTokenOptions } from './adminToken.ts';
export { runCli, resolveAdminToken } from './runCli.ts';
export type { CliIo } from './runCli.ts';
