/**
 * Invariant: a caller's request id is taken only when it is 1-128 printable ASCII characters
 * without spaces, the one rule of the AS's REST and gRPC servers and the RVPS's gRPC server.
 */
import { describe, expect, test } from 'vitest';
import { MAX_REQUEST_ID_LENGTH, usableRequestId } from './requestId.ts';

describe('usableRequestId', () => {
  test.each(['kbs7f3a-1c', '0f5c3a1e-2b7d-4c9a-8e6f-1a2b3c4d5e6f', '!~', 'k'.repeat(MAX_REQUEST_ID_LENGTH)])('%s is taken', (id) => {
    expect(usableRequestId(id)).toBe(id);
  });

  test.each<[string, unknown]>([
    ['missing', undefined],
    ['empty', ''],
    ['too long', 'k'.repeat(MAX_REQUEST_ID_LENGTH + 1)],
    ['with a space', 'two words'],
    ['with a newline', 'a\nb'],
    ['non-ASCII', 'caf\u00e9'],
    ['a repeated header (array)', ['a', 'b']],
  ])('%s is refused', (_name, value) => {
    expect(usableRequestId(value)).toBeUndefined();
  });
});
