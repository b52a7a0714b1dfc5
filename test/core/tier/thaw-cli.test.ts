/**
 * `lifeboat restore --tier cold [--estimate]` and `lifeboat restore-drill
 * --tier cold [--estimate]` as real CLI processes, against the Glacier test
 * double in front of s3rver. The CLI polls fast through LIFEBOAT_THAW_POLL.
 */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { drillsOf, rtoPhases, runDrillCli, scratchLeft } from '../../helpers/drill-runbook.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { startCli } from '../../helpers/pipeline-process.js';
import { storageClasses } from '../../helpers/tier-runbook.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { coldEnv, makeColdRepo, useGlacierS3, type ColdRepo } from './thaw-cold-repo.js';

const tempDir = useTempDirs('thaw-cli');
const BUCKET = 'thaw-cli';
const glacier = useGlacierS3(BUCKET);

async function coldRepo(name: string, extra: { coldRto?: string } = {}): Promise<ColdRepo & { base: string }> {
  const base = await tempDir();
  return { ...(await makeColdRepo({ base, name, endpoint: glacier.proxy.endpoint, bucket: BUCKET, ...extra })), base };
}

/** A fresh state folder per call, polling every few ms. */
function cliEnv(cold: ColdRepo & { base: string }, home: string, extra: Record<string, string> = {}): Record<string, string> {
  return coldEnv(join(cold.base, home), { LIFEBOAT_THAW_POLL: '20ms', LIFEBOAT_THAW_POLL_MAX: '100ms', ...extra });
}

const restoresOf = (cold: ColdRepo) => glacier.proxy.restoreRequests().filter((r) => r.key.startsWith(`${cold.prefix}/`));
const exists = (path: string) => access(path).then(() => true, () => false);

/** The cold repository's data/ keys by the class HeadObject reports: content packs are GLACIER, folder listings STANDARD. */
async function dataKeysByClass(cold: ColdRepo): Promise<{ archived: string[]; standard: string[] }> {
  const classes = await storageClasses(glacier.server.endpoint, BUCKET, cold.prefix);
  const data = [...classes].filter(([key]) => key.startsWith('data/'));
  return {
    archived: data.filter(([, c]) => c === 'GLACIER').map(([key]) => `${cold.prefix}/${key}`).sort(),
    standard: data.filter(([, c]) => (c ?? 'STANDARD') === 'STANDARD').map(([key]) => `${cold.prefix}/${key}`).sort(),
  };
}

describe('restore --tier cold', () => {
  it('--estimate prints thaw, transfer, RTO and cost, and asks S3 for no thaw and writes nothing', async () => {
    const cold = await coldRepo('cli-estimate');
    const target = join(cold.base, 'restored');
    const res = await runCli(['restore', cold.file, '--tier', 'cold', '--estimate', '--target', target], { env: cliEnv(cold, 'home') });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    // One thaw round (the folder listings are readable), and exactly the content packs the restore reads.
    expect(res.stdout).toMatch(/estimate for restoring snapshot [0-9a-f]{8} from the cold tier: 12h00m \(thaw 12h00m \+ transfer \d+ms\), retrieval cost \$0\.00/);
    const { archived, standard } = await dataKeysByClass(cold);
    expect(archived.length).toBeGreaterThanOrEqual(4);
    expect(standard.length).toBeGreaterThanOrEqual(1);
    expect(res.stdout).toMatch(new RegExp(`plan: ${archived.length} pack\\(s\\), .* for 4 file\\(s\\), .* \\(exact: the folder listings are readable\\)`));
    expect(res.stdout).toContain(`packs: ${archived.length} archived, 0 thawing, 0 thawed, 0 readable at once`);
    expect(res.stdout).toMatch(/thaw: 12h00m \(GLACIER Bulk: 5h00m–12h00m\)\n/);
    expect(res.stdout).not.toMatch(/upper bound|two rounds/);
    expect(res.stdout).toMatch(/transfer: \d+ms at 50\.0 MiB\/s \(assumed\)/);
    expect(res.stdout).toMatch(/total RTO: 12h00m \(target 15m00s: over\)/);
    expect(res.stdout).toMatch(/GET requests \d+ × \$0\.0004\/1000/);
    expect(restoresOf(cold)).toEqual([]);
    expect(await exists(target)).toBe(false);
  });

  it('thaws with progress, then restores byte-identical', async () => {
    const cold = await coldRepo('cli-restore');
    const target = join(cold.base, 'restored');
    const res = await runCli(['restore', cold.file, '--tier', 'cold', '--target', target], { env: cliEnv(cold, 'home') });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/thaw: (\d+) pack\(s\): \1 requested, 0 already thawing, 0 already thawed, 0 readable at once; waited/);
    expect(res.stderr).toMatch(/info: thaw: 0\/(\d+) pack\(s\) ready \(\1 requested by this run\), .* elapsed, next poll in 20ms/);
    expect(res.stderr).toMatch(/info: thaw: (\d+)\/\1 pack\(s\) ready .* all readable/);
    expect(res.stderr).not.toContain('folder-listing');
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(cold.data));
    // Only the content packs (GLACIER at the store) were asked for; the folder listings (STANDARD) were read as they are.
    const requests = restoresOf(cold);
    const { archived } = await dataKeysByClass(cold);
    expect(requests.map((r) => r.key).sort()).toEqual(archived);
    expect(requests.every((r) => r.tier === 'Bulk' && r.days === 3 && r.status === 202)).toBe(true);

    // Run again while the copies are thawed: nothing is requested, the restore just reads.
    const again = await runCli(['restore', cold.file, '--tier', 'cold', '--target', join(cold.base, 'again')], { env: cliEnv(cold, 'home-2') });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/thaw: (\d+) pack\(s\): 0 requested, 0 already thawing, \1 already thawed/);
    expect(restoresOf(cold)).toHaveLength(requests.length);
  });

  it('past the thaw deadline: exit 1, says how many packs are still thawing; the re-run requests nothing again', async () => {
    const cold = await coldRepo('cli-deadline');
    const delay = glacier.proxy.thawDelayMs.Bulk;
    glacier.proxy.thawDelayMs.Bulk = 60 * 60_000;
    try {
      const target = join(cold.base, 'restored');
      const env = cliEnv(cold, 'home', { LIFEBOAT_THAW_DEADLINE: '300ms' });
      const res = await runCli(['restore', cold.file, '--tier', 'cold', '--target', target], { env });
      expect(res.code, res.stdout + res.stderr).toBe(1);
      expect(res.stderr).toMatch(/(\d+) of \1 pack\(s\) still thawing after .* \(deadline 300ms, Bulk retrieval\); the thaw requests stay in place/);
      const asked = restoresOf(cold).length;
      expect(asked).toBeGreaterThanOrEqual(1);
      const again = await runCli(['restore', cold.file, '--tier', 'cold', '--target', target], { env });
      expect(again.code).toBe(1);
      expect(restoresOf(cold)).toHaveLength(asked);
    } finally {
      glacier.proxy.thawDelayMs.Bulk = delay;
    }
  });

  it('refuses --estimate without --tier cold, and --tier cold on a runbook without a cold repository', async () => {
    const cold = await coldRepo('cli-usage');
    const res = await runCli(['restore', cold.file, '--estimate', '--target', join(cold.base, 'x')], { env: cliEnv(cold, 'home') });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--estimate needs --tier cold/);
    const bad = await runCli(['restore', cold.file, '--tier', 'warm', '--target', join(cold.base, 'x')], { env: cliEnv(cold, 'home') });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--tier must be hot or cold/);

    const hotOnly = join(cold.base, 'hot-only.yaml');
    await writeFile(hotOnly, stringify({ name: 'hot-only', sources: [{ name: 'data', path: './data' }], repository: { hot: { url: `file://${join(cold.base, 'hot')}` }, password: { env: 'LIFEBOAT_PASSWORD' } }, objectives: { rpo: '26h', rto: '15m' } }));
    for (const args of [['restore', hotOnly, '--tier', 'cold', '--target', join(cold.base, 'x')], ['restore-drill', hotOnly, '--tier', 'cold', '--estimate']]) {
      const none = await runCli(args, { env: cliEnv(cold, 'home') });
      expect(none.code, none.stdout + none.stderr).toBe(2);
      expect(none.stderr).toContain(`runbook hot-only has no cold repository (add repository.cold to ${hotOnly}, or leave out --tier cold)`);
    }
    expect(await exists(join(cold.base, 'x'))).toBe(false);
  });
});

describe('restore-drill --tier cold', () => {
  it('measures the real thing: a thaw phase of its own, inside the RTO, recorded as a cold drill', async () => {
    const cold = await coldRepo('cli-drill', { coldRto: '2h' });
    const res = await runDrillCli([cold.file, '--tier', 'cold'], cliEnv(cold, 'home'));
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const { drill } = res;
    // Held to objectives.coldRto (2h), not rto (15m).
    expect(drill).toMatchObject({ tier: 'cold', verdict: 'met', snapshotId: cold.snapshot.id, targetMs: 2 * 60 * 60_000 });
    expect(res.summary).toMatch(/\(target 2h00m\)$/);
    expect(drill.estimated).toBeUndefined();
    expect(res.summary).toMatch(/^drill met \(cold tier\): cli-drill snapshot [0-9a-f]{8} restored and validated in /);
    expect(res.lines[0]).toMatch(/^thaw: (\d+) pack\(s\): \1 requested, 0 already thawing, 0 already thawed, 0 readable at once; waited /);
    const phases = rtoPhases(drill);
    expect(phases.names).toEqual(['plan', 'thaw', 'fetch', 'write', 'validate']);
    // The RTO is the wall time through the thaw: at least the phases' sum (each rounded to a ms).
    expect(drill.rtoMs).toBeGreaterThanOrEqual(phases.sumMs - phases.names.length);
    const thaw = drill.phases.find((p) => p.name === 'thaw')!;
    expect(thaw.durationMs).toBeGreaterThan(0);
    expect(restoresOf(cold).map((r) => r.key).sort()).toEqual((await dataKeysByClass(cold)).archived);
    const [stored] = await drillsOf(join(cold.base, 'home'), 'cli-drill');
    expect(stored).toMatchObject({ id: drill.id, tier: 'cold', verdict: 'met', rtoMs: drill.rtoMs });
  });

  it('Ctrl-C while thawing: exit 130, recorded failed "cancelled", the thaw requests stay for the next run', async () => {
    const cold = await coldRepo('cli-drill-cancel');
    const delay = glacier.proxy.thawDelayMs.Bulk;
    glacier.proxy.thawDelayMs.Bulk = 60 * 60_000;
    try {
      const home = join(cold.base, 'home');
      const cli = startCli(['restore-drill', cold.file, '--tier', 'cold', '--json'], { env: cliEnv(cold, 'home', { LIFEBOAT_THAW_POLL: '10m' }) });
      // Interrupt once the thaw has been asked for and the drill waits for its first poll.
      for (let waited = 0; waited < 30_000 && restoresOf(cold).length === 0; waited += 50) await sleep(50);
      expect(restoresOf(cold).length, 'no thaw was requested').toBeGreaterThan(0);
      await sleep(200);
      cli.child.kill('SIGINT');
      const done = await cli.done;
      expect(done.code, done.stdout + done.stderr).toBe(130);
      const [stored] = await drillsOf(home, 'cli-drill-cancel');
      expect(stored).toMatchObject({ tier: 'cold', verdict: 'failed', reason: 'cancelled' });
      for (const r of restoresOf(cold)) expect(glacier.proxy.thawStateOf(r.key)).toBe('thawing');
      expect(await scratchLeft(home)).toEqual([]);
    } finally {
      glacier.proxy.thawDelayMs.Bulk = delay;
    }
  });

  it('--estimate records an estimated cold drill and asks S3 for no thaw', async () => {
    const cold = await coldRepo('cli-drill-estimate');
    const res = await runDrillCli([cold.file, '--tier', 'cold', '--estimate'], cliEnv(cold, 'home'));
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.summary).toMatch(/drill estimate \(cold tier\): cli-drill-estimate snapshot [0-9a-f]{8} would take 12h00m \(target 15m00s: over\), retrieval cost \$0\.00; nothing was thawed or restored/);
    expect(res.drill).toMatchObject({ tier: 'cold', estimated: true, verdict: 'missed', snapshotId: cold.snapshot.id, targetMs: 15 * 60_000 });
    expect(res.drill.phases.map((p) => p.name)).toEqual(['plan', 'thaw', 'fetch']);
    // One thaw round: the folder listings are readable, so the plan was exact.
    expect(res.drill.phases.find((p) => p.name === 'thaw')!.durationMs).toBe(12 * 60 * 60_000);
    expect(res.drill.reason).toMatch(new RegExp(`^estimated: ${(await dataKeysByClass(cold)).archived.length} pack\\(s\\), \\d+ archived; thaw 12h00m`));
    expect(res.drill.rtoMs).toBe(res.drill.phases.reduce((n, p) => n + p.durationMs, 0));
    expect(res.lines.join('\n')).toMatch(/retrieval cost: \$0\.00/);
    expect(restoresOf(cold)).toEqual([]);
    const [stored] = await drillsOf(join(cold.base, 'home'), 'cli-drill-estimate');
    expect(stored).toMatchObject({ id: res.drill.id, estimated: true, tier: 'cold' });
  });

  it('objectives.coldRto: cold estimates (drill and restore) are held to it, not to rto', async () => {
    const cold = await coldRepo('cli-cold-rto', { coldRto: '48h' });
    const res = await runDrillCli([cold.file, '--tier', 'cold', '--estimate'], cliEnv(cold, 'home'));
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.drill).toMatchObject({ tier: 'cold', estimated: true, verdict: 'met', targetMs: 48 * 60 * 60_000 });
    expect(res.summary).toMatch(/would take 12h00m \(target 2d00h: within\)/);
    const restore = await runCli(['restore', cold.file, '--tier', 'cold', '--estimate'], { env: cliEnv(cold, 'home') });
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    expect(restore.stdout).toMatch(/total RTO: 12h00m \(target 2d00h: within\)/);
    expect(restoresOf(cold)).toEqual([]);
  });
});
