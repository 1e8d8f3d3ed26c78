import { VerificationError } from '../verificationError.ts';
import { parseHex } from './signedJson.ts';

/** Intel PCS TCB info v3 and enclave (QE) identity v2, parsed from their signed JSON members. */

export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';

const TCB_STATUSES: readonly string[] = [
  'UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate',
  'OutOfDateConfigurationNeeded', 'Revoked',
];

export interface TcbLevel {
  readonly sgxComponents: readonly number[];
  readonly pceSvn: number;
  /** TDX TCB info only. */
  readonly tdxComponents?: readonly number[];
  readonly tcbDate: Date;
  readonly tcbStatus: TcbStatus;
  readonly advisoryIds: readonly string[];
}

export interface IsvTcbLevel {
  readonly isvSvn: number;
  readonly tcbDate: Date;
  readonly tcbStatus: TcbStatus;
  readonly advisoryIds: readonly string[];
}

export interface TdxModuleIdentity {
  readonly id: string;
  readonly mrSigner: Uint8Array;
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly tcbLevels: readonly IsvTcbLevel[];
}

export interface TcbInfo {
  readonly id: 'TDX' | 'SGX';
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly fmspc: string;
  readonly pceId: string;
  readonly tcbType: number;
  readonly tcbEvaluationDataNumber: number;
  readonly tdxModule?: { readonly mrSigner: Uint8Array; readonly attributes: Uint8Array; readonly attributesMask: Uint8Array };
  readonly tdxModuleIdentities?: readonly TdxModuleIdentity[];
  readonly tcbLevels: readonly TcbLevel[];
}

export interface QeIdentity {
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly tcbEvaluationDataNumber: number;
  readonly miscselect: Uint8Array;
  readonly miscselectMask: Uint8Array;
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly tcbLevels: readonly IsvTcbLevel[];
}

type Obj = Record<string, unknown>;

function malformed(what: string, message: string): VerificationError {
  return VerificationError.single('malformed_evidence', what, message);
}

function obj(value: unknown, what: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(what, 'expected an object');
  return value as Obj;
}

function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw malformed(what, 'expected an array');
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw malformed(what, 'expected a string');
  return value;
}

function uint(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw malformed(what, 'expected a non-negative integer');
  return value;
}

function date(value: unknown, what: string): Date {
  const text = str(value, what);
  // Intel serialises RFC 3339 UTC (`2025-06-19T10:16:03Z`); milliseconds are tolerated.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(text)) throw malformed(what, `not an RFC 3339 UTC time: ${JSON.stringify(text)}`);
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw malformed(what, 'invalid date');
  return d;
}

function status(value: unknown, what: string): TcbStatus {
  const text = str(value, what);
  if (!TCB_STATUSES.includes(text)) throw malformed(what, `unknown TCB status ${JSON.stringify(text)}`);
  return text as TcbStatus;
}

function advisories(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  return arr(value, what).map((v, i) => str(v, `${what}[${i}]`));
}

function components(value: unknown, what: string): number[] {
  const list = arr(value, what);
  if (list.length !== 16) throw malformed(what, `expected 16 components, found ${list.length}`);
  return list.map((c, i) => uint(obj(c, `${what}[${i}]`).svn, `${what}[${i}].svn`));
}

function isvLevels(value: unknown, what: string): IsvTcbLevel[] {
  return arr(value, what).map((raw, i) => {
    const level = obj(raw, `${what}[${i}]`);
    const tcb = obj(level.tcb, `${what}[${i}].tcb`);
    return {
      isvSvn: uint(tcb.isvsvn, `${what}[${i}].tcb.isvsvn`),
      tcbDate: date(level.tcbDate, `${what}[${i}].tcbDate`),
      tcbStatus: status(level.tcbStatus, `${what}[${i}].tcbStatus`),
      advisoryIds: advisories(level.advisoryIDs, `${what}[${i}].advisoryIDs`),
    };
  });
}

export function parseTcbInfo(value: unknown): TcbInfo {
  const w = 'dcap.tcb_info';
  const o = obj(value, w);
  const id = str(o.id, `${w}.id`);
  if (id !== 'TDX' && id !== 'SGX') throw malformed(`${w}.id`, `unknown TCB info id ${JSON.stringify(id)}`);
  const version = uint(o.version, `${w}.version`);
  if (version !== 3) throw malformed(`${w}.version`, `unsupported TCB info version ${version} (3 expected)`);
  const levels = arr(o.tcbLevels, `${w}.tcbLevels`).map((raw, i): TcbLevel => {
    const lw = `${w}.tcbLevels[${i}]`;
    const level = obj(raw, lw);
    const tcb = obj(level.tcb, `${lw}.tcb`);
    const base = {
      sgxComponents: components(tcb.sgxtcbcomponents, `${lw}.tcb.sgxtcbcomponents`),
      pceSvn: uint(tcb.pcesvn, `${lw}.tcb.pcesvn`),
      tcbDate: date(level.tcbDate, `${lw}.tcbDate`),
      tcbStatus: status(level.tcbStatus, `${lw}.tcbStatus`),
      advisoryIds: advisories(level.advisoryIDs, `${lw}.advisoryIDs`),
    };
    if (id === 'TDX') return { ...base, tdxComponents: components(tcb.tdxtcbcomponents, `${lw}.tcb.tdxtcbcomponents`) };
    return base;
  });
  const info: TcbInfo = {
    id,
    version,
    issueDate: date(o.issueDate, `${w}.issueDate`),
    nextUpdate: date(o.nextUpdate, `${w}.nextUpdate`),
    fmspc: Buffer.from(parseHex(o.fmspc, `${w}.fmspc`, 6)).toString('hex').toUpperCase(),
    pceId: Buffer.from(parseHex(o.pceId, `${w}.pceId`, 2)).toString('hex').toUpperCase(),
    tcbType: uint(o.tcbType, `${w}.tcbType`),
    tcbEvaluationDataNumber: uint(o.tcbEvaluationDataNumber, `${w}.tcbEvaluationDataNumber`),
    tcbLevels: levels,
  };
  if (id !== 'TDX') return info;
  const module = o.tdxModule === undefined ? undefined : obj(o.tdxModule, `${w}.tdxModule`);
  const identities = o.tdxModuleIdentities === undefined ? undefined : arr(o.tdxModuleIdentities, `${w}.tdxModuleIdentities`);
  return {
    ...info,
    ...(module === undefined
      ? {}
      : {
          tdxModule: {
            mrSigner: parseHex(module.mrsigner, `${w}.tdxModule.mrsigner`, 48),
            attributes: parseHex(module.attributes, `${w}.tdxModule.attributes`, 8),
            attributesMask: parseHex(module.attributesMask, `${w}.tdxModule.attributesMask`, 8),
          },
        }),
    ...(identities === undefined
      ? {}
      : {
          tdxModuleIdentities: identities.map((raw, i): TdxModuleIdentity => {
            const iw = `${w}.tdxModuleIdentities[${i}]`;
            const m = obj(raw, iw);
            return {
              id: str(m.id, `${iw}.id`),
              mrSigner: parseHex(m.mrsigner, `${iw}.mrsigner`, 48),
              attributes: parseHex(m.attributes, `${iw}.attributes`, 8),
              attributesMask: parseHex(m.attributesMask, `${iw}.attributesMask`, 8),
              tcbLevels: isvLevels(m.tcbLevels, `${iw}.tcbLevels`),
            };
          }),
        }),
  };
}

export function parseQeIdentity(value: unknown): QeIdentity {
  const w = 'dcap.qe_identity';
  const o = obj(value, w);
  const version = uint(o.version, `${w}.version`);
  if (version !== 2) throw malformed(`${w}.version`, `unsupported enclave identity version ${version} (2 expected)`);
  return {
    id: str(o.id, `${w}.id`),
    version,
    issueDate: date(o.issueDate, `${w}.issueDate`),
    nextUpdate: date(o.nextUpdate, `${w}.nextUpdate`),
    tcbEvaluationDataNumber: uint(o.tcbEvaluationDataNumber, `${w}.tcbEvaluationDataNumber`),
    miscselect: parseHex(o.miscselect, `${w}.miscselect`, 4),
    miscselectMask: parseHex(o.miscselectMask, `${w}.miscselectMask`, 4),
    attributes: parseHex(o.attributes, `${w}.attributes`, 16),
    attributesMask: parseHex(o.attributesMask, `${w}.attributesMask`, 16),
    mrSigner: parseHex(o.mrsigner, `${w}.mrsigner`, 32),
    isvProdId: uint(o.isvprodid, `${w}.isvprodid`),
    tcbLevels: isvLevels(o.tcbLevels, `${w}.tcbLevels`),
  };
}
