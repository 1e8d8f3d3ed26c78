/**
 * Shared test helpers for the AS service: sample evidence bound to runtime data, a composed
 * service on a memory store with the test PKIs' verifiers, gRPC calls as promises.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { canonicalJson } from '@trustee/protocol';
import { MemoryStore } from '@trustee/storage';
import { createSnpVerifier, createTdxVerifier, type CollateralSource, type Json } from '@trustee/verifiers';
import { testAmdPki } from '@trustee/verifiers/testing/snpFactory.ts';
import { createTdxTestPlatform, TDX_FACTORY_NOW, type TdxTestPlatform } from '@trustee/verifiers/testing/tdxFactory.ts';
import { composeAs, type ComposedAs } from '../compose.ts';
import { parseAsConfig } from '../config.ts';

export const FIXTURE_NOW = TDX_FACTORY_NOW;

export const TEE_PUBKEY = { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'MyEA8JflciQDoTER9UFwvkr1BaP56PzedZYNtyW8oQA', y: '1GzNpTak771xa6oK8SGe1jxnbXaQcf9890L0qxfvKjs' };

export const RUNTIME_DATA = { 'tee-pubkey': TEE_PUBKEY, nonce: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', 'additional-evidence': '' };

/** `sample` evidence whose report_data is sha384(JCS(runtimeData)), as the sample attester builds it. */
export function sampleEvidence(runtimeData: Json = RUNTIME_DATA, svn = '1'): Json {
  return { svn, report_data: createHash('sha384').update(canonicalJson(runtimeData)).digest('base64') };
}

export function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export interface TestAs {
  readonly composed: ComposedAs;
  readonly tdx: TdxTestPlatform;
  readonly tdxCollateral: CollateralSource;
}

/** A composed AS on a memory store whose snp/tdx verifiers trust the test PKIs. */
export async function composeTestAs(rawConfig: unknown = {}): Promise<TestAs> {
  const pki = await testAmdPki('Milan');
  const tdx = await createTdxTestPlatform();
  const tdxCollateral = await tdx.collateralSource();
  const composed = await composeAs(parseAsConfig(rawConfig), {
    store: new MemoryStore(),
    now: () => FIXTURE_NOW,
    collateral: tdxCollateral,
    verifiers: { snp: createSnpVerifier({ trustAnchors: pki.anchors }), tdx: createTdxVerifier({ trustAnchors: tdx.trustAnchors }) },
  });
  return { composed, tdx, tdxCollateral };
}

type UnaryMethod = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: unknown) => void) => void;

/** An admin identity provider: its `admin.bearer_jwt` config and tokens it signs (ES256, valid 10 minutes from `now`). */
export interface TestAdmin {
  readonly bearerJwt: { identity_providers: Array<{ issuer: string; public_key_uri: string }> };
  token(now?: Date, options?: { foreign?: boolean }): Promise<string>;
}

export function createTestAdmin(): TestAdmin {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const path = join(mkdtempSync(join(tmpdir(), 'as-admin-')), 'admin.pub');
  writeFileSync(path, publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    bearerJwt: { identity_providers: [{ issuer: 'ops', public_key_uri: path }] },
    token(now = FIXTURE_NOW, options = {}) {
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'ES256' }).setIssuer('ops').setIssuedAt(iat).setExpirationTime(iat + 600).sign(options.foreign === true ? foreign : privateKey);
    },
  };
}

/** Calls a unary RPC of a generic grpc-js client (with `authorization: <value>` when given) and resolves its response. */
export function rpc<T>(client: grpc.Client, method: string, request: object, authorization?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fn = (client as unknown as Record<string, UnaryMethod>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    const metadata = new grpc.Metadata();
    if (authorization !== undefined) metadata.set('authorization', authorization);
    fn.call(client, request, metadata, { deadline: Date.now() + 20_000 }, (error, response) => (error === null ? resolve(response as T) : reject(error)));
  });
}

/** The gRPC error of a call that must fail. */
export async function rpcError(client: grpc.Client, method: string, request: object, authorization?: string): Promise<grpc.ServiceError> {
  try {
    await rpc(client, method, request, authorization);
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error(`${method} unexpectedly succeeded`);
}
