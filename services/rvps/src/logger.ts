/**
 * Structured log lines (JSON on stderr). Callers pass codes, ids, sizes and digests — never
 * tokens, keys or payloads.
 */
export interface RvpsLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: RvpsLogger = { info() {}, error() {} };

export function jsonLogger(stream: NodeJS.WritableStream = process.stderr): RvpsLogger {
  const write = (level: string, message: string, fields: Record<string, unknown> = {}): void => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
  };
  return { info: (message, fields) => write('info', message, fields), error: (message, fields) => write('error', message, fields) };
}
