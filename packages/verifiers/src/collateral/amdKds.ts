import type { AmdProduct } from '../snp/amdRoots.ts';
import { parseAmdCertificate, splitPemBundle } from '../snp/vekCertificate.ts';
import type { SnpTcbVersion } from '../verifier.ts';
import { VerificationError } from '../verificationError.ts';

/** The subset of WHATWG `fetch` the KDS client needs; tests pass a small real implementation. */
export type FetchLike = (
  url: string,
  init: { readonly signal: AbortSignal; readonly headers: Record<string, string> },
) => Promise<{ readonly status: number; arrayBuffer(): Promise<ArrayBuffer> }>;

export interface AmdKdsClientOptions {
  /** Default `https://kdsintf.amd.com` (upstream's `KDS_CERT_SITE`). */
  readonly baseUrl?: string;
  readonly fetch?: FetchLike;
  /** Per request; default 10 s. */
  readonly timeoutMs?: number;
}

export const AMD_KDS_URL = 'https://kdsintf.amd.com';
const MAX_RESPONSE_BYTES = 64 * 1024;

/** `hwid` as KDS wants it: hex of the 64-byte chip id, or of its first 8 bytes on Turin. */
export function kdsHwid(product: AmdProduct, chipId: Uint8Array): string {
  return Buffer.from(product === 'Turin' ? chipId.subarray(0, 8) : chipId).toString('hex');
}

/**
 * `{base}/vcek/v1/{product}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..` (two-digit decimals),
 * Turin with `fmcSPL=..&` first — exactly upstream's request.
 */
export function kdsVcekUrl(baseUrl: string, product: AmdProduct, chipId: Uint8Array, tcb: SnpTcbVersion): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const spl = `blSPL=${two(tcb.bootloader)}&teeSPL=${two(tcb.tee)}&snpSPL=${two(tcb.snp)}&ucodeSPL=${two(tcb.microcode)}`;
  if (product === 'Turin') {
    if (tcb.fmc === undefined) throw VerificationError.single('malformed_evidence', 'snp.reported_tcb.fmc', 'a Turin TCB must carry fmc');
    return `${baseUrl}/vcek/v1/${product}/${kdsHwid(product, chipId)}?fmcSPL=${two(tcb.fmc)}&${spl}`;
  }
  return `${baseUrl}/vcek/v1/${product}/${kdsHwid(product, chipId)}?${spl}`;
}

/** `{base}/vcek/v1/{product}/cert_chain` (ASK, ARK) or `{base}/vlek/v1/{product}/cert_chain` (ASVK, ARK). */
export function kdsCertChainUrl(baseUrl: string, product: AmdProduct, kind: 'vcek' | 'vlek'): string {
  return `${baseUrl}/${kind}/v1/${product}/cert_chain`;
}

/** AMD Key Distribution Service client: VCEKs (DER) and CA chains (PEM), with a timeout per request. */
export class AmdKdsClient {
  readonly #baseUrl: string;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;

  constructor(options: AmdKdsClientOptions = {}) {
    this.#baseUrl = (options.baseUrl ?? AMD_KDS_URL).replace(/\/+$/, '');
    this.#fetch = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The VCEK for a chip at a TCB; the body is checked to be a certificate before it is returned. */
  async fetchVcek(product: AmdProduct, chipId: Uint8Array, tcb: SnpTcbVersion): Promise<Uint8Array> {
    const body = await this.#get(kdsVcekUrl(this.#baseUrl, product, chipId, tcb));
    parseAmdCertificate(body, 'kds.vcek');
    return body;
  }

  /** The PEM chain (ASK or ASVK, then ARK) for a product line. */
  async fetchCertChain(product: AmdProduct, kind: 'vcek' | 'vlek'): Promise<string> {
    const pem = Buffer.from(await this.#get(kdsCertChainUrl(this.#baseUrl, product, kind))).toString('latin1');
    const certs = splitPemBundle(pem);
    if (certs.length < 2) throw unavailable(`KDS ${kind} cert_chain for ${product} holds ${certs.length} certificates`);
    for (const der of certs) parseAmdCertificate(der, 'kds.cert_chain');
    return pem;
  }

  async #get(url: string): Promise<Uint8Array> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    try {
      const response = await this.#fetch(url, { signal: controller.signal, headers: { accept: 'application/octet-stream, application/x-pem-file, */*' } });
      if (response.status !== 200) throw unavailable(`KDS answered ${response.status} for ${redact(url)}`);
      const body = new Uint8Array(await response.arrayBuffer());
      if (body.byteLength > MAX_RESPONSE_BYTES) throw unavailable(`KDS response too large (${body.byteLength} bytes)`);
      return body;
    } catch (error) {
      if (error instanceof VerificationError) throw error;
      throw unavailable(controller.signal.aborted ? `KDS request timed out after ${this.#timeoutMs} ms` : `KDS request failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

function unavailable(message: string): VerificationError {
  return VerificationError.single('collateral_unavailable', 'collateral.amd.kds', message);
}

/** Chip ids identify machines; keep them out of messages beyond a short prefix. */
function redact(url: string): string {
  return url.replace(/\/([0-9a-f]{16})[0-9a-f]+\?/, '/$1…?');
}
