/**
 * Test support: a real KBS composed in-process from an upstream-format TOML config (the dev
 * setup's keys and self-signed token signer), a MemoryStore with an injected clock, and a
 * guest that speaks RCAR with a real P-256 TEE key and the sample attester.
 */
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { SignJWT } from 'jose';
import { parse as parseToml } from 'smol-toml';
import {
  b64std,
  b64url,
  decryptJweResponse,
  parseJweResponse,
  primaryRuntimeData,
  runtimeDataDigest,
  teePubKeyFromKey,
  type TeePubKey,
} from '@trustee/protocol';
import { createLogger } from '@trustee/log';
import { MemoryStore } from '@trustee/storage';
import { composeKbs, type ComposedKbs } from '../compose.ts';
import { parseKbsConfig } from '../config.ts';
import { DEV_ADMIN_ISSUER, devConfigToml, prepareDevEnvironment, type DevPaths } from '../devSetup.ts';

export const ERR = 'https://github.com/confidential-containers/kbs/errors/';

/** An EAR policy for the tests: affirming for any verified sample evidence. */
export const TEST_EAR_POLICY = `package policy
import rego.v1

default executables := 3
default hardware := 2
default configuration := 2

trust_claims := {"executables": executables, "hardware": hardware, "configuration": configuration}
`;

export interface Harness {
  readonly kbs: ComposedKbs;
  readonly app: FastifyInstance;
  readonly store: MemoryStore;
  readonly paths: DevPaths;
  readonly clock: { now: number };
  adminToken(claims?: Record<string, unknown>, options?: { expiresInS?: number; key?: KeyObject; issuer?: string }): Promise<string>;
  close(): Promise<void>;
}

const dirs: string[] = [];

export interface HarnessOptions {
  /** Edits the parsed TOML before it is validated. */
  readonly edit?: (raw: Record<string, unknown>) => void;
  readonly installTestPolicy?: boolean;
  readonly maxSessions?: number;
  /** Use this store instead of a fresh MemoryStore. */
  readonly store?: MemoryStore;
  /** Open the store the config names (e.g. LocalFs) instead of a MemoryStore. */
  readonly useConfiguredStore?: boolean;
  /** Receives the server's JSON log lines (level info). */
  readonly logLines?: string[];
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-test-'));
  dirs.push(dir);
  const paths = await prepareDevEnvironment(dir);
  const raw = parseToml(devConfigToml(paths)) as Record<string, unknown>;
  options.edit?.(raw);
  const config = parseKbsConfig(raw);
  // Real time, rounded: the dev token-signer certificate is valid from its creation on.
  const clock = { now: Math.floor(Date.now() / 1000) * 1000 };
  const store = options.store ?? new MemoryStore(() => clock.now);
  const kbs = await composeKbs(config, {
    now: () => clock.now,
    ...(options.useConfiguredStore === true ? {} : { store }),
    ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
    ...(options.logLines === undefined ? {} : { log: createLogger({ stream: { write: (line: string) => void options.logLines?.push(line) } }) }),
  });
  const app = kbs.apps[0];
  if (app === undefined) throw new Error('no app');
  await app.ready();
  if (options.installTestPolicy !== false) await kbs.attestation?.setPolicy('default_cpu', TEST_EAR_POLICY);
  const adminKey = createPrivateKey(readFileSync(paths.adminPrivateKey, 'utf8'));
  return {
    kbs,
    app,
    store,
    paths,
    clock,
    async adminToken(claims = { role: 'admin' }, tokenOptions = {}) {
      const iat = Math.floor(clock.now / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
        .setIssuer(tokenOptions.issuer ?? DEV_ADMIN_ISSUER)
        .setIssuedAt(iat)
        .setExpirationTime(iat + (tokenOptions.expiresInS ?? 3600))
        .sign(tokenOptions.key ?? adminKey);
    },
    async close() {
      await kbs.close();
    },
  };
}

export function cleanupHarnessDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function writeTempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-file-'));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

export function errorOf(response: LightMyRequestResponse): { type: string; detail: string } {
  return JSON.parse(response.body) as { type: string; detail: string };
}

/** A guest with a P-256 TEE key that runs RCAR against the app with the sample attester. */
export class Guest {
  readonly privateKey: KeyObject;
  readonly teePubKey: TeePubKey;
  cookie: string | undefined;
  nonce: string | undefined;

  constructor(
    private readonly app: FastifyInstance,
    privateKey: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  ) {
    this.privateKey = privateKey;
    this.teePubKey = teePubKeyFromKey(privateKey);
  }

  /** The same guest (key, cookie, nonce) talking to another replica. */
  via(app: FastifyInstance): Guest {
    const other = new Guest(app, this.privateKey);
    other.cookie = this.cookie;
    other.nonce = this.nonce;
    return other;
  }

  async auth(body: unknown = { version: '0.4.0', tee: 'sample', 'extra-params': { 'supported-hash-algorithms': ['sha384'] } }): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ method: 'POST', url: '/kbs/v0/auth', payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (response.statusCode === 200) {
      this.cookie = /^(kbs-session-id=[0-9a-f]{32})/.exec(String(response.headers['set-cookie']))?.[1];
      this.nonce = (JSON.parse(response.body) as { nonce: string }).nonce;
    }
    return response;
  }

  /** The /attest body for the current nonce, optionally tampered. */
  attestation(overrides: { nonce?: string; reportData?: string; additional?: string } = {}): Record<string, unknown> {
    const nonce = overrides.nonce ?? this.nonce ?? '';
    const additional = overrides.additional ?? '';
    const digest = runtimeDataDigest(primaryRuntimeData(nonce, this.teePubKey, additional), 'sha384');
    return {
      'init-data': null,
      'runtime-data': { nonce, 'tee-pubkey': this.teePubKey },
      'tee-evidence': { primary_evidence: { svn: '1', report_data: overrides.reportData ?? b64std.encode(digest) }, additional_evidence: additional },
    };
  }

  /** `cookie: null` sends no cookie. */
  async attest(body: unknown = this.attestation(), cookie: string | null | undefined = this.cookie): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: 'POST',
      url: '/kbs/v0/attest',
      payload: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(cookie === undefined || cookie === null ? {} : { cookie }) },
    });
  }

  async rcar(): Promise<string> {
    await this.auth();
    const response = await this.attest();
    if (response.statusCode !== 200) throw new Error(`attest failed: ${response.body}`);
    return (JSON.parse(response.body) as { token: string }).token;
  }

  async getResource(path: string, auth: { bearer?: string; cookie?: string | undefined } = { cookie: this.cookie }): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = {};
    if (auth.cookie !== undefined) headers['cookie'] = auth.cookie;
    if (auth.bearer !== undefined) headers['authorization'] = `Bearer ${auth.bearer}`;
    return this.app.inject({ method: 'GET', url: `/kbs/v0/resource/${path}`, headers });
  }

  decrypt(response: LightMyRequestResponse): string {
    return new TextDecoder().decode(decryptJweResponse(parseJweResponse(JSON.parse(response.body)), this.privateKey));
  }
}

export function policyBody(source: string): string {
  return JSON.stringify({ policy: b64url.encode(new TextEncoder().encode(source)) });
}

export function sha384Hex(text: string): string {
  return createHash('sha384').update(text).digest('hex');
}
