/**
 * Trusted attestation keys for the `tpm` verifier, read from a directory of PEM public keys
 * (`verifier_config.tpm_verifier.trusted_ak_keys_dir` / `max_trusted_ak_keys`).
 *
 * Upstream history: these keys were honoured by deps/verifier/src/tpm/mod.rs and tpm/config.rs
 * until upstream commit 2f87a432 ("TPM: Update attestation policy to check trusted AK against
 * reference values"), which moved the AK check into the default attestation policy
 * (`input.tpm.ak_public in query_reference_value("trusted_aks")`) and reduced
 * `TpmVerifierConfig` to an empty struct, so upstream now accepts and ignores the keys (its
 * attestation-service/docs/config.md still documents them). trustee-ts honours them the way
 * upstream did before that commit, but only when a directory is configured, so configs without
 * the keys behave exactly like upstream today:
 *
 * - every regular file ending in `.pub` is read (others are ignored), at most
 *   `max_trusted_ak_keys` of them (default 100); trustee-ts takes them in file-name order
 *   (upstream took directory order, which the OS does not define);
 * - a file that is not a PEM public key is skipped with a warning, not fatal;
 * - a directory that cannot be read is fatal (startup fails);
 * - a key is identified by SHA-256 of its DER SubjectPublicKeyInfo; evidence whose AK is not
 *   among them is refused by the verifier (`tpm.ak_public.trusted`) before its quote is checked.
 *
 * The policy rule on `trusted_aks` still applies on top.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_TRUSTED_AK_KEYS_LIMIT } from '../verifierConfigSchemas.ts';

/** Upstream's default `max_trusted_ak_keys`. */
export const DEFAULT_MAX_TRUSTED_AK_KEYS = 100;
/** Upstream's default `trusted_ak_keys_dir` (applied by whoever reads the config, not here). */
export const DEFAULT_TRUSTED_AK_KEYS_DIR = '/etc/tpm/trusted_ak_keys';
export { MAX_TRUSTED_AK_KEYS_LIMIT };
/** Largest key file read (an RSA-4096 public key in PEM is under 1 KiB). */
export const MAX_AK_FILE_BYTES = 64 * 1024;
/** Directory entries looked at, at most (files that are not `.pub` count too). */
export const MAX_DIR_ENTRIES = 100_000;

/** The `tpm_verifier` keys, as the config reader hands them over. */
export interface TpmVerifierOptions {
  /** Directory of trusted AK public keys (`*.pub`, PEM). Absent: every AK is accepted by the verifier (the policy decides). */
  readonly trustedAkKeysDir?: string;
  /** At most this many `.pub` files are loaded (default 100, 1..10000). */
  readonly maxTrustedAkKeys?: number;
  /** Receives one line per skipped file and one summary line. */
  readonly warn?: (message: string) => void;
}

export interface TrustedAkSet {
  /** Lowercase hex SHA-256 of each trusted AK's DER SubjectPublicKeyInfo. */
  readonly fingerprints: ReadonlySet<string>;
  /** The files the keys came from, in load order. */
  readonly files: readonly string[];
  /** Files named `.pub` that were skipped, with why. */
  readonly skipped: ReadonlyArray<{ readonly file: string; readonly reason: string }>;
}

/** SHA-256 (hex) of a public key's DER SubjectPublicKeyInfo: how trusted AKs are compared. */
export function akFingerprint(key: KeyObject): string {
  return createHash('sha256').update(key.export({ format: 'der', type: 'spki' })).digest('hex');
}

/**
 * Reads the trusted AKs of `dir` (see the module comment for the rules).
 *
 * @throws Error naming the directory when it cannot be read, or a RangeError for a bad `max`.
 * @example const { fingerprints } = await loadTrustedAks('/etc/tpm/trusted_ak_keys', 100);
 */
export async function loadTrustedAks(dir: string, max: number = DEFAULT_MAX_TRUSTED_AK_KEYS): Promise<TrustedAkSet> {
  if (!Number.isSafeInteger(max) || max < 1 || max > MAX_TRUSTED_AK_KEYS_LIMIT) {
    throw new RangeError(`max_trusted_ak_keys must be an integer from 1 to ${MAX_TRUSTED_AK_KEYS_LIMIT}, found ${String(max)}`);
  }
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).slice(0, MAX_DIR_ENTRIES).filter((entry) => entry.name.endsWith('.pub') && entry.name.length > '.pub'.length).map((entry) => entry.name);
  } catch (error) {
    throw new Error(`cannot read the trusted AK keys directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  names.sort();
  const fingerprints = new Set<string>();
  const files: string[] = [];
  const skipped: Array<{ file: string; reason: string }> = [];
  for (const name of names) {
    if (files.length + skipped.length >= max) break;
    const file = join(dir, name);
    // Only regular files, as upstream (`is_file`, which follows links, as `stat` does).
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) continue;
    const key = await readPublicKey(file);
    if (typeof key === 'string') skipped.push({ file, reason: key });
    else {
      fingerprints.add(akFingerprint(key));
      files.push(file);
    }
  }
  return { fingerprints, files, skipped };
}

/** The key in `file`, or why it is not one. */
async function readPublicKey(file: string): Promise<KeyObject | string> {
  let text: string;
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(MAX_AK_FILE_BYTES + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_AK_FILE_BYTES) return `larger than ${MAX_AK_FILE_BYTES} bytes`;
      text = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    return `unreadable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  // createPublicKey would derive a public key from a private one; upstream reads public keys only.
  if (text.includes('PRIVATE KEY-----')) return 'holds a private key, not a public key';
  if (!text.includes('-----BEGIN')) return 'not a PEM public key';
  try {
    return createPublicKey({ key: text, format: 'pem' });
  } catch {
    return 'not a PEM public key';
  }
}
