/**
 * Invariant: storage keys map to Key Vault secret names injectively even though Key Vault
 * compares names case-insensitively, every name is a valid Key Vault name, and decoding gives
 * back the exact key; names we did not produce decode to nothing.
 */
import { describe, expect, test } from 'vitest';
import { StorageError } from '@trustee/storage';
import { keyForSecretName, MAX_SECRET_NAME_LENGTH, secretNameForKey } from './secretName.ts';

const KEY_VAULT_NAME = /^[0-9A-Za-z-]{1,127}$/;
const SEGMENT_START = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';
const SEGMENT_REST = `${SEGMENT_START}.`;

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(random: () => number, alphabet: string): string {
  return alphabet[Math.floor(random() * alphabet.length)] ?? 'a';
}

/** A resource path `repo/type/tag` with KBS-valid segments of 1-12 characters. */
function randomPath(random: () => number): string {
  const segment = (): string => {
    let text = pick(random, SEGMENT_START);
    const length = Math.floor(random() * 12);
    for (let index = 0; index < length; index += 1) text += pick(random, SEGMENT_REST);
    return text;
  };
  return `${segment()}/${segment()}/${segment()}`;
}

/** The same path with the case of random letters flipped. */
function flipCase(random: () => number, path: string): string {
  return [...path].map((character) => (random() < 0.5 ? character : character === character.toLowerCase() ? character.toUpperCase() : character.toLowerCase())).join('');
}

describe('secretNameForKey / keyForSecretName', () => {
  test.each([
    ['default/akv/coco_one', 'default--akv--coco-5fone'],
    ['default/key/id_rsa.pub', 'default--key--id-5frsa-2epub'],
    ['a-b/c/d', 'a-2db--c--d'],
    ['Default/AKV/x', '-44efault---41-4b-56--x'],
    ['repo/type/tag', 'repo--type--tag'],
  ])('%s ↔ %s', (key, name) => {
    expect(secretNameForKey(key)).toBe(name);
    expect(keyForSecretName(name)).toBe(key);
    // Key Vault may hand the name back in another case.
    expect(keyForSecretName(name.toUpperCase())).toBe(key);
  });

  test('random paths and their case variants: valid names, all distinct even case-insensitively, decode back exactly', () => {
    const random = prng(0x5eed);
    const seen = new Map<string, string>();
    for (let round = 0; round < 2000; round += 1) {
      const path = randomPath(random);
      for (const key of [path, flipCase(random, path), path.toUpperCase(), path.toLowerCase()]) {
        const name = secretNameForKey(key, 'kbs-');
        expect(name).toMatch(KEY_VAULT_NAME);
        expect(keyForSecretName(name, 'kbs-')).toBe(key);
        const folded = name.toLowerCase();
        const previous = seen.get(folded);
        if (previous !== undefined) expect(previous).toBe(key);
        seen.set(folded, key);
      }
    }
    expect(seen.size).toBeGreaterThan(4000);
  });

  test('prefix: matched case-insensitively, names without it are not ours', () => {
    const name = secretNameForKey('r/t/x', 'Trustee-');
    expect(name).toBe('trustee-r--t--x');
    expect(keyForSecretName('TRUSTEE-r--t--x', 'trustee-')).toBe('r/t/x');
    expect(keyForSecretName('other-r--t--x', 'trustee-')).toBeUndefined();
    expect(keyForSecretName('trustee-', 'trustee-')).toBeUndefined();
  });

  test.each([
    ['-', 'dangling escape'],
    ['a-2', 'short escape'],
    ['a-zz', 'not hex'],
    ['a-61', 'escaped pass-through letter (a) — not canonical'],
    ['a-30', 'escaped digit — not canonical'],
    ['a-2f', 'escaped "/" — not canonical'],
    ['a-20', 'escaped character outside the key alphabet'],
    ['a-00', 'escaped NUL'],
  ])('%s decodes to nothing (%s)', (name) => {
    expect(keyForSecretName(name)).toBeUndefined();
  });

  test('a path whose name would exceed 127 characters is refused with a clear error', () => {
    const fits = `r/t/${'x'.repeat(MAX_SECRET_NAME_LENGTH - 'r--t--'.length)}`;
    expect(secretNameForKey(fits)).toHaveLength(MAX_SECRET_NAME_LENGTH);
    const tooLong = `${fits}y`;
    expect(() => secretNameForKey(tooLong)).toThrow(StorageError);
    expect(() => secretNameForKey(tooLong)).toThrow(/128 characters \(limit 127\)/);
    // Uppercase costs three characters each.
    expect(() => secretNameForKey(`r/t/${'X'.repeat(41)}`)).toThrow(/limit 127/);
    expect(secretNameForKey(`r/t/${'X'.repeat(40)}`)).toHaveLength(126);
  });

  test.each(['', 'a b', 'a/ü', 'a\\b', 'a%2f', 'a?b'])('key %j is refused as invalid_key', (key) => {
    try {
      secretNameForKey(key);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe('invalid_key');
    }
  });
});
