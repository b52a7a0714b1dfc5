/**
 * Tier tests: a runbook with a hot folder repository and a cold s3:// one on
 * s3rver, a direct (unstaged) view of the cold repository for assertions, and
 * the storage class s3rver reports for each object (HeadObject).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { openBackend } from '../../src/core/backends/open-backend.js';
import { Repository } from '../../src/core/repo/repository.js';
import type { Snapshot } from '../../src/core/repo/snapshot.js';
import type { ColdSnapshot } from '../../src/core/tier/copy.js';
import { S3_PASSWORD } from '../integration/s3/harness.js';
import { afterAll, beforeAll } from 'vitest';
import { ensureCliBuilt } from './cli.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from './s3rver.js';

export interface TierRunbookOptions {
  source: string;
  hotDir: string;
  /** http://127.0.0.1:PORT of s3rver (or a proxy in front of it). */
  endpoint: string;
  bucket: string;
  prefix: string;
  storageClass?: string;
  after?: string;
  /** Give the runbook `schedule.tier` (backups then leave tiering to `lifeboat tier`). */
  tierSchedule?: boolean;
  /** Leave out repository.cold altogether. */
  noCold?: boolean;
  /** A retention policy for the hot repository, as in YAML (e.g. `{ last: 2 }`). */
  retention?: Record<string, number | string>;
}

export function writeTierRunbook(dir: string, name: string, o: TierRunbookOptions): string {
  const doc = {
    name,
    owner: '@lifeboat-tests',
    sources: [{ name: 'data', path: o.source }],
    repository: {
      hot: { url: `file://${o.hotDir}` },
      ...(o.noCold
        ? {}
        : {
            cold: {
              url: `s3://${o.bucket}/${o.prefix}`,
              endpoint: o.endpoint,
              pathStyle: true,
              region: 'us-east-1',
              storageClass: o.storageClass ?? 'GLACIER',
              after: o.after ?? '14d',
            },
          }),
      password: { env: 'LIFEBOAT_PASSWORD' },
    },
    ...(o.retention ? { retention: o.retention } : {}),
    ...(o.tierSchedule ? { schedule: { backup: '0 2 * * *', tier: '0 5 * * *', timezone: 'UTC' } } : {}),
    objectives: { rpo: '26h', rto: '15m' },
    transfer: { concurrency: 4 },
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** The cold repository straight from s3rver, past staging and caches: what really is there. */
export async function openColdDirect(o: Pick<TierRunbookOptions, 'endpoint' | 'bucket' | 'prefix'>): Promise<Repository> {
  const url = `s3://${o.bucket}/${o.prefix}`;
  const backend = await openBackend(url, {
    location: { endpoint: o.endpoint, pathStyle: true, region: 'us-east-1' },
  });
  const repo = await Repository.open(backend, S3_PASSWORD);
  await repo.loadIndex();
  return repo;
}

export async function coldSnapshots(o: Pick<TierRunbookOptions, 'endpoint' | 'bucket' | 'prefix'>): Promise<ColdSnapshot[]> {
  const repo = await openColdDirect(o);
  return (await repo.listSnapshots()) as ColdSnapshot[];
}

export function s3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { ...s3rverCredentials } });
}

/** Every key under `prefix/` with the storage class HeadObject reports (undefined means STANDARD). */
export async function storageClasses(endpoint: string, bucket: string, prefix: string): Promise<Map<string, string | undefined>> {
  const client = s3Client(endpoint);
  const out = new Map<string, string | undefined>();
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key! }));
        out.set(o.Key!.slice(prefix.length + 1), head.StorageClass);
      }
      token = page.NextContinuationToken;
    } while (token);
  } finally {
    client.destroy();
  }
  return out;
}

export const idsOf = (snaps: readonly Snapshot[]): string[] => snaps.map((s) => s.id);

/**
 * The tier tests' shared setup: the CLI built, s3rver on loopback for the
 * file, and the SDK credentials in this process for the tests' own direct
 * looks at the cold repository (restored after the file).
 */
export function useTierS3rver(): { readonly server: RunningS3rver } {
  let server: RunningS3rver | undefined;
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    await ensureCliBuilt();
    server = await startS3rver();
    process.env.AWS_ACCESS_KEY_ID = s3rverCredentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3rverCredentials.secretAccessKey;
  }, 120_000);
  afterAll(async () => {
    process.env = savedEnv;
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error('s3rver is not running (used outside a test?)');
      return server;
    },
  };
}
