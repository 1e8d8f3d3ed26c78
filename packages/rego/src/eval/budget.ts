/**
 * Budget and deadline accounting of one evaluation: steps, work units (see workMeter.ts) and
 * nesting depth. Every overrun is a RegoError: it aborts the whole evaluation (the caller
 * denies); none of them can turn into an undefined expression that `not` would flip.
 */
import { RegoError } from '../errors.ts';
import { WORK_UNITS_PER_MS } from '../workMeter.ts';

/** The clock is read every 16 steps (a step is about a microsecond). */
const CLOCK_CHECK_STEPS = 15;
/** …and every 10,000 work units (about 0.1 ms). */
const CLOCK_CHECK_UNITS = 10_000;

export class Budget {
  private steps = 0;
  private work = 0;
  private nextClockCheck = CLOCK_CHECK_UNITS;
  private depth = 0;
  private readonly deadline: number;

  constructor(
    private readonly maxSteps: number,
    private readonly timeoutMs: number,
    private readonly maxDepth: number,
  ) {
    this.deadline = Date.now() + timeoutMs;
  }

  /** One evaluation step. */
  step(): void {
    if (++this.steps > this.maxSteps) throw new RegoError('eval_budget_exceeded', `evaluation exceeded ${this.maxSteps} steps`);
    if ((this.steps & CLOCK_CHECK_STEPS) === 0) this.checkClock(0);
  }

  /**
   * Charges `units` of work (see workMeter.ts) that a builtin or value traversal is about to do.
   * The clock is read every CLOCK_CHECK_UNITS units and for every large charge, and the charge
   * is refused when the work it announces cannot finish before the deadline: a single expensive
   * operation never starts when it would run past the budget.
   */
  charge(units: number): void {
    if (!(units > 0)) return;
    this.work += units;
    if (this.work >= this.nextClockCheck || units >= CLOCK_CHECK_UNITS) {
      this.nextClockCheck = this.work + CLOCK_CHECK_UNITS;
      this.checkClock(units);
    }
  }

  /** Throws when the deadline has passed or `upcomingUnits` of work would pass it. */
  checkClock(upcomingUnits: number): void {
    const now = Date.now();
    if (now > this.deadline) throw new RegoError('eval_budget_exceeded', `evaluation exceeded ${this.timeoutMs} ms`);
    if (now + upcomingUnits / WORK_UNITS_PER_MS > this.deadline) {
      throw new RegoError('eval_budget_exceeded', `evaluation would exceed ${this.timeoutMs} ms (an operation of ${Math.ceil(upcomingUnits / WORK_UNITS_PER_MS)} ms estimated)`);
    }
  }

  /** Milliseconds left before the deadline (0 when passed). */
  remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  /** Enters a rule or function evaluation (the caller calls leave() when done). */
  enter(): void {
    if (++this.depth > this.maxDepth) throw new RegoError('eval_budget_exceeded', `evaluation exceeded maximum depth ${this.maxDepth}`);
  }

  leave(): void {
    this.depth--;
  }
}
