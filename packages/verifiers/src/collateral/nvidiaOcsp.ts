/**
 * NVIDIA device-certificate revocation collateral, like the AMD and Intel collateral: offline
 * OCSP responses and CRLs from a directory, OCSP answers fetched from a responder
 * (`POST application/ocsp-request`, RFC 6960 appendix A) and cached in the key-value store
 * (namespace `collateral_nvidia`, key `ocsp/<SHA-256 issuer key hash, 16 bytes hex>-<serial>`)
 * until they stop being current, and export/import of that cache for air-gapped sites
 * (`<dir>/<key>.ocsp`, DER). nvidia/nvidiaRevocation.ts judges what this returns.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyValueStore } from '@trustee/storage';
import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import { parseCertificate } from '../dcap/x509.ts';
import { judgeNvidiaRevocation, MAX_REVOCATION_BYTES, nvidiaOcspRequest, type NvidiaRevocationStatus } from '../nvidia/nvidiaRevocation.ts';
import { VerificationError } from '../verificationError.ts';
import type { CollateralProgress } from './collateralProgress.ts';

export const NVIDIA_COLLATERAL_NAMESPACE = 'collateral_nvidia';
/** NVIDIA's OCSP service for device certificates (what NVIDIA's local GPU verifier asks). */
export const NVIDIA_OCSP_URL = 'https://ocsp.ndis.nvidia.com/';
/** Files read from an offline directory, at most. */
export const MAX_REVOCATION_FILES = 4096;
const KEY = /^[0-9a-f]{32}-[0-9a-f]{1,64}$/;

export type OcspPost = (url: string, init: { method: 'POST'; body: Uint8Array; headers: Record<string, string>; signal: AbortSignal }) => Promise<{
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

export interface NvidiaRevocationOptions {
  readonly store: KeyValueStore;
  /** Offline answers: `*.ocsp` (DER OCSP responses) and `*.crl` (DER or PEM CRLs). */
  readonly dir?: string;
  /** OCSP responder to ask when nothing current is cached; absent: offline only. */
  readonly ocspUrl?: string;
  readonly fetch?: OcspPost;
  /** Per-request timeout, default 10 s. */
  readonly timeoutMs?: number;
  readonly now?: () => Date;
  readonly namespace?: string;
}

export interface NvidiaRevocationSource {
  /** Offline answers plus the cached (refreshed when `online` and stale) OCSP answer for the certificate. */
  getNvidiaRevocation(certificate: Uint8Array, issuer: Uint8Array, options?: { readonly online?: boolean }): Promise<NvidiaRevocationStatus>;
  /** Writes every cached OCSP answer to `dir/<key>.ocsp`; returns how many. */
  exportBundle(dir: string, progress?: CollateralProgress): Promise<number>;
  /** Loads `*.ocsp` files written by `exportBundle` into the cache. */
  importBundle(dir: string, progress?: CollateralProgress): Promise<{ imported: number; skipped: string[] }>;
}

/** A successful OCSPResponse (DER), or why it is not one. */
function checkOcspResponse(der: Uint8Array): string | undefined {
  if (der.byteLength === 0 || der.byteLength > MAX_REVOCATION_BYTES) return `size ${der.byteLength} bytes is not that of an OCSP response`;
  try {
    const response = AsnConvert.parse(der, OCSPResponse);
    if (response.responseStatus !== OCSPResponseStatus.successful || response.responseBytes === undefined) return `OCSP status ${OCSPResponseStatus[response.responseStatus] ?? response.responseStatus}`;
    return undefined;
  } catch {
    return 'not a DER OCSPResponse';
  }
}

/**
 * @example
 * const nvidia = createNvidiaRevocationSource({ store, ocspUrl: NVIDIA_OCSP_URL });
 * await nvidiaVerifier.evaluate(evidence, expected, { now: () => new Date(), collateral: { ...collateral, getNvidiaRevocation: nvidia.getNvidiaRevocation } });
 */
export function createNvidiaRevocationSource(options: NvidiaRevocationOptions): NvidiaRevocationSource {
  const store = options.store;
  const ns = options.namespace ?? NVIDIA_COLLATERAL_NAMESPACE;
  const now = options.now ?? (() => new Date());
  const post: OcspPost = options.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const inFlight = new Map<string, Promise<Uint8Array | undefined>>();
  let offline: Promise<NvidiaRevocationStatus> | undefined;

  async function loadOffline(dir: string): Promise<NvidiaRevocationStatus> {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.ocsp') || n.endsWith('.crl')).sort().slice(0, MAX_REVOCATION_FILES);
    } catch (error) {
      throw VerificationError.single('collateral_unavailable', 'collateral.nvidia.dir', `NVIDIA revocation directory ${dir} is not readable (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const ocsp: Uint8Array[] = [];
    const crls: Uint8Array[] = [];
    for (const name of names) {
      const path = join(dir, name);
      if ((await stat(path)).size > MAX_REVOCATION_BYTES) continue;
      const bytes = new Uint8Array(await readFile(path));
      if (name.endsWith('.ocsp')) ocsp.push(bytes);
      else {
        const text = Buffer.from(bytes).toString('latin1');
        crls.push(...(text.includes('-----BEGIN X509 CRL-----') ? pemCrls(text) : [bytes]));
      }
    }
    return { ocsp, crls };
  }

  async function fetchOcsp(url: string, request: Uint8Array): Promise<Uint8Array | undefined> {
    try {
      const response = await post(url, { method: 'POST', body: request, headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' }, signal: AbortSignal.timeout(timeoutMs) });
      if (response.status !== 200) return undefined;
      const length = Number(response.headers.get('content-length') ?? '0');
      if (length > MAX_REVOCATION_BYTES) return undefined;
      const der = new Uint8Array(await response.arrayBuffer());
      return checkOcspResponse(der) === undefined ? der : undefined;
    } catch {
      // unreachable responder: the judge reports the certificate's status as unavailable
      return undefined;
    }
  }

  return {
    async getNvidiaRevocation(certificateDer, issuerDer, request = {}) {
      const certificate = parseCertificate(certificateDer, 'nvidia.revocation.certificate');
      const issuer = parseCertificate(issuerDer, 'nvidia.revocation.issuer');
      const offlineStatus = options.dir === undefined ? { ocsp: [], crls: [] } : await (offline ??= loadOffline(options.dir).catch((error: unknown) => {
        offline = undefined;
        throw error;
      }));
      const { key, request: ocspRequest } = nvidiaOcspRequest(certificate, issuer);
      let cached = await store.get(ns, `ocsp/${key}`);
      const current = (der: Uint8Array | undefined): boolean => der !== undefined && judgeNvidiaRevocation(certificate, issuer, 1, { ocsp: [der], crls: [] }, now())?.check !== 'nvidia.revocation.unavailable';
      if (options.ocspUrl !== undefined && request.online !== false && !current(cached)) {
        const url = options.ocspUrl;
        let pending = inFlight.get(key);
        if (pending === undefined) {
          pending = fetchOcsp(url, ocspRequest).finally(() => inFlight.delete(key));
          inFlight.set(key, pending);
        }
        const fresh = await pending;
        if (fresh !== undefined && current(fresh)) {
          await store.set(ns, `ocsp/${key}`, fresh);
          cached = fresh;
        }
      }
      return { ocsp: [...offlineStatus.ocsp, ...(cached === undefined ? [] : [cached])], crls: offlineStatus.crls };
    },

    async exportBundle(dir, progress) {
      const keys = await store.list(ns, 'ocsp/');
      progress?.total(keys.length);
      await mkdir(dir, { recursive: true });
      let written = 0;
      for (const key of keys) {
        const name = key.slice('ocsp/'.length);
        const der = await store.get(ns, key);
        if (der === undefined || !KEY.test(name)) {
          progress?.item(`NVIDIA OCSP ${name}`, 'not a cached OCSP answer');
          continue;
        }
        await writeFile(join(dir, `${name}.ocsp`), der);
        written += 1;
        progress?.item(`NVIDIA OCSP ${name}`);
      }
      return written;
    },

    async importBundle(dir, progress) {
      const names = (await readdir(dir)).filter((n) => n.endsWith('.ocsp')).sort().slice(0, MAX_REVOCATION_FILES);
      progress?.total(names.length);
      const skipped: string[] = [];
      let imported = 0;
      for (const name of names) {
        const key = name.slice(0, -'.ocsp'.length);
        const path = join(dir, name);
        const size = (await stat(path)).size;
        const why = !KEY.test(key) ? 'file name is not <issuer key hash>-<serial>.ocsp' : size > MAX_REVOCATION_BYTES ? `larger than ${MAX_REVOCATION_BYTES} bytes` : checkOcspResponse(new Uint8Array(await readFile(path)));
        if (why !== undefined) {
          skipped.push(`${name}: ${why}`);
          progress?.item(`NVIDIA OCSP ${name}`, why);
          continue;
        }
        await store.set(ns, `ocsp/${key}`, new Uint8Array(await readFile(path)));
        imported += 1;
        progress?.item(`NVIDIA OCSP ${name}`);
      }
      return { imported, skipped };
    },
  };
}

function pemCrls(text: string): Uint8Array[] {
  return [...text.matchAll(/-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/g)].map((m) => new Uint8Array(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64')));
}
