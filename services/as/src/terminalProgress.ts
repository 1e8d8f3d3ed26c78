/**
 * Progress of `as collateral export|import` on a terminal: one line rewritten in place with
 * items done/total and the current item, then a summary naming every failed item. When stdout is
 * not a TTY (scripts, pipes, CI logs) nothing is drawn; failures are still named on stderr.
 */
import type { CollateralProgress } from '@trustee/verifiers';

export interface TerminalProgress extends CollateralProgress {
  /** Ends the progress line and names the failed items on `stderr`; returns the failures. */
  finish(): string[];
}

interface Streams {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
  readonly stderr: NodeJS.WritableStream;
}

/** At most this many redraws per second, so thousands of small items do not flood the terminal. */
const REDRAW_INTERVAL_MS = 50;

export function terminalProgress(io: Streams, label: string, clock: () => number = Date.now): TerminalProgress {
  const tty = io.stdout.isTTY === true;
  const failures: string[] = [];
  let total = 0;
  let done = 0;
  let lastDraw = 0;
  let drawn = false;

  const draw = (current: string, force: boolean): void => {
    if (!tty) return;
    const now = clock();
    if (!force && now - lastDraw < REDRAW_INTERVAL_MS) return;
    lastDraw = now;
    const width = Math.max(20, (io.stdout.columns ?? 80) - 1);
    const failed = failures.length === 0 ? '' : `, ${failures.length} failed`;
    const line = `${label} ${done}/${total}${failed} ${current}`;
    io.stdout.write(`\r\x1b[K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    drawn = true;
  };

  return {
    total(count) {
      total += count;
      draw('', false);
    },
    item(name, failure) {
      done += 1;
      if (failure !== undefined) failures.push(`${name}: ${failure}`);
      draw(name, done === total);
    },
    finish() {
      if (drawn) io.stdout.write(`\r\x1b[K${label} ${done}/${total} done${failures.length === 0 ? '' : `, ${failures.length} failed`}\n`);
      for (const failure of failures) io.stderr.write(`failed: ${failure}\n`);
      return failures;
    },
  };
}
