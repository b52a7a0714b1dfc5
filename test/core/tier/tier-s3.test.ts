/**
 * End to end through the CLI against s3rver: hot = a local folder, cold = an
 * S3 prefix with storageClass GLACIER. Time is set with LIFEBOAT_TEST_NOW so
 * snapshots are weeks old without waiting.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { runCli } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf, type Manifest } from '../../helpers/fs-manifest.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { coldSnapshots, openColdDirect, storageClasses, writeTierRunbook, useTierS3rver } from '../../helpers/tier-runbook.js';
import { objectsInBucket, runsOf, s3Env, stageOf, writeRandomFile } from '../../integration/s3/harness.js';

const tempDir = useTempDirs('tier-s3');
const s3 = useTierS3rver();

interface Setup {
  runbook: string;
  home: string;
  hotDir: string;
  prefix: string;
  /** What the source held at each backup, by snapshot id. */
  manifests: Map<string, Manifest>;
  snapshots: string[];
  /** The --json output of the last backup. */
  lastBackup: string;
}

interface TierJson {
  run: { id: string; status: string };
  outcome: { snapshotsCopied: number; blobsCopied: number; bytesUploaded: number; snapshotsForgotten: number; packsPruned: number };
}

const at = (iso: string) => ({ LIFEBOAT_TEST_NOW: iso });

/** Three backups, on Jan 1, Jan 10 and Feb 1, each with a change. */
async function threeBackups(name: string, options: { tierSchedule: boolean; retention?: Record<string, number> }): Promise<Setup> {
  const [dir, home, hotDir, src] = await Promise.all([tempDir(), tempDir(), tempDir(), tempDir()]);
  const prefix = `${name}-${Math.random().toString(16).slice(2, 8)}`;
  const runbook = writeTierRunbook(dir, name, { source: src, hotDir, endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix, tierSchedule: options.tierSchedule, retention: options.retention });
  expect((await runCli(['init', runbook], { env: s3Env(home) })).code).toBe(0);
  const manifests = new Map<string, Manifest>();
  const snapshots: string[] = [];
  let lastBackup = '';
  const days = ['2026-01-01T02:00:00Z', '2026-01-10T02:00:00Z', '2026-02-01T02:00:00Z'];
  for (const [i, day] of days.entries()) {
    await writeRandomFile(join(src, 'big.bin'), 'big', 3 * 1024 * 1024);
    await writeRandomFile(join(src, `day-${i}.bin`), `day-${i}`, 700 * 1024);
    await writeFile(join(src, 'notes.txt'), `backup number ${i}\n`);
    const res = await runCli(['backup', runbook, '--json'], { env: s3Env(home, at(day)) });
    expect(res.code, res.stderr).toBe(0);
    const id = (JSON.parse(res.stdout) as { data: { snapshot: { id: string } } }).data.snapshot.id;
    snapshots.push(id);
    manifests.set(id, await manifestOf(src));
    lastBackup = res.stdout;
  }
  return { runbook, home, hotDir, prefix, manifests, snapshots, lastBackup };
}

async function hotSnapshotIds(s: Setup): Promise<string[]> {
  const res = await runCli(['snapshots', s.runbook, '--json'], { env: s3Env(s.home) });
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { data: { id: string }[] }).data.map((x) => x.id);
}

describe('lifeboat tier against s3rver', () => {
  it('moves old snapshots to a GLACIER cold repository and they restore byte-identical from there', async () => {
    const s = await threeBackups('tier-e2e', { tierSchedule: true });
    const [first, second, third] = s.snapshots as [string, string, string];
    const loc = { endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix: s.prefix };
    // With schedule.tier the backups leave tiering to `lifeboat tier`: their tier stage is skipped.
    const backupRun = (await runsOf(s.home, 'tier-e2e')).find((r) => r.kind === 'backup')!;
    expect(stageOf(backupRun, 'tier').status).toBe('skipped');

    // Dry run: lists what would move, moves nothing, writes nothing (cold holds only what init made: its config and key).
    const coldBefore = [...(await objectsInBucket(s3.server.directory, s3.server.bucket, s.prefix)).keys()].sort();
    expect(coldBefore.map((k) => k.replace(/[0-9a-f]{64}/, '<id>'))).toEqual([`${s.prefix}/config`, `${s.prefix}/keys/<id>`]);
    const dry = await runCli(['tier', s.runbook, '--dry-run'], { env: s3Env(s.home, at('2026-02-01T03:00:00Z')) });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would move 2 snapshot(s)');
    expect(dry.stdout).toContain(`would move ${first.slice(0, 8)}`);
    expect(dry.stdout).toContain(`would move ${second.slice(0, 8)}`);
    expect(dry.stdout).not.toContain(`would move ${third.slice(0, 8)}`);
    expect(await hotSnapshotIds(s)).toEqual(s.snapshots);
    expect([...(await objectsInBucket(s3.server.directory, s3.server.bucket, s.prefix)).keys()].sort()).toEqual(coldBefore);
    expect((await runsOf(s.home, 'tier-e2e')).filter((r) => r.kind === 'tier')).toEqual([]);

    // On Jan 20 only the Jan 1 snapshot is older than 14 days.
    const res = await runCli(['tier', s.runbook, '--json'], { env: s3Env(s.home, at('2026-01-20T03:00:00Z')) });
    expect(res.code, res.stderr).toBe(0);
    const out = (JSON.parse(res.stdout) as { data: TierJson }).data;
    expect(out.run.status).toBe('succeeded');
    expect(out.outcome.snapshotsCopied).toBe(1);
    expect(out.outcome.snapshotsForgotten).toBe(1);
    expect(out.outcome.blobsCopied).toBeGreaterThan(0);
    expect(out.outcome.bytesUploaded).toBeGreaterThan(3 * 1024 * 1024);
    expect(await hotSnapshotIds(s)).toEqual([second, third]);

    // The run record: kind tier, one tier stage with its counters.
    const tierRun = (await runsOf(s.home, 'tier-e2e')).find((r) => r.kind === 'tier')!;
    expect(tierRun.status).toBe('succeeded');
    const stage = stageOf(tierRun, 'tier');
    expect(stage.status).toBe('succeeded');
    expect(stage.counters).toMatchObject({ snapshotsCopied: 1, snapshotsForgotten: 1 });
    expect(stage.counters.bytesUploaded).toBe(out.outcome.bytesUploaded);

    // Months later the Jan 10 one moves; Feb 1 is the newest and stays hot however old.
    const later = await runCli(['tier', s.runbook], { env: s3Env(s.home, at('2026-06-01T03:00:00Z')) });
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toContain(`keep hot ${third.slice(0, 8)}`);
    expect(await hotSnapshotIds(s)).toEqual([third]);

    // In cold: one copy of each, data/ in GLACIER, metadata STANDARD.
    const cold = await coldSnapshots(loc);
    expect(cold.map((c) => c.copiedFrom?.snapshot)).toEqual([first, second]);
    const classes = await storageClasses(s3.server.endpoint, s3.server.bucket, s.prefix);
    const coldIndex = (await openColdDirect(loc)).index;
    const data = [...classes].filter(([k]) => k.startsWith('data/'));
    const meta = [...classes].filter(([k]) => !k.startsWith('data/') && !k.startsWith('locks/'));
    // Packs holding file content are in the cold class. Tree-only packs may be kept
    // STANDARD (so a restore can plan without a thaw); what they are is the S3 backend's call.
    const contentPacks = data.filter(([k]) => coldIndex.blobsOf(k.split('/').at(-1)!).some((b) => b.type === 'data'));
    expect(contentPacks.length).toBeGreaterThan(0);
    expect(new Set(contentPacks.map(([, c]) => c))).toEqual(new Set(['GLACIER']));
    for (const [key, c] of data) expect(['GLACIER', 'STANDARD', undefined], key).toContain(c);
    expect(meta.some(([k]) => k.startsWith('index/'))).toBe(true);
    expect(meta.some(([k]) => k.startsWith('snapshots/'))).toBe(true);
    for (const [key, c] of meta) expect([undefined, 'STANDARD'], key).toContain(c);

    // Both repositories check clean (cold read in full: s3rver serves GLACIER objects like STANDARD).
    const check = await runCli(['check', s.runbook, '--read-data'], { env: s3Env(s.home) });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const coldRepo = await openColdDirect(loc);
    const coldCheck = await checkRepository({ repo: coldRepo, readData: 1 });
    expect(coldCheck.errors).toEqual([]);
    expect(coldCheck.damaged).toEqual([]);
    // Restore each from cold (s3rver has no archive semantics: GLACIER objects read like STANDARD).
    for (const snap of cold) {
      const target = await tempDir();
      await restoreSnapshot({ repo: coldRepo, snapshot: snap, target });
      expectSameManifest(await manifestOf(join(target, 'data')), s.manifests.get(snap.copiedFrom!.snapshot)!);
    }
  }, 180_000);

  it('runs as stage 6 of a backup when the runbook has no schedule.tier', async () => {
    const s = await threeBackups('tier-stage', { tierSchedule: false });
    const runs = (await runsOf(s.home, 'tier-stage')).filter((r) => r.kind === 'backup');
    // Newest first: the Feb 1 backup moved Jan 1 and Jan 10 (31 and 22 days old).
    const last = runs[0]!;
    expect(last.status).toBe('succeeded');
    expect(stageOf(last, 'tier')).toMatchObject({ status: 'succeeded', counters: { snapshotsCopied: 2, snapshotsForgotten: 2 } });
    expect(stageOf(runs[1]!, 'tier')).toMatchObject({ status: 'succeeded', counters: { snapshotsCopied: 0 } });
    expect((JSON.parse(s.lastBackup) as { lines: string[] }).lines.join('\n')).toMatch(/^tier: 2 snapshot\(s\) moved to cold \(\d+ blobs, .* uploaded\), \d+ hot pack\(s\) pruned$/m);
    expect(await hotSnapshotIds(s)).toEqual([s.snapshots[2]]);
    const cold = await coldSnapshots({ endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix: s.prefix });
    expect(cold.map((c) => c.copiedFrom?.snapshot)).toEqual(s.snapshots.slice(0, 2));
  }, 180_000);

  it('tiers after a retention stage that pruned in the same run, and both repositories stay correct', async () => {
    // last: 2 — the Feb 1 backup's retention forgets Jan 1 and prunes; its tier stage then moves Jan 10.
    const s = await threeBackups('tier-after-retention', { tierSchedule: false, retention: { last: 2 } });
    const last = (await runsOf(s.home, 'tier-after-retention')).filter((r) => r.kind === 'backup')[0]!;
    expect(stageOf(last, 'retention')).toMatchObject({ status: 'succeeded', counters: { forgotten: 1 } });
    expect(stageOf(last, 'tier')).toMatchObject({ status: 'succeeded', counters: { snapshotsCopied: 1, snapshotsForgotten: 1 } });
    expect(last.status).toBe('succeeded');
    expect(await hotSnapshotIds(s)).toEqual([s.snapshots[2]]);
    const check = await runCli(['check', s.runbook, '--read-data'], { env: s3Env(s.home) });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const loc = { endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix: s.prefix };
    const cold = await coldSnapshots(loc);
    expect(cold.map((c) => c.copiedFrom?.snapshot)).toEqual([s.snapshots[1]]);
    const target = await tempDir();
    await restoreSnapshot({ repo: await openColdDirect(loc), snapshot: cold[0]!, target });
    expectSameManifest(await manifestOf(join(target, 'data')), s.manifests.get(s.snapshots[1]!)!);
  }, 180_000);

  it('refuses a runbook without a cold repository (exit 2)', async () => {
    const [dir, home, hotDir, src] = await Promise.all([tempDir(), tempDir(), tempDir(), tempDir()]);
    const runbook = writeTierRunbook(dir, 'no-cold', { source: src, hotDir, endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix: 'x', noCold: true });
    const res = await runCli(['tier', runbook], { env: s3Env(home) });
    expect(res.code).toBe(2);
    expect(res.stderr + res.stdout).toMatch(/runbook no-cold .* has no cold repository: add repository\.cold/);
    expect((await runsOf(home, 'no-cold')).length).toBe(0);
  });
});
