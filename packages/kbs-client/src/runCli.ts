/**
 * The `kbs-client` command line, flag for flag like upstream's, plus evidence
 * hooks for hardware test evidence, `admin-token` and `keygen`. Global flags precede the
 * subcommand. stdout carries only the requested output (token, resource, ids); diagnostics go
 * to stderr.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { b64std, BUNDLED_RESOURCE_POLICIES, type Json } from '@trustee/protocol';
import { formatDryRun, formatExplanation } from './explainFormat.ts';
import { generateAdminKeyPair, mintAdminToken, parseDuration } from './adminToken.ts';
import { commandAttester, fixedEvidenceAttester, sampleAttester, sampleDeviceAttester, sampleDeviceEnabled, type Attester } from './attesters.ts';
import { KbsClient, type KbsClientOptions } from './kbsClient.ts';
import { KbsClientError } from './kbsClientError.ts';
import { TEE_KEY_ALGORITHMS, isTeeKeyAlgorithm, loadTeeKey } from './teeKey.ts';
import { UsageError } from '@trustee/errors';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
};

/** Relative to the working directory, like upstream (docker-compose checkout). */
const DOCKER_COMPOSE_ADMIN_TOKEN_PATH = 'kbs/config/docker-compose/admin-token';

const USAGE = `Usage: kbs-client [--url URL] [--cert-file PEM] <command> [options]

A command line client for the KBS APIs.

Global options (before the command):
  --url URL          KBS root URL (default http://127.0.0.1:8080)
  --cert-file PEM    extra trusted root CA for HTTPS

Commands:
  attest                 attest and print the attestation token
  get-resource           get a confidential resource, print it as standard base64
  config                 administer the KBS (policies, resources, reference values)
  admin-token            mint an admin bearer JWT from a private key
  keygen                 generate an Ed25519 key pair for admin tokens

Run 'kbs-client <command> --help' for the options of a command.
`;

const ATTESTER_HELP = `  --tee NAME                   TEE name sent in /auth (default sample)
  --evidence-file F            send this evidence JSON as primary_evidence (must already be bound to the nonce)
  --evidence-command CMD       run CMD for the evidence: gets the report data hex in $1 / KBS_REPORT_DATA,
                               the init-data digest hex in $2 / KBS_INIT_DATA_DIGEST, prints evidence JSON
  --enable-sample-device       add sampledevice evidence (also enabled by env ENABLE_SAMPLE_DEVICE)
  --device-evidence-command TEE=CMD
                               add device evidence for TEE (e.g. nvidia) as additional_evidence: CMD gets
                               the device report data hex in $1 / KBS_REPORT_DATA; repeatable
  --tee-key-file PEM           TEE private key: RSA PKCS#1 (RSA-OAEP-256) or EC P-256/P-521 PKCS#8
  --tee-key-algorithm A        generated key type: ${TEE_KEY_ALGORITHMS.join(' | ')} (default ECDH-ES+A256KW-P256)
  --rcar-attempts N            RCAR handshake attempts (default 5)
  --rcar-retry-delay-ms N      delay between RCAR attempts (default 1000)
  --attestation-policy-selector ID
                               ask the KBS to appraise with the attestation policies it maps ID to
                               (sent as extra-params.id in /auth; the KBS refuses an id it does not allow)
  INIT_DATA                    init-data TOML text sent as {"format":"toml","body":INIT_DATA}
`;

const COMMAND_HELP: Readonly<Record<string, string>> = {
  attest: `Usage: kbs-client attest [options] [INIT_DATA]\n\nRuns the RCAR handshake and prints the attestation token.\n\n${ATTESTER_HELP}`,
  'get-resource': `Usage: kbs-client get-resource --path REPO/TYPE/TAG [options] [INIT_DATA]\n\nPrints the resource as standard base64.\n\n  --path P                     resource path repo/type/tag (or kbs:///repo/type/tag)\n  --attestation-token F        use this token as Authorization: Bearer (needs --tee-key-file)\n${ATTESTER_HELP}`,
  config: `Usage: kbs-client config [--admin-token-file F] <subcommand> [options]

Admin token: --admin-token-file, else ./${DOCKER_COMPOSE_ADMIN_TOKEN_PATH}, else ~/.trustee/admin-token,
else anonymous (works only with authorization_mode = "InsecureAllowAll").

Subcommands:
  set-attestation-policy --policy-file F [--type rego] [--id default_cpu]
  set-resource-policy (--policy-file F | --allow-all | --deny-all | --affirming | --default)
      --default uploads the KBS built-in default policy (deny sample evidence, allow otherwise);
      upstream kbs-client uploads deny_all for --default, a known bug not reproduced here.
  set-resource --path P --resource-file F
  delete-resource --path P
  get-resource-policy                      prints the stored resource-policy ids
  set-resource-policy ... --dry-run        replays recorded decisions with the policy instead of storing it
  set-scoped-policy --scope S (--policy-file F | --allow-all | --deny-all | --affirming) [--dry-run]
      S: REPO, REPO/TYPE or REPO/TYPE/TAG (REPO/* and REPO/TYPE/* accepted); a release needs the
      global resource-policy and every scoped policy above its path to allow
  get-scoped-policy --scope S              prints the scoped policy's Rego
  list-scoped-policies                     prints the scopes that have a policy
  delete-scoped-policy --scope S
  explain --path P (--attestation-token F | --decision-id ID | --claims-file F) [--plugin resource] [--json]
      why a release of P is allowed or denied: per policy, the rule bodies that held or failed,
      the failing expression and the values it compared
  list-decisions [--scope S]               the newest recorded policy decisions (JSON), all or below scope S
  get-reference-value --id ID
  set-sample-reference-value NAME VALUE [--as-integer | --as-bool] [--as-single-value]
`,
  'admin-token': `Usage: kbs-client admin-token --key PEM [--role admin] [--issuer I] [--audience A]... [--subject admin] [--ttl 1h]

Mints an admin JWT signed with the private key (Ed25519 → EdDSA, EC → ES256/384/512, RSA → RS256).
`,
  keygen: `Usage: kbs-client keygen --out FILE\n\nWrites an Ed25519 private key to FILE (mode 0600) and its public key to FILE.pub.\n`,
};


/** Runs the CLI; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  try {
    await dispatch([...argv], io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error instanceof KbsClientError && error.code === 'usage')) {
      io.stderr(`error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof KbsClientError && error.info !== undefined) {
      io.stderr(`error: ${error.message}\n  type: ${error.info.type}\n  detail: ${error.info.detail}\n`);
      return 1;
    }
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

interface Globals {
  url: string;
  caCertPem: string | undefined;
}

async function dispatch(argv: string[], io: CliIo): Promise<void> {
  const globals: Globals = { url: 'http://127.0.0.1:8080', caCertPem: undefined };
  let index = 0;
  for (; index < argv.length; index++) {
    const arg = argv[index] ?? '';
    if (!arg.startsWith('-')) break;
    if (arg === '-h' || arg === '--help') {
      io.stdout(USAGE);
      return;
    }
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name !== '--url' && name !== '--cert-file') throw new UsageError(`unknown global option ${name}\n\n${USAGE}`);
    const value = inline ?? argv[++index];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    if (name === '--url') globals.url = value;
    else globals.caCertPem = readText(value, io);
  }
  const command = argv[index];
  const rest = argv.slice(index + 1);
  if (command === undefined) throw new UsageError(`missing command\n\n${USAGE}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = COMMAND_HELP[command];
    if (help === undefined) throw new UsageError(`unknown command ${command}\n\n${USAGE}`);
    io.stdout(help);
    return;
  }
  switch (command) {
    case 'attest':
      return attestCommand(rest, globals, io);
    case 'get-resource':
      return getResourceCommand(rest, globals, io);
    case 'config':
      return configCommand(rest, globals, io);
    case 'admin-token':
      return adminTokenCommand(rest, io);
    case 'keygen':
      return keygenCommand(rest, io);
    default:
      throw new UsageError(`unknown command ${command}\n\n${USAGE}`);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

function parse<T extends Options>(args: string[], options: T, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals])}`);
  return parsed;
}

const ATTESTER_OPTIONS = {
  'tee-key-file': { type: 'string' },
  'tee-key-algorithm': { type: 'string' },
  tee: { type: 'string' },
  'evidence-file': { type: 'string' },
  'evidence-command': { type: 'string' },
  'enable-sample-device': { type: 'boolean' },
  'device-evidence-command': { type: 'string', multiple: true },
  'rcar-attempts': { type: 'string' },
  'rcar-retry-delay-ms': { type: 'string' },
  'attestation-policy-selector': { type: 'string' },
} as const satisfies Options;

interface AttesterValues {
  'attestation-policy-selector'?: string | undefined;
  'tee-key-file'?: string | undefined;
  'tee-key-algorithm'?: string | undefined;
  tee?: string | undefined;
  'evidence-file'?: string | undefined;
  'evidence-command'?: string | undefined;
  'enable-sample-device'?: boolean | undefined;
  'device-evidence-command'?: string[] | undefined;
  'rcar-attempts'?: string | undefined;
  'rcar-retry-delay-ms'?: string | undefined;
}

function clientOptions(values: AttesterValues, initData: string | undefined, globals: Globals, io: CliIo): KbsClientOptions {
  const tee = values.tee ?? 'sample';
  if (values['evidence-file'] !== undefined && values['evidence-command'] !== undefined) {
    throw new UsageError('--evidence-file and --evidence-command are mutually exclusive');
  }
  let attester: Attester;
  if (values['evidence-file'] !== undefined) {
    attester = fixedEvidenceAttester(tee, readJson(values['evidence-file'], io));
  } else if (values['evidence-command'] !== undefined) {
    attester = commandAttester(tee, values['evidence-command']);
  } else if (tee === 'sample') {
    attester = sampleAttester;
  } else {
    throw new UsageError(`--tee ${tee} needs --evidence-file or --evidence-command (only sample evidence is built in)`);
  }
  const algorithm = values['tee-key-algorithm'];
  if (algorithm !== undefined && !isTeeKeyAlgorithm(algorithm)) {
    throw new UsageError(`--tee-key-algorithm must be one of ${TEE_KEY_ALGORITHMS.join(', ')}`);
  }
  if (algorithm !== undefined && values['tee-key-file'] !== undefined) throw new UsageError('--tee-key-algorithm and --tee-key-file are mutually exclusive');
  const withDevice = values['enable-sample-device'] === true || sampleDeviceEnabled(io.env);
  const deviceAttesters: Attester[] = withDevice ? [sampleDeviceAttester] : [];
  for (const spec of values['device-evidence-command'] ?? []) {
    const [, deviceTee, command] = /^([a-z0-9-]+)=(.+)$/s.exec(spec) ?? [];
    if (deviceTee === undefined || command === undefined) throw new UsageError('--device-evidence-command takes TEE=COMMAND, e.g. nvidia=./gpu-evidence.sh');
    if (deviceAttesters.some((a) => a.tee === deviceTee)) throw new UsageError(`--device-evidence-command: ${deviceTee} given twice (one evidence per device TEE)`);
    deviceAttesters.push(commandAttester(deviceTee, command));
  }
  return {
    url: globals.url,
    attester,
    deviceAttesters,
    log: (message) => io.stderr(`[kbs-client] WARN ${message}\n`),
    ...(globals.caCertPem === undefined ? {} : { caCertPem: globals.caCertPem }),
    ...(values['tee-key-file'] === undefined ? {} : { teeKey: loadTeeKey(readText(values['tee-key-file'], io)) }),
    ...(algorithm === undefined ? {} : { teeKeyAlgorithm: algorithm }),
    ...(initData === undefined ? {} : { initData }),
    ...(values['attestation-policy-selector'] === undefined ? {} : { policySelector: values['attestation-policy-selector'] }),
    ...(values['rcar-attempts'] === undefined ? {} : { rcarMaxAttempts: count(values['rcar-attempts'], '--rcar-attempts', 1) }),
    ...(values['rcar-retry-delay-ms'] === undefined ? {} : { rcarRetryDelayMs: count(values['rcar-retry-delay-ms'], '--rcar-retry-delay-ms', 0) }),
  };
}

async function attestCommand(args: string[], globals: Globals, io: CliIo): Promise<void> {
  const { values, positionals } = parse(args, ATTESTER_OPTIONS, 1);
  const client = new KbsClient(clientOptions(values, positionals[0], globals, io));
  io.stdout(`${await client.attest()}\n`);
}

async function getResourceCommand(args: string[], globals: Globals, io: CliIo): Promise<void> {
  const { values, positionals } = parse(args, { ...ATTESTER_OPTIONS, path: { type: 'string' }, 'attestation-token': { type: 'string' } }, 1);
  if (values.path === undefined) throw new UsageError('get-resource needs --path');
  let options = clientOptions(values, positionals[0], globals, io);
  if (values['attestation-token'] !== undefined) {
    if (values['tee-key-file'] === undefined) {
      throw new UsageError('if `--attestation-token` is set, `--tee-key-file` must also be set, and its public key must match the tee-pubkey in the token');
    }
    options = { ...options, token: readText(values['attestation-token'], io).trim() };
  }
  const resource = await new KbsClient(options).getResource(values.path);
  io.stdout(`${b64std.encode(resource)}\n`);
}

async function configCommand(args: string[], globals: Globals, io: CliIo): Promise<void> {
  let index = 0;
  let tokenFile: string | undefined;
  for (; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (!arg.startsWith('-')) break;
    if (arg === '--admin-token-file') tokenFile = args[++index];
    else if (arg.startsWith('--admin-token-file=')) tokenFile = arg.slice('--admin-token-file='.length);
    else throw new UsageError(`unknown config option ${arg}\n\n${COMMAND_HELP.config ?? ''}`);
    if (tokenFile === undefined) throw new UsageError('--admin-token-file needs a value');
  }
  const sub = args[index];
  const subArgs = args.slice(index + 1);
  if (sub === undefined) throw new UsageError(`missing config subcommand\n\n${COMMAND_HELP.config ?? ''}`);
  const adminToken = resolveAdminToken(tokenFile, io);
  const client = new KbsClient({
    url: globals.url,
    log: (message) => io.stderr(`[kbs-client] WARN ${message}\n`),
    ...(globals.caCertPem === undefined ? {} : { caCertPem: globals.caCertPem }),
    ...(adminToken === undefined ? {} : { adminToken }),
  });

  switch (sub) {
    case 'set-attestation-policy': {
      const { values } = parse(subArgs, { 'policy-file': { type: 'string' }, type: { type: 'string' }, id: { type: 'string' } }, 0);
      if (values['policy-file'] === undefined) throw new UsageError('set-attestation-policy needs --policy-file');
      const policy = readBytes(values['policy-file'], io);
      if (values.id === undefined) io.stderr('[kbs-client] WARN no policy id set; using default_cpu\n');
      await client.setAttestationPolicy(policy, { ...(values.id === undefined ? {} : { id: values.id }), ...(values.type === undefined ? {} : { type: values.type }) });
      io.stdout(`Set attestation policy success \n policy: ${b64std.encode(policy)}\n`);
      return;
    }
    case 'set-resource-policy': {
      const { values } = parse(
        subArgs,
        { 'policy-file': { type: 'string' }, 'allow-all': { type: 'boolean' }, 'deny-all': { type: 'boolean' }, affirming: { type: 'boolean' }, default: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
        0,
      );
      const policy = chosenPolicy(values, io, 'set-resource-policy');
      if (values['dry-run'] === true) {
        io.stdout(formatDryRun(await client.dryRunResourcePolicy(policy)));
        return;
      }
      await client.setResourcePolicy(policy);
      io.stdout(`Set resource policy success \n policy: ${b64std.encode(policy)}\n`);
      return;
    }
    case 'set-resource': {
      const { values } = parse(subArgs, { path: { type: 'string' }, 'resource-file': { type: 'string' } }, 0);
      if (values.path === undefined || values['resource-file'] === undefined) throw new UsageError('set-resource needs --path and --resource-file');
      const resource = readBytes(values['resource-file'], io);
      await client.setResource(values.path, resource);
      // Upstream echoes the resource in base64; a secret has no place on a terminal.
      io.stdout(`Set resource success \n resource: ${resource.byteLength} bytes\n`);
      return;
    }
    case 'delete-resource': {
      const { values } = parse(subArgs, { path: { type: 'string' } }, 0);
      if (values.path === undefined) throw new UsageError('delete-resource needs --path');
      await client.deleteResource(values.path);
      io.stdout('Delete resource success\n');
      return;
    }
    case 'get-resource-policy': {
      parse(subArgs, {}, 0);
      io.stdout(`${JSON.stringify(await client.getResourcePolicy())}\n`);
      return;
    }
    case 'set-scoped-policy': {
      const { values } = parse(
        subArgs,
        { scope: { type: 'string' }, 'policy-file': { type: 'string' }, 'allow-all': { type: 'boolean' }, 'deny-all': { type: 'boolean' }, affirming: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
        0,
      );
      if (values.scope === undefined) throw new UsageError('set-scoped-policy needs --scope');
      const policy = chosenPolicy(values, io, 'set-scoped-policy');
      if (values['dry-run'] === true) {
        io.stdout(formatDryRun(await client.dryRunResourcePolicy(policy, values.scope)));
        return;
      }
      await client.setScopedPolicy(values.scope, policy);
      io.stdout(`Set scoped policy success \n scope: ${values.scope}\n`);
      return;
    }
    case 'get-scoped-policy': {
      const { values } = parse(subArgs, { scope: { type: 'string' } }, 0);
      if (values.scope === undefined) throw new UsageError('get-scoped-policy needs --scope');
      io.stdout(await client.getScopedPolicy(values.scope));
      return;
    }
    case 'list-scoped-policies': {
      parse(subArgs, {}, 0);
      io.stdout(`${JSON.stringify(await client.listScopedPolicies())}\n`);
      return;
    }
    case 'delete-scoped-policy': {
      const { values } = parse(subArgs, { scope: { type: 'string' } }, 0);
      if (values.scope === undefined) throw new UsageError('delete-scoped-policy needs --scope');
      await client.deleteScopedPolicy(values.scope);
      io.stdout('Delete scoped policy success\n');
      return;
    }
    case 'explain': {
      const { values } = parse(
        subArgs,
        { path: { type: 'string' }, 'attestation-token': { type: 'string' }, 'decision-id': { type: 'string' }, 'claims-file': { type: 'string' }, plugin: { type: 'string' }, json: { type: 'boolean' } },
        0,
      );
      if (values.path === undefined) throw new UsageError('explain needs --path');
      const sources = [values['attestation-token'], values['decision-id'], values['claims-file']].filter((value) => value !== undefined);
      if (sources.length !== 1) throw new UsageError('explain needs exactly one of --attestation-token, --decision-id, --claims-file');
      let source: { token: string } | { decision_id: string } | { claims: Json };
      if (values['attestation-token'] !== undefined) source = { token: readText(values['attestation-token'], io).trim() };
      else if (values['decision-id'] !== undefined) source = { decision_id: values['decision-id'] };
      else {
        try {
          source = { claims: JSON.parse(readText(values['claims-file'] ?? '', io)) as Json };
        } catch (error) {
          throw new UsageError(`--claims-file is not JSON: ${(error as Error).message}`);
        }
      }
      const report = await client.explainResourcePolicy(values.path, source, values.plugin ?? 'resource');
      io.stdout(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatExplanation(report));
      return;
    }
    case 'list-decisions': {
      const { values } = parse(subArgs, { scope: { type: 'string' } }, 0);
      io.stdout(`${JSON.stringify(await client.listDecisions(values.scope), null, 2)}\n`);
      return;
    }
    case 'get-reference-value': {
      const { values } = parse(subArgs, { id: { type: 'string' } }, 0);
      if (values.id === undefined) throw new UsageError('get-reference-value needs --id');
      io.stdout(`${JSON.stringify(await client.getReferenceValue(values.id))}\n`);
      return;
    }
    case 'set-sample-reference-value': {
      const { values, positionals } = parse(subArgs, { 'as-integer': { type: 'boolean' }, 'as-bool': { type: 'boolean' }, 'as-single-value': { type: 'boolean' } }, 2);
      const [name, raw] = positionals;
      if (name === undefined || raw === undefined) throw new UsageError('set-sample-reference-value needs NAME and VALUE');
      if (values['as-integer'] === true && values['as-bool'] === true) throw new UsageError('--as-integer and --as-bool are mutually exclusive');
      let value: Json = raw;
      if (values['as-integer'] === true) value = parseI32(raw);
      else if (values['as-bool'] === true) value = parseBool(raw);
      await client.setSampleReferenceValue(name, values['as-single-value'] === true ? value : [value]);
      io.stdout('Reference Values Updated\n');
      return;
    }
    default:
      throw new UsageError(`unknown config subcommand ${sub}\n\n${COMMAND_HELP.config ?? ''}`);
  }
}

/** The one policy a set-*-policy command names (a file or a bundled policy). */
function chosenPolicy(values: { 'policy-file'?: string | undefined; 'allow-all'?: boolean | undefined; 'deny-all'?: boolean | undefined; affirming?: boolean | undefined; default?: boolean | undefined }, io: CliIo, command: string): Uint8Array {
  const chosen = [values['policy-file'] !== undefined, values['allow-all'], values['deny-all'], values.affirming, values.default].filter((flag) => flag === true);
  const names = command === 'set-resource-policy' ? '--policy-file, --allow-all, --deny-all, --affirming, --default' : '--policy-file, --allow-all, --deny-all, --affirming';
  if (chosen.length !== 1) throw new UsageError(`${command} needs exactly one of ${names}`);
  if (values['policy-file'] !== undefined) return readBytes(values['policy-file'], io);
  if (values['allow-all'] === true) return Buffer.from(BUNDLED_RESOURCE_POLICIES['allow-all']);
  if (values['deny-all'] === true) return Buffer.from(BUNDLED_RESOURCE_POLICIES['deny-all']);
  if (values.affirming === true) return Buffer.from(BUNDLED_RESOURCE_POLICIES.affirming);
  return Buffer.from(BUNDLED_RESOURCE_POLICIES.default);
}

async function adminTokenCommand(args: string[], io: CliIo): Promise<void> {
  const { values } = parse(
    args,
    { key: { type: 'string' }, role: { type: 'string' }, issuer: { type: 'string' }, audience: { type: 'string', multiple: true }, subject: { type: 'string' }, ttl: { type: 'string' } },
    0,
  );
  if (values.key === undefined) throw new UsageError('admin-token needs --key');
  const audience = values.audience;
  const token = await mintAdminToken({
    privateKeyPem: readText(values.key, io),
    ...(values.role === undefined ? {} : { role: values.role }),
    ...(values.issuer === undefined ? {} : { issuer: values.issuer }),
    ...(audience === undefined ? {} : { audience: audience.length === 1 ? (audience[0] ?? '') : audience }),
    ...(values.subject === undefined ? {} : { subject: values.subject }),
    ttlSeconds: parseDuration(values.ttl ?? '1h'),
  });
  io.stdout(`${token}\n`);
}

function keygenCommand(args: string[], io: CliIo): Promise<void> {
  const { values } = parse(args, { out: { type: 'string' } }, 0);
  if (values.out === undefined) throw new UsageError('keygen needs --out');
  const out = resolve(io.cwd, values.out);
  const { privateKeyPem, publicKeyPem } = generateAdminKeyPair();
  writeFileSync(out, privateKeyPem, { mode: 0o600, flag: 'wx' });
  writeFileSync(`${out}.pub`, publicKeyPem, { mode: 0o644, flag: 'wx' });
  io.stdout(`private key: ${out}\npublic key: ${out}.pub\n`);
  return Promise.resolve();
}

/** Upstream order: --admin-token-file, ./kbs/config/docker-compose/admin-token, ~/.trustee/admin-token, none. */
export function resolveAdminToken(tokenFile: string | undefined, io: CliIo): string | undefined {
  if (tokenFile !== undefined) return readText(tokenFile, io).trim();
  const composePath = resolve(io.cwd, DOCKER_COMPOSE_ADMIN_TOKEN_PATH);
  try {
    return readFileSync(composePath, 'utf8').trim();
  } catch {
    // Not in a trustee checkout; fall through like upstream.
  }
  const home = io.env.HOME ?? homedir();
  const homePath = join(home, '.trustee', 'admin-token');
  if (existsSync(homePath)) return readText(homePath, io).trim();
  io.stderr('[kbs-client] WARN no admin token configured; sending anonymous admin requests (works only with authorization_mode = "InsecureAllowAll")\n');
  return undefined;
}

function readBytes(path: string, io: CliIo): Uint8Array {
  try {
    return readFileSync(resolve(io.cwd, path));
  } catch (error) {
    throw new UsageError(`failed to read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function readText(path: string, io: CliIo): string {
  return Buffer.from(readBytes(path, io)).toString('utf8');
}

function readJson(path: string, io: CliIo): unknown {
  try {
    return JSON.parse(readText(path, io));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path} is not valid JSON`);
  }
}

function count(text: string, flag: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) throw new UsageError(`${flag} must be an integer >= ${min}`);
  return value;
}

/** Like Rust's `str::parse::<i32>`. */
function parseI32(text: string): number {
  const value = Number(text);
  if (!/^[+-]?\d+$/.test(text) || value < -(2 ** 31) || value > 2 ** 31 - 1) throw new UsageError(`${JSON.stringify(text)} is not a 32-bit integer`);
  return value;
}

/** Like Rust's `str::parse::<bool>`: exactly `true` or `false`. */
function parseBool(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new UsageError(`${JSON.stringify(text)} is not a bool (true or false)`);
}
