/**
 * Offline checks of the rendered kustomize overlays and of the compose wiring, run by
 * scripts/validate-deploy.sh after `kubectl kustomize` and `docker-compose config -q` succeeded:
 *
 *   tsx deploy/checks/checkManifests.ts --compose docker-compose.yml OVERLAY=rendered.yaml...
 *
 * What a render alone does not catch, and a cluster would only show at run time:
 * - hardening: every Deployment runs non-root with a read-only root filesystem, no privilege
 *   escalation, all capabilities dropped, CPU/memory limits, liveness and readiness probes;
 * - configs: each service config parses with the service's own parser (the KBS, AS and RVPS
 *   config modules), and every file it names sits on a volume that provides it: key files on
 *   the Secret that holds that key, databases on a writable volume, never on the read-only root;
 * - least privilege: a Secret is only mounted where the config uses it, no private key is
 *   rendered into a ConfigMap or Secret;
 * - wiring: every Service selects exactly one Deployment and names one of its ports, every
 *   ConfigMap/PVC a pod names exists;
 * - schemas: every rendered object against Kubernetes' own API schemas (k8sSchemas.ts), so a
 *   misspelled or misplaced field fails here instead of at a cluster apply;
 * - images: the one Dockerfile (no `# syntax=`; base image and service as build arguments) runs
 *   the compiled entry point with plain node as a numeric non-root user, each service stage has a
 *   HEALTHCHECK, compose builds every service from it, and every command line (Dockerfile CMD, compose, Deployment args)
 *   is accepted by the service's own argument parser (run with --help appended).
 * Exit 0 when all pass; otherwise every problem is listed and the exit code is 1.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { loadKbsConfig } from '../../services/kbs/src/config.ts';
import { parseAsConfig } from '../../services/as/src/config.ts';
import { loadRvpsConfig } from '../../services/rvps/src/config.ts';
import { checkAgainstK8sSchemas, type RenderedObject } from './k8sSchemas.ts';

/** The Secrets deploy/create-secrets.sh creates (not rendered by kustomize) and their keys. */
const EXTERNAL_SECRETS: Readonly<Record<string, readonly string[]>> = {
  'trustee-admin-auth': ['public.pub'],
  'trustee-token-ca': ['ca-cert.pem'],
  'trustee-token-signer': ['token.key', 'token-cert-chain.pem'],
};

/** What the compose setup service (deploy/compose/setup.sh) publishes into each key volume. */
const COMPOSE_KEY_VOLUMES: Readonly<Record<string, readonly string[]>> = {
  'kbs-keys': ['public.pub', 'ca-cert.pem'],
  'as-keys': ['token.key', 'token-cert-chain.pem', 'public.pub'],
  'rvps-keys': ['public.pub'],
};

type Obj = Record<string, unknown>;

const problems: string[] = [];
const notes: string[] = [];
/** Every rendered object of every overlay, for the Kubernetes API schema pass. */
const rendered: RenderedObject[] = [];
/** Service command lines seen anywhere, checked once each against the service's parser. */
const invocations = new Map<string, { service: 'kbs' | 'as' | 'rvps'; args: string[]; where: string }>();

function recordInvocation(service: 'kbs' | 'as' | 'rvps', args: readonly string[], where: string): void {
  const key = `${service} ${JSON.stringify(args)}`;
  if (!invocations.has(key)) invocations.set(key, { service, args: [...args], where });
}

function fail(where: string, message: string): void {
  problems.push(`${where}: ${message}`);
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown): Obj {
  return isObj(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** One place a process can read or write files. */
interface Mount {
  readonly target: string;
  readonly readOnly: boolean;
  readonly kind: 'secret' | 'configFile' | 'data' | 'tmp' | 'csi' | 'other';
  /** Secret name, PVC name, ConfigMap name, compose volume name. */
  readonly source: string;
  /** Files the volume holds when known (secret keys). */
  readonly files?: readonly string[];
  /** For a single-file mount (subPath / bind of a file): the content. */
  readonly content?: string;
}

/** Files a service config names, by how they are used. */
interface ConfigPaths {
  readonly reads: string[];
  readonly writes: string[];
}

/** Parses a config with its service's parser; `undefined` (with a problem recorded) when rejected. */
async function checkServiceConfig(where: string, configPath: string, content: string, service: 'kbs' | 'as' | 'rvps'): Promise<ConfigPaths | undefined> {
  const paths: ConfigPaths = { reads: [], writes: [] };
  const scratch = mkdtempSync(join(tmpdir(), 'trustee-deploy-check-'));
  const file = join(scratch, basename(configPath));
  writeFileSync(file, content);
  try {
    if (service === 'kbs') {
      const config = await loadKbsConfig(file);
      for (const warning of config.warnings) notes.push(`${where}: ${warning}`);
      paths.reads.push(...config.attestationToken.trustedCertsPaths);
      if (config.admin.mode === 'AuthenticatedAuthorization') {
        for (const provider of config.admin.identityProviders) if (provider.publicKeyUri !== undefined) paths.reads.push(provider.publicKeyUri.replace(/^file:\/\//, ''));
      }
      const attestation = config.attestationService;
      if (attestation.type === 'coco_as_builtin') {
        const signer = attestation.core.tokenBroker.signer;
        if (signer !== undefined) paths.reads.push(signer.keyPath, ...(signer.certPath === undefined ? [] : [signer.certPath]));
      }
      if (attestation.type === 'coco_as_grpc' && attestation.grpc.caCertPath !== undefined) paths.reads.push(attestation.grpc.caCertPath);
      if (config.httpServer.privateKey !== undefined) paths.reads.push(config.httpServer.privateKey);
      if (config.httpServer.certificate !== undefined) paths.reads.push(config.httpServer.certificate);
      if (config.storage.storageType === 'Sqlite') paths.writes.push(dirname(config.storage.sqlite.path));
      if (config.storage.storageType === 'LocalFs') paths.writes.push(config.storage.localFs.dirPath);
    } else if (service === 'as') {
      const config = parseAsConfig(JSON.parse(content) as unknown, { where: basename(configPath) });
      for (const warning of config.warnings) notes.push(`${where}: ${warning}`);
      const signer = config.attestation.tokenBroker.signer;
      if (signer !== undefined) paths.reads.push(signer.keyPath, ...(signer.certPath === undefined ? [] : [signer.certPath]));
      for (const provider of config.admin?.identityProviders ?? []) if (provider.publicKeyUri !== undefined) paths.reads.push(provider.publicKeyUri.replace(/^file:\/\//, ''));
      if (config.admin?.protectPolicies !== true || config.admin.protectRegister !== true) fail(where, 'AS admin.protect_policies / protect_register must be on in deploy configs');
      if (config.storage.storageType === 'Sqlite') paths.writes.push(dirname(config.storage.sqlite.path));
      if (config.storage.storageType === 'LocalFs') paths.writes.push(config.storage.localFs.dirPath);
      if (config.storage.storageType === 'Memory') fail(where, 'AS storage is Memory: policies are lost on restart');
    } else {
      const { config, warnings } = await loadRvpsConfig(file);
      for (const warning of warnings) notes.push(`${where}: ${warning}`);
      if (config.storage.storageType === 'Sqlite') paths.writes.push(dirname(config.storage.sqlite.path));
      if (config.storage.storageType === 'LocalFs') paths.writes.push(config.storage.localFs.dirPath);
      if (config.storage.storageType === 'Memory') fail(where, 'RVPS storage is Memory: reference values are lost on restart');
      for (const provider of config.admin?.identityProviders ?? []) if (provider.publicKeyUri !== undefined) paths.reads.push(provider.publicKeyUri.replace(/^file:\/\//, ''));
      if (config.admin?.protectRegister !== true) fail(where, 'RVPS admin.protect_register must be on in deploy configs');
    }
  } catch (error) {
    fail(where, `${basename(configPath)} is rejected by the ${service} config parser: ${(error as Error).message}`);
    return undefined;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return paths;
}

/** The mount that serves `path` (longest target prefix). */
function mountFor(mounts: readonly Mount[], path: string): Mount | undefined {
  const normal = posix.normalize(path);
  return mounts
    .filter((mount) => normal === mount.target || normal.startsWith(mount.target.endsWith('/') ? mount.target : `${mount.target}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
}

/** Checks the files a config names against the mounts, and that each mounted Secret is used. */
function checkConfigAgainstMounts(where: string, paths: ConfigPaths, mounts: readonly Mount[]): void {
  const usedSecrets = new Set<string>();
  for (const path of paths.reads) {
    const mount = mountFor(mounts, path);
    if (mount === undefined) {
      fail(where, `${path} is on no volume (the image has no such file)`);
      continue;
    }
    if (mount.kind === 'secret') {
      usedSecrets.add(mount.target);
      const file = posix.relative(mount.target, posix.normalize(path));
      if (mount.files !== undefined && !mount.files.includes(file)) fail(where, `${path}: the volume ${mount.source} at ${mount.target} holds ${mount.files.join(', ')}, not ${file}`);
    }
  }
  for (const path of paths.writes) {
    const mount = mountFor(mounts, path);
    if (mount === undefined) fail(where, `${path} must be writable but is on the read-only root filesystem`);
    else if (mount.readOnly || (mount.kind !== 'data' && mount.kind !== 'tmp')) fail(where, `${path} must be writable but ${mount.target} is ${mount.readOnly ? 'read-only' : `a ${mount.kind} volume`}`);
    else if (mount.kind === 'tmp') fail(where, `${path} holds state but ${mount.target} is scratch space (emptyDir/tmpfs)`);
  }
  for (const mount of mounts) {
    if (mount.kind === 'secret' && !usedSecrets.has(mount.target)) fail(where, `mounts ${mount.source} at ${mount.target} but its config uses no file there (least privilege)`);
  }
}

function serviceOf(containerName: string, args: readonly string[]): 'kbs' | 'as' | 'rvps' | undefined {
  const joined = `${containerName} ${args.join(' ')}`;
  if (/rvps/.test(joined)) return 'rvps';
  if (/\bas\b|as-config/.test(joined)) return 'as';
  if (/kbs/.test(joined)) return 'kbs';
  return undefined;
}

function configFlag(args: readonly string[]): string | undefined {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (arg === '--config-file' || arg === '--config' || arg === '-c') return args[index + 1];
    const inline = /^--config(?:-file)?=(.+)$/.exec(arg);
    if (inline !== null) return inline[1];
  }
  return undefined;
}

function matches(selector: Obj, labels: Obj): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
}

async function checkOverlay(name: string, file: string): Promise<void> {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'));
  const resources: Obj[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) fail(name, `YAML error: ${document.errors[0]?.message ?? ''}`);
    const value: unknown = document.toJS();
    if (isObj(value)) resources.push(value);
  }
  for (const object of resources) rendered.push({ source: name, object });
  const byKind = (kind: string): Obj[] => resources.filter((resource) => resource['kind'] === kind);
  const nameOf = (resource: Obj): string => str(obj(resource['metadata'])['name']) ?? '?';
  const configMaps = new Map(byKind('ConfigMap').map((resource) => [nameOf(resource), obj(resource['data'])]));
  const secrets = new Map(byKind('Secret').map((resource) => [nameOf(resource), resource]));
  const claims = new Set(byKind('PersistentVolumeClaim').map(nameOf));
  const deployments = byKind('Deployment');
  if (deployments.length === 0) fail(name, 'renders no Deployment');

  for (const secret of secrets.values()) {
    for (const [key, value] of Object.entries({ ...obj(secret['data']), ...obj(secret['stringData']) })) {
      const text = secret['data'] !== undefined && key in obj(secret['data']) ? Buffer.from(String(value), 'base64').toString('utf8') : String(value);
      if (/PRIVATE KEY/.test(text)) fail(name, `Secret ${nameOf(secret)} renders a private key (${key}): keys must be created out of band (deploy/create-secrets.sh)`);
    }
  }
  for (const [configMap, data] of configMaps) {
    for (const [key, value] of Object.entries(data)) if (/PRIVATE KEY/.test(String(value))) fail(name, `ConfigMap ${configMap} (${key}) contains a private key`);
  }

  for (const deployment of deployments) {
    const where = `${name}: Deployment ${nameOf(deployment)}`;
    const pod = obj(obj(obj(deployment['spec'])['template'])['spec']);
    const podSecurity = obj(pod['securityContext']);
    const volumes = new Map(list(pod['volumes']).map((volume) => [str(obj(volume)['name']) ?? '?', obj(volume)]));
    const containers = list(pod['containers']).map(obj);
    const initContainers = list(pod['initContainers']).map(obj);
    if (containers.length === 0) fail(where, 'has no containers');

    for (const [volumeName, volume] of volumes) {
      const configMap = str(obj(volume['configMap'])['name']);
      if (configMap !== undefined && !configMaps.has(configMap)) fail(where, `volume ${volumeName} names ConfigMap ${configMap}, which is not rendered`);
      const claim = str(obj(volume['persistentVolumeClaim'])['claimName']);
      if (claim !== undefined && !claims.has(claim)) fail(where, `volume ${volumeName} names PVC ${claim}, which is not rendered`);
      const secret = str(obj(volume['secret'])['secretName']);
      if (secret !== undefined && !secrets.has(secret) && EXTERNAL_SECRETS[secret] === undefined) fail(where, `volume ${volumeName} names Secret ${secret}, neither rendered nor created by deploy/create-secrets.sh`);
    }

    for (const container of [...containers, ...initContainers]) {
      const init = initContainers.includes(container);
      const cwhere = `${where} ${init ? 'initContainer' : 'container'} ${str(container['name']) ?? '?'}`;
      const security = obj(container['securityContext']);
      if (podSecurity['runAsNonRoot'] !== true && security['runAsNonRoot'] !== true) fail(cwhere, 'runAsNonRoot is not true');
      const seccomp = str(obj(security['seccompProfile'])['type']) ?? str(obj(podSecurity['seccompProfile'])['type']);
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') fail(cwhere, 'no RuntimeDefault/Localhost seccompProfile (the namespace enforces the restricted Pod Security Standard)');
      if (security['readOnlyRootFilesystem'] !== true) fail(cwhere, 'readOnlyRootFilesystem is not true');
      if (security['allowPrivilegeEscalation'] !== false) fail(cwhere, 'allowPrivilegeEscalation is not false');
      if (!list(obj(security['capabilities'])['drop']).includes('ALL')) fail(cwhere, 'capabilities.drop does not contain ALL');
      const resources = obj(container['resources']);
      for (const key of ['cpu', 'memory']) if (obj(resources['limits'])[key] === undefined) fail(cwhere, `resources.limits.${key} missing`);
      if (obj(resources['requests'])['memory'] === undefined) fail(cwhere, 'resources.requests.memory missing');
      if (!init) for (const probe of ['livenessProbe', 'readinessProbe']) if (!isObj(container[probe])) fail(cwhere, `${probe} missing`);

      const mounts: Mount[] = [];
      for (const raw of list(container['volumeMounts'])) {
        const mount = obj(raw);
        const volumeName = str(mount['name']) ?? '?';
        const target = str(mount['mountPath']) ?? '?';
        const volume = volumes.get(volumeName);
        if (volume === undefined) {
          fail(cwhere, `mounts volume ${volumeName}, which the pod does not define`);
          continue;
        }
        const readOnly = mount['readOnly'] === true;
        const subPath = str(mount['subPath']);
        const secretName = str(obj(volume['secret'])['secretName']);
        const configMapName = str(obj(volume['configMap'])['name']);
        if (secretName !== undefined) {
          const rendered = secrets.get(secretName);
          const files = rendered === undefined ? EXTERNAL_SECRETS[secretName] : Object.keys({ ...obj(rendered['data']), ...obj(rendered['stringData']) });
          mounts.push({ target, readOnly, kind: 'secret', source: `Secret ${secretName}`, ...(files === undefined ? {} : { files }) });
        } else if (configMapName !== undefined) {
          const content = subPath === undefined ? undefined : str(configMaps.get(configMapName)?.[subPath]);
          mounts.push({ target, readOnly, kind: 'configFile', source: `ConfigMap ${configMapName}`, ...(content === undefined ? {} : { content }) });
        } else if (isObj(volume['persistentVolumeClaim'])) mounts.push({ target, readOnly, kind: 'data', source: `PVC ${str(obj(volume['persistentVolumeClaim'])['claimName']) ?? '?'}` });
        else if (isObj(volume['emptyDir'])) mounts.push({ target, readOnly, kind: target === '/tmp' ? 'tmp' : 'data', source: `emptyDir ${volumeName}` });
        else if (isObj(volume['csi'])) mounts.push({ target, readOnly, kind: 'csi', source: `CSI ${volumeName}` });
        else mounts.push({ target, readOnly, kind: 'other', source: volumeName });
      }
      if (init) continue;
      if (!mounts.some((mount) => mount.target === '/tmp' && !mount.readOnly)) fail(cwhere, 'no writable /tmp (the root filesystem is read-only; temporary files go there)');

      const args = [...list(container['command']), ...list(container['args'])].map(String);
      const service = serviceOf(str(container['name']) ?? '', args);
      const configPath = configFlag(args);
      if (service === undefined || configPath === undefined) {
        fail(cwhere, 'cannot tell which service and config file it runs (expected --config-file/--config)');
        continue;
      }
      recordInvocation(service, args, cwhere);
      const configMount = mounts.find((mount) => mount.target === configPath);
      if (configMount?.content === undefined) {
        fail(cwhere, `config ${configPath} is not mounted from a rendered ConfigMap key (subPath)`);
        continue;
      }
      const paths = await checkServiceConfig(cwhere, configPath, configMount.content, service);
      if (paths !== undefined) checkConfigAgainstMounts(cwhere, paths, mounts);
    }
  }

  for (const service of byKind('Service')) {
    const where = `${name}: Service ${nameOf(service)}`;
    const spec = obj(service['spec']);
    const selector = obj(spec['selector']);
    const selected = deployments.filter((deployment) => matches(selector, obj(obj(obj(obj(deployment['spec'])['template'])['metadata'])['labels'])));
    if (selected.length !== 1) {
      fail(where, `selects ${selected.length} Deployments (expected exactly 1)`);
      continue;
    }
    const podSpec = obj(obj(obj(selected[0]?.['spec'])['template'])['spec']);
    const deploymentSelector = obj(obj(obj(selected[0]?.['spec'])['selector'])['matchLabels']);
    if (!matches(deploymentSelector, obj(obj(obj(obj(selected[0]?.['spec'])['template'])['metadata'])['labels']))) fail(where, 'its Deployment selector does not match its own pod labels');
    const ports = list(podSpec['containers']).flatMap((container) => list(obj(container)['ports']).map(obj));
    for (const port of list(spec['ports']).map(obj)) {
      const target = port['targetPort'] ?? port['port'];
      const found = ports.some((candidate) => candidate['name'] === target || candidate['containerPort'] === target);
      if (!found) fail(where, `targetPort ${String(target)} is not a container port of ${nameOf(selected[0] ?? {})}`);
    }
  }
  notes.push(`${name}: ${resources.length} objects, ${deployments.length} Deployments checked`);
}

/** Compose: the same config and volume checks, from the compose file the script validated. */
async function checkCompose(file: string): Promise<void> {
  const root = dirname(resolve(file));
  // `<<: *hardening` merge keys are YAML 1.1, which compose (PyYAML / go-yaml) resolves.
  const compose = obj(parseAllDocuments(readFileSync(file, 'utf8'), { merge: true })[0]?.toJS());
  const services = obj(compose['services']);
  for (const [serviceName, rawService] of Object.entries(services)) {
    const service = obj(rawService);
    const where = `compose: service ${serviceName}`;
    if (serviceName === 'setup') continue;
    // The `ha` profile's stores stand in for the user's managed PostgreSQL/Valkey: third-party
    // images, only in that profile, with a health check the replicas' readiness follows.
    if (serviceName === 'postgres' || serviceName === 'valkey') {
      if (!list(service['profiles']).includes('ha')) fail(where, 'store service outside the ha profile');
      if (!isObj(service['healthcheck'])) fail(where, 'healthcheck missing');
      continue;
    }
    // kbs-ha-1, kbs-ha-2, ...: replicas of the KBS image (profile ha), checked like the KBS.
    const kind = serviceName === 'kbs' || serviceName === 'as' || serviceName === 'rvps' ? serviceName : /^kbs-ha-\d+$/.test(serviceName) ? 'kbs' : undefined;
    if (kind === undefined) {
      fail(where, 'unexpected service');
      continue;
    }
    if (service['read_only'] !== true) fail(where, 'read_only is not true');
    if (!list(service['cap_drop']).includes('ALL')) fail(where, 'cap_drop does not contain ALL');
    if (!list(service['security_opt']).some((option) => /^no-new-privileges/.test(String(option)))) fail(where, 'no-new-privileges missing');
    if (!isObj(service['healthcheck'])) fail(where, 'healthcheck missing');
    const tmpfs = list(service['tmpfs']).map(String);
    const mounts: Mount[] = tmpfs.map((target) => ({ target, readOnly: false, kind: 'tmp', source: 'tmpfs' }));
    if (!tmpfs.includes('/tmp')) fail(where, 'no tmpfs at /tmp');
    for (const raw of list(service['volumes'])) {
      const [source = '', target = '', mode = 'rw'] = String(raw).split(':');
      const readOnly = mode === 'ro';
      if (source.startsWith('.') || source.startsWith('/')) {
        let content: string | undefined;
        try {
          content = readFileSync(resolve(root, source), 'utf8');
        } catch {
          fail(where, `bind source ${source} does not exist`);
        }
        mounts.push({ target, readOnly, kind: 'configFile', source, ...(content === undefined ? {} : { content }) });
      } else if (COMPOSE_KEY_VOLUMES[source] !== undefined) {
        mounts.push({ target, readOnly, kind: 'secret', source: `volume ${source}`, files: COMPOSE_KEY_VOLUMES[source] });
      } else {
        if (!Object.hasOwn(obj(compose['volumes']), source)) fail(where, `named volume ${source} is not declared`);
        mounts.push({ target, readOnly, kind: 'data', source: `volume ${source}` });
      }
    }
    const command = list(service['command']).map(String);
    recordInvocation(kind, command, where);
    const configPath = configFlag(command);
    const configMount = configPath === undefined ? undefined : mounts.find((mount) => mount.target === configPath);
    if (configPath === undefined || configMount?.content === undefined) {
      fail(where, 'config file not bind-mounted from the repository');
      continue;
    }
    const paths = await checkServiceConfig(where, configPath, configMount.content, kind);
    if (paths !== undefined) checkConfigAgainstMounts(where, paths, mounts);
  }
  for (const [source, files] of Object.entries(COMPOSE_KEY_VOLUMES)) {
    const setup = readFileSync(join(root, 'deploy/compose/setup.sh'), 'utf8');
    for (const file of files) if (!new RegExp(`publish ${file.replace('.', '\\.')} /out/${source.replace('-keys', '')} `).test(setup)) fail('compose', `setup.sh does not publish ${file} into ${source}`);
  }
  notes.push('compose: kbs, as, rvps checked');
}

/**
 * Whether .dockerignore excludes `path`: the last pattern that matches decides (`!` re-includes).
 * Patterns match the path itself or a parent directory; a `**` segment matches at any depth.
 */
function dockerIgnored(ignore: string, path: string): boolean {
  let excluded = false;
  for (const raw of ignore.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = negated ? line.slice(1) : line;
    const source = pattern
      .split('/')
      .map((segment) => {
        if (segment === '**') return '(?:.+/)?';
        const escaped = segment.replace(/[.+^$(){}|[\]\\]/g, (character) => `\\${character}`);
        return `${escaped.replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}/`;
      })
      .join('');
    if (new RegExp(`^${source}`).test(`${path}/`)) excluded = !negated;
  }
  return excluded;
}

/** Instructions of a Dockerfile: continuation lines joined, comments dropped. */
function dockerInstructions(text: string): Array<{ op: string; rest: string }> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^(\w+)\s+(.*)$/.exec(line);
      return { op: (match?.[1] ?? '').toUpperCase(), rest: match?.[2] ?? '' };
    });
}

/**
 * Reads the one Dockerfile (the SERVICE build argument picks kbs, as or rvps) the way hadolint
 * would not: against this repository and the compose file.
 */
function checkDockerfile(root: string, composeServices: Obj): void {
  const ignore = existsSync(join(root, '.dockerignore')) ? readFileSync(join(root, '.dockerignore'), 'utf8') : '';
  const where = 'Dockerfile';
  const path = join(root, where);
  if (!existsSync(path)) {
    fail(where, 'missing');
    return;
  }
  const text = readFileSync(path, 'utf8');
  // A `# syntax=` directive makes BuildKit fetch a frontend image from a registry (offline builds fail).
  if (/^#\s*syntax\s*=/im.test(text)) fail(where, 'has a # syntax= directive (BuildKit would pull a frontend image)');
  const instructions = dockerInstructions(text);
  const global = instructions.slice(0, instructions.findIndex((instruction) => instruction.op === 'FROM'));
  if (!global.some((instruction) => instruction.op === 'ARG' && instruction.rest === 'NODE_IMAGE=node:22-slim')) fail(where, 'global ARG NODE_IMAGE=node:22-slim missing (the base image is a build argument)');
  if (!global.some((instruction) => instruction.op === 'ARG' && /^SERVICE(=|$)/.test(instruction.rest))) fail(where, 'global ARG SERVICE missing');
  // Stages by name: FROM <image> AS <name>.
  const stages = new Map<string, Array<{ op: string; rest: string }>>();
  let current: Array<{ op: string; rest: string }> | undefined;
  let last = '';
  for (const instruction of instructions) {
    if (instruction.op === 'FROM') {
      const [image = '', , name = ''] = instruction.rest.split(/\s+/);
      current = [{ op: 'FROM', rest: image }];
      last = name === '' ? `(final ${image})` : name;
      stages.set(last, current);
    } else current?.push(instruction);
  }
  if (stages.get(last)?.[0]?.rest !== '${SERVICE}') fail(where, 'the final stage must be FROM ${SERVICE} (the build argument picks the service stage)');
  const build = stages.get('build') ?? [];
  const runtime = stages.get('runtime') ?? [];
  if (build[0]?.rest !== '${NODE_IMAGE}') fail(where, 'the build stage must start FROM ${NODE_IMAGE}');
  if (runtime[0]?.rest !== '${RUNTIME_IMAGE}') fail(where, 'the runtime stage must start FROM ${RUNTIME_IMAGE}');
  if (!global.some((instruction) => instruction.op === 'ARG' && instruction.rest === 'RUNTIME_IMAGE=debian:bookworm-slim')) fail(where, 'global ARG RUNTIME_IMAGE=debian:bookworm-slim missing (node:22-slim is built on it)');
  if (!build.some((instruction) => instruction.op === 'RUN' && /pnpm build/.test(instruction.rest))) fail(where, 'the build stage does not run pnpm build');
  if (!build.some((instruction) => instruction.op === 'RUN' && instruction.rest.includes('deploy/docker/build-runtime.sh "${SERVICE}" /app'))) fail(where, 'the build stage does not assemble /app with deploy/docker/build-runtime.sh "${SERVICE}"');
  if (!build.some((instruction) => instruction.op === 'ENV' && /COREPACK_INTEGRITY_KEYS=0/.test(instruction.rest))) fail(where, 'COREPACK_INTEGRITY_KEYS=0 missing (the registry serves no signatures; the packageManager hash pin is checked)');
  const user = runtime.filter((instruction) => instruction.op === 'USER').pop()?.rest;
  if (user === undefined || !/^[1-9]\d*(:\d+)?$/.test(user)) fail(where, `runtime USER ${user ?? '(none)'} must be a numeric non-root uid (Kubernetes runAsNonRoot)`);
  if (runtime.some((instruction) => instruction.op === 'RUN' && /apt-get install|g\+\+|python3|pnpm|npm /.test(instruction.rest))) fail(where, 'build tools run in the runtime stage');
  const taken = runtime.filter((instruction) => instruction.op === 'COPY').map((instruction) => instruction.rest);
  if (JSON.stringify(taken) !== JSON.stringify(['--from=build /usr/local/bin/node /usr/local/bin/node', '--from=build /app /app'])) {
    fail(where, 'the runtime stage must take only the node binary and /app (production dependencies + compiled output) from the build stage');
  }
  let entry: string[] = [];
  try {
    entry = JSON.parse(runtime.filter((instruction) => instruction.op === 'ENTRYPOINT').pop()?.rest ?? '[]') as string[];
  } catch {
    fail(where, 'ENTRYPOINT must use the exec (JSON array) form');
  }
  if (JSON.stringify(entry) !== JSON.stringify(['node', '--conditions=trustee-compiled', '/app/service/dist/main.js'])) fail(where, `ENTRYPOINT ${JSON.stringify(entry)} must run the compiled entry point with plain node`);
  for (const service of ['kbs', 'as', 'rvps'] as const) {
    const swhere = `${where} stage ${service}`;
    const stage = stages.get(service);
    if (stage === undefined || stage[0]?.rest !== 'runtime') {
      fail(swhere, 'missing (FROM runtime AS ' + service + ')');
      continue;
    }
    if (!existsSync(join(root, 'services', service, 'src/main.ts'))) fail(swhere, `services/${service}/src/main.ts does not exist`);
    if (!stage.some((instruction) => instruction.op === 'HEALTHCHECK' && /CMD/.test(instruction.rest))) fail(swhere, 'no HEALTHCHECK');
    try {
      recordInvocation(service, JSON.parse(stage.filter((instruction) => instruction.op === 'CMD').pop()?.rest ?? '[]') as string[], `${swhere} CMD`);
    } catch {
      fail(swhere, 'CMD must use the exec (JSON array) form');
    }
    // Every compose service running this image (kbs-ha-* run the KBS image) probes with the
    // image's own health script: a path the image does not have leaves the service unhealthy.
    const probe = /\bCMD\s+(\[.*\])\s*$/.exec(stage.find((instruction) => instruction.op === 'HEALTHCHECK')?.rest ?? '')?.[1];
    let imageProbe: unknown;
    try {
      imageProbe = JSON.parse(probe ?? '[]');
    } catch {
      fail(swhere, 'HEALTHCHECK CMD must use the exec (JSON array) form');
    }
    for (const [composeName, rawService] of Object.entries(composeServices)) {
      if (composeName !== service && !(service === 'kbs' && /^kbs-ha-\d+$/.test(composeName))) continue;
      const test = list(obj(obj(rawService)['healthcheck'])['test']).map(String);
      const script = Array.isArray(imageProbe) ? imageProbe.slice(0, 2).map(String) : [];
      if (test[0] !== 'CMD' || script.length !== 2 || JSON.stringify(test.slice(1, 3)) !== JSON.stringify(script)) {
        fail(`compose: service ${composeName}`, `healthcheck ${JSON.stringify(test)} must run the image's probe ${JSON.stringify(script)} (Dockerfile stage ${service})`);
      }
    }
    const composeService = obj(composeServices[service]);
    const composeBuild = obj(composeService['build']);
    if (obj(composeBuild['args'])['SERVICE'] !== service) fail(`compose: service ${service}`, `build.args.SERVICE must be ${service} (one Dockerfile for all images)`);
    if (composeBuild['dockerfile'] !== undefined && composeBuild['dockerfile'] !== 'Dockerfile') fail(`compose: service ${service}`, 'build.dockerfile must be the root Dockerfile');
  }
  for (const instruction of instructions.filter((candidate) => candidate.op === 'COPY' && !candidate.rest.startsWith('--from'))) {
    for (const source of instruction.rest.split(/\s+/).slice(0, -1)) {
      if (!existsSync(join(root, source))) fail(where, `COPY source ${source} does not exist`);
      // A directory whose contents are excluded except for `!source/...` re-includes is still copied (those files).
      const reincluded = ignore.split('\n').some((line) => line.trim().startsWith(`!${source}/`));
      if (dockerIgnored(ignore, source) && !reincluded) fail(where, `COPY source ${source} is excluded by .dockerignore`);
    }
  }
  const buildRuntime = readFileSync(join(root, 'deploy/docker/build-runtime.sh'), 'utf8');
  if (!/pnpm install[^\n]*--frozen-lockfile/.test(buildRuntime)) fail('deploy/docker/build-runtime.sh', 'every pnpm install must use --frozen-lockfile');
  for (const pattern of ['node_modules', '.git', 'data', '**/*.test.ts']) {
    if (!ignore.split('\n').some((line) => line.trim() === pattern || line.trim() === `**/${pattern}`)) fail('.dockerignore', `does not exclude ${pattern}`);
  }
}

/** Every command line must pass the service's own strict argument parser (checked in parallel). */
async function checkInvocations(root: string): Promise<void> {
  const run = promisify(execFile);
  await Promise.all(
    [...invocations.values()].map(async ({ service, args, where }) => {
      try {
        await run(process.execPath, ['--import', 'tsx', `services/${service}/src/main.ts`, ...args, '--help'], { cwd: root, timeout: 120_000 });
      } catch (error) {
        const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n')[0] ?? '';
        fail(where, `${service} rejects its command line ${JSON.stringify(args)}: ${stderr}`);
      }
    }),
  );
  notes.push(`command lines: ${invocations.size} distinct, each accepted by its service's parser`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let composeFile: string | undefined;
  const overlays: Array<[string, string]> = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (arg === '--compose') composeFile = args[++index];
    else {
      const split = arg.indexOf('=');
      if (split <= 0) throw new Error(`expected NAME=rendered.yaml, got ${arg}`);
      overlays.push([arg.slice(0, split), arg.slice(split + 1)]);
    }
  }
  const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
  for (const [name, file] of overlays) await checkOverlay(name, file);
  if (rendered.length > 0) {
    const schemas = await checkAgainstK8sSchemas(rendered);
    for (const problem of schemas.problems) problems.push(`Kubernetes API schema: ${problem}`);
    notes.push(`Kubernetes API schemas (kubernetes-models, unknown fields refused): ${rendered.length} objects${schemas.unchecked.length > 0 ? `; no schema for ${schemas.unchecked.join(', ')}` : ''}`);
  }
  if (composeFile !== undefined) await checkCompose(composeFile);
  checkDockerfile(root, composeFile === undefined ? {} : obj(obj(parseAllDocuments(readFileSync(composeFile, 'utf8'), { merge: true })[0]?.toJS())['services']));
  await checkInvocations(root);
  for (const note of notes) console.log(`  ${note}`);
  if (problems.length > 0) {
    console.error(`\n${problems.length} deployment problem(s):`);
    for (const problem of problems) console.error(`  - ${problem}`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(`checkManifests: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
