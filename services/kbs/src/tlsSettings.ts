/**
 * `[http_server]` TLS settings as upstream's KBS reads them (kbs/src/config.rs `TlsConfig`,
 * applied in kbs/src/http.rs): a profile (`old`, `intermediate` — the default — `modern`,
 * `custom`) and overrides `tls_min_version`, `tls_max_version` ("1.2" / "1.3"), `tls_ciphers`
 * (one OpenSSL list used for TLS 1.2 ciphers and TLS 1.3 suites alike) and `tls_groups`,
 * mapped onto Node's TLS options. Upstream starts from OpenSSL's Mozilla intermediate (v5)
 * acceptor; `old` only pins TLS 1.2 as the floor (the same as intermediate), `modern` raises the
 * floor to TLS 1.3. Anything this Node's OpenSSL cannot do is refused at startup with its key.
 */
import { createSecureContext, getCiphers } from 'node:tls';

export type TlsProfile = 'old' | 'intermediate' | 'modern' | 'custom';
export type TlsVersionName = '1.2' | '1.3';

/** What reaches `https.createServer` beside the key and certificate. */
export interface TlsServerOptions {
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers: string;
  readonly ecdhCurve: string;
  /** Well-known DHE groups for the DHE-RSA ciphers of the intermediate list. */
  readonly dhparam: 'auto';
}

export interface TlsSettingsInput {
  readonly profile: TlsProfile;
  readonly minVersion: TlsVersionName | undefined;
  readonly maxVersion: TlsVersionName | undefined;
  readonly ciphers: string | undefined;
  readonly groups: string | undefined;
}

/** OpenSSL's Mozilla intermediate v5 acceptor (rust-openssl `mozilla_intermediate_v5`), TLS 1.2 part. */
const INTERMEDIATE_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
];
/** OpenSSL's default TLS 1.3 suites, which that acceptor keeps. */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
/** Upstream's classical groups (kbs/src/http.rs `CLASSICAL_GROUPS`) and its hybrid post-quantum candidates. */
const CLASSICAL_GROUPS = ['X25519', 'secp256r1', 'secp384r1'];
const PQC_CANDIDATES = ['X25519MLKEM768', 'SecP256r1MLKEM768', 'X448MLKEM1024', 'SecP384r1MLKEM1024'];

const NODE_VERSION: Readonly<Record<TlsVersionName, 'TLSv1.2' | 'TLSv1.3'>> = { '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' };

export interface TlsProblem {
  readonly key: 'tls_min_version' | 'tls_max_version' | 'tls_ciphers' | 'tls_groups';
  readonly message: string;
}

function groupSupported(group: string): boolean {
  try {
    createSecureContext({ ecdhCurve: group });
    return true;
  } catch {
    // A refused group leaves its error on OpenSSL's queue, where the next unrelated call
    // (e.g. createPrivateKey) would find it; a successful setting drains it.
    createSecureContext({ ecdhCurve: 'prime256v1' });
    return false;
  }
}

let defaultGroups: string | undefined;

/** Upstream's default: the best hybrid PQC group this OpenSSL has, then the classical ones. */
function defaultGroupList(): string {
  defaultGroups ??= [...PQC_CANDIDATES.filter(groupSupported).slice(0, 1), ...CLASSICAL_GROUPS].join(':');
  return defaultGroups;
}

function cipherEntryKnown(entry: string, known: ReadonlySet<string>): boolean {
  // Operators and keywords (`!aNULL`, `HIGH`, `@STRENGTH`) are OpenSSL's to interpret.
  if (/^[!+@-]/.test(entry) || !/[-_]/.test(entry)) return true;
  return known.has(entry.toLowerCase());
}

/**
 * The Node TLS options the settings ask for, or the first problem with the key it concerns.
 *
 * @example tlsServerOptions({ profile: 'modern', minVersion: undefined, maxVersion: undefined, ciphers: undefined, groups: undefined })
 *   // { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ... }
 */
export function tlsServerOptions(input: TlsSettingsInput): TlsServerOptions | TlsProblem {
  const minVersion = input.minVersion ?? (input.profile === 'modern' ? '1.3' : '1.2');
  const maxVersion = input.maxVersion ?? '1.3';
  if (minVersion === '1.3' && maxVersion === '1.2') return { key: 'tls_min_version', message: `"${minVersion}" is above tls_max_version "${maxVersion}"` };
  const tls12 = minVersion === '1.2';
  const tls13 = maxVersion === '1.3';

  let ciphers: string;
  if (input.ciphers === undefined) ciphers = [...(tls13 ? TLS13_SUITES : []), ...(tls12 ? INTERMEDIATE_TLS12_CIPHERS : [])].join(':');
  else {
    const entries = input.ciphers.split(':').map((entry) => entry.trim()).filter((entry) => entry !== '');
    const known = new Set(getCiphers());
    const unknown = entries.find((entry) => !cipherEntryKnown(entry, known));
    if (unknown !== undefined) return { key: 'tls_ciphers', message: `"${unknown}" is not a cipher this server's OpenSSL knows` };
    const suites = entries.filter((entry) => entry.startsWith('TLS_'));
    const tls12Entries = entries.filter((entry) => !entry.startsWith('TLS_'));
    // Upstream hands the one list to both OpenSSL calls; each refuses a list with nothing for it.
    if (tls13 && suites.length === 0) return { key: 'tls_ciphers', message: 'names no TLS 1.3 suite (TLS_...) while TLS 1.3 is allowed; add one or set tls_max_version = "1.2"' };
    if (tls12 && tls12Entries.length === 0) return { key: 'tls_ciphers', message: 'names no TLS 1.2 cipher while TLS 1.2 is allowed; add one or set tls_min_version = "1.3"' };
    ciphers = [...(tls13 ? suites : []), ...(tls12 ? tls12Entries : [])].join(':');
    try {
      createSecureContext({ ciphers, minVersion: NODE_VERSION[minVersion], maxVersion: NODE_VERSION[maxVersion] });
    } catch (error) {
      return { key: 'tls_ciphers', message: `refused by this server's OpenSSL (${(error as Error).message})` };
    }
  }

  let ecdhCurve = defaultGroupList();
  if (input.groups !== undefined) {
    const groups = input.groups.split(':').map((group) => group.trim()).filter((group) => group !== '');
    if (groups.length === 0) return { key: 'tls_groups', message: 'names no group' };
    const unsupported = groups.find((group) => !groupSupported(group));
    if (unsupported !== undefined) return { key: 'tls_groups', message: `"${unsupported}" is not a key-exchange group this server's OpenSSL supports` };
    ecdhCurve = groups.join(':');
  }
  return { minVersion: NODE_VERSION[minVersion], maxVersion: NODE_VERSION[maxVersion], ciphers, ecdhCurve, dhparam: 'auto' };
}
