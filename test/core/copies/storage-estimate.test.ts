/**
 * `tier --estimate` (issue 23, item 3): what hot, cold and each copy cost per
 * month at list prices, and the total, before anything is moved. A runbook
 * with a folder hot repository and an S3 copy on s3rver: after a backup, hot
 * is listed with its size at no list price, the copy at STANDARD from the size
 * its copy run recorded (as status --copies shows it), the JSON carries the
 * same numbers as the lines; and the pure pricing per location.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { locationCost, storageTotal, type StorageEstimate } from '../../../src/core/use-cases/storage-estimate.js';
import { monthlyStorageCostUsd } from '../../../src/core/copies/storage-prices.js';
import type { StatusEntry } from '../../../src/core/status/runbook-status.js';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const GB = 1024 ** 3;
const temp = useTempDirs('lifeboat-storage-estimate-');
let server: RunningS3rver;
let env: Record<string, string>;

beforeAll(async () => {
  await ensureCliBuilt();
  server = await startS3rver({ buckets: ['estimate-offsite'] });
  const base = await temp();
  const source = join(base, 'source');
  await mkdir(source);
  await writeFile(join(source, 'a.txt'), 'alpha beta gamma\n'.repeat(20_000));
  await mkdir(join(base, 'runbooks'));
  await writeFile(
    join(base, 'runbooks', 'app.yaml'),
    stringify({
      name: 'app',
      sources: [{ name: 'data', path: source }],
      repository: {
        hot: { url: `file://${join(base, 'hot')}` },
        password: { env: 'LIFEBOAT_PASSWORD' },
        copies: [
          {
            name: 'offsite',
            url: 's3://estimate-offsite/app',
            endpoint: server.endpoint,
            pathStyle: true,
            region: 'us-east-1',
            credentials: { accessKeyId: { env: 'OFFSITE_KEY_ID' }, secretAccessKey: { env: 'OFFSITE_SECRET' } },
          },
        ],
      },
      objectives: { rpo: '26h', rto: '15m' },
    }),
  );
  env = {
    LIFEBOAT_HOME: join(base, 'home'),
    LIFEBOAT_RUNBOOKS: join(base, 'runbooks'),
    LIFEBOAT_PASSWORD: 'storage estimate password',
    OFFSITE_KEY_ID: s3rverCredentials.accessKeyId,
    OFFSITE_SECRET: s3rverCredentials.secretAccessKey,
  };
});
afterAll(async () => {
  await server?.stop();
});

describe('storage cost per location', () => {
  it('prices S3 locations by storage class, folders at $0, and totals only what is known', () => {
    const cold = locationCost('cold', 'cold', { url: 's3://acme-cold/app', storageClass: 'DEEP_ARCHIVE' }, 100 * GB);
    expect(cold).toEqual({ location: 'cold', kind: 'cold', url: 's3://acme-cold/app', storedBytes: 100 * GB, storageClass: 'DEEP_ARCHIVE', usdPerMonth: 0.099 });
    const hot = locationCost('hot', 'hot', { url: 'file:///var/backups/app' }, 5 * GB);
    expect(hot.usdPerMonth).toBe(0);
    expect(hot.storageClass).toBeUndefined();
    const unfilled = locationCost('copy', 'vault', { url: 's3://vault/app', storageClass: 'STANDARD_IA' }, undefined);
    expect(unfilled.usdPerMonth).toBeUndefined();
    expect(storageTotal([cold, hot, unfilled])).toEqual({ totalUsdPerMonth: 0.099, unknown: ['vault'] });
  });

  it('tier --estimate lists hot and each copy with its monthly cost and the total; --json carries the same', async () => {
    expect((await runCli(['init', 'app'], { env })).code).toBe(0);
    const backup = await runCli(['backup', 'app'], { env });
    expect(backup.code, backup.stderr).toBe(0);
    const status = await runCli(['status', '--copies', '--json'], { env });
    const copyBytes = (JSON.parse(status.stdout) as { data: StatusEntry[] }).data[0]!.copies![0]!.storedBytes!;
    expect(copyBytes).toBeGreaterThan(0);

    const json = await runCli(['tier', 'app', '--estimate', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const estimate = (JSON.parse(json.stdout) as { data: StorageEstimate }).data;
    const [hot, offsite] = estimate.locations;
    expect(hot).toMatchObject({ location: 'hot', kind: 'hot', usdPerMonth: 0 });
    expect(hot!.storedBytes).toBeGreaterThan(0);
    expect(offsite).toEqual({ location: 'offsite', kind: 'copy', url: 's3://estimate-offsite/app', storedBytes: copyBytes, storageClass: 'STANDARD', usdPerMonth: monthlyStorageCostUsd(copyBytes, 'STANDARD') });
    expect(estimate.totalUsdPerMonth).toBe(offsite!.usdPerMonth);
    expect(estimate.unknown).toEqual([]);

    const text = await runCli(['tier', 'app', '--estimate'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(': a folder, no list price');
    expect(text.stdout).toContain(`copy offsite s3://estimate-offsite/app: `);
    expect(text.stdout).toContain('/month (STANDARD)');
    expect(text.stdout).toContain('total $0.00/month');

    const both = await runCli(['tier', 'app', '--estimate', '--dry-run'], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--estimate and --dry-run');
  });
});
