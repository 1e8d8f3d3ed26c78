import { Memo } from '../dcap/memo.ts';
import { parsePemChain } from '../dcap/x509.ts';
import { derChildren, expectTag, parseDer, DER_SEQUENCE, type DerNode } from '../dcap/der.ts';
import { VerificationError } from '../verificationError.ts';
import type { IntelCollateral, IntelCollateralRequest } from '../verifier.ts';

/**
 * Intel PCS / PCCS client (API v4). As upstream, only scheme://host:port of the configured URL
 * is used; the endpoints are rebuilt from it:
 * - `GET {base}/{tdx|sgx}/certification/v4/tcb?fmspc=<HEX>&update=<early|standard>` (header `TCB-Info-Issuer-Chain`)
 * - `GET {base}/{tdx|sgx}/certification/v4/qe/identity?update=...` (header `SGX-Enclave-Identity-Issuer-Chain`)
 * - `GET {base}/sgx/certification/v4/pckcrl?ca=<platform|processor>&encoding=der` (header `SGX-PCK-CRL-Issuer-Chain`)
 * - root CA CRL: on Intel's PCS host the CRL distribution point of the root certificate that ends
 *   the QE identity issuer chain; on other hosts (PCCS) `{base}/sgx/certification/v4/rootcacrl`.
 */
export const INTEL_PCS_URL = 'https://api.trustedservices.intel.com/sgx/certification/v4/';
const INTEL_PCS_HOST = 'api.trustedservices.intel.com';

export type FetchFunction = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<{
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

export interface IntelPcsOptions {
  /** PCS or PCCS URL (`collateral_service`); default Intel PCS. */
  readonly url?: string;
  /** `early` (default, as upstream) or `standard` TCB recovery updates. */
  readonly updateType?: 'early' | 'standard';
  /** Per-request timeout, default 10 s. */
  readonly timeoutMs?: number;
  /** Injected HTTP client (default: global `fetch`). */
  readonly fetch?: FetchFunction;
  /** Largest accepted response body, default 4 MiB. */
  readonly maxBytes?: number;
}

export interface IntelPcsClient {
  fetchCollateral(request: IntelCollateralRequest): Promise<IntelCollateral>;
}

function unavailable(check: string, message: string): VerificationError {
  return VerificationError.single('collateral_unavailable', `collateral.intel.pcs.${check}`, message);
}

/** The root CA's CRL distribution point URI (the last certificate of an issuer chain). */
export function rootCaCrlDistributionPoint(chainPem: string): string | undefined {
  // Asked for every quote (the offline file source checks the answer against its rootcacrl_cdp);
  // parsing the chain's certificates each time was ~14% of a TDX flow's KBS CPU. A pure function
  // of the text: remembered for a few chains (collateral has one or two).
  const known = cdpByChain.get(chainPem);
  if (known !== undefined) return known.cdp;
  const cdp = readRootCaCrlDistributionPoint(chainPem);
  cdpByChain.set(chainPem, { cdp });
  return cdp;
}
const cdpByChain = new Memo<{ readonly cdp: string | undefined }>(16);

function readRootCaCrlDistributionPoint(chainPem: string): string | undefined {
  const root = parsePemChain(chainPem, 'collateral.intel.qe_identity_issuer_chain').at(-1);
  const ext = root?.extensions.get('2.5.29.31');
  if (ext === undefined) return undefined;
  const walk = (node: DerNode): string | undefined => {
    if (node.tag === 0x86) return Buffer.from(node.value).toString('latin1');
    if ((node.tag & 0x20) === 0) return undefined;
    for (const child of derChildren(node, 'crl_distribution_points')) {
      const found = walk(child);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(expectTag(parseDer(ext.value, 'crl_distribution_points'), DER_SEQUENCE, 'crl_distribution_points'));
}

/** Accepts DER, PEM (`X509 CRL`) or hex text, as PCS and PCCS variously serve CRLs. */
export function decodeCrlBody(body: Uint8Array): Uint8Array {
  if (body[0] === 0x30) return body;
  const text = Buffer.from(body).toString('latin1').trim();
  const pem = /^-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----$/.exec(text);
  if (pem !== null) return new Uint8Array(Buffer.from((pem[1] as string).replace(/\s+/g, ''), 'base64'));
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  throw unavailable('crl', 'CRL response is neither DER, PEM nor hex');
}


/**
 * Creates a PCS/PCCS client.
 *
 * @example
 * const pcs = createIntelPcsClient({ url: 'https://pccs.example:8081/sgx/certification/v4/' });
 * const collateral = await pcs.fetchCollateral({ tee: 'tdx', fmspc: '00806F050000', pckCa: 'platform' });
 */
export function createIntelPcsClient(options: IntelPcsOptions = {}): IntelPcsClient {
  const parsed = new URL(options.url ?? INTEL_PCS_URL);
  const base = `${parsed.protocol}//${parsed.host}`;
  const update = options.updateType ?? 'early';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const doFetch: FetchFunction = options.fetch ?? ((url, init) => fetch(url, init));

  async function get(url: string, what: string): Promise<{ body: Uint8Array; header: (name: string) => string | undefined }> {
    let response: Awaited<ReturnType<FetchFunction>>;
    try {
      response = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: '*/*' } });
    } catch (error) {
      throw unavailable(what, `request to ${new URL(url).host} failed: ${(error as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (error as Error).message}`);
    }
    if (response.status === 404 || response.status === 410) throw unavailable(what, `collateral not available (HTTP ${response.status})`);
    if (response.status !== 200) throw unavailable(what, `unexpected HTTP status ${response.status}`);
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > maxBytes) throw unavailable(what, `response too large (${length} bytes)`);
    const body = new Uint8Array(await response.arrayBuffer());
    if (body.length > maxBytes) throw unavailable(what, `response too large (${body.length} bytes)`);
    return {
      body,
      header: (name) => {
        const value = response.headers.get(name);
        if (value === null) return undefined;
        try {
          return decodeURIComponent(value);
        } catch {
          throw unavailable(what, `header ${name} is not URL-encoded PEM`);
        }
      },
    };
  }

  function chain(header: (name: string) => string | undefined, names: string[], what: string): string {
    for (const name of names) {
      const value = header(name);
      if (value !== undefined) return value;
    }
    throw unavailable(what, `response lacks the ${names[0]} header`);
  }

  return {
    async fetchCollateral(request: IntelCollateralRequest): Promise<IntelCollateral> {
      if (!/^[0-9A-Fa-f]{12}$/.test(request.fmspc)) throw unavailable('fmspc', 'FMSPC must be 6 bytes of hex');
      const tee = request.tee;
      const [tcb, qe, pckCrl] = await Promise.all([
        get(`${base}/${tee}/certification/v4/tcb?fmspc=${request.fmspc.toUpperCase()}&update=${update}`, 'tcb_info'),
        get(`${base}/${tee}/certification/v4/qe/identity?update=${update}`, 'qe_identity'),
        get(`${base}/sgx/certification/v4/pckcrl?ca=${request.pckCa}&encoding=der`, 'pck_crl'),
      ]);
      const qeIdentityIssuerChain = chain(qe.header, ['SGX-Enclave-Identity-Issuer-Chain', 'Enclave-Identity-Issuer-Chain'], 'qe_identity');
      let rootUrl = `${base}/sgx/certification/v4/rootcacrl`;
      if (parsed.hostname === INTEL_PCS_HOST) {
        const cdp = rootCaCrlDistributionPoint(qeIdentityIssuerChain);
        if (cdp === undefined) throw unavailable('root_ca_crl', 'the root CA certificate has no CRL distribution point');
        rootUrl = cdp;
      }
      const root = await get(rootUrl, 'root_ca_crl');
      return {
        tcbInfoIssuerChain: chain(tcb.header, ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'], 'tcb_info'),
        tcbInfo: Buffer.from(tcb.body).toString('utf8'),
        qeIdentityIssuerChain,
        qeIdentity: Buffer.from(qe.body).toString('utf8'),
        pckCrlIssuerChain: chain(pckCrl.header, ['SGX-PCK-CRL-Issuer-Chain'], 'pck_crl'),
        rootCaCrl: decodeCrlBody(root.body),
        pckCrl: decodeCrlBody(pckCrl.body),
      };
    },
  };
}
