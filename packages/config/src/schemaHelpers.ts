import type { z } from 'zod';

/** The CLI flag every service accepts to downgrade unknown config keys to warnings. */
export const ALLOW_UNKNOWN_CONFIG_FLAG = '--allow-unknown-config';

/**
 * Reports a problem from inside a zod `.transform()` / `.superRefine()`: `path` is relative to
 * the value being checked (`[]` for the value itself), the message is final.
 *
 * @example .superRefine((v, ctx) => { if (v.min > v.max) fail(ctx, ['tls_min_version'], 'above tls_max_version'); })
 */
export function fail(ctx: { addIssue: (issue: z.core.$ZodRawIssue | z.core.$ZodIssueCustom | string) => void } | z.RefinementCtx, path: readonly PropertyKey[], message: string): void {
  (ctx as z.RefinementCtx).addIssue({ code: 'custom', path: [...path] as PropertyKey[], message });
}
