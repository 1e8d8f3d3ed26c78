/**
 * How a service process stops: on SIGTERM or SIGINT it logs the signal (when `announce`),
 * closes once (listeners, then stores) and exits 0, or 1 when closing failed; a second signal
 * while closing exits 1 at once. Returns the stop function for other reasons to stop (a
 * cluster worker whose primary is gone).
 */
import type { Logger } from '@trustee/log';

export function stopOnSignals(log: Logger, close: () => Promise<void>, options: { readonly announce?: boolean } = {}): (reason: string) => void {
  let closing = false;
  const stop = (reason: string): void => {
    if (closing) process.exit(1);
    closing = true;
    if (options.announce !== false) log.info(`${reason} received, shutting down`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error(`error during shutdown: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return stop;
}
