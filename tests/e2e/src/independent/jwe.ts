/**
 * Decryption of the KBS resource response (flattened JWE, upstream trustee `kbs/src/jwe/mod.rs`)
 * with node:crypto only, as a second implementation next to @trustee/protocol.
 *
 * The AAD is rebuilt the way the Rust guest (`kbs_types::ProtectedHeader::generate_aad`) does
 * it: decode `protected`, re-serialise `alg`, `enc`, then the other members with serde_json's
 * sorted-map order, and base64url that. A KBS that serialises its header differently would
 * still decrypt with a standard JOSE library but fail with the real guest, so callers assert
 * that the rebuilt string equals the received one.
 */
import { createDecipheriv, createECDH, createHash, constants, privateDecrypt, type KeyObject } from 'node:crypto';
import { b64urlDecode, b64urlEncode } from './base64.ts';
import type { Json } from './jcs.ts';

export interface JweResponse {
  readonly protected: string;
  readonly encrypted_key: string;
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
}

export function parseJweResponse(value: unknown): JweResponse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('JWE response is not an object');
  const record = value as Record<string, unknown>;
  const members = ['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag'] as const;
  for (const member of members) {
    if (typeof record[member] !== 'string') throw new Error(`JWE response member ${member} is not a string`);
  }
  return record as unknown as JweResponse;
}

/** serde_json's default (BTreeMap) rendering: object members sorted, compact. */
function serdeSorted(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => serdeSorted(item)).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${serdeSorted(value[key] as Json)}`).join(',')}}`;
}

export interface ProtectedHeader {
  readonly alg: string;
  readonly enc: string;
  readonly others: Record<string, Json>;
}

export function decodeProtectedHeader(protectedB64: string): ProtectedHeader {
  const parsed = JSON.parse(b64urlDecode(protectedB64).toString('utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('protected header is not an object');
  const { alg, enc, ...others } = parsed as Record<string, Json>;
  if (typeof alg !== 'string' || typeof enc !== 'string') throw new Error('protected header without alg/enc strings');
  return { alg, enc, others };
}

/** The AAD string the Rust guest computes from the received protected header. */
export function rustRebuiltAad(protectedB64: string): string {
  const header = decodeProtectedHeader(protectedB64);
  const rest = Object.keys(header.others)
    .sort()
    .map((key) => `,${JSON.stringify(key)}:${serdeSorted(header.others[key] as Json)}`)
    .join('');
  const json = `{"alg":${JSON.stringify(header.alg)},"enc":${JSON.stringify(header.enc)}${rest}}`;
  return b64urlEncode(Buffer.from(json, 'utf8'));
}

function u32be(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** NIST SP 800-56A Concat KDF, one SHA-256 round, empty apu/apv (RFC 7518 §4.6). */
export function concatKdf(sharedSecret: Uint8Array, algorithmId: string, keyBits: number): Buffer {
  const alg = Buffer.from(algorithmId, 'ascii');
  return createHash('sha256')
    .update(u32be(1))
    .update(sharedSecret)
    .update(u32be(alg.length))
    .update(alg)
    .update(u32be(0))
    .update(u32be(0))
    .update(u32be(keyBits))
    .digest();
}

/** RFC 3394 AES key unwrap with the default IV, through OpenSSL's wrap cipher. */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  const decipher = createDecipheriv('id-aes256-wrap', kek, Buffer.alloc(8, 0xa6));
  return Buffer.concat([decipher.update(wrapped), decipher.final()]);
}

function ecdhSharedSecret(privateKey: KeyObject, epk: Record<string, Json>): Buffer {
  const jwk = privateKey.export({ format: 'jwk' });
  const curve = epk.crv;
  if (curve !== jwk.crv) throw new Error(`epk curve ${String(curve)} does not match the TEE key curve ${String(jwk.crv)}`);
  const size = curve === 'P-256' ? 32 : curve === 'P-521' ? 66 : 0;
  if (size === 0) throw new Error(`unsupported epk curve ${String(curve)}`);
  if (typeof epk.x !== 'string' || typeof epk.y !== 'string' || jwk.d === undefined) throw new Error('epk without x/y');
  const x = b64urlDecode(epk.x);
  const y = b64urlDecode(epk.y);
  if (x.length !== size || y.length !== size) throw new Error('epk coordinates have the wrong size');
  const ecdh = createECDH(curve === 'P-256' ? 'prime256v1' : 'secp521r1');
  ecdh.setPrivateKey(Buffer.from(jwk.d, 'base64url'));
  // Z is the x-coordinate, left-padded to the field size (OpenSSL already returns it padded).
  return ecdh.computeSecret(Buffer.concat([Buffer.from([4]), x, y]));
}

export interface DecryptedJwe {
  readonly plaintext: Buffer;
  readonly header: ProtectedHeader;
  /** The AAD the Rust guest would use; equals `protected` for a wire-compatible KBS. */
  readonly rustAad: string;
}

/**
 * Decrypts with the AAD the Rust guest would compute. Decryption therefore fails (GCM tag
 * mismatch) whenever the KBS's protected header is not in the guest's canonical form.
 */
export function decryptJwe(jwe: JweResponse, privateKey: KeyObject): DecryptedJwe {
  const header = decodeProtectedHeader(jwe.protected);
  if (header.enc !== 'A256GCM') throw new Error(`unsupported enc ${header.enc}`);
  if ('aad' in (jwe as unknown as Record<string, unknown>)) throw new Error('KBS responses never carry an aad member');
  const encryptedKey = b64urlDecode(jwe.encrypted_key);
  let cek: Buffer;
  if (header.alg === 'ECDH-ES+A256KW') {
    const epk = header.others.epk;
    if (typeof epk !== 'object' || epk === null || Array.isArray(epk)) throw new Error('ECDH-ES header without epk');
    const z = ecdhSharedSecret(privateKey, epk);
    cek = aesKeyUnwrap(concatKdf(z, 'ECDH-ES+A256KW', 256), encryptedKey);
  } else if (header.alg === 'RSA-OAEP-256') {
    cek = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encryptedKey);
  } else {
    throw new Error(`the Rust guest does not accept alg ${header.alg}`);
  }
  if (cek.length !== 32) throw new Error(`CEK is ${cek.length} bytes, expected 32`);
  const iv = b64urlDecode(jwe.iv);
  const tag = b64urlDecode(jwe.tag);
  if (iv.length !== 12 || tag.length !== 16) throw new Error('iv must be 12 bytes and tag 16 bytes');
  const rustAad = rustRebuiltAad(jwe.protected);
  const decipher = createDecipheriv('aes-256-gcm', cek, iv);
  decipher.setAAD(Buffer.from(rustAad, 'ascii'));
  decipher.setAuthTag(tag);
  const plaintext = Buffer.concat([decipher.update(b64urlDecode(jwe.ciphertext)), decipher.final()]);
  return { plaintext, header, rustAad };
}
