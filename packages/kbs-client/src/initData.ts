/**
 * Init-data as the client sends it (`{"format":"toml","body":<text>}`) and its digest, the
 * value a TEE measures at boot: H_alg(whole TOML text), with `alg` from the TOML's `algorithm`.
 */
import { createHash } from 'node:crypto';
import { parse } from 'smol-toml';
import type { InitData } from '@trustee/protocol';

const INIT_DATA_ALGORITHMS: Readonly<Record<string, string>> = { sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

export function initDataMessage(toml: string): InitData {
  return { format: 'toml', body: toml };
}

/**
 * H_alg(toml) where alg is the document's `algorithm`. Undefined when the text is not TOML or
 * names no supported algorithm: the Rust client sends init-data without reading it, so the KBS,
 * not the client, decides whether it is acceptable.
 */
export function initDataDigest(toml: string): Uint8Array | undefined {
  let algorithm: unknown;
  try {
    algorithm = parse(toml).algorithm;
  } catch {
    return undefined;
  }
  const hash = typeof algorithm === 'string' ? INIT_DATA_ALGORITHMS[algorithm.toLowerCase()] : undefined;
  return hash === undefined ? undefined : new Uint8Array(createHash(hash).update(toml, 'utf8').digest());
}
