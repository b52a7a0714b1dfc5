/**
 * SIGKILL during tiering, at exact points (test/helpers/tier-child.ts kills
 * its own process when the chosen backend call comes): nothing is lost, both
 * repositories check clean, and `lifeboat tier` run again completes with
 * exactly one cold copy of each snapshot, which restores byte-identical.
 * Every case starts from its own copy of one prepared state (three backups
 * and an empty cold repository), made once for the file.
 */
import { spawn } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CopyObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { repoRoot, runCli, TEST_KEYS_ENV } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf, type Manifest } from '../../helpers/fs-manifest.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { coldSnapshots, openColdDirect, s3Client, writeTierRunbook, useTierS3rver } from '../../helpers/tier-runbook.js';
import { s3Env, writeRandomFile } from '../../integration/s3/harness.js';

const tempDir = useTempDirs('tier-crash');
const childScript = join(repoRoot, 'test/helpers/tier-child.ts');
const s3 = useTierS3rver();

const TIER_TIME = '2026-03-01T05:00:00Z';
const RUNBOOK = 'crash';

interface Setup {
  runbook: string;
  home: string;
  prefix: string;
  snapshots: string[];
  manifests: Map<string, Manifest>;
}

/**
 * The state every case starts from, made once for the file: three backups in
 * the hot folder repository and a cold repository made by a first tier that
 * moved nothing. Each case works on copies of it (setup), never on it.
 */
interface Template extends Setup {
  hotDir: string;
  source: string;
}

let template: Template;

beforeAll(async () => {
  template = await buildTemplate();
}, 120_000);

async function buildTemplate(): Promise<Template> {
  const [dir, home, hotDir, source] = await Promise.all([tempDir(), tempDir(), tempDir(), tempDir()]);
  const prefix = `template-${Math.random().toString(16).slice(2, 8)}`;
  const runbook = writeTierRunbook(dir, RUNBOOK, { source, hotDir, endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix, tierSchedule: true });
  const env = (now: string) => s3Env(home, { LIFEBOAT_TEST_NOW: now });
  expect((await runCli(['init', runbook], { env: env(TIER_TIME) })).code).toBe(0);
  const snapshots: string[] = [];
  const manifests = new Map<string, Manifest>();
  for (const [i, day] of ['2026-01-01T02:00:00Z', '2026-01-10T02:00:00Z', '2026-02-01T02:00:00Z'].entries()) {
    await writeRandomFile(join(source, 'big.bin'), `big-${Math.min(i, 1)}`, 1024 * 1024);
    await writeRandomFile(join(source, `day-${i}.bin`), `day-${i}`, 300 * 1024);
    await writeFile(join(source, 'notes.txt'), `backup ${i}\n`);
    const res = await runCli(['backup', runbook, '--json'], { env: env(day) });
    expect(res.code, res.stderr).toBe(0);
    const id = (JSON.parse(res.stdout) as { data: { snapshot: { id: string } } }).data.snapshot.id;
    snapshots.push(id);
    manifests.set(id, await manifestOf(source));
  }
  // A first tier before anything is old: it creates the cold repository and moves nothing.
  const first = await runCli(['tier', runbook], { env: env('2026-01-01T03:00:00Z') });
  expect(first.code, first.stdout + first.stderr).toBe(0);
  return { runbook, home, prefix, snapshots, manifests, hotDir, source };
}

/** Every object under `from/` copied to `to/` in the bucket (CopyObject keeps each one's storage class). */
async function copyPrefix(from: string, to: string): Promise<void> {
  const client = s3Client(s3.server.endpoint);
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: s3.server.bucket, Prefix: `${from}/`, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const key = `${to}/${o.Key!.slice(from.length + 1)}`;
        await client.send(new CopyObjectCommand({ Bucket: s3.server.bucket, Key: key, CopySource: `${s3.server.bucket}/${o.Key!}` }));
      }
      token = page.NextContinuationToken;
    } while (token);
  } finally {
    client.destroy();
  }
}

/** A case's own copy of the template: state folder, hot repository, cold prefix, and a runbook naming them. */
async function setup(name: string): Promise<Setup> {
  const [dir, home, hotDir] = await Promise.all([tempDir(), tempDir().then((d) => join(d, 'home')), tempDir().then((d) => join(d, 'hot'))]);
  const prefix = `${name}-${Math.random().toString(16).slice(2, 8)}`;
  await Promise.all([cp(template.home, home, { recursive: true }), cp(template.hotDir, hotDir, { recursive: true }), copyPrefix(template.prefix, prefix)]);
  const runbook = writeTierRunbook(dir, RUNBOOK, { source: template.source, hotDir, endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix, tierSchedule: true });
  return { runbook, home, prefix, snapshots: template.snapshots, manifests: template.manifests };
}

function killedAt(s: Setup, point: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, s.runbook, point], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...s3Env(s.home, { LIFEBOAT_TEST_NOW: TIER_TIME }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function hotSnapshotIds(s: Setup): Promise<string[]> {
  const res = await runCli(['snapshots', s.runbook, '--json'], { env: s3Env(s.home) });
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { data: { id: string }[] }).data.map((x) => x.id);
}

const loc = (s: Setup) => ({ endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix: s.prefix });

/**
 * Each case: where the process dies, and which hot snapshots may already be
 * gone at that point (only ones whose cold copy was verified before).
 */
const cases: { point: string; what: string; forgottenBeforeKill: number; alreadyColdOnRerun: number }[] = [
  { point: 'cold:save:index:1', what: 'after cold packs, before the cold index', forgottenBeforeKill: 0, alreadyColdOnRerun: 0 },
  { point: 'cold:save:snapshots:1', what: 'after the cold index, before the cold snapshot', forgottenBeforeKill: 0, alreadyColdOnRerun: 0 },
  { point: 'cold:save:snapshots:2', what: 'after one cold snapshot, before the second', forgottenBeforeKill: 0, alreadyColdOnRerun: 1 },
  { point: 'hot:remove:snapshots:1', what: 'after the cold copies verified, before the hot forget', forgottenBeforeKill: 0, alreadyColdOnRerun: 2 },
  { point: 'hot:remove:index:1', what: 'during the hot prune (new index written, old ones not yet removed)', forgottenBeforeKill: 2, alreadyColdOnRerun: 0 },
  { point: 'hot:remove:data:1', what: 'during the hot prune (deleting packs)', forgottenBeforeKill: 2, alreadyColdOnRerun: 0 },
];

describe('SIGKILL during tier', () => {
  for (const c of cases) {
    it(`${c.what}: nothing lost, re-running completes`, async () => {
      const s = await setup(`crash-${c.point.replace(/:/g, '-')}`);
      const [first, second, third] = s.snapshots as [string, string, string];
      const killed = await killedAt(s, c.point);
      expect(killed.stdout + killed.stderr, 'the child must die at the kill point').toContain(`reached ${c.point}`);
      expect(killed.signal).toBe('SIGKILL');

      // Hot lost nothing that is not verified in cold.
      const hot = await hotSnapshotIds(s);
      const coldNow = await coldSnapshots(loc(s));
      const coldOrigins = coldNow.map((x) => x.copiedFrom?.snapshot);
      for (const id of s.snapshots) expect(hot.includes(id) || coldOrigins.includes(id), `snapshot ${id.slice(0, 8)} is in neither repository`).toBe(true);
      expect(s.snapshots.length - hot.length).toBe(c.forgottenBeforeKill);
      expect(hot).toContain(third);
      const hotCheck = await runCli(['check', s.runbook, '--read-data'], { env: s3Env(s.home) });
      expect(hotCheck.code, hotCheck.stdout + hotCheck.stderr).toBe(0);
      const coldCheck = await checkRepository({ repo: await openColdDirect(loc(s)), readData: 1 });
      expect(coldCheck.errors).toEqual([]);
      expect(coldCheck.damaged).toEqual([]);

      // Re-run through the CLI: completes, one cold copy each.
      const again = await runCli(['tier', s.runbook, '--json'], { env: s3Env(s.home, { LIFEBOAT_TEST_NOW: TIER_TIME }) });
      expect(again.code, again.stdout + again.stderr).toBe(0);
      // A copy made before the kill is recognised (by copiedFrom), verified and not copied again.
      const rerun = (JSON.parse(again.stdout) as { data: { outcome: { snapshotsAlreadyCold: number; snapshotsCopied: number } } }).data.outcome;
      expect(rerun.snapshotsAlreadyCold).toBe(c.alreadyColdOnRerun);
      expect(rerun.snapshotsCopied).toBe(2 - c.forgottenBeforeKill - c.alreadyColdOnRerun);
      expect(await hotSnapshotIds(s)).toEqual([third]);
      const cold = await coldSnapshots(loc(s));
      expect(cold.map((x) => x.copiedFrom?.snapshot).sort()).toEqual([first, second].sort());
      const hotCheckAfter = await runCli(['check', s.runbook], { env: s3Env(s.home) });
      expect(hotCheckAfter.code, hotCheckAfter.stdout + hotCheckAfter.stderr).toBe(0);
      const coldRepo = await openColdDirect(loc(s));
      const after = await checkRepository({ repo: coldRepo, readData: 1 });
      expect(after.errors).toEqual([]);
      expect(after.damaged).toEqual([]);
      for (const snap of cold) {
        const target = await tempDir();
        await restoreSnapshot({ repo: coldRepo, snapshot: snap, target });
        expectSameManifest(await manifestOf(join(target, 'data')), s.manifests.get(snap.copiedFrom!.snapshot)!);
      }
    }, 180_000);
  }
});
