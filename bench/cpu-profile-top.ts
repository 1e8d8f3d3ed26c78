/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, e.g. from `KBS_BENCH_PROFILE_DIR=<dir>
 * pnpm bench:kbs`): the functions with the most self time, and the most inclusive time of
 * functions under the repository's own sources, over all `.cpuprofile` files given (one per
 * KBS process/worker).
 *
 *   pnpm exec tsx bench/cpu-profile-top.ts <file-or-dir>... [--top 25] [--skip-seconds 0]
 *
 * `--skip-seconds N` leaves out each profile's first N seconds (start-up and module loading).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number): { value: number; index: number } => {
  const index = args.indexOf(name);
  return { value: index < 0 ? fallback : Number(args[index + 1]), index };
};
const { value: top, index: topIndex } = option('--top', 25);
// Samples in the first N seconds of each profile (process start-up, module loading) are left out.
const { value: skipSeconds, index: skipIndex } = option('--skip-seconds', 0);
const optionIndexes = new Set([topIndex, topIndex + 1, skipIndex, skipIndex + 1].filter((index) => index >= 0));
const inputs = args.filter((_arg, index) => !optionIndexes.has(index));
if (inputs.length === 0) {
  console.error('usage: cpu-profile-top.ts <file-or-dir>... [--top N]');
  process.exit(2);
}
const root = resolve(import.meta.dirname, '..');

const files = inputs.flatMap((input) =>
  statSync(input).isDirectory()
    ? readdirSync(input)
        .filter((name) => name.endsWith('.cpuprofile'))
        .map((name) => join(input, name))
    : [input],
);

function label(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const path = frame.url.replace(/^file:\/\//, '');
  const shown = path.startsWith(root) ? relative(root, path) : path.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '');
  return `${name} ${shown}:${frame.lineNumber + 1}`;
}

/** Where a frame's code lives: a package under node_modules, a repository file, or node itself. */
function place(frame: CallFrame): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const path = frame.url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
  if (pkg !== undefined) return `npm:${pkg}`;
  if (path.startsWith('node:')) return 'node internals';
  return path.startsWith(root) ? relative(root, path) : path;
}

const self = new Map<string, number>();
const byPlace = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  let elapsed = 0;
  profile.samples.forEach((id, index) => {
    const micros = profile.timeDeltas[index] ?? 0;
    elapsed += micros;
    if (elapsed < skipSeconds * 1e6) return;
    const node = byId.get(id);
    if (node === undefined) return;
    if (node.callFrame.functionName === '(idle)') {
      idle += micros;
      return;
    }
    total += micros;
    const own = label(node.callFrame);
    self.set(own, (self.get(own) ?? 0) + micros);
    const where = place(node.callFrame);
    byPlace.set(where, (byPlace.get(where) ?? 0) + micros);
    // Inclusive time per function of our own sources, counted once per sample.
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current)?.callFrame;
      if (frame === undefined || !frame.url.includes(root) || frame.url.includes('node_modules')) continue;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
    }
  });
}

const pct = (micros: number): string => `${((100 * micros) / Math.max(1, total)).toFixed(1).padStart(5)}%`;
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle`);
console.log(`\ntop ${top} by self time:`);
for (const [name, micros] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(micros)}  ${name}`);
console.log(`\nself time by package / file:`);
for (const [name, micros] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(micros)}  ${name}`);
console.log(`\ntop ${top} of the repository's functions by inclusive time:`);
for (const [name, micros] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(micros)}  ${name}`);
