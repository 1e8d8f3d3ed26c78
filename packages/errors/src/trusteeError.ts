/**
 * The one error base of trustee-ts. Every error class in the repository extends TrusteeError,
 * so every failure carries a stable, machine-readable `code` beside its human message, and a
 * service maps codes to wire statuses through one table (`ErrorStatusTable`) instead of
 * `instanceof` chains. Codes are part of each package's contract: renaming one is a breaking
 * change. `name` is the concrete class's name, so stack traces and logs say which class threw.
 */
// eslint-disable-next-line no-restricted-syntax -- the one class that extends Error itself
export abstract class TrusteeError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * The base of an error class that always has one code and takes only a message:
 *
 *   class UsageError extends errorClassWithCode('usage') {}
 *   throw new UsageError('--tee needs a value'); // code 'usage', name 'UsageError'
 */
export function errorClassWithCode<Code extends string>(code: Code) {
  return class extends TrusteeError<Code> {
    constructor(message = '', options?: { cause?: unknown }) {
      super(code, message, options);
    }
  };
}

/**
 * A command line the program cannot run (unknown flag, missing value): the one class every CLI
 * of the repository throws for it, so each `main` tells usage from failure the same way.
 */
export class UsageError extends errorClassWithCode('usage') {}

/** The wire statuses of one error code: HTTP always, gRPC for services that speak it. */
export interface ErrorStatus {
  readonly http: number;
  readonly grpc?: number;
}

/**
 * A service's table from every one of its codes to its statuses. `Record` over the code union
 * makes it exhaustive: a new code without statuses does not compile.
 */
export type ErrorStatusTable<Code extends string, Status extends ErrorStatus = ErrorStatus> = Readonly<Record<Code, Status>>;

/** The code of any thrown value: a TrusteeError's own, or undefined for anything else. */
export function errorCodeOf(error: unknown): string | undefined {
  return error instanceof TrusteeError ? error.code : undefined;
}
