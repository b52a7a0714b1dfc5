/**
 * Retention end to end (issue 5, "Must show" 4, the CLI half; the policy's
 * golden tests over a year of daily snapshots live with retention-policy.ts):
 * the retention stage of each backup applies `last: 2`, `forget --dry-run`
 * shows the plan of another policy with a reason per line and changes nothing,
 * and after the prunes the repository checks clean and the kept snapshots
 * restore exactly as the source was when they were taken.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/core/store/index.js';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf, type Manifest } from '../../helpers/fs-manifest.js';
import { packsIn, runsOf, stageOf } from '../../helpers/pipeline-process.js';
import { pipelineEnv, writePipelineRunbook } from '../../helpers/pipeline-runbook.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('pipeline-retention');

let base: string;
let src: string;
let repo: string;
let runbook: string;
let home: string;
let env: Record<string, string>;
/** Per backup, in order: its run record and the source as it was when backed up. */
const steps: { run: RunRecord; manifest: Manifest }[] = [];

interface SnapshotRow {
  id: string;
  time: string;
}

async function snapshotList(file: string): Promise<SnapshotRow[]> {
  const list = await runCli(['snapshots', file, '--json'], { env });
  expect(list.code, list.stderr).toBe(0);
  return (JSON.parse(list.stdout) as { data: SnapshotRow[] }).data;
}

/** Change the source the way a live folder changes: edit, replace, add, delete. */
async function changeSource(step: number): Promise<void> {
  await appendFile(join(src, 'app.log'), `line ${step}\n`);
  await writeFile(join(src, 'db/blob.bin'), randomBytes(2 * 1024 * 1024)); // unique per step: forgetting a step frees it
  await writeFile(join(src, `upload-${step}.txt`), `upload ${step}\n`);
  await rm(join(src, `upload-${step - 1}.txt`), { force: true });
}

beforeAll(async () => {
  await ensureCliBuilt();
  base = await tempDir();
  src = join(base, 'src');
  repo = join(base, 'repo');
  home = join(base, 'home');
  await mkdir(join(src, 'db'), { recursive: true });
  await writeFile(join(src, 'README'), 'kept as is in every snapshot\n');
  runbook = writePipelineRunbook(base, 'rotating', { repo, sources: [{ name: 'data', path: 'src' }], retention: { last: 2 } });
  env = pipelineEnv(home);
  const init = await runCli(['init', runbook], { env });
  expect(init.code, init.stderr).toBe(0);

  for (let step = 1; step <= 4; step++) {
    await changeSource(step);
    const manifest = await manifestOf(src);
    const backup = await runCli(['backup', runbook], { env });
    expect(backup.code, `backup ${step}: ${backup.stdout}${backup.stderr}`).toBe(0);
    const [run] = await runsOf(home, 'rotating');
    steps.push({ run: run!, manifest });
    // Straight after each pruning backup, before a later backup could store a lost blob again.
    const check = await runCli(['check', runbook, '--read-data'], { env });
    expect(check.code, `check after backup ${step}: ${check.stdout}${check.stderr}`).toBe(0);
  }
});

describe('retention { last: 2 } in the backup run', () => {
  it('keeps the two newest snapshots after four backups; each retention stage says what it did', async () => {
    expect(steps.map((s) => s.run.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const retention = steps.map((s) => stageOf(s.run, 'retention')!);
    expect(retention.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(retention.map((r) => [r.counters.kept, r.counters.forgotten])).toEqual([
      [1, 0],
      [2, 0],
      [2, 1],
      [2, 1],
    ]);
    // The forgotten snapshots' unique data went: whole packs deleted or repacked.
    for (const r of retention.slice(2)) expect(r.counters.packsDeleted! + r.counters.packsRepacked!).toBeGreaterThan(0);

    const snaps = await snapshotList(runbook);
    expect(snaps.map((s) => s.id).sort()).toEqual([steps[2]!.run.snapshotId, steps[3]!.run.snapshotId].sort());
  });

  it('forget --dry-run shows another policy\'s plan line by line with reasons, and changes nothing', async () => {
    // The same runbook (same name, source and repository) with a daily-style policy.
    await mkdir(join(base, 'alt'), { recursive: true });
    const daily = writePipelineRunbook(join(base, 'alt'), 'rotating', { repo, sources: [{ name: 'data', path: src }], retention: { last: 1, daily: 7 } });
    const before = { snaps: await snapshotList(runbook), packs: await packsIn(repo) };

    const dry = await runCli(['forget', daily, '--dry-run'], { env });
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);

    const [newest, older] = [...before.snaps].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
    const day = (t: string) => t.slice(0, 10); // UTC, as the runbook's schedule says
    const sameDay = day(newest!.time) === day(older!.time);
    const expected = [
      `keep   ${newest!.id.slice(0, 8)}  ${newest!.time}  last 1 (#1), daily 7 (${day(newest!.time)})`,
      sameDay
        ? `forget ${older!.id.slice(0, 8)}  ${older!.time}  not selected by any rule: older than the last 1 kept; a newer snapshot is kept for daily ${day(older!.time)}`
        : `keep   ${older!.id.slice(0, 8)}  ${older!.time}  daily 7 (${day(older!.time)})`,
    ];
    const planLines = dry.stdout.split('\n').filter((l) => /^(keep|forget) /.test(l));
    expect(planLines).toEqual(expected);
    expect(dry.stdout).toContain(`dry run: would keep ${sameDay ? 1 : 2} and forget ${sameDay ? 1 : 0} snapshot(s) of rotating`);
    expect(dry.stdout).toMatch(/^prune would: delete \d+ pack\(s\), repack \d+, remove \d+ unindexed, free .+ of .+$/m);

    // Nothing changed: the same snapshots, the same packs.
    expect(await snapshotList(runbook)).toEqual(before.snaps);
    expect(await packsIn(repo)).toEqual(before.packs);
  });

  it('forget --dry-run estimates what prune would free after forgetting the planned snapshots', async (ctx) => {
    // Forgetting a snapshot whose 2 MiB blob.bin no other snapshot has must free it.
    const daily = join(base, 'alt/rotating.yaml');
    const dry = await runCli(['forget', daily, '--dry-run'], { env });
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    const plan = dry.stdout.split('\n').filter((l) => l.startsWith('forget '));
    ctx.skip(plan.length === 0, 'the two kept snapshots straddle midnight UTC, so the daily policy forgets nothing');
    const line = dry.stdout.split('\n').find((l) => l.startsWith('prune would:'))!;
    const m = /delete (\d+) pack\(s\), repack (\d+)/.exec(line)!;
    expect(Number(m[1]) + Number(m[2]), line).toBeGreaterThan(0);
  });

  it('after the prunes the repository passes check --read-data, and both kept snapshots restore identically', async () => {
    const check = await runCli(['check', runbook, '--read-data'], { env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/no errors: 2 snapshots/);

    // forget with the runbook's own policy now has nothing to do.
    const forget = await runCli(['forget', runbook], { env });
    expect(forget.code, forget.stdout + forget.stderr).toBe(0);
    expect(forget.stdout).toContain('kept 2, forgot 0 snapshot(s) of rotating');

    for (const step of [steps[2]!, steps[3]!]) {
      const target = join(base, `restore-${step.run.snapshotId!.slice(0, 8)}`);
      const restore = await runCli(['restore', runbook, step.run.snapshotId!, '--target', target], { env });
      expect(restore.code, restore.stdout + restore.stderr).toBe(0);
      expectSameManifest(await manifestOf(join(target, 'data')), step.manifest);
    }
  });
});
