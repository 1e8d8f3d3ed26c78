/**
 * crypto.md5/sha1/sha256 and crypto.hmac.* (hex digests of the UTF-8 string), plus
 * crypto.hmac.equal in constant time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { BuiltinDefinition } from '../builtinContract.ts';
import type { Value } from '../value.ts';
import { stringArg } from './args.ts';

/** Hashing costs a few nanoseconds a byte (plus UTF-8 encoding): charged before it starts. */
const HASH_UNITS_PER_CHAR = 1;

const digest = (name: string, algorithm: string): BuiltinDefinition => ({
  name, arity: 1,
  impl: ([s], ctx) => {
    const text = stringArg(ctx.name, s as Value, 1);
    ctx.charge(text.length * HASH_UNITS_PER_CHAR);
    return createHash(algorithm).update(text, 'utf8').digest('hex');
  },
});

const hmac = (name: string, algorithm: string): BuiltinDefinition => ({
  name, arity: 2,
  impl: ([m, k], ctx) => {
    const message = stringArg(ctx.name, m as Value, 1);
    const key = stringArg(ctx.name, k as Value, 2);
    ctx.charge((message.length + key.length) * HASH_UNITS_PER_CHAR);
    return createHmac(algorithm, Buffer.from(key, 'utf8')).update(message, 'utf8').digest('hex');
  },
});

export const cryptoBuiltins: BuiltinDefinition[] = [
  digest('crypto.md5', 'md5'),
  digest('crypto.sha1', 'sha1'),
  digest('crypto.sha256', 'sha256'),
  hmac('crypto.hmac.md5', 'md5'),
  hmac('crypto.hmac.sha1', 'sha1'),
  hmac('crypto.hmac.sha256', 'sha256'),
  hmac('crypto.hmac.sha512', 'sha512'),
  {
    name: 'crypto.hmac.equal', arity: 2,
    impl: ([a, b], ctx) => {
      const x = Buffer.from(stringArg(ctx.name, a as Value, 1), 'utf8');
      const y = Buffer.from(stringArg(ctx.name, b as Value, 2), 'utf8');
      // Compare equal-length buffers so timing does not reveal the first differing byte.
      const length = Math.max(x.length, y.length, 1);
      const padX = Buffer.alloc(length);
      const padY = Buffer.alloc(length);
      x.copy(padX);
      y.copy(padY);
      return timingSafeEqual(padX, padY) && x.length === y.length;
    },
  },
];
