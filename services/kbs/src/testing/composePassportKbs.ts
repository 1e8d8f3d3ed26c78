/**
 * Child process of passportBoundary.test.ts: composes a passport resource KBS
 * (`[attestation_service] type = "none"`) from the TOML file given as argv[2] and exits.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { MemoryStore } from '@trustee/storage';
import { composeKbs } from '../compose.ts';
import { parseKbsConfig } from '../config.ts';

const kbs = await composeKbs(parseKbsConfig(parseToml(readFileSync(process.argv[2] ?? '', 'utf8'))), { store: new MemoryStore() });
await kbs.apps[0]?.ready();
await kbs.close();
process.stdout.write('composed\n');
