/**
 * Two runs of one runbook never overlap (issue 5, "Must show" 3): two CLI
 * processes started at once — one runs, the other is refused naming the holder;
 * after `kill -9` of a holder, the next run takes over the stale lock, says so,
 * and leaves a repository that passes `check --read-data`.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { processAlive } from '../../../src/core/process-info.js';
import { runsOf, startCli, waitFor, waitForStageRunning, writeRandomFiles } from '../../helpers/pipeline-process.js';
import { pipelineEnv, writePipelineRunbook } from '../../helpers/pipeline-runbook.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('pipeline-lock');
const MiB = 1024 * 1024;

let base: string;
let src: string;
let runbook: string;
let home: string;
let env: Record<string, string>;
/** While this file is missing, the runbook's stream source waits: the snapshot stage stays running. */
let go: string;
/** The run killed with -9 in the second test. */
let killedRunId: string | undefined;

beforeAll(async () => {
  await ensureCliBuilt();
  base = await tempDir();
  src = join(base, 'src');
  await mkdir(src);
  // 200 MiB of random data: a couple of seconds of backup on a small machine.
  await writeRandomFiles(src, 25, 8 * MiB);
  home = join(base, 'home');
  go = join(base, 'go');
  await writeFile(go, '');
  runbook = writePipelineRunbook(base, 'locked', {
    repo: join(base, 'repo'),
    sources: [
      { name: 'data', path: 'src' },
      { name: 'db', command: `while [ ! -e ${go} ]; do sleep 0.05; done; echo dump` },
    ],
  });
  env = pipelineEnv(home);
  const init = await runCli(['init', runbook], { env });
  expect(init.code, init.stderr).toBe(0);
});

/** Pack files in the repository so far (by their content-id names: a save in progress is a temp file). */
async function packCount(): Promise<number> {
  const entries = await readdir(join(base, 'repo', 'data'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name)).length;
}

describe('the run lock', () => {
  it('lets one of two backups started at once run; the other is refused with who holds the lock and since when', async () => {
    const a = startCli(['backup', runbook], { env });
    const b = startCli(['backup', runbook], { env });
    const results = await Promise.all([a.done, b.done]);
    const codes = results.map((r) => r.code);
    expect(codes.filter((c) => c === 0), JSON.stringify(results, null, 2)).toHaveLength(1);
    const winnerIndex = codes.indexOf(0);
    const winner = [a, b][winnerIndex]!;
    const loser = results[1 - winnerIndex]!;
    expect(loser.code).not.toBe(0);

    // Exactly one run was recorded: the refused one never started.
    const runs = await runsOf(home, 'locked');
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('succeeded');
    expect(runs[0]!.pid).toBe(winner.pid);
    // The refusal names the holder: pid, host and start time of the run that holds the lock.
    expect(loser.stderr).toContain('locked is already running');
    expect(loser.stderr).toContain(`pid ${winner.pid} on ${hostname()}`);
    expect(loser.stderr).toContain(`since ${runs[0]!.startedAt}`);
    expect(loser.stderr).toContain(runs[0]!.id);
  });

  it('after kill -9 of the holder, the next run takes over the stale lock, says so, and the repository checks clean', async () => {
    // New content, so this run writes packs of its own before the kill: 384 MiB. Then its stream source
    // waits for `go`, so its snapshot stage is still running however fast the machine (a stage's start
    // reaches the record up to a second after it began, RunRecorder: a fast machine finished the snapshot
    // before the kill).
    await writeRandomFiles(src, 48, 8 * MiB);
    await rm(go);
    const packsBefore = await packCount();
    const victim = startCli(['backup', runbook], { env });
    const running = await waitForStageRunning(home, 'locked', 'snapshot');
    expect(running.pid).toBe(victim.pid);
    const lockFile = join(home, 'locks/locked.lock');
    const held = JSON.parse(await readFile(lockFile, 'utf8')) as { pid: number; startedAt: string; host: string };
    expect(held).toMatchObject({ pid: victim.pid, host: hostname(), startedAt: running.startedAt });
    // Killed once it has written packs of its own, and before its snapshot exists (checked below: two snapshots, not three).
    await waitFor('the victim to write a pack', async () => ((await packCount()) > packsBefore ? true : undefined), 10_000);
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    expect(killed.signal).toBe('SIGKILL');
    await waitFor('the killed process to be gone', async () => (processAlive(victim.pid) ? undefined : true), 5000);
    // It could not clean up: its lock is still there, naming a dead process.
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: victim.pid });

    await writeFile(go, '');
    const next = await runCli(['backup', runbook], { env });
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stderr).toContain(`warn: took over a stale run lock of pid ${victim.pid} (started ${running.startedAt})`);
    const [latest] = await runsOf(home, 'locked');
    expect(latest!.status).toBe('succeeded');
    expect(latest!.pid).not.toBe(victim.pid);
    killedRunId = running.id;
    // Released at the end: a later run gets the lock without a takeover.
    await expect(readFile(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });

    const check = await runCli(['check', runbook, '--read-data'], { env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/no errors: 2 snapshots/);
  });

  it('does not leave the killed run recorded as running forever once its stale lock was taken over', async () => {
    expect(killedRunId, 'needs the kill -9 test above').toBeDefined();
    const runs = await runsOf(home, 'locked');
    const killed = runs.find((r) => r.id === killedRunId)!;
    // A run whose process is gone is not running; left as `running`, it is invisible to
    // the rules that alert on failed backups, and looks in progress to an operator forever.
    expect(killed.status).not.toBe('running');
    expect(killed.endedAt).toBeDefined();
    expect(killed.error?.message ?? '').toContain(String(killed.pid));
  });
});
