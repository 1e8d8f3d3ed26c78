/**
 * `pnpm build`: compiles the production code of every workspace package and service to
 * JavaScript, one TypeScript program for all of them (settings from tsconfig.build.json; it
 * transpiles without a type check, which is `pnpm typecheck`'s job). `<dir>/src/x.ts` becomes `<dir>/dist/x.js`, so paths relative to a module
 * (packages/grpc's `../proto/`) resolve the same from src and dist. Relative `.ts` imports are
 * rewritten to `.js`; `@trustee/*` imports stay bare and resolve through each package.json
 * `exports` map, whose `trustee-compiled` condition names the dist entry:
 *
 *   node --conditions=trustee-compiled services/kbs/dist/main.js --config-file kbs.toml
 *
 * Files a module reads at run time from beside itself (the default .rego policies) are copied
 * from src to dist as they are. Every dist directory is emptied first, so a deleted source never leaves a stale module behind.
 * It fails when the program has errors, or when production code pulls in a test-only module.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const started = process.hrtime.bigint();

function fail(message: string): never {
  console.error(`build: ${message}`);
  process.exit(1);
}

const configPath = join(root, 'tsconfig.build.json');
const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
if (config.error !== undefined) fail(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath);
const outDir = parsed.options.outDir;
if (outDir === undefined) fail('tsconfig.build.json sets no outDir');

const format: ts.FormatDiagnosticsHost = { getCanonicalFileName: (name) => name, getCurrentDirectory: () => root, getNewLine: () => '\n' };
const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences ?? [] });

/** `packages/x/src/a/b.ts` (relative to the root) → `packages/x`; undefined outside a workspace src tree. */
function workspaceDirOf(relativePath: string): string | undefined {
  const parts = relativePath.split(sep);
  return (parts[0] === 'packages' || parts[0] === 'services') && parts[2] === 'src' ? join(parts[0], parts[1] ?? '') : undefined;
}

const testOnly = program
  .getSourceFiles()
  .map((file) => relative(root, file.fileName))
  .filter((path) => !path.startsWith(`node_modules${sep}`) && !path.includes(`${sep}node_modules${sep}`))
  .filter((path) => /\.test\.ts$/.test(path) || path.split(sep).includes('testing') || path.split(sep).includes('fixtures'));
if (testOnly.length > 0) fail(`production code imports test-only modules: ${testOnly.join(', ')}`);

const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...program.getSyntacticDiagnostics()];
if (diagnostics.length > 0) fail(`\n${ts.formatDiagnosticsWithColorAndContext(diagnostics, format)}`);

const workspaceDirs = new Set(parsed.fileNames.map((file) => workspaceDirOf(relative(root, file))).filter((dir) => dir !== undefined));
for (const dir of workspaceDirs) rmSync(join(root, dir, 'dist'), { recursive: true, force: true });

let files = 0;
const emitted = program.emit(undefined, (fileName, text) => {
  // outDir mirrors the root: .build/packages/x/src/a.js → packages/x/dist/a.js
  const mirrored = relative(outDir, fileName);
  const dir = workspaceDirOf(mirrored);
  if (dir === undefined) fail(`emitted ${mirrored} outside packages/*/src and services/*/src`);
  const target = join(root, dir, 'dist', relative(join(dir, 'src'), mirrored));
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  files++;
});
if (emitted.emitSkipped || emitted.diagnostics.length > 0) fail(`emit failed\n${ts.formatDiagnostics(emitted.diagnostics, format)}`);

// Run-time assets: every non-TypeScript file of a src tree (test-only directories excepted).
let assets = 0;
for (const dir of workspaceDirs) {
  for (const entry of readdirSync(join(root, dir, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
    const source = join(entry.parentPath, entry.name);
    const inside = relative(join(root, dir, 'src'), source);
    if (inside.split(sep).some((part) => part === 'testing' || part === 'fixtures')) continue;
    const target = join(root, dir, 'dist', inside);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
    assets++;
  }
}

// Each compiled library must be reachable by plain node: its exports map names the dist entry.
for (const dir of workspaceDirs) {
  if (!existsSync(join(root, dir, 'src/index.ts'))) continue;
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { name?: string; exports?: Record<string, unknown> };
  const main = manifest.exports?.['.'];
  const compiled = typeof main === 'object' && main !== null ? (main as Record<string, unknown>)['trustee-compiled'] : undefined;
  if (compiled !== './dist/index.js') fail(`${dir}/package.json: exports["."] needs "trustee-compiled": "./dist/index.js" (first) beside "default": "./src/index.ts"`);
  // Subpath entries (`@trustee/attestation/config`): the compiled twin of each source entry, emitted.
  for (const [subpath, entry] of Object.entries(manifest.exports ?? {})) {
    if (subpath === '.' || typeof entry !== 'object' || entry === null) continue;
    const { 'trustee-compiled': target, default: source } = entry as Record<string, unknown>;
    const expected = typeof source === 'string' ? source.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '.js') : undefined;
    if (target !== expected || !existsSync(join(root, dir, String(target)))) {
      fail(`${dir}/package.json: exports["${subpath}"] needs "trustee-compiled": "${String(expected)}" (emitted) beside "default": "${String(source)}"`);
    }
  }
}

const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
console.log(`build: ${files} modules and ${assets} assets in ${workspaceDirs.size} packages/services compiled in ${ms} ms`);
