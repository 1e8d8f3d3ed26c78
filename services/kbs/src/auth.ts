/**
 * RCAR step 1, `POST /kbs/v0/auth` (spec §1.1–§1.3): accept exactly protocol 0.4.0 and a known
 * TEE, answer a fresh 32-byte nonce (standard base64) and open a session.
 */
import { randomBytes } from 'node:crypto';
import { b64std, KBS_PROTOCOL_VERSION, parseAuthRequest, ProtocolError, TEE_NAMES, type Challenge } from '@trustee/protocol';
import { kbsErrors, parseJsonBody } from './errors.ts';
import { SessionLimitError, type Session, type SessionManager } from './sessions.ts';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Whether a version string satisfies semver `=0.4.0` (build metadata is ignored, prereleases are not equal). */
export function isSupportedProtocolVersion(version: string): boolean {
  const match = SEMVER.exec(version);
  return match !== null && match[4] === undefined && `${match[1]}.${match[2]}.${match[3]}` === KBS_PROTOCOL_VERSION;
}

/** `extra-params` is stored in the session; deeper nesting than any real client sends is refused. */
const MAX_EXTRA_PARAMS_DEPTH = 32;

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

export async function handleAuth(body: Uint8Array, sessions: SessionManager): Promise<AuthResult> {
  const json = parseJsonBody(body, (message) => kbsErrors.authFailed(`invalid request body: ${message}`));
  let request;
  try {
    request = parseAuthRequest(json);
  } catch (error) {
    if (error instanceof ProtocolError) throw kbsErrors.authFailed(`invalid request body: ${error.message}`);
    throw error;
  }
  if (jsonDeeperThan(request['extra-params'], MAX_EXTRA_PARAMS_DEPTH)) {
    throw kbsErrors.authFailed(`invalid request body: extra-params nested deeper than ${MAX_EXTRA_PARAMS_DEPTH} levels`);
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
  const challenge: Challenge = { nonce: b64std.encode(randomBytes(32)), 'extra-params': '' };
  try {
    const session = await sessions.create(request, challenge);
    return { challenge, session };
  } catch (error) {
    if (error instanceof SessionLimitError) throw kbsErrors.authFailed('too many open sessions, retry later');
    throw error;
  }
}
