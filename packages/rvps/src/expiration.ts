/**
 * Reference-value expiry timestamps in upstream's exact text form `%Y-%m-%dT%H:%M:%SZ`.
 * Upstream zeroes the sub-second part and adds 12 calendar months (chrono `checked_add_months`,
 * which clamps 29 February to 28 February).
 */
const EXPIRATION_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

export function defaultExpiration(now: Date): Date {
  const year = now.getUTCFullYear() + 1;
  const month = now.getUTCMonth();
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(now.getUTCDate(), lastDay);
  return new Date(Date.UTC(year, month, day, now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds()));
}

export function formatExpiration(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Strict parse; `undefined` for anything but the exact format of a real instant. */
export function parseExpiration(text: string): Date | undefined {
  const match = EXPIRATION_PATTERN.exec(text);
  if (match === null) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime()) || formatExpiration(date) !== text) return undefined;
  return date;
}
