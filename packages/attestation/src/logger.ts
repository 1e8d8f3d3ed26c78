/** What the attestation core logs through; a pino/fastify logger fits as is. */
export interface AttestationLogger {
  info(message: string): void;
  warn(message: string): void;
}

export const silentLogger: AttestationLogger = { info() {}, warn() {} };
