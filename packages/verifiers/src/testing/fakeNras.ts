/**
 * A local HTTPS stand-in for NVIDIA's Remote Attestation Service (NRAS v4), close enough for our
 * NRAS client to run unchanged (wire format: nrasClient.ts, from upstream's
 * deps/verifier/src/nvidia/mod.rs and nras_response.rs):
 *
 * - `GET /.well-known/jwks.json`: the ES384 signing keys (P-384 JWKs with `kid`);
 * - `POST /v4/attest/gpu` and `/v4/attest/switch`: `{nonce, arch, evidence_list: [{evidence,
 *   certificate}], claims_version}`; the evidence is really checked (SPDM parse, P-384 signature,
 *   chain to the roots this fake trusts, FWID, nonce, measurements against the golden values it
 *   was given) and the answer is `[["JWT", overall], {"GPU-0": eat}]` with NRAS's claim names,
 *   both signed with the current key;
 * - bad requests get 400 with a JSON error, like the service;
 * - test controls: key rotation, revoked serials, one-shot failures, a request log.
 *
 * HTTPS uses a throwaway self-signed certificate; clients trust it via `ca`, never by turning
 * TLS verification off.
 *
 * @example
 * const nras = await FakeNras.start({ rootFingerprints: [pki.rootFingerprint] });
 * const client = createNrasClient({ verifierUrl: nras.verifierUrl, jwksUrl: nras.jwksUrl, ca: nras.ca });
 */
import { createHash, randomUUID, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createSelfSignedCertificate, type TlsMaterial } from '@trustee/akv/testing';
import { toHex } from '../binary/encoding.ts';
import { checkNvidiaCertChain } from '../nvidia/nvidiaCertChain.ts';
import { parseSpdmMeasurementReport, type SpdmMeasurementReport } from '../nvidia/spdmMeasurements.ts';
import type { Json, JsonObject } from '../verifier.ts';

export interface FakeNrasOptions {
  /** SHA-256 fingerprints of the device roots this NRAS trusts (the test PKI's). */
  readonly rootFingerprints: readonly string[];
  /** Golden measurements (index -> hex) the RIMs would give; absent: RIM claims are false. */
  readonly golden?: ReadonlyMap<number, string>;
  /** Clock for token times and certificate checks; default `Date.now`. */
  readonly now?: () => Date;
  /** Default: a fresh self-signed certificate for 127.0.0.1. */
  readonly tls?: TlsMaterial;
}

export interface RecordedNrasRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Json | undefined;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  readonly jwk: JWK;
}

export class FakeNras {
  readonly requests: RecordedNrasRequest[] = [];
  /** Serial numbers (hex, no leading zeros) whose OCSP status this NRAS reports as revoked. */
  readonly revokedSerials = new Set<string>();
  readonly #server: Server;
  readonly #options: FakeNrasOptions;
  readonly #tls: TlsMaterial;
  #keys: SigningKey[];
  #failNext: { status: number; body: string } | undefined;

  private constructor(server: Server, options: FakeNrasOptions, tls: TlsMaterial, key: SigningKey) {
    this.#server = server;
    this.#options = options;
    this.#tls = tls;
    this.#keys = [key];
  }

  static async start(options: FakeNrasOptions): Promise<FakeNras> {
    const tls = options.tls ?? (await createSelfSignedCertificate('127.0.0.1'));
    const holder: { fake?: FakeNras } = {};
    const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void (holder.fake as FakeNras).#handle(req.method ?? 'GET', req.url ?? '/', Buffer.concat(chunks).toString('utf8')).then(({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(body);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.fake = new FakeNras(server, options, tls, await newKey());
    return holder.fake;
  }

  get origin(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The attestation base URL (`verifier_url`); the client appends `/gpu` or `/switch`. */
  get verifierUrl(): string {
    return `${this.origin}/v4/attest`;
  }

  get jwksUrl(): string {
    return `${this.origin}/.well-known/jwks.json`;
  }

  /** PEM of the TLS certificate, for the client's `ca`. */
  get ca(): string {
    return this.#tls.cert;
  }

  /** The TLS key and certificate, to start a second fake under the same trust. */
  get tls(): TlsMaterial {
    return this.#tls;
  }

  /** Signs from now on with a new key; the old one stays in the JWKS unless `dropOld`. */
  async rotateKey(dropOld = false): Promise<void> {
    const key = await newKey();
    this.#keys = dropOld ? [key] : [key, ...this.#keys];
  }

  /** The next attestation request gets this answer instead. */
  failNext(status: number, body: string): void {
    this.#failNext = { status, body };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(method: string, path: string, text: string): Promise<{ status: number; body: string }> {
    let body: Json | undefined;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as Json);
    } catch {
      body = undefined;
    }
    this.requests.push({ method, path, body });
    if (method === 'GET' && path === '/.well-known/jwks.json') return { status: 200, body: JSON.stringify({ keys: this.#keys.map((k) => k.jwk) }) };
    const match = /^\/v4\/attest\/(gpu|switch)$/.exec(path);
    if (method !== 'POST' || match === null) return error(404, 'Not Found');
    if (this.#failNext !== undefined) {
      const failure = this.#failNext;
      this.#failNext = undefined;
      return failure;
    }
    return this.#attest(match[1] as 'gpu' | 'switch', body);
  }

  async #attest(endpoint: 'gpu' | 'switch', body: Json | undefined): Promise<{ status: number; body: string }> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return error(400, 'request body must be a JSON object');
    const { nonce, arch, evidence_list: list, claims_version: version } = body;
    if (typeof nonce !== 'string' || !/^[0-9a-f]{64}$/i.test(nonce)) return error(400, 'nonce must be 32 bytes of hex');
    if (version !== '3.0') return error(400, 'unsupported claims_version');
    const archOk = endpoint === 'gpu' ? arch === 'HOPPER' || arch === 'BLACKWELL' : arch === 'LS10';
    if (typeof arch !== 'string') return error(400, 'arch is required');
    if (!Array.isArray(list) || list.length !== 1) return error(400, 'evidence_list must hold one device');
    const item = list[0];
    if (item === null || typeof item !== 'object' || Array.isArray(item) || typeof item.evidence !== 'string' || typeof item.certificate !== 'string') {
      return error(400, 'evidence_list[0] needs evidence and certificate');
    }
    const now = this.#options.now?.() ?? new Date();
    let report: SpdmMeasurementReport | undefined;
    try {
      report = parseSpdmMeasurementReport(new Uint8Array(Buffer.from(item.evidence, 'base64')));
    } catch {
      report = undefined;
    }
    let chainValid = false;
    let fwidMatch = false;
    let signatureOk = false;
    let ocsp = 'good';
    let hwmodel = '';
    let ueid = '';
    try {
      const chain = checkNvidiaCertChain(Buffer.from(item.certificate, 'base64').toString('latin1'), new Set(this.#options.rootFingerprints), now, 'device');
      chainValid = chain.failures.length === 0;
      if (chain.certificates.some((c) => this.revokedSerials.has(c.serial))) ocsp = 'revoked';
      fwidMatch = report !== undefined && chain.leafFwid !== undefined && chain.leafFwid === report.response.opaque.fwid;
      signatureOk = report !== undefined && p384(report, chain.leaf.x509.publicKey);
      hwmodel = chain.certificates[1]?.commonName ?? '';
      ueid = chain.leaf.serial;
    } catch {
      chainValid = false;
    }
    const nonceMatch = report !== undefined && toHex(report.request.nonce) === nonce.toLowerCase();
    const golden = this.#options.golden;
    const measured = new Map(report?.response.blocks.map((b) => [b.index, toHex(b.value)]) ?? []);
    const measOk = golden !== undefined && [...golden].every(([index, value]) => measured.get(index) === value);
    const rim = golden !== undefined;
    const p = `x-nvidia-${endpoint}`;
    const certChain = { 'x-nvidia-cert-status': chainValid ? 'valid' : 'invalid', 'x-nvidia-cert-ocsp-status': ocsp, 'x-nvidia-cert-expiration-date': '9999-12-31T23:59:59' };
    const eat: JsonObject = {
      [`${p}-arch-check`]: archOk,
      [`${p}-attestation-report-parsed`]: report !== undefined,
      [`${p}-attestation-report-nonce-match`]: nonceMatch,
      [`${p}-attestation-report-signature-verified`]: signatureOk,
      [`${p}-attestation-report-cert-chain`]: certChain,
      [`${p}-attestation-report-cert-chain-fwid-match`]: fwidMatch,
      [`${p}-driver-version`]: typeof report?.response.opaque.driver_version === 'string' ? report.response.opaque.driver_version : '',
      [`${p}-vbios-version`]: typeof report?.response.opaque.vbios_version === 'string' ? report.response.opaque.vbios_version.toUpperCase() : '',
      measres: measOk ? 'success' : 'fail',
      secboot: true,
      dbgstat: 'disabled',
      hwmodel,
      ueid,
      oemid: '5703',
      eat_nonce: nonce,
    };
    if (endpoint === 'gpu') {
      for (const kind of ['driver', 'vbios']) {
        for (const flag of ['fetched', 'measurements-available', 'schema-validated', 'signature-verified', 'version-match']) eat[`${p}-${kind}-rim-${flag}`] = rim;
        eat[`${p}-${kind}-rim-cert-chain`] = { 'x-nvidia-cert-status': rim ? 'valid' : 'invalid', 'x-nvidia-cert-ocsp-status': 'good' };
      }
    } else if (Array.isArray(report?.response.opaque.switch_pdi)) {
      eat['x-nvidia-switch-pdi'] = report.response.opaque.switch_pdi[0] ?? null;
    }
    const overallResult = archOk && report !== undefined && nonceMatch && signatureOk && chainValid && ocsp === 'good' && fwidMatch && measOk;
    const submod = `${endpoint.toUpperCase()}-0`;
    const eatJwt = await this.#sign(eat, now);
    const overall = await this.#sign(
      {
        sub: 'NVIDIA-PLATFORM-ATTESTATION',
        'x-nvidia-ver': '2.0',
        'x-nvidia-overall-att-result': overallResult,
        submods: { [submod]: ['DIGEST', ['SHA256', createHash('sha256').update(eatJwt).digest('hex')]] },
        eat_nonce: nonce,
      },
      now,
    );
    return { status: 200, body: JSON.stringify([['JWT', overall], { [submod]: eatJwt }]) };
  }

  async #sign(claims: JsonObject, now: Date): Promise<string> {
    const key = this.#keys[0] as SigningKey;
    const iat = Math.floor(now.getTime() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES384', kid: key.kid, typ: 'JWT' })
      .setIssuer('https://nras.attestation.nvidia.com')
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + 3600)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = `nv-eat-kid-test-${randomUUID()}`;
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' } };
}

function p384(report: SpdmMeasurementReport, key: KeyObject): boolean {
  try {
    return cryptoVerify('sha384', report.signedBytes, { key, dsaEncoding: 'ieee-p1363' }, report.signature);
  } catch {
    return false;
  }
}

function error(status: number, message: string): { status: number; body: string } {
  return { status, body: JSON.stringify({ errorCode: status, message }) };
}
