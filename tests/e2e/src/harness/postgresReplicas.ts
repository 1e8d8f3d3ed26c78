/**
 * Several KBS processes on one PostgreSQL database of their own (made here, dropped by `stop`),
 * each from the same cert-chain config as a Deployment mounts one ConfigMap, plus what a replica
 * adds for itself (`perReplica`, e.g. its `[audit] replica_id`).
 */
import { createTestDatabase, type TestDatabase } from '@trustee/storage/testing/servers.ts';
import { certChainKbsConfig, type CertChainKbsOptions } from './certChainKbs.ts';
import { postgresStorage } from './configs.ts';
import { startKbs, type KbsProcess } from './kbsProcess.ts';

export interface PostgresReplicas {
  readonly database: TestDatabase;
  readonly replicas: readonly KbsProcess[];
  /** An admin JWT every replica accepts. */
  readonly adminToken: string;
  /** Stops every replica (their exit codes, in order), then drops the database. */
  stop(): Promise<Array<number | null>>;
}

export interface PostgresReplicasOptions {
  /** Names the replicas (and their config files `kbs-<name>.toml`). */
  readonly names: readonly string[];
  /** The database name's prefix (`createTestDatabase`'s label). */
  readonly label: string;
  readonly kbs?: CertChainKbsOptions;
  /** TOML appended to one replica's copy of the config. */
  readonly perReplica?: (name: string) => string;
}

export async function startPostgresReplicas(dir: string, options: PostgresReplicasOptions): Promise<PostgresReplicas> {
  const database = await createTestDatabase(undefined, options.label);
  const replicas: KbsProcess[] = [];
  const stop = async (): Promise<Array<number | null>> => {
    const codes = await Promise.all(replicas.map((replica) => replica.stop()));
    await database.drop();
    return codes;
  };
  try {
    const { toml, adminToken } = await certChainKbsConfig(dir, postgresStorage(database), options.kbs);
    const started = await Promise.allSettled(
      options.names.map((name) => startKbs(`${toml}${options.perReplica?.(name) ?? ''}`, { dir, configName: `kbs-${name}.toml`, startTimeoutMs: 90_000 })),
    );
    for (const result of started) if (result.status === 'fulfilled') replicas.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return { database, replicas, adminToken, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
