/**
 * A backup into S3 killed with -9 after its snapshot was staged, while its
 * packs were still on their way up (issue 16): the process could not record
 * how it ended, and `resume` used to upload its data yet leave the run
 * `running` forever.
 *
 * Every action that holds the run lock or records a run now closes the
 * runbook's abandoned runs first (src/core/use-cases/recorded-run.ts,
 * src/core/runs/abandoned-runs.ts). Here `resume` takes over the dead
 * process's run lock, records the run transfer-pending (its snapshot was
 * staged, not lost), uploads what it staged, and completes it — keeping the
 * error that says the process died — and the snapshot restores identically.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { startFlakyProxy, type FlakyProxy } from '../helpers/flaky-proxy.js';
import { expectSameManifest, manifestOf } from '../helpers/fs-manifest.js';
import { peekRuns, startCli, waitFor } from '../helpers/pipeline-process.js';
import { processAlive } from '../../src/core/process-info.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { MiB, filesUnder, runsOf, s3Env, stageOf, writeRandomFile, writeS3Runbook } from './s3/harness.js';

const tempDir = useTempDirs('killed-backup-resume');
let server: RunningS3rver;
let proxy: FlakyProxy;

beforeAll(async () => {
  [server] = await Promise.all([startS3rver({ buckets: ['killed'] }), ensureCliBuilt()]);
  proxy = await startFlakyProxy(server.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

describe('a backup killed after its snapshot was staged', () => {
  it('is closed by resume as transfer-pending, then completed; it says the process died; the snapshot restores', async () => {
    const base = await tempDir();
    const data = join(base, 'data');
    await writeRandomFile(join(data, 'a.bin'), 'killed a', 9 * MiB + 17);
    await writeRandomFile(join(data, 'b.bin'), 'killed b', 300 * 1024);
    const home = join(base, 'home');
    const runbook = writeS3Runbook(base, 'killed', { endpoint: proxy.endpoint, bucket: 'killed', prefix: 'p', source: './data' });
    const env = s3Env(home);
    expect((await runCli(['init', runbook], { env })).code).toBe(0);

    // Uploads of packs hang (the store stops answering); locks, index and snapshots pass.
    let stall = true;
    proxy.plan = (r) => (stall && (r.method === 'PUT' || r.method === 'POST') && r.url.startsWith('/killed/p/data/') ? { type: 'stall' } : undefined);
    const victim = startCli(['backup', runbook], { env });
    // The snapshot is staged once the run is in its transfer stage (the record then holds its id).
    const caught = await waitFor('the backup to wait in its transfer stage', async () => {
      const run = (await peekRuns(home)).find((r) => r.pid === victim.pid);
      return run && run.stages.some((s) => s.name === 'transfer' && s.status === 'running') ? run : undefined;
    });
    victim.child.kill('SIGKILL');
    expect((await victim.done).signal).toBe('SIGKILL');
    await waitFor('the killed process to be gone', async () => (processAlive(victim.pid) ? undefined : true), 5000);
    expect(caught.snapshotId).toBeDefined();
    const [dead] = await runsOf(home, 'killed');
    expect(dead).toMatchObject({ id: caught.id, status: 'running' });
    expect((await filesUnder(join(home, 'staging'))).length).toBeGreaterThan(0);

    // The store answers again: resume takes over the dead run's lock, closes it, uploads and completes it.
    stall = false;
    const resume = await runCli(['resume', runbook], { env });
    expect(resume.code, resume.stdout + resume.stderr).toBe(0);
    expect(resume.stderr).toContain(`took over a stale run lock of pid ${victim.pid}`);
    expect(resume.stderr).toContain(`run ${caught.id} was left running by a process that is gone: recorded as transfer-pending`);
    expect(resume.stdout).toMatch(/1 transfer-pending run\(s\) completed/);
    expect(await filesUnder(join(home, 'staging'))).toEqual([]);

    const [closed] = await runsOf(home, 'killed');
    expect(closed!.id).toBe(caught.id);
    expect(closed!.status).toBe('succeeded');
    expect(closed!.endedAt).toBeDefined();
    // Recorded as what happened: its process died after staging the snapshot; the upload came later.
    expect(closed!.error?.message).toContain(`process ${victim.pid} on`);
    expect(closed!.error?.message).toContain(`died after snapshot ${caught.snapshotId!.slice(0, 8)} was staged`);
    expect(stageOf(closed!, 'transfer')).toMatchObject({ status: 'succeeded' });
    expect(stageOf(closed!, 'transfer').counters.completedLaterAt).toBeGreaterThan(0);

    // The snapshot the dead process staged is in the repository and restores identically, from S3 alone.
    const target = join(base, 'restored');
    const restore = await runCli(['restore', runbook, caught.snapshotId!, '--target', target], { env: s3Env(join(base, 'home-restore')) });
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(data));
  });
});
