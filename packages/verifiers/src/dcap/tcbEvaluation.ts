import type { PckPlatformInfo } from './pck.ts';
import type { IsvTcbLevel, QeIdentity, TcbInfo, TcbLevel, TcbStatus } from './tcbInfo.ts';
import type { SgxReportBody, TdReportBody } from './parseQuote.ts';

/**
 * Intel's TCB level matching (as in the DCAP Quote Verification Library): the platform level,
 * the TDX module level and the QE level, converged into one status.
 */

export type TcbOutcome =
  | { readonly ok: true; readonly status: TcbResult; readonly level: TcbLevel; readonly advisoryIds: readonly string[]; readonly moduleLevel?: IsvTcbLevel; readonly qeLevel: IsvTcbLevel }
  | { readonly ok: false; readonly check: string; readonly message: string; readonly expected?: string; readonly found?: string };

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function maskEquals(value: Uint8Array, mask: Uint8Array, expected: Uint8Array): boolean {
  if (value.length !== mask.length || mask.length !== expected.length) return false;
  for (let i = 0; i < value.length; i++) {
    if ((((value[i] as number) & (mask[i] as number)) >>> 0) !== (((expected[i] as number) & (mask[i] as number)) >>> 0)) return false;
  }
  return true;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** First level whose isvsvn is ≤ the given SVN (levels are ordered newest first). */
export function matchIsvLevel(levels: readonly IsvTcbLevel[], isvSvn: number): IsvTcbLevel | undefined {
  return levels.find((level) => level.isvSvn <= isvSvn);
}

function sgxMatches(level: TcbLevel, pck: PckPlatformInfo): boolean {
  for (let i = 0; i < 16; i++) if ((pck.sgxTcbComponents[i] as number) < (level.sgxComponents[i] as number)) return false;
  return pck.pceSvn >= level.pceSvn;
}

/** TEE_TCB_SVN ≥ the level's TDX components; bytes 0..1 (module SVN, version) are skipped when TEE_TCB_SVN[1] > 0. */
function tdxMatches(level: TcbLevel, teeTcbSvn: Uint8Array): boolean {
  const tdx = level.tdxComponents;
  if (tdx === undefined) return false;
  for (let i = (teeTcbSvn[1] as number) > 0 ? 2 : 0; i < 16; i++) if ((teeTcbSvn[i] as number) < (tdx[i] as number)) return false;
  return true;
}

/**
 * Platform TCB levels (levels are ordered newest first): the SGX level is the first whose 16 SGX
 * components and PCESVN the PCK certificate meets; for TDX the TDX level is the first that also
 * meets TEE_TCB_SVN.
 */
export function matchPlatformLevel(info: TcbInfo, pck: PckPlatformInfo, teeTcbSvn: Uint8Array | undefined): TcbLevel | undefined {
  return info.tcbLevels.find((level) => sgxMatches(level, pck) && (teeTcbSvn === undefined || tdxMatches(level, teeTcbSvn)));
}

export type TcbResult = TcbStatus | 'TDRelaunchAdvised' | 'TDRelaunchAdvisedConfigurationNeeded';

/** Folds a component status (TDX module or QE) that is OutOfDate into the platform status. */
function converge(platform: TcbResult, component: TcbStatus): TcbResult {
  if (component === 'OutOfDate' || component === 'OutOfDateConfigurationNeeded') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  if (component === 'Revoked') return 'Revoked';
  return platform;
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/** Checks the QE report against the QE identity and returns its TCB level. */
export function evaluateQeIdentity(identity: QeIdentity, qeReport: SgxReportBody): { ok: true; level: IsvTcbLevel } | Extract<TcbOutcome, { ok: false }> {
  if (!equalBytes(qeReport.mrSigner, identity.mrSigner)) {
    return { ok: false, check: 'dcap.qe_identity.mrsigner', message: 'QE MRSIGNER does not match the QE identity', expected: hex(identity.mrSigner), found: hex(qeReport.mrSigner) };
  }
  if (qeReport.isvProdId !== identity.isvProdId) {
    return { ok: false, check: 'dcap.qe_identity.isvprodid', message: 'QE ISVPRODID does not match the QE identity', expected: String(identity.isvProdId), found: String(qeReport.isvProdId) };
  }
  const miscMask = Buffer.from(identity.miscselectMask).readUInt32BE(0);
  const miscExpected = Buffer.from(identity.miscselect).readUInt32BE(0);
  if (((qeReport.miscSelect & miscMask) >>> 0) !== ((miscExpected & miscMask) >>> 0)) {
    return { ok: false, check: 'dcap.qe_identity.miscselect', message: 'QE MISCSELECT does not match the QE identity under its mask', expected: hex(identity.miscselect), found: hex(qeReport.miscSelectBytes) };
  }
  if (!maskEquals(qeReport.attributes, identity.attributesMask, identity.attributes)) {
    return { ok: false, check: 'dcap.qe_identity.attributes', message: 'QE ATTRIBUTES do not match the QE identity under its mask', expected: hex(identity.attributes), found: hex(qeReport.attributes) };
  }
  const level = matchIsvLevel(identity.tcbLevels, qeReport.isvSvn);
  if (level === undefined) {
    return { ok: false, check: 'dcap.qe_identity.tcb_level', message: 'no QE identity TCB level matches the QE ISVSVN', found: String(qeReport.isvSvn) };
  }
  if (level.tcbStatus === 'Revoked') {
    return { ok: false, check: 'dcap.qe_identity.revoked', message: 'the QE TCB level is revoked', found: String(qeReport.isvSvn) };
  }
  return { ok: true, level };
}

/** TDX module identity: TDX_01-style entry when TEE_TCB_SVN[1] > 0, else the `tdxModule` member. */
function evaluateTdxModule(info: TcbInfo, body: TdReportBody): { ok: true; level?: IsvTcbLevel } | Extract<TcbOutcome, { ok: false }> {
  const svn = body.teeTcbSvn;
  const major = svn[1] as number;
  if (major === 0) {
    const module = info.tdxModule;
    if (module === undefined) return { ok: true };
    if (!equalBytes(body.mrSignerSeam, module.mrSigner)) {
      return { ok: false, check: 'dcap.tdx_module.mrsigner', message: 'MRSIGNER_SEAM does not match the TCB info TDX module', expected: hex(module.mrSigner), found: hex(body.mrSignerSeam) };
    }
    if (!maskEquals(body.seamAttributes, module.attributesMask, module.attributes)) {
      return { ok: false, check: 'dcap.tdx_module.attributes', message: 'SEAM_ATTRIBUTES do not match the TCB info TDX module', expected: hex(module.attributes), found: hex(body.seamAttributes) };
    }
    return { ok: true };
  }
  const id = `TDX_${major.toString(16).toUpperCase().padStart(2, '0')}`;
  const identities = info.tdxModuleIdentities ?? [];
  const identity = identities.find((m) => m.id.toUpperCase() === id);
  if (identity === undefined) {
    return { ok: false, check: 'dcap.tdx_module.identity', message: 'TCB info has no identity for this TDX module', expected: id, found: identities.map((m) => m.id).join(',') || 'none' };
  }
  if (!equalBytes(body.mrSignerSeam, identity.mrSigner)) {
    return { ok: false, check: 'dcap.tdx_module.mrsigner', message: `MRSIGNER_SEAM does not match ${id}`, expected: hex(identity.mrSigner), found: hex(body.mrSignerSeam) };
  }
  if (!maskEquals(body.seamAttributes, identity.attributesMask, identity.attributes)) {
    return { ok: false, check: 'dcap.tdx_module.attributes', message: `SEAM_ATTRIBUTES do not match ${id}`, expected: hex(identity.attributes), found: hex(body.seamAttributes) };
  }
  const level = matchIsvLevel(identity.tcbLevels, svn[0] as number);
  if (level === undefined) {
    return { ok: false, check: 'dcap.tdx_module.tcb_level', message: `no ${id} TCB level matches TEE_TCB_SVN[0]`, found: String(svn[0]) };
  }
  return { ok: true, level };
}

const isConfigurationNeeded = (status: TcbResult): boolean =>
  status === 'ConfigurationNeeded' || status === 'OutOfDateConfigurationNeeded' || status === 'ConfigurationAndSWHardeningNeeded' || status === 'TDRelaunchAdvisedConfigurationNeeded';

/**
 * TD relaunch (TDX 1.5 bodies): the platform is current for SGX, the TDX level is out of date
 * only because the TDX module the TD was launched with is old, and the module now running
 * (TEE_TCB_SVN2) is at the latest level — relaunching the TD would bring it up to date.
 */
function checkRelaunch(info: TcbInfo, td: TdReportBody, sgxStatus: TcbStatus, tdxStatus: TcbResult, moduleStatus: TcbStatus, qeStatus: TcbStatus): TcbResult | Extract<TcbOutcome, { ok: false }> {
  const svn2 = td.teeTcbSvn2;
  if (svn2 === undefined) return tdxStatus;
  if (qeStatus === 'OutOfDate' || qeStatus === 'OutOfDateConfigurationNeeded' || qeStatus === 'Revoked') return tdxStatus;
  if (!['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded'].includes(sgxStatus)) return tdxStatus;
  if (tdxStatus !== 'OutOfDate' && tdxStatus !== 'OutOfDateConfigurationNeeded') return tdxStatus;
  if (moduleStatus !== 'OutOfDate') return tdxStatus;
  const latest = info.tcbLevels[0];
  if (latest === undefined) return tdxStatus;
  const latestTdx = latest.tdxComponents ?? [];
  let moduleCurrent: boolean;
  if (svn2[1] === 0) {
    moduleCurrent = (svn2[0] as number) >= (latestTdx[0] ?? 0);
  } else {
    const id = `TDX_${(svn2[1] as number).toString(16).toUpperCase().padStart(2, '0')}`;
    const identity = info.tdxModuleIdentities?.find((m) => m.id.toUpperCase() === id);
    if (identity === undefined) return { ok: false, check: 'dcap.tdx_module.identity', message: 'TCB info has no identity for the running TDX module (TEE_TCB_SVN2)', expected: id };
    const latestModule = identity.tcbLevels[0];
    if (latestModule === undefined) return { ok: false, check: 'dcap.tdx_module.tcb_level', message: `${id} has no TCB levels` };
    moduleCurrent = (svn2[0] as number) >= latestModule.isvSvn;
  }
  if (!moduleCurrent || (svn2[2] as number) < (latestTdx[2] ?? 0)) return tdxStatus;
  return isConfigurationNeeded(sgxStatus) || isConfigurationNeeded(tdxStatus) ? 'TDRelaunchAdvisedConfigurationNeeded' : 'TDRelaunchAdvised';
}

/**
 * Full TCB evaluation in the order of Intel's QVL: QE identity, SGX and TDX platform levels,
 * TDX module level, TD relaunch (TDX 1.5), QE level. A missing level, a revoked level or an
 * identity mismatch is terminal (`ok: false`).
 */
export function evaluateTcb(info: TcbInfo, identity: QeIdentity, pck: PckPlatformInfo, qeReport: SgxReportBody, td: TdReportBody | undefined): TcbOutcome {
  const qe = evaluateQeIdentity(identity, qeReport);
  if (!qe.ok) return qe;
  const sgxLevel = info.tcbLevels.find((level) => sgxMatches(level, pck));
  const level = matchPlatformLevel(info, pck, td?.teeTcbSvn);
  if (sgxLevel === undefined || level === undefined) {
    return {
      ok: false,
      check: 'dcap.tcb.level',
      message: 'no matching TCB level found in the TCB info',
      found: `sgx=[${pck.sgxTcbComponents.join(',')}] pcesvn=${pck.pceSvn}${td === undefined ? '' : ` tee_tcb_svn=${hex(td.teeTcbSvn)}`}`,
    };
  }
  let status: TcbResult = level.tcbStatus;
  // QVL's supplemental sa_list carries the matched platform (TDX) level's advisories only
  const advisoryIds = [...level.advisoryIds];
  let moduleLevel: IsvTcbLevel | undefined;
  if (td !== undefined) {
    const module = evaluateTdxModule(info, td);
    if (!module.ok) return module;
    const moduleStatus: TcbStatus = module.level?.tcbStatus ?? 'UpToDate';
    if (module.level !== undefined) {
      moduleLevel = module.level;
      status = converge(status, module.level.tcbStatus);
    }
    if (status === 'Revoked') return { ok: false, check: 'dcap.tcb.revoked', message: 'the TDX TCB level is revoked', found: status };
    if (td.kind === 'tdx15') {
      const relaunch = checkRelaunch(info, td, sgxLevel.tcbStatus, status, moduleStatus, qe.level.tcbStatus);
      if (typeof relaunch !== 'string') return relaunch;
      status = relaunch;
    }
  }
  status = converge(status, qe.level.tcbStatus);
  if (status === 'Revoked') {
    return { ok: false, check: 'dcap.tcb.revoked', message: 'the platform TCB level is revoked', found: status };
  }
  return { ok: true, status, level, advisoryIds: unique(advisoryIds), qeLevel: qe.level, ...(moduleLevel === undefined ? {} : { moduleLevel }) };
}
