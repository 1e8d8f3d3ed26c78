/**
 * The service's log: one JSON line per event on a stream (stderr for the process). Never given
 * tokens, keys or raw evidence; callers log codes, sizes and digests.
 */
export interface AsLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLog: AsLog = { info() {}, warn() {}, error() {} };

const LEVELS = { error: 50, warn: 40, info: 30 } as const;

/** JSON-lines log at `level` and above (`info` | `warn` | `error` | `silent`). */
export function jsonLog(stream: NodeJS.WritableStream, level = 'info'): AsLog {
  const threshold = level === 'silent' ? Number.POSITIVE_INFINITY : (LEVELS[level as keyof typeof LEVELS] ?? LEVELS.info);
  const write = (name: keyof typeof LEVELS) => (message: string) => {
    if (LEVELS[name] >= threshold) stream.write(`${JSON.stringify({ level: name, time: new Date().toISOString(), msg: message })}\n`);
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}
