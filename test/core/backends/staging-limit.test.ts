/**
 * The staging bound (transfer.stagingLimit): saves wait for uploads at the
 * bound, an object bigger than the bound still goes through (alone), a remote
 * that is down does not hold saves back, and the runbook setting resolves to
 * bytes from a size or from the staging file system's free space.
 */
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Handle, SaveOptions } from '../../../src/core/backends/backend.js';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { StagingBackend } from '../../../src/core/backends/staging-backend.js';
import { LifeboatError } from '../../../src/core/errors.js';
import { DEFAULT_STAGING_CAP_BYTES, stagingLimitBytes } from '../../../src/core/repo/staging-limit.js';
import { checkRunbookText, formatIssue } from '../../../src/core/runbook/index.js';
import { bytesUnder } from '../../helpers/bytes-under.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('staging-limit');
const KiB = 1024;

/** Uploads that take a while, so saves catch up with them; records the staging folder's size at each upload. */
class SlowRemote extends MemoryBackend {
  readonly stagedAtUpload: number[] = [];
  constructor(private readonly stagingDir: string) {
    super();
  }
  override async save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    this.stagedAtUpload.push(await bytesUnder(this.stagingDir));
    await new Promise((r) => setTimeout(r, 10));
    await super.save(handle, data, options);
  }
}

/** A remote that refuses every upload, as one past the retry budget does. */
class DownRemote extends MemoryBackend {
  override save(): Promise<void> {
    return Promise.reject(new LifeboatError('BACKEND_IO', 'remote down', { retryable: true }));
  }
}

/** A remote whose uploads never finish (a stalled connection the retry wrapper has not given up on yet). */
class StalledRemote extends MemoryBackend {
  override save(): Promise<void> {
    return new Promise(() => undefined);
  }
}

const pack = (i: number, size: number): [Handle, Buffer] => [{ kind: 'data', name: `${i.toString(16).padStart(4, '0')}${'0'.repeat(60)}` }, Buffer.alloc(size, i)];

describe('StagingBackend bound', () => {
  it('keeps staging at or under the bound while saves run side by side, and uploads everything', async () => {
    const dir = await tempDir();
    const remote = new SlowRemote(dir);
    const staging = new StagingBackend(remote, new LocalBackend(dir), { concurrency: 2, maxStagedBytes: 100 * KiB });
    // Ten 30 KiB packs saved at once: at most three fit under 100 KiB.
    await Promise.all(Array.from({ length: 10 }, (_, i) => staging.save(...pack(i, 30 * KiB))));
    await staging.flush();
    expect(staging.uploadedObjects).toBe(10);
    expect(staging.stagedPeak).toBe(90 * KiB);
    expect(Math.max(...remote.stagedAtUpload)).toBeLessThanOrEqual(100 * KiB);
    expect(await bytesUnder(dir)).toBe(0);
  });

  it('stages an object bigger than the bound alone instead of waiting forever', async () => {
    const dir = await tempDir();
    const remote = new SlowRemote(dir);
    const staging = new StagingBackend(remote, new LocalBackend(dir), { concurrency: 4, maxStagedBytes: 50 * KiB });
    await Promise.all([staging.save(...pack(1, 20 * KiB)), staging.save(...pack(2, 120 * KiB)), staging.save(...pack(3, 20 * KiB))]);
    await staging.flush();
    expect(staging.uploadedObjects).toBe(3);
    // The big one never shared staging with another object.
    expect(staging.stagedPeak).toBe(120 * KiB);
    const bigPack = await remote.load(pack(2, 0)[0]);
    expect(bigPack.length).toBe(120 * KiB);
  });

  it('does not hold saves back once the remote is down: everything stays safe in staging', async () => {
    const dir = await tempDir();
    const staging = new StagingBackend(new DownRemote(), new LocalBackend(dir), { concurrency: 1, maxStagedBytes: 40 * KiB });
    for (let i = 0; i < 5; i++) await staging.save(...pack(i, 30 * KiB));
    await expect(staging.flush()).rejects.toMatchObject({ code: 'TRANSFER_PENDING' });
    expect(staging.pending).toEqual({ objects: 5, bytes: 150 * KiB });
    expect(await bytesUnder(dir)).toBe(150 * KiB);
  });

  it('lets a save waiting for room go on into staging when the transfer is cancelled', async () => {
    const dir = await tempDir();
    const staging = new StagingBackend(new StalledRemote(), new LocalBackend(dir), { concurrency: 1, maxStagedBytes: 40 * KiB });
    await staging.save(...pack(1, 30 * KiB));
    let second = 'waiting';
    const waiting = staging.save(...pack(2, 30 * KiB)).then(() => (second = 'staged'));
    await new Promise((r) => setTimeout(r, 50));
    expect(second).toBe('waiting');
    const cancel = new AbortController();
    cancel.abort();
    await expect(staging.flush(cancel.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    await waiting;
    expect(second).toBe('staged');
    expect(await bytesUnder(dir)).toBe(60 * KiB);
  });
});

describe('stagingLimitBytes', () => {
  const freeAt = async (dir: string) => {
    const fs = await statfs(dir);
    return fs.bavail * fs.bsize;
  };

  it('takes a size as written', async () => {
    expect(await stagingLimitBytes({ bytes: 60_000_000 }, await tempDir())).toBe(60_000_000);
  });

  it('takes a share of the free space, asking the nearest folder that exists', async () => {
    const dir = await tempDir();
    const before = await freeAt(dir);
    const limit = await stagingLimitBytes({ fractionOfFree: 0.1 }, join(dir, 'staging', 'not-made-yet'));
    const after = await freeAt(dir);
    // Others write on this disk meanwhile: the answer lies between the two readings.
    expect(limit).toBeGreaterThanOrEqual(Math.floor(Math.min(before, after) * 0.1));
    expect(limit).toBeLessThanOrEqual(Math.floor(Math.max(before, after) * 0.1));
  });

  it('defaults to a quarter of the free space, at most 1 GiB', async () => {
    const dir = await tempDir();
    const before = await freeAt(dir);
    const limit = await stagingLimitBytes(undefined, dir);
    const after = await freeAt(dir);
    expect(limit).toBeGreaterThanOrEqual(Math.min(DEFAULT_STAGING_CAP_BYTES, Math.floor(Math.min(before, after) / 4)));
    expect(limit).toBeLessThanOrEqual(Math.min(DEFAULT_STAGING_CAP_BYTES, Math.floor(Math.max(before, after) / 4)));
  });
});

describe('transfer.stagingLimit in a runbook', () => {
  const runbook = (limit: string) => `name: staged
sources:
  - name: files
    path: data
repository:
  hot: { url: "s3://bucket/staged" }
  password: { env: PW }
objectives: { rpo: 26h, rto: 15m }
transfer: { stagingLimit: ${limit} }
`;
  const check = (limit: string) => checkRunbookText(runbook(limit), '/tmp/staged.yaml', { runbooksDir: '.', home: '.lifeboat', cwd: '/tmp' });

  it.each([
    ['60MB', { bytes: 60_000_000 }],
    ['2GiB', { bytes: 2 * 1024 ** 3 }],
    ['25%', { fractionOfFree: 0.25 }],
  ])('reads %s', (text, want) => {
    const result = check(text);
    expect(result.issues.map(formatIssue)).toEqual([]);
    expect(result.runbook?.transfer.stagingLimit).toEqual(want);
  });

  it('is absent unless written', () => {
    const result = checkRunbookText(runbook('1GiB').replace(/^transfer:.*\n/m, ''), '/tmp/staged.yaml', { runbooksDir: '.', home: '.lifeboat', cwd: '/tmp' });
    expect(result.runbook?.transfer).toEqual({ concurrency: 4 });
  });

  it.each([
    ['60', 'staged.yaml:9:27: transfer.stagingLimit: Size without a unit: "60" (expected e.g. 512MiB, 1GiB, 10MB)'],
    ['0%', 'staged.yaml:9:27: transfer.stagingLimit: Staging limit must be more than zero: "0%" (expected a size, e.g. 512MiB, 1GiB, 10MB, or a share of the free space, e.g. 25%)'],
    ['0B', 'staged.yaml:9:27: transfer.stagingLimit: Staging limit must be more than zero: "0B" (expected a size, e.g. 512MiB, 1GiB, 10MB, or a share of the free space, e.g. 25%)'],
    ['120%', 'staged.yaml:9:27: transfer.stagingLimit: Percentage over 100%: "120%" (expected 0% to 100%)'],
    ['lots', 'staged.yaml:9:27: transfer.stagingLimit: Unknown size: "lots" (expected e.g. 512MiB, 1GiB, 10MB)'],
  ])('refuses %s, saying where and what would do', (text, message) => {
    expect(check(text).issues.map(formatIssue)).toEqual([message]);
  });
});
