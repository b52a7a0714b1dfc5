/**
 * Bytes waiting in staging (src/core/repo/staging-usage.ts), read from real
 * folders: the folder a remote repository's stack stages into
 * (open-repository.ts) is found and attributed to its runbook and tier, the
 * walk counts every file under it, and stops at its cap.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRepositoryStack } from '../../../src/core/repo/open-repository.js';
import { parseStagingFolderName, stagingUsage } from '../../../src/core/repo/staging-usage.js';
import type { Runbook } from '../../../src/core/runbook/types.js';
import { testRunbook } from '../alerts/fixtures.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const newDir = useTempDirs('staging-usage', 'each');

/** A runbook with a dash in its name and remote repositories on both tiers (nothing listens there: nothing is uploaded). */
function remoteRunbook(): Runbook {
  const base = testRunbook({ name: 'orders-db-eu' });
  return {
    ...base,
    repository: {
      ...base.repository,
      hot: { url: 's3://backups/orders-db-eu', endpoint: 'http://127.0.0.1:9', pathStyle: true, region: 'us-east-1' },
      cold: { url: 's3://archive/orders-db-eu', endpoint: 'http://127.0.0.1:9', pathStyle: true, region: 'us-east-1', afterMs: 30 * 86_400_000, retrieval: 'Standard', thawDays: 1 },
    },
  };
}

describe('bytes waiting in staging', () => {
  it('finds the folders a remote repository stages into, per runbook and tier, counting every file under them', async () => {
    const home = await newDir();
    const runbook = remoteRunbook();
    const hot = await openRepositoryStack(runbook, { env: {}, home, tier: 'hot' });
    const cold = await openRepositoryStack(runbook, { env: {}, home, tier: 'cold' });
    await hot.staging!.staging.create();
    await hot.staging!.staging.save({ kind: 'data', name: 'ab'.repeat(32) }, new Uint8Array(4096));
    await hot.staging!.staging.save({ kind: 'index', name: 'cd'.repeat(32) }, new Uint8Array(100));
    await cold.staging!.staging.create();

    expect(await stagingUsage(home)).toEqual([
      { runbook: 'orders-db-eu', tier: 'cold', bytes: 0, files: 0, truncated: false },
      { runbook: 'orders-db-eu', tier: 'hot', bytes: 4196, files: 2, truncated: false },
    ]);
  });

  it('says nothing without a staging folder, and ignores what is not a staging folder', async () => {
    const home = await newDir();
    expect(await stagingUsage(home)).toEqual([]);
    await mkdir(join(home, 'staging/notes'), { recursive: true });
    await writeFile(join(home, 'staging/README'), 'x');
    expect(await stagingUsage(home)).toEqual([]);
    expect(parseStagingFolderName('a-b-hot-0123456789abcdef')).toEqual({ runbook: 'a-b', tier: 'hot' });
    expect(parseStagingFolderName('a-warm-0123456789abcdef')).toBeUndefined();
    expect(parseStagingFolderName('a-hot-0123')).toBeUndefined();
  });

  it('stops at the file cap and says the count is a floor', async () => {
    const home = await newDir();
    const folder = join(home, 'staging/app-hot-0123456789abcdef/data/00');
    await mkdir(folder, { recursive: true });
    for (let i = 0; i < 5; i++) await writeFile(join(folder, `f${i}`), Buffer.alloc(10));
    expect(await stagingUsage(home, { fileCap: 3 })).toEqual([{ runbook: 'app', tier: 'hot', bytes: 30, files: 3, truncated: true }]);
  });
});
