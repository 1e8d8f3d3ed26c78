import { describe, expect, it } from 'vitest';
import { TrusteeError, errorClassWithCode, errorCodeOf } from './index.ts';

class PlainError extends errorClassWithCode('plain') {}
class CodedError extends TrusteeError<'a' | 'b'> {}
class NarrowerError extends CodedError {}

describe('TrusteeError', () => {
  it('keeps code, message and cause, and names the concrete class', () => {
    const cause = new Error('below');
    const error = new NarrowerError('b', 'it failed', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(TrusteeError);
    expect(error.code).toBe('b');
    expect(error.message).toBe('it failed');
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('NarrowerError');
    expect(String(new PlainError('x'))).toBe('PlainError: x');
  });

  it('errorClassWithCode gives a fixed code and an optional message', () => {
    const error = new PlainError();
    expect(error).toBeInstanceOf(TrusteeError);
    expect(error.code).toBe('plain');
    expect(error.message).toBe('');
    expect(error.name).toBe('PlainError');
  });

  it('errorCodeOf reads only TrusteeError codes', () => {
    expect(errorCodeOf(new PlainError('x'))).toBe('plain');
    expect(errorCodeOf(new Error('x'))).toBeUndefined();
    expect(errorCodeOf({ code: 'ENOENT' })).toBeUndefined();
  });
});
