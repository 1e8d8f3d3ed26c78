import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { FailedCheck } from '../verificationError.ts';
import { VerificationError } from '../verificationError.ts';
import type { IntelCollateral, JsonObject } from '../verifier.ts';
import { INTEL_QE_VENDOR_ID, TEE_TYPE_SGX, TEE_TYPE_TDX, type DcapQuote } from './parseQuote.ts';
import { parsePckPlatformInfo, type PckPlatformInfo } from './pck.ts';
import { parseSignedJson } from './signedJson.ts';
import { evaluateTcb, type TcbResult } from './tcbEvaluation.ts';
import { parseQeIdentity, parseTcbInfo, type QeIdentity, type TcbInfo } from './tcbInfo.ts';
import { Memo } from './memo.ts';
import { isCrlSignedBy, isSignedBy, parseCrl, parsePemChain, publicKeyOf, rootKeyId, verifyP256Raw, type ParsedCertificate, type ParsedCrl } from './x509.ts';

/** SHA-256 (DER) of the production Intel SGX Root CA, the default DCAP trust anchor. */
export const INTEL_SGX_ROOT_CA_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';
/**
 * SHA-384 of the Intel SGX Root CA public key (DCAP's `root_key_id`). QVL pins the root key, not
 * the certificate, so a re-issued root certificate with the same key is accepted too.
 */
export const INTEL_SGX_ROOT_KEY_ID = '46e403bd34f05a3f2817ab9badcaacc7ffc98e0f261008cd30dae936cace18d5dcf58eef31463613de1570d516200993';

export interface DcapTrustOptions {
  /**
   * Reject collateral outside its validity window (a certificate, CRL, TCB info or QE identity
   * not yet valid or past nextUpdate/notAfter). Default `false`, as Intel's QVL and upstream:
   * such collateral only sets `collateral_expiration_status` = "1" for the policy to judge.
   */
  readonly strictCollateralValidity?: boolean;
  /**
   * Accepted root CAs, each as the SHA-256 fingerprint of its DER certificate or the SHA-384 key
   * id of its public key (`root_key_id`). Defaults to the Intel SGX Root CA only; test roots are
   * accepted only when listed here explicitly.
   */
  readonly trustAnchors?: readonly string[];
}

export interface DcapVerifyOptions extends DcapTrustOptions {
  readonly now: Date;
  readonly tee: 'tdx' | 'sgx';
}

/** A PCK chain whose signatures verified up to a trusted root (validity dates are checked per use). */
export interface VerifiedPckChain {
  readonly leaf: ParsedCertificate;
  readonly intermediate: ParsedCertificate;
  readonly root: ParsedCertificate;
  readonly platform: PckPlatformInfo;
}

export interface DcapVerification {
  readonly platform: PckPlatformInfo;
  readonly tcbStatus: Exclude<TcbResult, 'Revoked'>;
  readonly advisoryIds: readonly string[];
  /** Some certificate, CRL, TCB info or QE identity is past its nextUpdate / notAfter. */
  readonly collateralExpired: boolean;
  /** Upstream's DCAP supplemental claims (`tcb_status`, `advisory_ids`, dates, ...). */
  readonly supplemental: JsonObject;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

const chainMemo = new Memo<VerifiedPckChain>(1024);
const signedChainMemo = new Memo<ParsedCertificate[]>(256);
const tcbInfoMemo = new Memo<TcbInfo>(256);
const qeIdentityMemo = new Memo<QeIdentity>(64);
const crlMemo = new Memo<ParsedCrl>(64);
/** QE reports are constant per quoting enclave and attestation key: their verified signatures too. */
const qeReportMemo = new Memo<true>(1024);
const attestationKeyMemo = new Memo<KeyObject>(1024);

function anchorsOf(options: DcapTrustOptions): ReadonlySet<string> {
  return new Set((options.trustAnchors ?? [INTEL_SGX_ROOT_CA_SHA256, INTEL_SGX_ROOT_KEY_ID]).map((a) => a.toLowerCase().replace(/:/g, '')));
}

function fail(check: string, message: string, expected?: string, found?: string): FailedCheck {
  return { check, message, ...(expected === undefined ? {} : { expected }), ...(found === undefined ? {} : { found }) };
}

/**
 * Verifies a PEM chain `[leaf?, ..., root]` up to a trusted root: each certificate is signed by
 * the next, the last is self-signed and pinned. Signature results are memoised.
 */
function verifyChainSignatures(pem: string, what: string, expectedLength: number, anchors: ReadonlySet<string>): ParsedCertificate[] {
  const key = `${[...anchors].sort().join(',')}|${sha256(pem)}|${expectedLength}`;
  const cached = signedChainMemo.get(key);
  if (cached !== undefined) return cached;
  const certs = parsePemChain(pem, what);
  if (certs.length !== expectedLength) {
    throw VerificationError.single('verification_failed', `${what}.length`, 'unexpected number of certificates in the chain', String(expectedLength), String(certs.length));
  }
  const root = certs[certs.length - 1] as ParsedCertificate;
  if (!anchors.has(root.fingerprint256) && !anchors.has(rootKeyId(root))) {
    throw VerificationError.single('verification_failed', `${what}.root`, 'the chain does not end in a trusted root CA', [...anchors].join(' | '), root.fingerprint256);
  }
  if (!isSignedBy(root, root)) throw VerificationError.single('verification_failed', `${what}.root`, 'the root CA is not self-signed');
  for (let i = 0; i < certs.length - 1; i++) {
    const cert = certs[i] as ParsedCertificate;
    const issuer = certs[i + 1] as ParsedCertificate;
    if (!isSignedBy(cert, issuer)) {
      throw VerificationError.single('verification_failed', `${what}[${i}].signature`, `certificate "${cert.commonName}" is not signed by "${issuer.commonName}"`);
    }
  }
  signedChainMemo.set(key, certs);
  return certs;
}

/**
 * Verifies the PCK chain carried in a quote (3 certificates, pinned root) and reads the platform
 * info (FMSPC, CA type, TCB) needed to fetch collateral.
 */
export function verifyPckChain(quote: DcapQuote, options: DcapTrustOptions = {}): VerifiedPckChain {
  const anchors = anchorsOf(options);
  const key = `${[...anchors].sort().join(',')}|${sha256(quote.pckChainPem)}`;
  const cached = chainMemo.get(key);
  if (cached !== undefined) return cached;
  const [leaf, intermediate, root] = verifyChainSignatures(quote.pckChainPem, 'dcap.pck_chain', 3, anchors) as [ParsedCertificate, ParsedCertificate, ParsedCertificate];
  const verified = { leaf, intermediate, root, platform: parsePckPlatformInfo(leaf, intermediate) };
  chainMemo.set(key, verified);
  return verified;
}

function collateralError(error: unknown, what: string): never {
  if (error instanceof VerificationError) {
    throw new VerificationError(error.code === 'malformed_evidence' ? 'collateral_unavailable' : error.code, error.failures);
  }
  throw VerificationError.single('collateral_unavailable', what, (error as Error).message);
}

function signedCollateral<T>(
  text: string,
  member: string,
  chainPem: string,
  what: string,
  anchors: ReadonlySet<string>,
  memo: Memo<T>,
  parse: (value: unknown) => T,
): { value: T; chain: ParsedCertificate[] } {
  try {
    const chain = verifyChainSignatures(chainPem, `${what}_issuer_chain`, 2, anchors);
    const key = `${sha256(text)}|${(chain[0] as ParsedCertificate).fingerprint256}`;
    const cached = memo.get(key);
    if (cached !== undefined) return { value: cached, chain };
    const signed = parseSignedJson(text, member, what);
    // signature first: nothing unsigned is interpreted
    if (!verifyP256Raw(Buffer.from(signed.body, 'utf8'), signed.signature, publicKeyOf(chain[0] as ParsedCertificate))) {
      throw VerificationError.single('verification_failed', `${what}.signature`, `the ${member} signature does not verify with "${(chain[0] as ParsedCertificate).commonName}"`);
    }
    const value = parse(signed.value);
    memo.set(key, value);
    return { value, chain };
  } catch (error) {
    if (error instanceof VerificationError && error.code === 'verification_failed') throw error;
    return collateralError(error, what);
  }
}

function verifiedCrl(der: Uint8Array, issuer: ParsedCertificate, what: string): ParsedCrl {
  const key = `${sha256(der)}|${issuer.fingerprint256}`;
  const cached = crlMemo.get(key);
  if (cached !== undefined) return cached;
  let crl: ParsedCrl;
  try {
    crl = parseCrl(der, what);
  } catch (error) {
    return collateralError(error, what);
  }
  if (!isCrlSignedBy(crl, issuer)) {
    throw VerificationError.single('verification_failed', `${what}.signature`, `the CRL is not signed by "${issuer.commonName}"`);
  }
  crlMemo.set(key, crl);
  return crl;
}

function rawP256Key(xy: Uint8Array): KeyObject | undefined {
  try {
    return createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: Buffer.from(xy.subarray(0, 32)).toString('base64url'), y: Buffer.from(xy.subarray(32, 64)).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return undefined;
  }
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const SGX_TYPES = ['Standard', 'Scalable', 'Scalable with Integrity'];

/**
 * What Intel's Quote Verification Library does, in TypeScript: PCK chain to the pinned root,
 * CRLs, QE report signature and binding, quote signature, TCB info and QE identity signatures,
 * TCB level matching. Throws a `VerificationError` listing every failed check; collateral past
 * its nextUpdate does not fail (it sets `collateral_expiration_status` = "1", as upstream).
 */
export function verifyDcapQuote(quote: DcapQuote, collateral: IntelCollateral, options: DcapVerifyOptions): DcapVerification {
  const anchors = anchorsOf(options);
  const now = options.now.getTime();
  const failures: FailedCheck[] = [];

  const expectedTee = options.tee === 'tdx' ? TEE_TYPE_TDX : TEE_TYPE_SGX;
  if (quote.header.teeType !== expectedTee) {
    failures.push(fail('dcap.quote.tee_type', 'the quote is for another TEE', `0x${expectedTee.toString(16)}`, `0x${quote.header.teeType.toString(16)}`));
  }
  if (hex(quote.header.vendorId) !== INTEL_QE_VENDOR_ID) {
    failures.push(fail('dcap.quote.qe_vendor_id', 'the quoting enclave is not Intel\'s', INTEL_QE_VENDOR_ID, hex(quote.header.vendorId)));
  }

  const chain = verifyPckChain(quote, options);
  const platform = chain.platform;

  // Quote signature by the attestation key, and the attestation key's binding to the QE report.
  const attestationKeyHex = hex(quote.attestationKey);
  let attestationKey = attestationKeyMemo.get(attestationKeyHex);
  if (attestationKey === undefined) {
    attestationKey = rawP256Key(quote.attestationKey);
    if (attestationKey !== undefined) attestationKeyMemo.set(attestationKeyHex, attestationKey);
  }
  if (attestationKey === undefined) {
    failures.push(fail('dcap.quote.attestation_key', 'the attestation key is not a P-256 point'));
  } else if (!verifyP256Raw(quote.signedBytes, quote.signature, attestationKey)) {
    failures.push(fail('dcap.quote.signature', 'the quote signature does not verify with the attestation key'));
  }
  const qeReportKey = `${chain.leaf.fingerprint256}|${hex(quote.qeReportSignature)}|${sha256(quote.qeReport.raw)}`;
  if (qeReportMemo.get(qeReportKey) === undefined) {
    if (verifyP256Raw(quote.qeReport.raw, quote.qeReportSignature, publicKeyOf(chain.leaf))) qeReportMemo.set(qeReportKey, true);
    else failures.push(fail('dcap.qe_report.signature', 'the QE report is not signed by the PCK certificate'));
  }
  const binding = createHash('sha256').update(quote.attestationKey).update(quote.qeAuthData).digest();
  const qeReportData = quote.qeReport.reportData;
  if (Buffer.compare(binding, qeReportData.subarray(0, 32)) !== 0 || qeReportData.subarray(32).some((b) => b !== 0)) {
    failures.push(fail('dcap.qe_report.report_data', 'QE report data is not SHA-256(attestation key ‖ QE auth data) ‖ zeros', `${binding.toString('hex')}${'0'.repeat(64)}`, hex(qeReportData)));
  }

  // Collateral: signatures over the exact JSON, issuer chains to the pinned root, CRLs.
  const tcb = signedCollateral(collateral.tcbInfo, 'tcbInfo', collateral.tcbInfoIssuerChain, 'dcap.tcb_info', anchors, tcbInfoMemo, parseTcbInfo);
  const qe = signedCollateral(collateral.qeIdentity, 'enclaveIdentity', collateral.qeIdentityIssuerChain, 'dcap.qe_identity', anchors, qeIdentityMemo, parseQeIdentity);
  const tcbInfo = tcb.value;
  const qeIdentity = qe.value;
  const expectedTcbId = options.tee === 'tdx' ? 'TDX' : 'SGX';
  const expectedQeId = options.tee === 'tdx' ? 'TD_QE' : 'QE';
  if (tcbInfo.id !== expectedTcbId) failures.push(fail('dcap.tcb_info.id', 'TCB info is for another TEE', expectedTcbId, tcbInfo.id));
  if (qeIdentity.id !== expectedQeId) failures.push(fail('dcap.qe_identity.id', 'QE identity is for another enclave', expectedQeId, qeIdentity.id));
  if (tcbInfo.fmspc !== platform.fmspc) failures.push(fail('dcap.tcb_info.fmspc', 'TCB info FMSPC differs from the PCK certificate', platform.fmspc, tcbInfo.fmspc));
  if (tcbInfo.pceId !== platform.pceId) failures.push(fail('dcap.tcb_info.pce_id', 'TCB info PCE-ID differs from the PCK certificate', platform.pceId, tcbInfo.pceId));

  const rootCrl = verifiedCrl(collateral.rootCaCrl, chain.root, 'dcap.root_ca_crl');
  let pckCrlChain: ParsedCertificate[];
  try {
    pckCrlChain = verifyChainSignatures(collateral.pckCrlIssuerChain, 'dcap.pck_crl_issuer_chain', 2, anchors);
  } catch (error) {
    if (error instanceof VerificationError && error.code === 'verification_failed') throw error;
    return collateralError(error, 'dcap.pck_crl_issuer_chain');
  }
  const pckCrlIssuer = pckCrlChain[0] as ParsedCertificate;
  if (pckCrlIssuer.fingerprint256 !== chain.intermediate.fingerprint256) {
    failures.push(fail('dcap.pck_crl.issuer', 'the PCK CRL issuer is not the PCK certificate\'s CA', chain.intermediate.commonName, pckCrlIssuer.commonName));
  }
  const pckCrl = verifiedCrl(collateral.pckCrl, chain.intermediate, 'dcap.pck_crl');
  if (pckCrl.revoked.has(chain.leaf.serial)) failures.push(fail('dcap.pck_chain.revoked', 'the PCK certificate is revoked', 'not in the PCK CRL', chain.leaf.serial));
  for (const [what, cert] of [
    ['dcap.pck_chain', chain.intermediate],
    ['dcap.tcb_info_issuer_chain', tcb.chain[0]],
    ['dcap.qe_identity_issuer_chain', qe.chain[0]],
    ['dcap.pck_crl_issuer_chain', pckCrlIssuer],
  ] as const) {
    if (cert !== undefined && rootCrl.revoked.has(cert.serial)) failures.push(fail(`${what}.revoked`, `"${cert.commonName}" is revoked by the root CA CRL`, 'not revoked', cert.serial));
  }

  // Validity windows of every certificate, CRL and signed JSON (QVL qve_get_collateral_dates).
  const windows: Array<{ what: string; from: Date; until: Date | undefined }> = [
    ...[chain.leaf, chain.intermediate, chain.root].map((c) => ({ what: `PCK chain "${c.commonName}"`, from: c.notBefore, until: c.notAfter })),
    ...tcb.chain.map((c) => ({ what: `TCB info issuer "${c.commonName}"`, from: c.notBefore, until: c.notAfter })),
    ...qe.chain.map((c) => ({ what: `QE identity issuer "${c.commonName}"`, from: c.notBefore, until: c.notAfter })),
    ...pckCrlChain.map((c) => ({ what: `PCK CRL issuer "${c.commonName}"`, from: c.notBefore, until: c.notAfter })),
    { what: 'root CA CRL', from: rootCrl.thisUpdate, until: rootCrl.nextUpdate },
    { what: 'PCK CRL', from: pckCrl.thisUpdate, until: pckCrl.nextUpdate },
    { what: 'TCB info', from: tcbInfo.issueDate, until: tcbInfo.nextUpdate },
    { what: 'QE identity', from: qeIdentity.issueDate, until: qeIdentity.nextUpdate },
  ];
  const issued = windows.map((w) => w.from.getTime());
  const expiries = windows.flatMap((w) => (w.until === undefined ? [] : [w.until.getTime()]));
  const earliestExpiration = Math.min(...expiries);
  // QVL: expired when earliest_expiration_date <= now; a window that has not started yet is
  // reported the same way (its validity check yields an "expired" status, not a failure)
  const notYetValid = windows.filter((w) => w.from.getTime() > now);
  const collateralExpired = earliestExpiration <= now || notYetValid.length > 0;
  if (options.strictCollateralValidity === true) {
    for (const w of notYetValid) failures.push(fail('dcap.collateral.not_yet_valid', `${w.what} is not valid yet`, `issued before ${rfc3339(options.now)}`, rfc3339(w.from)));
    for (const w of windows) {
      if (w.until !== undefined && w.until.getTime() <= now) failures.push(fail('dcap.collateral.expired', `${w.what} has expired`, `valid after ${rfc3339(options.now)}`, rfc3339(w.until)));
    }
  }

  if (failures.length > 0) throw new VerificationError('verification_failed', failures);

  const outcome = evaluateTcb(tcbInfo, qeIdentity, platform, quote.qeReport, quote.body.tee === 'tdx' ? quote.body.td : undefined);
  if (!outcome.ok) {
    throw VerificationError.single('verification_failed', outcome.check, outcome.message, outcome.expected, outcome.found);
  }
  const tcbStatus = outcome.status as Exclude<TcbResult, 'Revoked'>;

  const supplemental: JsonObject = {
    earliest_issue_date: rfc3339(new Date(Math.min(...issued))),
    latest_issue_date: rfc3339(new Date(Math.max(...issued))),
    earliest_expiration_date: rfc3339(new Date(earliestExpiration)),
    tcb_date: rfc3339(outcome.level.tcbDate),
    pck_crl_num: pckCrl.crlNumber ?? 0,
    root_ca_crl_num: rootCrl.crlNumber ?? 0,
    tcb_eval_num: Math.min(tcbInfo.tcbEvaluationDataNumber, qeIdentity.tcbEvaluationDataNumber),
    platform_provider_id: hex(platform.ppid),
    sgx_type: SGX_TYPES[platform.sgxType] ?? `Unknown (${platform.sgxType})`,
  };
  if (platform.sgxType > 0) {
    supplemental.is_dynamic_platform = platform.dynamicPlatform ?? false;
    supplemental.is_cached_keys = platform.cachedKeys ?? false;
    supplemental.is_smt_enabled = platform.smtEnabled ?? false;
  }
  supplemental.root_key_id = rootKeyId(chain.root);
  supplemental.tcb_status = tcbStatus;
  supplemental.collateral_expiration_status = collateralExpired ? '1' : '0';
  supplemental.advisory_ids = [...outcome.advisoryIds];
  return { platform, tcbStatus, advisoryIds: outcome.advisoryIds, collateralExpired, supplemental };
}
