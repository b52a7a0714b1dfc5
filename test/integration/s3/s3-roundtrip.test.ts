/**
 * The whole pipeline through S3 (issue 4): init, backup, snapshots, restore
 * and check --read-data, each a real CLI process, against s3rver on loopback.
 * The run record's transfer stage says what went up and that nothing is left.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { MiB, filesUnder, objectsInBucket, runsOf, s3Env, stageOf, writeRandomFile, writeS3Runbook } from './harness.js';

const tempDir = useTempDirs('pipeline-s3-roundtrip');
let server: RunningS3rver;

beforeAll(async () => {
  [server] = await Promise.all([startS3rver({ buckets: ['roundtrip'] }), ensureCliBuilt()]);
});

afterAll(async () => {
  await server?.stop();
});

describe('a runbook with an S3 repository', () => {
  it('inits, backs up, lists, restores byte-identical and checks every pack through S3', async () => {
    const base = await tempDir();
    const data = join(base, 'data');
    await mkdir(join(data, 'docs/nested'), { recursive: true });
    await writeFile(join(data, 'README.md'), '# s3 demo\n'.repeat(100));
    await writeFile(join(data, 'docs/notes.txt'), 'the quick brown fox\n'.repeat(20_000));
    await writeFile(join(data, 'docs/empty'), '');
    await writeRandomFile(join(data, 'docs/nested/blob.bin'), 'blob', 3 * MiB + 17);
    // Bigger than a pack: several packs, and a multipart upload each.
    await writeRandomFile(join(data, 'big.bin'), 'big', 40 * MiB + 5);
    await symlink('docs/notes.txt', join(data, 'notes-link'));
    await mkdir(join(data, 'empty-dir'));

    const home = join(base, 'home');
    const runbook = writeS3Runbook(base, 's3demo', { endpoint: server.endpoint, bucket: 'roundtrip', prefix: 'repos/s3demo', source: './data' });
    const env = s3Env(home);

    const init = await runCli(['init', runbook], { env });
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toContain('s3://roundtrip/repos/s3demo');
    const afterInit = await objectsInBucket(server.directory, 'roundtrip', 'repos/s3demo');
    expect([...afterInit.keys()].some((k) => k === 'repos/s3demo/config')).toBe(true);
    expect([...afterInit.keys()].filter((k) => k.startsWith('repos/s3demo/keys/'))).toHaveLength(1);

    const backup = await runCli(['backup', runbook], { env });
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);

    const [run, ...older] = await runsOf(home, 's3demo');
    expect(older).toHaveLength(0);
    expect(run!.status).toBe('succeeded');
    expect(run!.stages.map((s) => [s.name, s.status])).toEqual([
      ['discover', 'succeeded'],
      ['snapshot', 'succeeded'],
      ['transfer', 'succeeded'],
      ['verify', 'succeeded'],
      ['retention', 'skipped'],
    ]);
    const transfer = stageOf(run!, 'transfer').counters;
    // Packs, at least one index and the snapshot went up; nothing is left behind.
    expect(transfer.packs).toBeGreaterThanOrEqual(2);
    expect(transfer.uploadedObjects).toBeGreaterThanOrEqual(transfer.packs! + 2);
    expect(transfer.uploadedBytes).toBeGreaterThan(43 * MiB);
    expect(transfer.pendingObjects).toBe(0);
    expect(transfer.pendingBytes).toBe(0);
    expect(transfer.direct).toBeUndefined();
    expect(await filesUnder(join(home, 'staging'))).toEqual([]);

    // What the run says it uploaded is in the bucket, one object per pack.
    const objects = await objectsInBucket(server.directory, 'roundtrip', 'repos/s3demo');
    const dataKeys = [...objects.keys()].filter((k) => k.startsWith('repos/s3demo/data/'));
    expect(dataKeys).toHaveLength(transfer.packs!);
    expect([...objects.keys()].filter((k) => k.startsWith('repos/s3demo/snapshots/'))).toHaveLength(1);
    expect([...objects.keys()].filter((k) => k.startsWith('repos/s3demo/index/')).length).toBeGreaterThanOrEqual(1);

    const snapshots = await runCli(['snapshots', runbook, '--json'], { env });
    expect(snapshots.code, snapshots.stderr).toBe(0);
    const listed = JSON.parse(snapshots.stdout) as { data: { id: string; runbook: string; stats: { files: number } }[] };
    expect(listed.data).toHaveLength(1);
    expect(listed.data[0]!.runbook).toBe('s3demo');
    expect(listed.data[0]!.id).toBe(run!.snapshotId);
    expect(listed.data[0]!.stats.files).toBe(5);

    // Restore with a fresh state folder: nothing cached, everything read from S3.
    const target = join(base, 'restored');
    const restore = await runCli(['restore', runbook, '--target', target], { env: s3Env(join(base, 'home-fresh')) });
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    // Each source restores under its name.
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(data));

    const check = await runCli(['check', runbook, '--read-data', '--json'], { env: s3Env(join(base, 'home-check')) });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const checked = JSON.parse(check.stdout) as { data: { packs: number; packsRead: number; errors: string[]; damaged: unknown[] } };
    expect(checked.data.errors).toEqual([]);
    expect(checked.data.damaged).toEqual([]);
    expect(checked.data.packs).toBe(transfer.packs);
    expect(checked.data.packsRead).toBe(transfer.packs);
  });
});
