/**
 * Rendered Kubernetes objects against Kubernetes' own API schemas, as kubernetes-models ships
 * them (generated from the Kubernetes OpenAPI document), in two passes:
 *   1. the library's validator (`new Model(object).validate()`): types, enums, formats, required
 *      fields;
 *   2. the library's TypeScript interfaces, with TypeScript's excess-property check: that
 *      validator accepts fields the API does not know (its schemas allow additional
 *      properties), which is exactly how a misspelled field (`readOnlyRootFilesytem`) slips
 *      through to a cluster apply, where the API server drops or refuses it.
 * Objects of kinds the library has no model for (CRDs such as SecretProviderClass) are listed,
 * not failed. Used by checkManifests.ts for every overlay render.
 */
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';

export interface RenderedObject {
  /** Where it came from, e.g. the overlay name. */
  readonly source: string;
  readonly object: Record<string, unknown>;
}

export interface SchemaReport {
  readonly problems: string[];
  /** `apiVersion kind` of objects without a schema in the library. */
  readonly unchecked: string[];
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');

/** `apps/v1` + `Deployment` → `kubernetes-models/apps/v1/Deployment`; core `v1` → `kubernetes-models/v1/...`. */
function modelModule(apiVersion: string, kind: string): string | undefined {
  if (!/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

function describe(object: Record<string, unknown>): string {
  const metadata = object['metadata'];
  const name = typeof metadata === 'object' && metadata !== null ? String((metadata as Record<string, unknown>)['name'] ?? '?') : '?';
  return `${String(object['kind'])} ${name}`;
}

export async function checkAgainstK8sSchemas(objects: readonly RenderedObject[]): Promise<SchemaReport> {
  const problems: string[] = [];
  const unchecked = new Set<string>();
  const typed: Array<{ entry: RenderedObject; module: string; kind: string }> = [];

  for (const entry of objects) {
    const apiVersion = String(entry.object['apiVersion'] ?? '');
    const kind = String(entry.object['kind'] ?? '');
    const module = modelModule(apiVersion, kind);
    let Model: ModelClass | undefined;
    if (module !== undefined) {
      try {
        Model = ((await import(module)) as Record<string, ModelClass | undefined>)[kind];
      } catch {
        Model = undefined;
      }
    }
    if (module === undefined || Model === undefined) {
      unchecked.add(`${apiVersion} ${kind}`);
      continue;
    }
    try {
      new Model(entry.object).validate();
    } catch (error) {
      problems.push(`${entry.source}: ${describe(entry.object)}: ${(error as Error).message.replace(/\s+/g, ' ').trim()}`);
    }
    typed.push({ entry, module, kind });
  }

  // Pass 2: each object as a typed literal; line ranges map diagnostics back to objects.
  const fileName = join(root, 'deploy/checks/.rendered-objects.ts');
  const lines: string[] = [];
  const ranges: Array<{ from: number; to: number; entry: RenderedObject }> = [];
  typed.forEach(({ entry, module, kind }, index) => {
    lines.push(`import type { I${kind} as T${index} } from ${JSON.stringify(module)};`);
    const literal = JSON.stringify(entry.object, null, 2).split('\n');
    const from = lines.length;
    lines.push(`export const o${index}: T${index} = ${literal[0] ?? ''}`, ...literal.slice(1));
    lines[lines.length - 1] += ';';
    ranges.push({ from, to: lines.length, entry });
  });
  const text = lines.join('\n');
  const sourceLines = text.split('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = ((exists) => (path: string) => path === fileName || exists(path))(host.fileExists.bind(host));
  host.readFile = (path) => (path === fileName ? text : readFile(path));
  host.getSourceFile = (path, language, onError, create) =>
    path === fileName ? ts.createSourceFile(path, text, language, true) : getSourceFile(path, language, onError, create);
  const program = ts.createProgram({ rootNames: [fileName], options, host });
  for (const diagnostic of [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()]) {
    if (diagnostic.file?.fileName !== fileName || diagnostic.start === undefined) {
      problems.push(`schema check: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`);
      continue;
    }
    const line = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line;
    const owner = ranges.find((range) => line >= range.from && line < range.to);
    const where = owner === undefined ? 'rendered objects' : `${owner.entry.source}: ${describe(owner.entry.object)}`;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ').split(' Object literal')[0]?.split('\n')[0] ?? '';
    problems.push(`${where}: ${message} (at: ${sourceLines[line]?.trim() ?? '?'})`);
  }
  return { problems, unchecked: [...unchecked].sort() };
}
