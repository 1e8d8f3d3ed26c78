/**
 * `pnpm as verify`: verifies one piece of evidence offline and prints its claims, or every
 * failed check with what was expected and found. The evidence can be in any form an operator
 * has at hand: CoCo guest JSON, a raw 1184-byte SNP report (+ `--cert`), a configfs-tsm JSON,
 * TDX `{quote, cc_eventlog}` JSON or a raw quote, SGX `{quote}` JSON or a raw quote, TPM
 * `{ak_public, tpm_quote}` JSON, Azure vTPM evidence v0/v1/v2, NVIDIA device
 * evidence (guest JSON, an NVAT device list, or one hex report with its chain in `--cert`).
 *
 * No network unless `--online` is given and no collateral was: a verification that needs a VCEK
 * or Intel collateral it was not given fails with `collateral_unavailable`.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryStore } from '@trustee/storage';
import {
  AMD_PRODUCTS,
  createAmdCollateralSource,
  createAmdTrustAnchors,
  createAmdVcekSources,
  createAzSnpVtpmVerifier,
  createAzTdxVtpmVerifier,
  createIntelCollateralSource,
  createNvidiaVerifier,
  createSgxVerifier,
  createSnpVerifier,
  createTdxVerifier,
  DEFAULT_DCAP_VERIFIER_CONFIG,
  getVerifier,
  isTeeName,
  loadIntelCollateral,
  parseSnpReport,
  parseSnpVerifierConfig,
  productFromReport,
  SNP_REPORT_SIZE,
  staticIntelCollateral,
  TEE_NAMES,
  VerificationError,
  verifySnpEvidenceFile,
  type AmdProduct,
  type AmdTrustAnchorInput,
  type AmdTrustAnchors,
  type CollateralSource,
  type IntelCollateral,
  type Json,
  type JsonObject,
  type TeeName,
  type VerificationExpectations,
  type VerifiedClaims,
} from '@trustee/verifiers';
import { UsageError } from '@trustee/errors';
import { ConfigError } from '@trustee/config';

export const VERIFY_USAGE = `usage: as verify --tee <tee> --evidence <file> [options]
  --tee <tee>                 ${TEE_NAMES.join(' | ')}
  --evidence <file>           evidence as the guest sent it (JSON), a raw SNP report, a raw TDX or SGX quote,
                              or for nvidia an NVAT device list or one hex SPDM report (+ --cert chain)
  --report-data <hex>         expected report data / nonce (omitted: not checked)
  --init-data-digest <hex>    expected init-data digest (omitted: not checked)
  --now <ISO time>            verification time (default: now); pin it for old collateral
  --collateral <file|dir>     Intel collateral JSON (dcap-qvl or ours), a directory of them, or a
                              directory written by \`as collateral export\` (AMD VCEKs too)
  --cert <file>               VCEK/VLEK (PEM or DER) for a raw SNP report or JSON without cert_chain
                              (else taken from --collateral, or KDS with --online); for nvidia the
                              device's PEM chain for a raw report
  --trust-anchors <pem>       trust these roots instead of the vendors' (AMD ARK/ASK/ASVK by CN,
                              or X.509 roots for Intel DCAP and NVIDIA devices)
  --online                    fetch missing collateral from AMD KDS / Intel PCS`;

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}


interface VerifyOptions {
  readonly tee: TeeName;
  readonly evidence: Uint8Array;
  readonly expected: VerificationExpectations;
  readonly now: Date;
  readonly cert?: Uint8Array | string;
  readonly amdAnchors?: AmdTrustAnchors;
  readonly intelAnchors?: readonly string[];
  readonly intel?: readonly IntelCollateral[];
  readonly amd?: CollateralSource;
  readonly online: boolean;
}

/** Runs the subcommand; returns the exit code (0 accepted, 1 rejected, 2 usage). */
export async function runVerify(argv: readonly string[], io: CliIo): Promise<number> {
  let options: VerifyOptions | 'help';
  try {
    options = await parseVerifyArgs(argv);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof VerificationError) return reportFailure(error, io);
    throw error;
  }
  if (options === 'help') {
    io.stdout.write(`${VERIFY_USAGE}\n`);
    return 0;
  }
  try {
    const results = await verifyEvidence(options);
    const output = results.length === 1 ? (results[0] as VerifiedClaims).claims : results.map((r) => ({ tee_class: r.teeClass, claims: r.claims }));
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof VerificationError) return reportFailure(error, io);
    throw error;
  }
}

function reportFailure(error: VerificationError, io: CliIo): number {
  const lines = [`rejected: ${error.code} (${error.failures.length} failed check${error.failures.length === 1 ? '' : 's'})`];
  for (const failure of error.failures) {
    lines.push(`  ${failure.check}: ${failure.message}`);
    if (failure.expected !== undefined) lines.push(`    expected: ${failure.expected}`);
    if (failure.found !== undefined) lines.push(`    found:    ${failure.found}`);
  }
  io.stderr.write(`${lines.join('\n')}\n`);
  return 1;
}

function hexOption(value: string | undefined, name: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  const text = value.replace(/^0x/i, '');
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new UsageError(`--${name}: expected hex bytes`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

async function readInput(path: string, name: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new UsageError(`--${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function parseVerifyArgs(argv: readonly string[]): Promise<VerifyOptions | 'help'> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        tee: { type: 'string' },
        evidence: { type: 'string' },
        'report-data': { type: 'string' },
        'init-data-digest': { type: 'string' },
        now: { type: 'string' },
        collateral: { type: 'string' },
        cert: { type: 'string' },
        'trust-anchors': { type: 'string' },
        online: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${VERIFY_USAGE}`);
  }
  if (values.help) return 'help';
  if (values.tee === undefined || values.evidence === undefined) throw new UsageError(`--tee and --evidence are required\n${VERIFY_USAGE}`);
  if (!isTeeName(values.tee)) throw new UsageError(`--tee: unknown TEE ${JSON.stringify(values.tee)} (${TEE_NAMES.join(', ')})`);
  let now = new Date();
  if (values.now !== undefined) {
    now = new Date(values.now);
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now: ${JSON.stringify(values.now)} is not an ISO 8601 time`);
  }
  const expected = { reportData: hexOption(values['report-data'], 'report-data'), initDataDigest: hexOption(values['init-data-digest'], 'init-data-digest') };
  let cert: Uint8Array | string | undefined;
  if (values.cert !== undefined) {
    const bytes = await readInput(values.cert, 'cert');
    const text = Buffer.from(bytes).toString('latin1');
    cert = text.includes('-----BEGIN') ? text : bytes;
  }
  const anchors = values['trust-anchors'] === undefined ? undefined : parseTrustAnchors(Buffer.from(await readInput(values['trust-anchors'], 'trust-anchors')).toString('latin1'));
  const collateral = values.collateral === undefined ? undefined : await loadCollateral(values.collateral);
  return {
    tee: values.tee,
    evidence: await readInput(values.evidence, 'evidence'),
    expected,
    now,
    online: values.online,
    ...(cert === undefined ? {} : { cert }),
    ...(anchors?.amd === undefined ? {} : { amdAnchors: anchors.amd }),
    ...(anchors === undefined || anchors.intel.length === 0 ? {} : { intelAnchors: anchors.intel }),
    ...(collateral?.intel === undefined ? {} : { intel: collateral.intel }),
    ...(collateral?.amd === undefined ? {} : { amd: collateral.amd }),
  };
}

/**
 * Trust anchors from a PEM bundle: AMD certificates are recognised by their CN (`ARK-<product>`,
 * `SEV-<product>`, `SEV-VLEK-<product>`); every certificate also counts as an Intel DCAP root
 * (by SHA-256 of its DER).
 */
export function parseTrustAnchors(pem: string): { amd?: AmdTrustAnchors; intel: string[] } {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UsageError('--trust-anchors: no PEM certificate in the file');
  const amd = new Map<AmdProduct, { ark?: Uint8Array; ask?: Uint8Array; asvk?: Uint8Array }>();
  const intel: string[] = [];
  for (const block of blocks) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      throw new UsageError('--trust-anchors: a PEM block is not an X.509 certificate');
    }
    intel.push(createHash('sha256').update(cert.raw).digest('hex'));
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1]?.trim() ?? '';
    const match = /^(ARK|SEV|SEV-VLEK)-(\w+)$/.exec(cn);
    const product = AMD_PRODUCTS.find((p) => p === match?.[2]);
    if (match === null || product === undefined) continue;
    const entry = amd.get(product) ?? {};
    const role = match[1] === 'ARK' ? 'ark' : match[1] === 'SEV' ? 'ask' : 'asvk';
    entry[role] = new Uint8Array(cert.raw);
    amd.set(product, entry);
  }
  const inputs: AmdTrustAnchorInput[] = [];
  for (const [product, { ark, ask, asvk }] of amd) {
    if (ark === undefined || ask === undefined) continue;
    inputs.push({ product, ark, ask, ...(asvk === undefined ? {} : { asvk }) });
  }
  return { ...(inputs.length === 0 ? {} : { amd: createAmdTrustAnchors(inputs, '--trust-anchors') }), intel };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `--collateral`: a directory written by `collateral export` (`intel/`, `amd/`), an upstream
 * kds-store directory (`vcek/`), a directory of Intel JSON bundles, or one Intel JSON file.
 */
export async function loadCollateral(path: string): Promise<{ intel?: IntelCollateral[]; amd?: CollateralSource }> {
  if (!(await isDirectory(path))) {
    try {
      await stat(path);
    } catch {
      throw new UsageError(`--collateral: ${path} does not exist`);
    }
    return { intel: await loadIntelCollateral(path) };
  }
  const hasIntel = await isDirectory(join(path, 'intel'));
  const amdDir = (await isDirectory(join(path, 'amd'))) ? join(path, 'amd') : (await isDirectory(join(path, 'vcek'))) ? path : undefined;
  if (!hasIntel && amdDir === undefined) return { intel: await loadIntelCollateral(path) };
  let amd: CollateralSource | undefined;
  if (amdDir !== undefined) {
    const source = createAmdCollateralSource({ store: new MemoryStore() });
    await source.importBundle(amdDir);
    amd = source;
  }
  return { ...(hasIntel ? { intel: await loadIntelCollateral(join(path, 'intel')) } : {}), ...(amd === undefined ? {} : { amd }) };
}

function parseJsonEvidence(bytes: Uint8Array): Json | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof value === 'object' && value !== null ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

function requireJson(bytes: Uint8Array, tee: string): Json {
  const json = parseJsonEvidence(bytes);
  if (json === undefined) throw VerificationError.single('malformed_evidence', 'evidence', `${tee} evidence must be a JSON document`, 'JSON', `${bytes.byteLength} bytes of non-JSON`);
  return json;
}

function intelSource(options: VerifyOptions): CollateralSource {
  if (options.intel !== undefined) return staticIntelCollateral(options.intel);
  if (options.online) return createIntelCollateralSource(DEFAULT_DCAP_VERIFIER_CONFIG, { store: new MemoryStore(), now: () => options.now });
  return {
    getIntelCollateral: () =>
      Promise.reject(VerificationError.single('collateral_unavailable', 'collateral.intel', 'no Intel collateral: pass --collateral FILE|DIR, or --online to fetch it from Intel PCS')),
  };
}

function amdSource(options: VerifyOptions): CollateralSource | undefined {
  if (options.amd !== undefined) return options.amd;
  if (options.online) return createAmdVcekSources(parseSnpVerifierConfig(undefined, 'kds'));
  return undefined;
}

async function vcekForRawReport(bytes: Uint8Array, amd: CollateralSource): Promise<Uint8Array | undefined> {
  if (bytes.byteLength !== SNP_REPORT_SIZE || amd.getVcek === undefined) return undefined;
  const report = parseSnpReport(bytes);
  const product = productFromReport(report);
  if (product === undefined) {
    throw VerificationError.single('collateral_unavailable', 'snp.vcek', 'a version 2 report does not tell its product line: pass --cert', '>= 3', String(report.version));
  }
  return amd.getVcek(product, product === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId, report.reportedTcb);
}

/**
 * NVIDIA evidence as the guest sends it (`{"device_evidence_list": [...]}`), a bare NVAT device
 * list (a JSON array, as nvtrust's tools write it), or one Hopper report (hex text or binary)
 * with its PEM chain in `--cert`.
 */
function nvidiaEvidence(options: VerifyOptions): Json {
  const json = parseJsonEvidence(options.evidence);
  if (Array.isArray(json)) return { device_evidence_list: json };
  if (json !== undefined) return json;
  if (typeof options.cert !== 'string') {
    throw VerificationError.single('malformed_evidence', 'evidence', 'a raw NVIDIA report needs its PEM certificate chain in --cert', 'JSON evidence or --cert chain.pem', `${options.evidence.byteLength} bytes of non-JSON`);
  }
  const text = Buffer.from(options.evidence).toString('latin1').trim();
  const evidence = /^(?:[0-9a-fA-F]{2})+$/.test(text) ? text : Buffer.from(options.evidence).toString('base64');
  return { device_evidence_list: [{ arch: 'HOPPER', evidence, certificate: Buffer.from(options.cert).toString('base64') }] };
}

/** Dispatches on the TEE and the evidence form; throws VerificationError on rejection. */
export async function verifyEvidence(options: VerifyOptions): Promise<VerifiedClaims[]> {
  const context = (collateral: CollateralSource) => ({ now: () => options.now, collateral });
  const intelTrust = options.intelAnchors === undefined ? {} : { trustAnchors: options.intelAnchors };
  const amdTrust = options.amdAnchors === undefined ? {} : { trustAnchors: options.amdAnchors };
  switch (options.tee) {
    case 'snp': {
      const json = parseJsonEvidence(options.evidence) as JsonObject | undefined;
      const amd = amdSource(options);
      const chainless = json !== undefined && 'attestation_report' in json && (json['cert_chain'] === null || json['cert_chain'] === undefined);
      if (chainless && options.cert === undefined && amd !== undefined) {
        return createSnpVerifier(amdTrust).evaluate(json, options.expected, context(amd));
      }
      // A raw report without --cert: its VCEK from the given collateral (or KDS with --online).
      const cert = options.cert ?? (json === undefined && amd !== undefined ? await vcekForRawReport(options.evidence, amd) : undefined);
      const result = verifySnpEvidenceFile(options.evidence, {
        now: options.now,
        ...(cert === undefined ? {} : { cert }),
        ...(options.expected.reportData === undefined ? {} : { reportData: options.expected.reportData }),
        ...(options.expected.initDataDigest === undefined ? {} : { initDataDigest: options.expected.initDataDigest }),
        ...amdTrust,
      });
      return [{ teeClass: 'cpu', claims: result.claims }];
    }
    case 'tdx': {
      const json = parseJsonEvidence(options.evidence);
      // A raw quote binary is wrapped the way the guest's attester sends it.
      const evidence: Json = json ?? { quote: Buffer.from(options.evidence).toString('base64'), cc_eventlog: null };
      return createTdxVerifier(intelTrust).evaluate(evidence, options.expected, context(intelSource(options)));
    }
    case 'sgx': {
      const json = parseJsonEvidence(options.evidence);
      const evidence: Json = json ?? { quote: Buffer.from(options.evidence).toString('base64') };
      return createSgxVerifier(intelTrust).evaluate(evidence, options.expected, context(intelSource(options)));
    }
    case 'az-tdx-vtpm':
      return createAzTdxVtpmVerifier(intelTrust).evaluate(requireJson(options.evidence, options.tee), options.expected, context(intelSource(options)));
    case 'az-snp-vtpm':
      return createAzSnpVtpmVerifier(amdTrust).evaluate(requireJson(options.evidence, options.tee), options.expected, context({}));
    case 'nvidia': {
      const verifier = options.intelAnchors === undefined ? getVerifier('nvidia') : createNvidiaVerifier({ rootFingerprints: options.intelAnchors });
      return verifier.evaluate(nvidiaEvidence(options), options.expected, context({}));
    }
    default: {
      const collateral: CollateralSource = { ...(amdSource(options) ?? {}), ...(options.intel !== undefined || options.online ? intelSource(options) : {}) };
      return getVerifier(options.tee).evaluate(requireJson(options.evidence, options.tee), options.expected, context(collateral));
    }
  }
}
