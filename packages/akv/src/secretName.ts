/**
 * Storage keys (`repo/type/tag`, in general `[A-Za-z0-9._/-]+`) ↔ Key Vault secret names.
 *
 * Key Vault secret names are 1-127 characters of `[0-9A-Za-z-]` and case-insensitive, so the
 * mapping escapes everything except lowercase letters and digits:
 *
 * | key character  | secret name       |
 * |----------------|-------------------|
 * | `a-z`, `0-9`   | itself            |
 * | `/`            | `--`              |
 * | anything else  | `-` + 2 hex digits of its code (`-` → `-2d`, `_` → `-5f`, `.` → `-2e`, `A` → `-41`) |
 *
 * The tokens form a prefix-free code (after `-` comes either `-` or a hex digit), so decoding
 * is unique and the mapping is injective; encoded names contain no uppercase letters, so two
 * keys differing only in case (`Key` vs `key`) never land on the same case-insensitive name.
 * Decoding lowercases first: `-2D` and `-2d` are the same Key Vault name.
 *
 * @example
 * secretNameForKey('default/akv/coco_one')      // 'default--akv--coco-5fone'
 * keyForSecretName('default--akv--coco-5fone')  // 'default/akv/coco_one'
 */
import { StorageError } from '@trustee/storage';

export const MAX_SECRET_NAME_LENGTH = 127;
const KEY_PATTERN = /^[A-Za-z0-9._/-]+$/;
const PREFIX_PATTERN = /^[0-9A-Za-z-]*$/;
const PASS_THROUGH = /^[a-z0-9]$/;
const HEX = /^[0-9a-f]{2}$/;

/** Throws StorageError('invalid_config') unless `prefix` can start a Key Vault secret name. */
export function assertValidSecretNamePrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix) || prefix.length > MAX_SECRET_NAME_LENGTH - 1) {
    throw new StorageError('invalid_config', `secret_name_prefix must be at most ${MAX_SECRET_NAME_LENGTH - 1} characters of [0-9A-Za-z-]`);
  }
}

/**
 * The Key Vault secret name of a storage key (lowercase, canonical). Throws
 * StorageError('invalid_key') for characters outside `[A-Za-z0-9._/-]` or when the name would
 * exceed 127 characters.
 */
export function secretNameForKey(key: string, prefix = ''): string {
  if (typeof key !== 'string' || key.length === 0 || !KEY_PATTERN.test(key)) {
    throw new StorageError('invalid_key', 'key must be 1 or more characters of [A-Za-z0-9._/-]');
  }
  let encoded = prefix.toLowerCase();
  for (const character of key) {
    if (PASS_THROUGH.test(character)) encoded += character;
    else if (character === '/') encoded += '--';
    else encoded += `-${character.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
  if (encoded.length > MAX_SECRET_NAME_LENGTH) {
    throw new StorageError(
      'invalid_key',
      `key ${key} maps to a Key Vault secret name of ${encoded.length} characters (limit ${MAX_SECRET_NAME_LENGTH}); ` +
        'every character other than a-z and 0-9 takes 2-3 characters, so shorten the path or avoid uppercase, "_" and "."',
    );
  }
  return encoded;
}

/**
 * The storage key a secret name stands for, or `undefined` when the name does not start with
 * `prefix` or is not an encoding this module produces (secrets the KBS does not own).
 */
export function keyForSecretName(name: string, prefix = ''): string | undefined {
  const lower = name.toLowerCase();
  const lowerPrefix = prefix.toLowerCase();
  if (!lower.startsWith(lowerPrefix) || lower.length === lowerPrefix.length) return undefined;
  let key = '';
  let index = lowerPrefix.length;
  while (index < lower.length) {
    const character = lower[index] ?? '';
    if (PASS_THROUGH.test(character)) {
      key += character;
      index += 1;
      continue;
    }
    if (character !== '-') return undefined;
    if (lower[index + 1] === '-') {
      key += '/';
      index += 2;
      continue;
    }
    const hex = lower.slice(index + 1, index + 3);
    if (!HEX.test(hex)) return undefined;
    const decoded = String.fromCharCode(Number.parseInt(hex, 16));
    // Only the canonical escape of a character that must be escaped: `-61` (for `a`) or `-2f`
    // (for `/`) would make two names decode to one key.
    if (PASS_THROUGH.test(decoded) || decoded === '/' || !KEY_PATTERN.test(decoded)) return undefined;
    key += decoded;
    index += 3;
  }
  return key;
}
