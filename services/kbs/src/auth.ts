/**
 * RCAR step 1, `POST /kbs/v0/auth` (upstream trustee `kbs/src/attestation/backend.rs`,
 * `session.rs`): accept exactly protocol 0.4.0 and a known CPU TEE, answer a fresh 32-byte nonce
 * (standard base64) and open a session.
 */
import { randomBytes } from 'node:crypto';
import { b64std, isCpuTee, KBS_PROTOCOL_VERSION, parseAuthRequest, ProtocolError, TEE_NAMES, type AuthRequest, type Challenge } from '@trustee/protocol';
import { kbsErrors, type KbsError } from './errors.ts';
import { SessionLimitError, type Session, type SessionManager } from './sessions.ts';
import { AttestationPolicySelector, PolicySelectionRefused } from './policies/attestationPolicyIds.ts';

const NO_POLICY_ID_MAP = new AttestationPolicySelector(undefined);

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Whether a version string satisfies semver `=0.4.0` (build metadata is ignored, prereleases are not equal). */
export function isSupportedProtocolVersion(version: string): boolean {
  const match = SEMVER.exec(version);
  return match !== null && match[4] === undefined && `${match[1]}.${match[2]}.${match[3]}` === KBS_PROTOCOL_VERSION;
}

/** `extra-params` is stored in the session; deeper nesting than any real client sends is refused. */
const MAX_EXTRA_PARAMS_DEPTH = 32;
/**
 * ...and so is a larger one (serialized JSON bytes): the guest-components client sends an empty
 * string, so 4 KiB leaves room for extensions while a session stays small (services/kbs/README.md, Limits).
 */
export const MAX_EXTRA_PARAMS_BYTES = 4096;

/** Whether a parsed JSON value nests deeper than `max` (iterative: hostile depth cannot overflow the stack). */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === undefined || typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth >= max) return true;
    for (const child of Object.values(item.value)) stack.push({ value: child, depth: item.depth + 1 });
  }
  return false;
}

export interface AuthResult {
  readonly challenge: Challenge;
  readonly session: Session;
}

/** The KBS error for an `/auth` body that is not JSON. */
export const authBodyNotJson = (message: string): KbsError => kbsErrors.authFailed(`invalid request body: ${message}`);

/** JSON schema of the `/auth` body: what `parseAuthBody` checks, no more (the route's fast gate). */
export const AUTH_BODY_SCHEMA = {
  type: 'object',
  required: ['version', 'tee', 'extra-params'],
  properties: { version: { type: 'string' }, tee: { type: 'string' } },
} as const;

/** The `/auth` body as kbs-types reads it, or upstream's error for it. */
export function parseAuthBody(json: unknown): AuthRequest {
  try {
    return parseAuthRequest(json);
  } catch (error) {
    if (error instanceof ProtocolError) throw kbsErrors.authFailed(`invalid request body: ${error.message}`);
    throw error;
  }
}

/**
 * @param request the parsed body (`parseAuthBody`).
 * @param client the peer address the session is accounted to (per-client session quota).
 */
export async function handleAuth(request: AuthRequest, sessions: SessionManager, client: string, selector: AttestationPolicySelector = NO_POLICY_ID_MAP): Promise<AuthResult> {
  if (jsonDeeperThan(request['extra-params'], MAX_EXTRA_PARAMS_DEPTH)) {
    throw kbsErrors.authFailed(`invalid request body: extra-params nested deeper than ${MAX_EXTRA_PARAMS_DEPTH} levels`);
  }
  if (Buffer.byteLength(JSON.stringify(request['extra-params'])) > MAX_EXTRA_PARAMS_BYTES) {
    throw kbsErrors.authFailed(`invalid request body: extra-params larger than ${MAX_EXTRA_PARAMS_BYTES} bytes`);
  }
  if (!SEMVER.test(request.version)) {
    throw kbsErrors.authFailed(`failed to parse the protocol version ${JSON.stringify(request.version)} as semver`);
  }
  if (!isSupportedProtocolVersion(request.version)) {
    throw kbsErrors.authFailed(`KBS Client Protocol Version Mismatch: expect =${KBS_PROTOCOL_VERSION} while the request is ${request.version}`);
  }
  if (!(TEE_NAMES as readonly string[]).includes(request.tee)) {
    throw kbsErrors.authFailed(`invalid request body: unknown tee ${JSON.stringify(request.tee)}`);
  }
  // The session's token must describe the CPU TEE that holds the tee-pubkey (submodule cpu0);
  // a device (GPU, DPU, DCU) is only ever additional evidence beside it.
  if (!isCpuTee(request.tee)) {
    throw kbsErrors.authFailed(`invalid request body: tee ${JSON.stringify(request.tee)} is a device TEE; it can only be sent as additional evidence beside a CPU TEE`);
  }
  // An attestation policy id the operator did not allow for this TEE ends the handshake here (upstream PR #1521).
  try {
    selector.select(request.tee, request['extra-params']);
  } catch (error) {
    if (error instanceof PolicySelectionRefused) throw kbsErrors.authFailed(error.message);
    throw error;
  }
  const challenge: Challenge = { nonce: b64std.encode(randomBytes(32)), 'extra-params': '' };
  try {
    const session = await sessions.create(request, challenge, client);
    return { challenge, session };
  } catch (error) {
    if (error instanceof SessionLimitError) throw kbsErrors.authFailed(`${error.message}, retry later`);
    throw error;
  }
}
