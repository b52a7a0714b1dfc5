/**
 * `lifeboat forget` through the real CLI: it forgets what the policy says,
 * its prune frees the forgotten snapshots' own data (and only theirs), and it
 * is refused — deleting nothing — while a backup holds the repository.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { expectSameManifest, manifestOf, type Manifest } from '../helpers/fs-manifest.js';
import { packsIn, runsOf, startCli, waitFor, waitForStageRunning } from '../helpers/pipeline-process.js';
import { pipelineEnv, writePipelineRunbook, type PipelineRunbookOptions } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('forget-command');
const MiB = 1024 * 1024;

let base: string;
let home: string;
let env: Record<string, string>;

beforeAll(async () => {
  await ensureCliBuilt();
  base = await tempDir();
  home = join(base, 'home');
  env = pipelineEnv(home);
});

const total = (packs: Map<string, number>) => [...packs.values()].reduce((a, b) => a + b, 0);

async function snapshotIds(runbook: string): Promise<string[]> {
  const list = await runCli(['snapshots', runbook, '--json'], { env });
  expect(list.code, list.stderr).toBe(0);
  return (JSON.parse(list.stdout) as { data: { id: string }[] }).data.map((s) => s.id).sort();
}

async function cli(args: string[]) {
  const res = await runCli(args, { env });
  expect(res.code, `${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(0);
  return res;
}

describe('forget', () => {
  it('forgets the snapshots the policy does not keep; prune then frees their data, and the kept one restores', async () => {
    const src = join(base, 'src');
    const repo = join(base, 'repo');
    await mkdir(src);
    const options: PipelineRunbookOptions = { repo, sources: [{ name: 'data', path: src }] };
    // Backed up without a policy (no retention stage), so forget has something to do.
    const runbook = writePipelineRunbook(base, 'trimmed', options);
    await cli(['init', runbook]);
    await writeFile(join(src, 'shared.txt'), 'in every snapshot\n');
    const taken: { id: string; manifest: Manifest }[] = [];
    for (let i = 0; i < 3; i++) {
      // Each backup has 3 MiB of its own: what forgetting it must free.
      await rm(join(src, `own-${i - 1}.bin`), { force: true });
      await writeFile(join(src, `own-${i}.bin`), randomBytes(3 * MiB));
      await cli(['backup', runbook]);
      const run = (await runsOf(home, 'trimmed'))[0]!;
      taken.push({ id: run.snapshotId!, manifest: await manifestOf(src) });
    }
    expect(await snapshotIds(runbook)).toEqual(taken.map((t) => t.id).sort());

    // The same runbook with a policy: keep the newest only.
    writePipelineRunbook(base, 'trimmed', { ...options, retention: { last: 1 } });
    const packsBefore = await packsIn(repo);

    const forgetOnly = await cli(['forget', runbook, '--no-prune']);
    expect(forgetOnly.stdout).toContain('kept 1, forgot 2 snapshot(s) of trimmed');
    expect(forgetOnly.stdout).toContain('prune: not run');
    expect(await snapshotIds(runbook)).toEqual([taken[2]!.id]);
    expect(await packsIn(repo), 'forget --no-prune deletes no data').toEqual(packsBefore);

    const pruned = await cli(['forget', runbook]);
    expect(pruned.stdout).toContain('kept 1, forgot 0 snapshot(s) of trimmed');
    expect(pruned.stdout).toMatch(/^prune did: delete \d+ pack\(s\), repack \d+, /m);
    const packsAfter = await packsIn(repo);
    // The two forgotten snapshots' own 6 MiB are gone (compressed and encrypted random data stays its size).
    expect(total(packsBefore) - total(packsAfter)).toBeGreaterThanOrEqual(6 * MiB);
    expect(total(packsAfter)).toBeGreaterThanOrEqual(3 * MiB);

    const check = await cli(['check', runbook, '--read-data']);
    expect(check.stdout).toMatch(/no errors: 1 snapshot/);
    const target = join(base, 'restored');
    await cli(['restore', runbook, taken[2]!.id, '--target', target]);
    expectSameManifest(await manifestOf(join(target, 'data')), taken[2]!.manifest);
    const gone = await runCli(['restore', runbook, taken[0]!.id, '--target', join(base, 'gone')], { env });
    expect(gone.code, gone.stdout + gone.stderr).not.toBe(0);

    // Nothing left to forget: a second forget changes nothing.
    const again = await cli(['forget', runbook]);
    expect(again.stdout).toContain('kept 1, forgot 0 snapshot(s) of trimmed');
    expect(await packsIn(repo)).toEqual(packsAfter);
  });

  it('is refused while a backup holds the repository, naming the backup, and deletes nothing', async () => {
    const repo = join(base, 'held-repo');
    const go = join(base, 'go');
    // A stream source that waits for the test: the backup holds its repository lock meanwhile.
    const runbook = writePipelineRunbook(base, 'held', {
      repo,
      sources: [{ name: 'db', command: `while [ ! -e ${go} ]; do sleep 0.05; done; echo dump` }],
      retention: { last: 1 },
    });
    await cli(['init', runbook]);
    await writeFile(go, '');
    await cli(['backup', runbook]);
    await rm(go);
    const before = { snapshots: await snapshotIds(runbook), packs: await packsIn(repo) };

    const backup = startCli(['backup', runbook], { env });
    await waitForStageRunning(home, 'held', 'snapshot');
    await waitFor('the backup’s lock file', async () => ((await readdir(join(repo, 'locks'))).length > 0 ? true : undefined));

    const refused = await runCli(['forget', runbook], { env });
    expect(refused.code, refused.stdout + refused.stderr).not.toBe(0);
    expect(refused.stderr).toMatch(new RegExp(`locked by .*backup.* \\(pid ${backup.pid} on `));
    expect(await snapshotIds(runbook)).toEqual(before.snapshots);
    expect(await packsIn(repo)).toEqual(before.packs);

    await writeFile(go, '');
    const done = await backup.done;
    expect(done.code, done.stdout + done.stderr).toBe(0);
    const after = await cli(['forget', runbook]);
    expect(after.stdout).toContain('kept 1, forgot 0 snapshot(s) of held');
  });
});
