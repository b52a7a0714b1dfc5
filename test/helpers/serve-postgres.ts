/**
 * For tests that run the CLI and `lifeboat serve` as real processes against a
 * PostgreSQL store: a cluster with an empty `lifeboat` database started once
 * per file (skipped, with the reason, where PostgreSQL is missing), serve
 * children killed and the cluster stopped after; and a runbook with a
 * schedule over a small source folder.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { parse, stringify } from 'yaml';
import { ensureCliBuilt } from './cli.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from './drill-postgres.js';
import { writePipelineRunbook } from './pipeline-runbook.js';
import type { SpawnedServe } from './serve-process.js';

export interface LifeboatPostgres {
  readonly availability: PostgresAvailability;
  /** Only when available. */
  readonly cluster: PostgresCluster;
  /** `postgres://…/lifeboat` on loopback. */
  url(): string;
  /** `SELECT …` in the lifeboat database, trimmed. */
  query(sql: string): string;
  /** Kill this serve (SIGKILL) after the file if it is still running. */
  track(serve: SpawnedServe): SpawnedServe;
}

export function useLifeboatPostgres(tempDir: () => Promise<string>): LifeboatPostgres {
  let availability: PostgresAvailability = { ok: false, why: 'not probed' };
  let cluster: PostgresCluster | undefined;
  const serves: SpawnedServe[] = [];
  beforeAll(async () => {
    await ensureCliBuilt();
    availability = postgresAvailable();
    if (!availability.ok) return;
    cluster = await startPostgres(availability.bin, await tempDir());
    cluster.sql('postgres', 'CREATE DATABASE lifeboat');
  }, 120_000);
  afterAll(async () => {
    for (const s of serves) {
      if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
      s.child.kill('SIGKILL');
      await s.exited;
    }
    cluster?.stop();
  });
  const running = () => {
    if (!cluster) throw new Error('PostgreSQL is not running (skip the test when it is not available)');
    return cluster;
  };
  return {
    get availability() {
      return availability;
    },
    get cluster() {
      return running();
    },
    url: () => `postgres://${running().user}@127.0.0.1:${running().port}/lifeboat?sslmode=disable`,
    query: (sql) => running().sql('lifeboat', sql).trim(),
    track(serve) {
      serves.push(serve);
      return serve;
    },
  };
}

/** `<dir>/runbooks/<name>.yaml` backing up `<dir>/data` (one file of `content`) into `<dir>/repo`, with `schedule`. */
export async function writeScheduledRunbook(dir: string, name: string, schedule: Record<string, string>, content: string): Promise<{ runbooks: string; data: string; file: string }> {
  const runbooks = join(dir, 'runbooks');
  const data = join(dir, 'data');
  await mkdir(runbooks, { recursive: true });
  await mkdir(data, { recursive: true });
  await writeFile(join(data, 'a.txt'), content);
  const file = writePipelineRunbook(runbooks, name, { sources: [{ name: 'files', path: data }], repo: join(dir, 'repo') });
  const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  doc.schedule = { ...schedule, timezone: 'UTC' };
  await writeFile(file, stringify(doc));
  return { runbooks, data, file };
}
