/**
 * Work accounting for code that runs inside an evaluation but has no evaluation context: value
 * traversals (canonical keys, JSON text, comparisons) charge the running evaluation through
 * `meter`, so a value built by sharing (`a1 := [a0, a0]`, doubled 30 times) cannot be serialised
 * or hashed past the evaluation's deadline. Evaluation is synchronous, so one slot is enough;
 * a nested evaluation (a host function evaluating another policy) saves and restores it.
 *
 * One work unit is about 10 ns of single-threaded work (WORK_UNITS_PER_MS): charges are
 * predictions of cost, checked against the time left before the work is done.
 */

export const WORK_UNITS_PER_MS = 100_000;

type Charge = (units: number) => void;

let active: Charge | undefined;

/** Charges `units` to the running evaluation, if any (throws when its budget is spent). */
export function meter(units: number): void {
  if (active !== undefined) active(units);
}

/** Runs `body` with `charge` as the running evaluation's meter. */
export function metered<T>(charge: Charge, body: () => T): T {
  const previous = active;
  active = charge;
  try {
    return body();
  } finally {
    active = previous;
  }
}
