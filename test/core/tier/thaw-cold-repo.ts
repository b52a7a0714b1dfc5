/**
 * For the thaw tests: a runbook whose cold repository sits in s3rver behind
 * the Glacier test double, and a backup written straight into that cold
 * repository through the core archiver (so these tests do not depend on
 * `lifeboat tier`). Content packs get the cold storage class; folder-listing
 * (tree-only) packs, config, keys, index and snapshots are STANDARD.
 * `archiveAgain` re-uploads an object in an archive class, as a staged
 * leftover re-uploaded after a crash would be, for the two-round fallback.
 */
import { GetObjectCommand, PutObjectCommand, type StorageClass } from '@aws-sdk/client-s3';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import { backupPaths } from '../../../src/core/pipeline/snapshot-stage.js';
import { initRunbookRepository, openRunbookRepositoryStack } from '../../../src/core/repo/open-repository.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import { loadRunbook } from '../../../src/core/runbook/load.js';
import type { Runbook } from '../../../src/core/runbook/types.js';
import { writeRandomFile } from '../../integration/s3/harness.js';
import { ensureCliBuilt, TEST_KEYS_ENV } from '../../helpers/cli.js';
import { startGlacierProxy, type GlacierProxy } from '../../helpers/glacier-proxy.js';
import { restoreEnv, saveEnv, type SavedEnv } from '../../helpers/saved-env.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { s3Client } from '../../helpers/tier-runbook.js';
import { smallRepo } from '../../helpers/repo.js';

export const COLD_PASSWORD = 'thaw tests password';

export interface GlacierS3 {
  readonly server: RunningS3rver;
  readonly proxy: GlacierProxy;
}

/**
 * For a test file: s3rver with `bucket`, the Glacier test double in front of it
 * and the CLI built, before its tests; both stopped after. The SDK's
 * credentials come from the environment, as the CLI's do.
 */
export function useGlacierS3(bucket: string): GlacierS3 {
  let server: RunningS3rver | undefined;
  let proxy: GlacierProxy | undefined;
  let savedCredentials: SavedEnv = {};
  beforeAll(async () => {
    savedCredentials = saveEnv('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY');
    process.env.AWS_ACCESS_KEY_ID = s3rverCredentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3rverCredentials.secretAccessKey;
    [server] = await Promise.all([startS3rver({ buckets: [bucket] }), ensureCliBuilt()]);
    proxy = await startGlacierProxy(server.endpoint);
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
    // Test files may share a worker process (vitest.config.ts: isolate false): the next one gets the environment it had.
    restoreEnv(savedCredentials);
  });
  return {
    get server() {
      if (!server) throw new Error('s3rver is not started yet (useGlacierS3 starts it in beforeAll)');
      return server;
    },
    get proxy() {
      if (!proxy) throw new Error('the Glacier test double is not started yet (useGlacierS3 starts it in beforeAll)');
      return proxy;
    },
  };
}

export interface ColdRepoOptions {
  base: string;
  name: string;
  endpoint: string;
  bucket: string;
  storageClass?: string;
  retrieval?: 'Expedited' | 'Standard' | 'Bulk';
  thawDays?: number;
  rto?: string;
  coldRto?: string;
}

export interface ColdRepo {
  runbook: Runbook;
  file: string;
  data: string;
  env: Record<string, string>;
  snapshot: Snapshot;
  prefix: string;
}

/** The environment every call gets (in-process calls and CLI children alike). */
export function coldEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LIFEBOAT_PASSWORD: COLD_PASSWORD,
    LIFEBOAT_HOME: home,
    ...TEST_KEYS_ENV,
    AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

/** Files over several packs (256 KiB packs), a nested folder, an empty file. */
export async function writeSourceData(data: string): Promise<void> {
  await mkdir(join(data, 'docs/deep'), { recursive: true });
  await writeRandomFile(join(data, 'big.bin'), 'big', 700 * 1024 + 3);
  await writeRandomFile(join(data, 'docs/deep/blob.bin'), 'blob', 300 * 1024);
  await writeFile(join(data, 'docs/notes.txt'), 'the quick brown fox\n'.repeat(5000));
  await writeFile(join(data, 'docs/empty'), '');
}

export async function makeColdRepo(o: ColdRepoOptions): Promise<ColdRepo> {
  const data = join(o.base, 'data');
  await writeSourceData(data);
  const prefix = `cold/${o.name}`;
  const doc = {
    name: o.name,
    owner: '@lifeboat-tests',
    sources: [{ name: 'data', path: './data' }],
    repository: {
      hot: { url: `file://${join(o.base, 'hot')}` },
      cold: {
        url: `s3://${o.bucket}/${prefix}`,
        endpoint: o.endpoint,
        pathStyle: true,
        region: 'us-east-1',
        storageClass: o.storageClass ?? 'GLACIER',
        after: '30d',
        retrieval: o.retrieval ?? 'Bulk',
        thawDays: o.thawDays ?? 3,
      },
      password: { env: 'LIFEBOAT_PASSWORD' },
    },
    objectives: { rpo: '26h', rto: o.rto ?? '15m', ...(o.coldRto === undefined ? {} : { coldRto: o.coldRto }) },
    drill: { timeout: '30s' },
  };
  const file = join(o.base, `${o.name}.yaml`);
  await writeFile(file, stringify(doc));
  const home = join(o.base, 'home-writer');
  const env = coldEnv(home);
  const runbook = await loadRunbook(file, { runbooksDir: o.base, home, cwd: o.base });
  await initRunbookRepository(runbook, { env, tier: 'cold', home }, smallRepo);
  const { repo, staging } = await openRunbookRepositoryStack(runbook, { env, tier: 'cold', home });
  const outcome = await backupPaths({ repo, runbook: o.name, sources: [{ name: 'data', path: data, exclude: [] }], workers: 2 });
  await staging?.flush();
  await repo.backend.close();
  return { runbook, file, data, env, snapshot: outcome.snapshot, prefix };
}

/** The key of a data pack in the cold repository. */
export const packKeyOf = (cold: Pick<ColdRepo, 'prefix'>, pack: string): string => `${cold.prefix}/data/${pack.slice(0, 2)}/${pack}`;

/**
 * Stores `key` again with `storageClass`, straight at the store (`endpoint`:
 * s3rver, behind the Glacier double), so the double sees it archived from now on.
 */
export async function archiveAgain(endpoint: string, bucket: string, key: string, storageClass: StorageClass = 'GLACIER'): Promise<void> {
  const client = s3Client(endpoint);
  try {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = await got.Body!.transformToByteArray();
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, StorageClass: storageClass }));
  } finally {
    client.destroy();
  }
}
