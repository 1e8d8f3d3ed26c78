import { createHash } from 'node:crypto';
import { parseAmdCertificate, type AmdCertificate } from './vekCertificate.ts';

/**
 * Parsed certificates keyed by the SHA-256 of their bytes: VCEKs and intermediates repeat across
 * attestations, and parsing X.509 costs more than hashing. Bounded, oldest evicted first.
 */
const cache = new Map<string, AmdCertificate>();
const CACHE_LIMIT = 1024;

export function parseCachedAmdCertificate(input: Uint8Array | string, field: string): AmdCertificate {
  const key = createHash('sha256').update(typeof input === 'string' ? `pem:${input}` : input).digest('hex');
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const parsed = parseAmdCertificate(input, field);
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, parsed);
  return parsed;
}
