import { AMD_PRODUCTS, AMD_ROOT_CERTIFICATES, AMD_ROOT_FINGERPRINTS, type AmdProduct } from './amdRoots.ts';
import { parseAmdCertificate, type AmdCertificate } from './vekCertificate.ts';
import { ConfigError } from '@trustee/config';

/** The roots one product line's VEKs must chain to. */
export interface AmdTrustAnchor {
  readonly product: AmdProduct;
  readonly ark: AmdCertificate;
  /** Signs VCEKs. */
  readonly ask: AmdCertificate;
  /** Signs VLEKs (absent: VLEK-signed reports are rejected for this product). */
  readonly asvk: AmdCertificate | undefined;
}

/** Trust anchors per product line. Built once; verification never adds to it. */
export type AmdTrustAnchors = ReadonlyMap<AmdProduct, AmdTrustAnchor>;

/** Certificates (DER bytes or PEM text) to trust for one product line. */
export interface AmdTrustAnchorInput {
  readonly product: AmdProduct;
  readonly ark: Uint8Array | string;
  readonly ask: Uint8Array | string;
  readonly asvk?: Uint8Array | string;
}

/**
 * Builds trust anchors from certificates: each ARK must be self-signed, each ASK/ASVK signed by
 * its ARK. Use it for operators' custom roots and for tests' generated roots; the verifiers use
 * only AMD's pinned roots unless such anchors are passed to them explicitly.
 *
 * Unusable anchors are a configuration error, not an evidence error: a ConfigError at `path`
 * (the config key or flag the certificates came from; '' when they come from code).
 *
 * @example
 * const anchors = createAmdTrustAnchors([{ product: 'Milan', ark: arkPem, ask: askPem }]);
 * const verifier = createSnpVerifier({ trustAnchors: anchors });
 */
export function createAmdTrustAnchors(inputs: readonly AmdTrustAnchorInput[], path = ''): AmdTrustAnchors {
  const anchors = new Map<AmdProduct, AmdTrustAnchor>();
  for (const input of inputs) {
    const ark = parseAnchor(input.ark, `${input.product} ARK`, path);
    const ask = parseAnchor(input.ask, `${input.product} ASK`, path);
    const asvk = input.asvk === undefined ? undefined : parseAnchor(input.asvk, `${input.product} ASVK`, path);
    if (!ark.x509.verify(ark.publicKey)) throw ConfigError.at(path, `${input.product} ARK is not self-signed`);
    if (!ask.x509.verify(ark.publicKey)) throw ConfigError.at(path, `${input.product} ASK is not signed by its ARK`);
    if (asvk !== undefined && !asvk.x509.verify(ark.publicKey)) throw ConfigError.at(path, `${input.product} ASVK is not signed by its ARK`);
    if (anchors.has(input.product)) throw ConfigError.at(path, `${input.product} trust anchor given twice`);
    anchors.set(input.product, { product: input.product, ark, ask, asvk });
  }
  return anchors;
}

let amdAnchors: AmdTrustAnchors | undefined;

/**
 * AMD's production roots for Milan, Genoa and Turin, each checked against its pinned SHA-256
 * fingerprint (and the signatures between them) on first use.
 */
export function amdTrustAnchors(): AmdTrustAnchors {
  if (amdAnchors !== undefined) return amdAnchors;
  const inputs = AMD_PRODUCTS.map((product) => {
    const certs = AMD_ROOT_CERTIFICATES[product];
    return { product, ark: base64(certs.ark), ask: base64(certs.ask), asvk: base64(certs.asvk) };
  });
  const anchors = createAmdTrustAnchors(inputs);
  for (const [product, anchor] of anchors) {
    const pins = AMD_ROOT_FINGERPRINTS[product];
    if (anchor.ark.fingerprint !== pins.ark || anchor.ask.fingerprint !== pins.ask || anchor.asvk?.fingerprint !== pins.asvk) {
      throw new ConfigError(`embedded AMD ${product} certificates do not match their pinned fingerprints`);
    }
  }
  amdAnchors = anchors;
  return anchors;
}

function base64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function parseAnchor(input: Uint8Array | string, what: string, path: string): AmdCertificate {
  try {
    return parseAmdCertificate(input, what);
  } catch (error) {
    throw ConfigError.at(path, `${what}: ${(error as Error).message}`);
  }
}
