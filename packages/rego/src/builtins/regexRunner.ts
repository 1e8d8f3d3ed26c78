/**
 * Runs translated RE2 expressions with Go's FindAll semantics. JavaScript regexes backtrack, so
 * a pattern marked `risky` (nested/alternated quantified groups) runs in a worker thread while
 * this thread waits on a SharedArrayBuffer with a deadline: a catastrophic match ends with an
 * error instead of hanging the evaluation (RE2 itself is linear-time and never needs this).
 */
import { Worker } from 'node:worker_threads';
import type { TranslatedRegex } from './re2.ts';

/** [start, end, g1start, g1end, ...] in UTF-16 offsets; -1 for unmatched groups. */
export type MatchIndices = number[];

export class RegexTimeoutError extends Error {}

/**
 * Go's regexp allMatches loop over a JS RegExp with the 'g' and 'd' flags. Self-contained (no
 * closures) because its source text is also shipped to the worker.
 */
function goFindAll(re: RegExp, subject: string, limit: number): number[][] {
  const out: number[][] = [];
  let pos = 0;
  let prevMatchEnd = -1;
  while ((limit < 0 || out.length < limit) && pos <= subject.length) {
    re.lastIndex = pos;
    const m = re.exec(subject) as (RegExpExecArray & { indices?: Array<[number, number] | undefined> }) | null;
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    let accept = true;
    if (end === start) {
      if (start === prevMatchEnd) accept = false;
      const cp = subject.codePointAt(start);
      pos = start + (cp === undefined ? 1 : cp > 0xffff ? 2 : 1);
    } else {
      pos = end;
    }
    prevMatchEnd = end;
    if (accept) {
      const row: number[] = [start, end];
      const indices = m.indices ?? [];
      for (let g = 1; g < m.length; g++) {
        const pair = indices[g];
        if (pair === undefined) row.push(-1, -1);
        else row.push(pair[0], pair[1]);
      }
      out.push(row);
    }
  }
  return out;
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
${goFindAll.toString()}
parentPort.on('message', (msg) => {
  const state = new Int32Array(msg.shared, 0, 2);
  const bytes = new Uint8Array(msg.shared, 8);
  let text;
  try {
    text = JSON.stringify({ ok: goFindAll(new RegExp(msg.source, msg.flags), msg.subject, msg.limit) });
  } catch (error) {
    text = JSON.stringify({ error: String(error && error.message || error) });
  }
  const encoded = new TextEncoder().encode(text);
  if (encoded.length > bytes.length) {
    state[1] = -1;
  } else {
    bytes.set(encoded);
    state[1] = encoded.length;
  }
  Atomics.store(state, 0, 1);
  Atomics.notify(state, 0);
});
`;

const RESULT_BYTES = 8 * 1024 * 1024;
let worker: Worker | undefined;

function getWorker(): Worker {
  if (worker === undefined) {
    worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('error', () => {
      worker = undefined;
    });
  }
  return worker;
}

/** Deadline for one risky match in the worker. */
export const RISKY_REGEX_TIMEOUT_MS = 1000;

function runInWorker(tr: TranslatedRegex, subject: string, limit: number): MatchIndices[] {
  const shared = new SharedArrayBuffer(8 + RESULT_BYTES);
  const state = new Int32Array(shared, 0, 2);
  const w = getWorker();
  w.postMessage({ shared, source: tr.source, flags: `${tr.flags}gd`, subject, limit });
  // Worker start-up is included in the first wait; allow for it once.
  const outcome = Atomics.wait(state, 0, 0, RISKY_REGEX_TIMEOUT_MS * 3);
  if (outcome === 'timed-out') {
    void w.terminate();
    worker = undefined;
    throw new RegexTimeoutError('regular expression evaluation exceeded its time limit (pattern backtracks catastrophically)');
  }
  const length = Atomics.load(state, 1);
  if (length < 0) throw new RegexTimeoutError('regular expression result too large');
  const text = new TextDecoder().decode(new Uint8Array(shared, 8, length));
  const parsed = JSON.parse(text) as { ok?: MatchIndices[]; error?: string };
  if (parsed.error !== undefined) throw new Error(parsed.error);
  return parsed.ok ?? [];
}

/** Longest subject matched inline for a risky pattern; longer ones go to the worker. */
const RISKY_INLINE_LIMIT = 16;

/** All matches (at most `limit`, -1 = all) with group offsets, under Go's semantics. */
export function findAllIndices(tr: TranslatedRegex, subject: string, limit: number): MatchIndices[] {
  if (tr.risky && subject.length > RISKY_INLINE_LIMIT) return runInWorker(tr, subject, limit);
  return goFindAll(new RegExp(tr.source, `${tr.flags}gd`), subject, limit);
}

/** Whether the expression matches anywhere in the subject. */
export function matches(tr: TranslatedRegex, subject: string): boolean {
  return findAllIndices(tr, subject, 1).length > 0;
}
