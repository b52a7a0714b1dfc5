/**
 * A drill and a `forget --prune` of the same runbook at once (issue 16, "Must
 * show" 2). A drill reads packs; a prune deletes and repacks them. Before the
 * drill took a lock, a drill started beside forget could read a pack the
 * prune had just removed and record a failed drill — and a critical alert —
 * for a healthy repository.
 *
 * Now the drill holds a shared repository lock and forget an exclusive one
 * (src/core/use-cases/policies.ts). A round starts one of them, waits until
 * its lock is in the repository and pauses it there, then runs the other: the
 * second is refused naming the holder, and the first then finishes. A last
 * round starts both without a pause: one is refused, or runs after the other.
 * Whatever the order, no drill is ever recorded failed, no drill-failed alert
 * is raised, and the repository checks clean at the end.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openJsonStore } from '../../src/core/store/index.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { drillsOf } from '../helpers/drill-runbook.js';
import { startCli, waitFor, writeRandomFiles, type CliProcess } from '../helpers/pipeline-process.js';
import { pipelineEnv, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('drill-beside-forget');
const MiB = 1024 * 1024;
const NAME = 'drillrace';

let base: string;
let src: string;
let repo: string;
/** The runbook forget and the drill use: retention keeps the last snapshot. */
let runbook: string;
/** The same runbook without retention, for the backups: they leave forget its work. */
let backupRunbook: string;
let home: string;
let env: Record<string, string>;

beforeAll(async () => {
  await ensureCliBuilt();
  base = await tempDir();
  src = join(base, 'src');
  repo = join(base, 'repo');
  await mkdir(join(src, 'kept'), { recursive: true });
  // Data every snapshot shares (what the drill restores), and data each round replaces (what forget prunes).
  await writeRandomFiles(join(src, 'kept'), 6, 2 * MiB, 'kept-');
  home = join(base, 'home');
  await mkdir(join(base, 'ops'));
  await mkdir(join(base, 'backups'));
  runbook = writePipelineRunbook(join(base, 'ops'), NAME, { repo, sources: [{ name: 'data', path: src }], retention: { last: 1 } });
  backupRunbook = writePipelineRunbook(join(base, 'backups'), NAME, { repo, sources: [{ name: 'data', path: src }] });
  env = pipelineEnv(home);
  const init = await runCli(['init', runbook], { env });
  expect(init.code, init.stderr).toBe(0);
});

interface RepoLock {
  exclusive: boolean;
  pid: number;
  purpose: string;
}

/** The repository locks held right now (locks/ of the local repository). */
async function locksHeld(): Promise<RepoLock[]> {
  let names: string[];
  try {
    names = await readdir(join(repo, 'locks'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: RepoLock[] = [];
  // A dot file is a lock being written (src/core/backends/local-backend.ts renames it into place): not held yet.
  for (const name of names.filter((n) => !n.startsWith('.'))) {
    try {
      out.push(JSON.parse(await readFile(join(repo, 'locks', name), 'utf8')) as RepoLock);
    } catch {
      // released (or half-written) between the listing and the read
    }
  }
  return out;
}

/**
 * Start `first` and wait until its repository lock is in the repository. With
 * `pause`, stop it right there (SIGSTOP: a slow disk, as far as it knows),
 * run `second` to its end, then let `first` go on: the second one meets the
 * first one's lock for certain, whatever the machine's speed.
 */
async function inTurn(first: string[], second: string[], options: { pause: boolean }): Promise<{ first: CliProcess; second: CliProcess }> {
  const a = startCli(first, { env });
  let ended = false;
  void a.done.then(() => (ended = true));
  await waitFor(
    `${first[0]} to hold its repository lock`,
    async () => {
      if ((await locksHeld()).some((l) => l.pid === a.pid)) return true;
      if (ended && options.pause) throw new Error(`${first[0]} ended before its lock was seen: ${(await a.done).stdout}`);
      return ended ? true : undefined;
    },
    30_000,
    2,
  );
  if (options.pause) process.kill(a.pid, 'SIGSTOP');
  const b = startCli(second, { env });
  if (options.pause) {
    await b.done;
    process.kill(a.pid, 'SIGCONT');
  }
  return { first: a, second: b };
}

/** A new round of data that only this round's snapshot holds; the previous round's is gone. */
async function newRound(round: number): Promise<void> {
  await rm(join(src, 'round'), { recursive: true, force: true });
  await mkdir(join(src, 'round'));
  await writeRandomFiles(join(src, 'round'), 4, 4 * MiB, `round-${round}-`);
  const backup = await runCli(['backup', backupRunbook], { env });
  expect(backup.code, backup.stdout + backup.stderr).toBe(0);
}

const forget = ['forget', '', '--json'];
const drill = ['restore-drill', '', '--json'];

describe('a restore drill beside forget --prune', () => {
  it('one is refused naming the holder, or runs after the other; the drill never reports damage', async () => {
    forget[1] = runbook;
    drill[1] = runbook;
    let refusedDrills = 0;
    let refusedForgets = 0;
    // Forget holds the repository when the drill starts; the drill holds it when forget starts; then both at once.
    const rounds = [
      { forgetFirst: true, pause: true },
      { forgetFirst: false, pause: true },
      { forgetFirst: true, pause: false },
    ];
    for (const [i, { forgetFirst, pause }] of rounds.entries()) {
      // A snapshot for forget to drop (retention keeps the last one), with packs for prune to delete or repack.
      await newRound(i * 2 + 1);
      await newRound(i * 2 + 2);
      const drillsBefore = (await drillsOf(home, NAME)).length;
      const { first, second } = forgetFirst ? await inTurn(forget, drill, { pause }) : await inTurn(drill, forget, { pause });
      const [f, d] = forgetFirst ? [first, second] : [second, first];
      const [forgetRes, drillRes] = await Promise.all([f.done, d.done]);
      const drills = await drillsOf(home, NAME);

      if (drillRes.code === 0) {
        // It ran: one new drill record, with a verdict that says the data came back validated.
        expect(drills).toHaveLength(drillsBefore + 1);
        expect(['met', 'missed']).toContain(drills[0]!.verdict);
      } else {
        // Refused while forget held the repository: it names the holder and records nothing.
        refusedDrills++;
        expect(drillRes.stdout).toContain(`locked exclusively by forget of ${NAME} (pid ${f.pid} on ${hostname()}`);
        expect(drills).toHaveLength(drillsBefore);
      }
      if (forgetRes.code === 0) {
        // It did real work: snapshots forgotten and their packs pruned while the drill waited or was refused.
        const out = JSON.parse(forgetRes.stdout) as { data: { forgotten: number; prune: { packsDeleted: number; packsRepacked: number } } };
        expect(out.data.forgotten).toBeGreaterThan(0);
        expect(out.data.prune.packsDeleted + out.data.prune.packsRepacked).toBeGreaterThan(0);
      } else {
        refusedForgets++;
        expect(forgetRes.stdout).toContain(`locked by restore-drill of ${NAME} (pid ${d.pid} on ${hostname()}`);
      }
      // Never both refused: each waits for nothing but the other's lock.
      expect(forgetRes.code === 0 || drillRes.code === 0, forgetRes.stdout + drillRes.stdout).toBe(true);
      // The one that held the lock while the other started was the one let through.
      if (pause) expect(forgetFirst ? [forgetRes.code, drillRes.code] : [drillRes.code, forgetRes.code]).toEqual([0, 1]);
    }
    console.log(`drill beside forget: ${refusedDrills} drill(s) refused while forget pruned, ${refusedForgets} forget(s) refused while a drill read`);

    expect((await drillsOf(home, NAME)).filter((d) => d.verdict === 'failed')).toEqual([]);
    const store = await openJsonStore(home);
    try {
      expect((await store.listAlerts({ runbook: NAME })).map((a) => a.key)).not.toContain(`drill-failed:${NAME}`);
    } finally {
      await store.close();
    }
    const check = await runCli(['check', runbook, '--read-data'], { env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});
