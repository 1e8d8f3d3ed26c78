import { ByteReader } from '../binary/index.ts';
import { VerificationError } from '../verificationError.ts';

/**
 * Intel DCAP ECDSA quotes: SGX v3, TDX v4 (TDX 1.0 body) and TDX v5 (body descriptor with a
 * TDX 1.0 or 1.5 body). Layouts from Intel's "TDX DCAP Quoting Library API" (all little-endian).
 */

export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
/** Intel's QE vendor id (`939a7233-f79c-4ca9-940a-0db3957f0607`). */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';

export const QUOTE_HEADER_SIZE = 48;
export const SGX_REPORT_BODY_SIZE = 384;
export const TDX10_BODY_SIZE = 584;
export const TDX15_BODY_SIZE = 648;
const CERT_DATA_QE_REPORT = 6;
const CERT_DATA_PCK_CHAIN = 5;

export interface QuoteHeader {
  readonly version: number;
  readonly attKeyType: number;
  readonly teeType: number;
  /** Bytes 8..12 (`reserved` for TDX; qe_svn ‖ pce_svn for SGX). */
  readonly reserved: Uint8Array;
  readonly qeSvn: number;
  readonly pceSvn: number;
  readonly vendorId: Uint8Array;
  readonly userData: Uint8Array;
  /** The 48 header bytes as received. */
  readonly raw: Uint8Array;
}

export interface TdReportBody {
  readonly kind: 'tdx10' | 'tdx15';
  readonly teeTcbSvn: Uint8Array;
  readonly mrSeam: Uint8Array;
  readonly mrSignerSeam: Uint8Array;
  readonly seamAttributes: Uint8Array;
  readonly tdAttributes: Uint8Array;
  readonly xfam: Uint8Array;
  readonly mrTd: Uint8Array;
  readonly mrConfigId: Uint8Array;
  readonly mrOwner: Uint8Array;
  readonly mrOwnerConfig: Uint8Array;
  readonly rtmr0: Uint8Array;
  readonly rtmr1: Uint8Array;
  readonly rtmr2: Uint8Array;
  readonly rtmr3: Uint8Array;
  readonly reportData: Uint8Array;
  /** TDX 1.5 only. */
  readonly teeTcbSvn2?: Uint8Array;
  readonly mrServiceTd?: Uint8Array;
}

/** SGX REPORT body (384 bytes): the SGX quote body and the QE report inside every quote. */
export interface SgxReportBody {
  readonly cpuSvn: Uint8Array;
  readonly miscSelect: number;
  readonly miscSelectBytes: Uint8Array;
  readonly reserved1: Uint8Array;
  readonly isvExtProdId: Uint8Array;
  /** flags ‖ xfrm (16 bytes). */
  readonly attributes: Uint8Array;
  readonly mrEnclave: Uint8Array;
  readonly reserved2: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly reserved3: Uint8Array;
  readonly configId: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly configSvn: number;
  readonly reserved4: Uint8Array;
  readonly isvFamilyId: Uint8Array;
  readonly reportData: Uint8Array;
  readonly raw: Uint8Array;
}

export interface DcapQuote {
  readonly header: QuoteHeader;
  /** TD report body for TDX quotes, SGX report body for SGX quotes. */
  readonly body: { readonly tee: 'tdx'; readonly td: TdReportBody } | { readonly tee: 'sgx'; readonly report: SgxReportBody };
  /** v5 body descriptor: type (2 = TDX 1.0, 3 = TDX 1.5) and the size bytes as received. */
  readonly v5?: { readonly bodyType: number; readonly bodyTypeBytes: Uint8Array; readonly bodySizeBytes: Uint8Array };
  /** Header ‖ (descriptor ‖) body: what the attestation key signs. */
  readonly signedBytes: Uint8Array;
  /** ECDSA r ‖ s (64 bytes). */
  readonly signature: Uint8Array;
  /** Attestation public key x ‖ y (64 bytes). */
  readonly attestationKey: Uint8Array;
  readonly qeReport: SgxReportBody;
  readonly qeReportSignature: Uint8Array;
  readonly qeAuthData: Uint8Array;
  /** Certification data of type 5: the PEM PCK chain (leaf, intermediate, root). */
  readonly pckChainPem: string;
  /** Length of the quote proper (trailing padding after it is ignored). */
  readonly length: number;
}

function malformed(check: string, message: string, expected?: string, found?: string): VerificationError {
  return VerificationError.single('malformed_evidence', `dcap.quote.${check}`, message, expected, found);
}

export function parseSgxReportBody(raw: Uint8Array, what = 'dcap.sgx_report'): SgxReportBody {
  const r = new ByteReader(raw, what);
  const cpuSvn = r.bytes(16, 'cpu_svn');
  const miscSelectBytes = r.bytes(4, 'misc_select');
  const miscSelect = new DataView(miscSelectBytes.buffer, miscSelectBytes.byteOffset, 4).getUint32(0, true);
  const reserved1 = r.bytes(12, 'reserved1');
  const isvExtProdId = r.bytes(16, 'isv_ext_prod_id');
  const attributes = r.bytes(16, 'attributes');
  const mrEnclave = r.bytes(32, 'mr_enclave');
  const reserved2 = r.bytes(32, 'reserved2');
  const mrSigner = r.bytes(32, 'mr_signer');
  const reserved3 = r.bytes(32, 'reserved3');
  const configId = r.bytes(64, 'config_id');
  const isvProdId = r.u16le('isv_prod_id');
  const isvSvn = r.u16le('isv_svn');
  const configSvn = r.u16le('config_svn');
  const reserved4 = r.bytes(42, 'reserved4');
  const isvFamilyId = r.bytes(16, 'isv_family_id');
  const reportData = r.bytes(64, 'report_data');
  r.expectEnd();
  return {
    cpuSvn, miscSelect, miscSelectBytes, reserved1, isvExtProdId, attributes, mrEnclave, reserved2, mrSigner, reserved3,
    configId, isvProdId, isvSvn, configSvn, reserved4, isvFamilyId, reportData, raw,
  };
}

function parseTdBody(raw: Uint8Array, kind: 'tdx10' | 'tdx15'): TdReportBody {
  const r = new ByteReader(raw, 'dcap.quote.td_body');
  const common = {
    teeTcbSvn: r.bytes(16, 'tee_tcb_svn'),
    mrSeam: r.bytes(48, 'mr_seam'),
    mrSignerSeam: r.bytes(48, 'mrsigner_seam'),
    seamAttributes: r.bytes(8, 'seam_attributes'),
    tdAttributes: r.bytes(8, 'td_attributes'),
    xfam: r.bytes(8, 'xfam'),
    mrTd: r.bytes(48, 'mr_td'),
    mrConfigId: r.bytes(48, 'mr_config_id'),
    mrOwner: r.bytes(48, 'mr_owner'),
    mrOwnerConfig: r.bytes(48, 'mr_owner_config'),
    rtmr0: r.bytes(48, 'rtmr_0'),
    rtmr1: r.bytes(48, 'rtmr_1'),
    rtmr2: r.bytes(48, 'rtmr_2'),
    rtmr3: r.bytes(48, 'rtmr_3'),
    reportData: r.bytes(64, 'report_data'),
  };
  if (kind === 'tdx10') return { kind, ...common };
  return { kind, ...common, teeTcbSvn2: r.bytes(16, 'tee_tcb_svn2'), mrServiceTd: r.bytes(48, 'mr_servicetd') };
}

/** Extracts every `-----BEGIN CERTIFICATE-----` block of a PEM text as DER. */
export function splitPemCertificates(pem: string, what: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = re.exec(pem)) !== null) {
    const body = (match[1] ?? '').replace(/\s+/g, '');
    if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
      throw VerificationError.single('malformed_evidence', `${what}.pem`, 'certificate block is not valid base64');
    }
    const der = Buffer.from(body, 'base64');
    if (der.toString('base64') !== body) throw VerificationError.single('malformed_evidence', `${what}.pem`, 'certificate block is not canonical base64');
    out.push(new Uint8Array(der));
    consumed = re.lastIndex;
  }
  if (!/^[\s\0]*$/.test(pem.slice(consumed))) {
    throw VerificationError.single('malformed_evidence', `${what}.pem`, 'unexpected text after the last certificate');
  }
  return out;
}

/**
 * Parses a DCAP quote. Bytes after the signature data (zero padding some providers append) are
 * ignored; everything inside the declared lengths is bounds-checked.
 */
export function parseDcapQuote(bytes: Uint8Array): DcapQuote {
  const r = new ByteReader(bytes, 'dcap.quote');
  const headerRaw = r.bytes(QUOTE_HEADER_SIZE, 'header');
  const h = new ByteReader(headerRaw, 'dcap.quote.header');
  const version = h.u16le('version');
  const attKeyType = h.u16le('att_key_type');
  const teeType = h.u32le('tee_type');
  const reserved = h.bytes(4, 'reserved');
  const qeSvn = reserved[0]! | (reserved[1]! << 8);
  const pceSvn = reserved[2]! | (reserved[3]! << 8);
  const vendorId = h.bytes(16, 'qe_vendor_id');
  const userData = h.bytes(20, 'user_data');
  const header: QuoteHeader = { version, attKeyType, teeType, reserved, qeSvn, pceSvn, vendorId, userData, raw: headerRaw };

  if (attKeyType !== ATT_KEY_TYPE_ECDSA_P256) {
    throw malformed('att_key_type', 'unsupported attestation key type (only ECDSA-256-with-P-256)', String(ATT_KEY_TYPE_ECDSA_P256), String(attKeyType));
  }
  let body: DcapQuote['body'];
  let v5: DcapQuote['v5'];
  let certDataWrapped = true;
  if (version === 3 && teeType === TEE_TYPE_SGX) {
    body = { tee: 'sgx', report: parseSgxReportBody(r.bytes(SGX_REPORT_BODY_SIZE, 'body'), 'dcap.quote.body') };
    certDataWrapped = false;
  } else if (version === 4 && teeType === TEE_TYPE_TDX) {
    body = { tee: 'tdx', td: parseTdBody(r.bytes(TDX10_BODY_SIZE, 'body'), 'tdx10') };
  } else if (version === 4 && teeType === TEE_TYPE_SGX) {
    body = { tee: 'sgx', report: parseSgxReportBody(r.bytes(SGX_REPORT_BODY_SIZE, 'body'), 'dcap.quote.body') };
  } else if (version === 5 && teeType === TEE_TYPE_TDX) {
    const bodyTypeBytes = r.bytes(2, 'body_type');
    const bodyType = bodyTypeBytes[0]! | (bodyTypeBytes[1]! << 8);
    const bodySizeBytes = r.bytes(4, 'body_size');
    const bodySize = new DataView(bodySizeBytes.buffer, bodySizeBytes.byteOffset, 4).getUint32(0, true);
    const expectedSize = bodyType === 2 ? TDX10_BODY_SIZE : bodyType === 3 ? TDX15_BODY_SIZE : undefined;
    if (expectedSize === undefined) throw malformed('body_type', 'unsupported v5 body type (2 = TDX 1.0, 3 = TDX 1.5)', '2 or 3', String(bodyType));
    if (bodySize !== expectedSize) throw malformed('body_size', 'v5 body size does not match its type', String(expectedSize), String(bodySize));
    body = { tee: 'tdx', td: parseTdBody(r.bytes(expectedSize, 'body'), bodyType === 2 ? 'tdx10' : 'tdx15') };
    v5 = { bodyType, bodyTypeBytes, bodySizeBytes };
  } else {
    throw malformed('version', 'unsupported quote version / TEE type', '3/SGX, 4/SGX, 4/TDX or 5/TDX', `${version}/0x${teeType.toString(16)}`);
  }
  const signedBytes = bytes.subarray(0, r.offset);
  const sigLen = r.u32le('signature_data_len');
  const sig = new ByteReader(r.bytes(sigLen, 'signature_data'), 'dcap.quote.signature_data');
  const length = r.offset;
  const signature = sig.bytes(64, 'quote_signature');
  const attestationKey = sig.bytes(64, 'attestation_key');
  let qeSection: ByteReader = sig;
  if (certDataWrapped) {
    const certType = sig.u16le('certification_data_type');
    if (certType !== CERT_DATA_QE_REPORT) {
      throw malformed('certification_data_type', 'expected QE report certification data', String(CERT_DATA_QE_REPORT), String(certType));
    }
    const certSize = sig.u32le('certification_data_size');
    qeSection = new ByteReader(sig.bytes(certSize, 'certification_data'), 'dcap.quote.qe_report_certification_data');
  }
  const qeReport = parseSgxReportBody(qeSection.bytes(SGX_REPORT_BODY_SIZE, 'qe_report'), 'dcap.quote.qe_report');
  const qeReportSignature = qeSection.bytes(64, 'qe_report_signature');
  const authLen = qeSection.u16le('qe_auth_data_size');
  const qeAuthData = qeSection.bytes(authLen, 'qe_auth_data');
  const chainType = qeSection.u16le('pck_certification_data_type');
  if (chainType !== CERT_DATA_PCK_CHAIN) {
    throw malformed('pck_certification_data_type', 'expected a PEM PCK certificate chain', String(CERT_DATA_PCK_CHAIN), String(chainType));
  }
  const chainLen = qeSection.u32le('pck_certification_data_size');
  const chainBytes = qeSection.bytes(chainLen, 'pck_certification_data');
  const pckChainPem = Buffer.from(chainBytes).toString('latin1');
  return { header, body, ...(v5 === undefined ? {} : { v5 }), signedBytes, signature, attestationKey, qeReport, qeReportSignature, qeAuthData, pckChainPem, length };
}
