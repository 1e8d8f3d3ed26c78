/**
 * Invariant: every overlay render passes Kubernetes' API schemas, and a misspelled field, a
 * misplaced one or a wrong type in a render fails the check (instead of a cluster apply).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkAgainstK8sSchemas, type RenderedObject } from './k8sSchemas.ts';

const root = join(import.meta.dirname, '../..');

function render(overlay: string): RenderedObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(root, 'deploy/overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(text).map((document) => ({ source: overlay, object: document.toJS() as Record<string, unknown> }));
}

type Json = Record<string, unknown>;
const at = (value: unknown, ...path: Array<string | number>): Json => path.reduce<Json>((node, key) => (node as Record<string | number, Json>)[key] as Json, value as Json);

describe.skipIf(execFileSync('sh', ['-c', 'command -v kubectl || true'], { encoding: 'utf8' }).trim() === '')('Kubernetes API schema check of the overlays (kubectl kustomize)', () => {
  const overlays = readdirSync(join(root, 'deploy/overlays'));

  it('accepts every overlay as rendered', async () => {
    const report = await checkAgainstK8sSchemas(overlays.flatMap(render));
    expect(report.problems).toEqual([]);
    expect(report.unchecked.every((kind) => !kind.startsWith('v1 ') && !kind.startsWith('apps/'))).toBe(true);
  });

  it('refuses a misspelled field, a field in the wrong place and a wrong type, naming the object', async () => {
    // TypeScript reports the first unknown field of each object: one change per Deployment.
    const objects = render('microservices');
    const named = (kind: string, name: string): Json | undefined => objects.find((entry) => entry.object['kind'] === kind && at(entry.object, 'metadata')['name'] === name)?.object;
    const deployment = named('Deployment', 'kbs');
    const service = named('Service', 'kbs');
    expect(deployment).toBeDefined();
    const container = at(deployment, 'spec', 'template', 'spec', 'containers', 0);
    const securityContext = at(container, 'securityContext');
    securityContext['readOnlyRootFilesytem'] = securityContext['readOnlyRootFilesystem'];
    delete securityContext['readOnlyRootFilesystem'];
    at(named('Deployment', 'as'), 'spec', 'template', 'spec')['readOnlyRootFilesystem'] = true;
    at(service, 'spec')['ports'] = [{ port: '8080x', targetPort: 'http' }];
    const report = await checkAgainstK8sSchemas(objects);
    const text = report.problems.join('\n');
    expect(text).toMatch(/microservices: Deployment kbs: .*'"readOnlyRootFilesytem"' does not exist in type/);
    expect(text).toMatch(/microservices: Deployment as: .*'"readOnlyRootFilesystem"' does not exist in type 'I[A-Za-z]*PodSpec'/);
    expect(text).toMatch(/microservices: Service kbs: .*ports\/0\/port must be integer/);
  });
});
