/**
 * Cancellation (issue 5, "Must show" 5, snapshot stage; the transfer-stage case
 * needs S3 and lives with the remote-repository tests): SIGTERM to the CLI while
 * the snapshot stage runs → exit 130, the run recorded `cancelled`, the after
 * hook ran and saw it, the repository passes `check --read-data`, and the next
 * backup succeeds.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/core/store/index.js';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { runsOf, stageOf, startCli, waitForStageRunning, writeRandomFiles } from '../../helpers/pipeline-process.js';
import { pipelineEnv, writePipelineRunbook } from '../../helpers/pipeline-runbook.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('pipeline-cancel');
const MiB = 1024 * 1024;

let base: string;
let runbook: string;
let home: string;
let env: Record<string, string>;
let go: string;
let cancelled: { code: number | null; stdout: string; stderr: string; signalledAt: number; run: RunRecord };

/** The snapshots the repository lists for the runbook. */
async function snapshotIds(): Promise<string[]> {
  const list = await runCli(['snapshots', runbook, '--json'], { env });
  expect(list.code, list.stderr).toBe(0);
  return (JSON.parse(list.stdout) as { data: { id: string }[] }).data.map((s) => s.id);
}

beforeAll(async () => {
  await ensureCliBuilt();
  base = await tempDir();
  await mkdir(join(base, 'src'));
  // 384 MiB of incompressible data: packs written before the signal (~1-3 s of snapshot work).
  await writeRandomFiles(join(base, 'src'), 48, 8 * MiB);
  home = join(base, 'home');
  // Then a stream source that waits for the test, so the snapshot stage is still running when the signal
  // comes however fast the machine: a stage's start reaches the record up to a second after it began
  // (RunRecorder), and a quiet fast machine backed up the 384 MiB in less.
  go = join(base, 'go');
  runbook = writePipelineRunbook(base, 'interrupted', {
    repo: join(base, 'repo'),
    sources: [
      { name: 'data', path: 'src' },
      { name: 'db', command: `while [ ! -e ${go} ]; do sleep 0.05; done; echo dump` },
    ],
    hooks: { after: ['echo "$LIFEBOAT_RUN_STATUS" >> after-status.txt'] },
  });
  env = pipelineEnv(home);
  const init = await runCli(['init', runbook], { env });
  expect(init.code, init.stderr).toBe(0);

  const cli = startCli(['backup', runbook], { env });
  // The record shows the stage running up to a second after it began (RunRecorder): the signal comes then.
  await waitForStageRunning(home, 'interrupted', 'snapshot');
  const signalledAt = Date.now();
  cli.child.kill('SIGTERM');
  const done = await cli.done;
  const [run] = await runsOf(home, 'interrupted');
  cancelled = { ...done, signalledAt, run: run! };
});

describe('SIGTERM during the snapshot stage', () => {
  it('exits 130 and records the run cancelled; the after hook ran and saw "cancelled"', () => {
    expect(cancelled.code, cancelled.stdout + cancelled.stderr).toBe(130);
    expect(cancelled.stderr).toMatch(/cancelling/);
    const run = cancelled.run;
    expect(run.status).toBe('cancelled');
    expect(run.error?.code).toBe('CANCELLED');
    expect(run.endedAt).toBeDefined();
    // The signal really arrived during the snapshot stage (the premise of this test).
    const snapshot = stageOf(run, 'snapshot')!;
    expect(Date.parse(snapshot.startedAt!)).toBeLessThan(cancelled.signalledAt);
    if (snapshot.endedAt) expect(Date.parse(snapshot.endedAt)).toBeGreaterThan(cancelled.signalledAt);
    // No stage is left `running` in the record.
    expect(run.stages.filter((s) => s.status === 'running')).toEqual([]);
  });

  it('runs the after hook with LIFEBOAT_RUN_STATUS=cancelled', async () => {
    expect((await readFile(join(base, 'after-status.txt'), 'utf8')).trim().split('\n')).toEqual(['cancelled']);
  });

  it('stops the snapshot stage: it is not recorded as succeeded and the cancelled run writes no snapshot', async () => {
    const run = cancelled.run;
    expect(stageOf(run, 'snapshot')!.status).not.toBe('succeeded');
    expect(run.snapshotId).toBeUndefined();
    expect(await snapshotIds()).toEqual([]);
  });

  it('leaves a repository that passes check --read-data, and the next backup succeeds', async () => {
    const check = await runCli(['check', runbook, '--read-data'], { env });
    expect(check.code, check.stdout + check.stderr).toBe(0);

    await writeFile(go, '');
    const next = await runCli(['backup', runbook], { env });
    expect(next.code, next.stdout + next.stderr).toBe(0);
    const [latest] = await runsOf(home, 'interrupted');
    expect(latest!.id).not.toBe(cancelled.run.id);
    expect(latest!.status).toBe('succeeded');
    expect(await snapshotIds()).toContain(latest!.snapshotId);
    expect((await readFile(join(base, 'after-status.txt'), 'utf8')).trim().split('\n')).toEqual(['cancelled', 'succeeded']);

    // The next run's snapshot restores the whole source.
    const target = join(base, 'restored');
    const restore = await runCli(['restore', runbook, '--target', target], { env });
    expect(restore.code, restore.stderr).toBe(0);
    // The 48 data files and the stream source's dump.
    expect(restore.stdout).toMatch(/49 files/);
    const again = await runCli(['check', runbook, '--read-data'], { env });
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });
});
