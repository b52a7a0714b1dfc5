/**
 * A backup bigger than the staging room (issue 22): 150 MB of incompressible
 * files to s3rver, with `transfer.stagingLimit: 60MB` (always), and with the
 * staging folder on a 60 MiB tmpfs and the default limit (where this process
 * may mount one: root on Linux). Snapshotting waits for uploads at the bound;
 * the backup succeeds and restores byte for byte.
 *
 * What staging held is seen twice: the run's own high-water mark (transfer
 * stage counters) and this process sampling the staging folder while the
 * backup runs. The sample can miss a peak but never invents one.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesUnder } from '../../helpers/bytes-under.js';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { MiB, filesUnder, runsOf, s3Env, stageOf, writeRandomFile } from './harness.js';

const tempDir = useTempDirs('staging-limit-s3');
let server: RunningS3rver;
/** The 150 MB source, made once and backed up by each case. */
let data: string;

/** A pack is at most the pack size (16 MiB) plus its last blob's overshoot and header: 17 MiB bounds it. */
const ONE_PACK = 17 * MiB;

function mountTmpfs(dir: string, size: string): boolean {
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' }).status === 0;
}

function unmount(dir: string): void {
  const result = spawnSync('umount', [dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`umount ${dir}: ${result.stderr}`);
}

/** Whether this process may mount a tmpfs (root on Linux; CI may not be). */
async function tmpfsMountable(): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  const probe = await mkdtemp(join(tmpdir(), 'lifeboat-tmpfs-probe-'));
  try {
    if (!mountTmpfs(probe, '1m')) return false;
    unmount(probe);
    return true;
  } finally {
    await rmdir(probe);
  }
}

const canMountTmpfs = await tmpfsMountable();

beforeAll(async () => {
  [server, data] = await Promise.all([startS3rver({ buckets: ['staged'] }), tempDir().then(makeData), ensureCliBuilt()]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

/** 150 MB in a few incompressible files (and one small one). */
async function makeData(base: string): Promise<string> {
  const data = join(base, 'data');
  await mkdir(join(data, 'db'), { recursive: true });
  await writeRandomFile(join(data, 'db/base.bin'), 'base', 55_000_000);
  await writeRandomFile(join(data, 'db/wal.bin'), 'wal', 45_000_000);
  await writeRandomFile(join(data, 'media.bin'), 'media', 35_000_000);
  await writeRandomFile(join(data, 'logs.bin'), 'logs', 15_000_000 - 10);
  await writeFile(join(data, 'note.txt'), '0123456789');
  return data;
}

function writeRunbook(dir: string, name: string, prefix: string, transfer: Record<string, unknown>): string {
  const doc = {
    name,
    owner: '@lifeboat-tests',
    sources: [{ name: 'data', path: data }],
    repository: {
      hot: { url: `s3://staged/${prefix}`, endpoint: server.endpoint, pathStyle: true, region: 'us-east-1' },
      password: { env: 'LIFEBOAT_PASSWORD' },
    },
    objectives: { rpo: '26h', rto: '15m' },
    transfer: { concurrency: 4, ...transfer },
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** Samples the size of `dir` until stopped; resolves to the largest seen. */
function sampleSize(dir: string): { stop: () => Promise<number> } {
  let largest = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      largest = Math.max(largest, await bytesUnder(dir));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return largest;
    },
  };
}

/** Init, back up while sampling staging, check the run; restore with a fresh state folder and compare. */
async function backUpAndRestore(base: string, home: string, runbook: string, name: string): Promise<{ limit: number; peak: number; sampled: number }> {
  const env = s3Env(home);
  const init = await runCli(['init', runbook], { env });
  expect(init.code, init.stdout + init.stderr).toBe(0);

  const sampler = sampleSize(join(home, 'staging'));
  const backup = await runCli(['backup', runbook], { env });
  const sampled = await sampler.stop();
  expect(backup.code, backup.stdout + backup.stderr).toBe(0);

  const [run] = await runsOf(home, name);
  expect(run!.status).toBe('succeeded');
  const transfer = stageOf(run!, 'transfer').counters;
  expect(transfer.uploadedBytes).toBeGreaterThan(150_000_000);
  expect(transfer.pendingObjects).toBe(0);
  expect(await filesUnder(join(home, 'staging'))).toEqual([]);

  const target = join(base, 'restored');
  const restore = await runCli(['restore', runbook, '--target', target], { env: s3Env(join(base, 'home-fresh')) });
  expect(restore.code, restore.stdout + restore.stderr).toBe(0);
  expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(data));
  return { limit: transfer.stagingLimitBytes!, peak: transfer.stagedPeakBytes!, sampled };
}

describe('a 150 MB backup through a staging folder smaller than the backup', () => {
  it('with transfer.stagingLimit: 60MB, staging never holds more than 60 MB, and the backup restores byte for byte', async () => {
    const base = await tempDir();
    // Uploads held to 25 MiB/s, so snapshotting (faster on any machine that runs this) meets the bound.
    const runbook = writeRunbook(base, 'limited', 'limited', { stagingLimit: '60MB', bandwidth: '25MiB/s' });
    const seen = await backUpAndRestore(base, join(base, 'home'), runbook, 'limited');
    expect(seen.limit).toBe(60_000_000);
    expect(seen.peak).toBeGreaterThan(0);
    // Saves reserve their room before writing, so the bound holds exactly (a pack bigger than it would go alone).
    expect(seen.peak).toBeLessThanOrEqual(60_000_000);
    expect(seen.sampled).toBeLessThanOrEqual(60_000_000);
  }, 120_000);

  it.runIf(canMountTmpfs)('with staging on a 60 MiB tmpfs and the default limit (a quarter of its free space, so one pack at a time), the backup fits and restores byte for byte', async () => {
    const base = await tempDir();
    const home = join(base, 'home');
    const stagingMount = join(home, 'staging');
    await mkdir(stagingMount, { recursive: true });
    expect(mountTmpfs(stagingMount, '60m')).toBe(true);
    try {
      const runbook = writeRunbook(base, 'tmpfs', 'tmpfs', {});
      const seen = await backUpAndRestore(base, home, runbook, 'tmpfs');
      expect(seen.limit).toBeGreaterThan(0);
      expect(seen.limit).toBeLessThanOrEqual(15 * MiB);
      // Below one pack: packs go through one at a time, each alone.
      expect(seen.peak).toBeLessThanOrEqual(ONE_PACK);
      expect(seen.sampled).toBeLessThanOrEqual(ONE_PACK);
    } finally {
      unmount(stagingMount);
    }
  }, 120_000);
});
