/**
 * The cold destination down: the copy is staged, the run ends
 * transfer-pending (exit 4), and nothing is forgotten in hot. Once the
 * destination is back, `lifeboat tier` uploads what waited and completes.
 */
import { createServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { coldSnapshots, writeTierRunbook, useTierS3rver } from '../../helpers/tier-runbook.js';
import { filesUnder, runsOf, s3Env, stageOf, writeRandomFile } from '../../integration/s3/harness.js';

const tempDir = useTempDirs('tier-down');
const s3 = useTierS3rver();

/** A loopback port with nothing listening: connections are refused at once. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('lifeboat tier with the cold destination down', () => {
  it('ends transfer-pending with the copy staged and hot untouched, and completes once S3 is back', async () => {
    const [dir, home, hotDir, src] = await Promise.all([tempDir(), tempDir(), tempDir(), tempDir()]);
    const prefix = `down-${Math.random().toString(16).slice(2, 8)}`;
    const write = (endpoint: string) => writeTierRunbook(dir, 'tier-down', { source: src, hotDir, endpoint, bucket: s3.server.bucket, prefix, tierSchedule: true });
    const runbook = write(s3.server.endpoint);
    const env = (now: string) => s3Env(home, { LIFEBOAT_TEST_NOW: now, LIFEBOAT_TRANSFER_RETRY_BUDGET: '1s' });
    expect((await runCli(['init', runbook], { env: env('2026-01-01T00:00:00Z') })).code).toBe(0);
    const snapshots: string[] = [];
    for (const [i, day] of ['2026-01-01T02:00:00Z', '2026-01-10T02:00:00Z', '2026-02-01T02:00:00Z'].entries()) {
      await writeRandomFile(join(src, `day-${i}.bin`), `day-${i}`, 400 * 1024);
      await writeFile(join(src, 'notes.txt'), `backup ${i}\n`);
      const res = await runCli(['backup', runbook, '--json'], { env: env(day) });
      expect(res.code, res.stderr).toBe(0);
      snapshots.push((JSON.parse(res.stdout) as { data: { snapshot: { id: string } } }).data.snapshot.id);
    }
    // The first tier (nothing old yet) creates the cold repository while S3 is up.
    expect((await runCli(['tier', runbook], { env: env('2026-01-02T00:00:00Z') })).code).toBe(0);

    write(`http://127.0.0.1:${await closedPort()}`);
    const down = await runCli(['tier', runbook, '--json'], { env: env('2026-03-01T00:00:00Z') });
    expect(down.code, down.stdout + down.stderr).toBe(4);
    const result = JSON.parse(down.stdout) as { data: { run: { status: string }; outcome: { snapshotsForgotten: number; pending?: { code: string } } } };
    expect(result.data.run.status).toBe('transfer-pending');
    expect(result.data.outcome.pending?.code).toBe('TRANSFER_PENDING');
    expect(result.data.outcome.snapshotsForgotten).toBe(0);
    expect((JSON.parse(down.stdout) as { lines: string[] }).lines).toContain(`nothing was forgotten in hot; run \`lifeboat tier tier-down\` again when s3://${s3.server.bucket}/${prefix} is reachable`);
    const tierRun = (await runsOf(home, 'tier-down')).find((r) => r.kind === 'tier' && r.status !== 'succeeded')!;
    expect(tierRun.status).toBe('transfer-pending');
    expect(stageOf(tierRun, 'tier').status).toBe('failed');
    // Hot untouched; the copy waits in staging.
    const hot = await runCli(['snapshots', runbook, '--json'], { env: env('2026-03-01T00:00:00Z') });
    expect((JSON.parse(hot.stdout) as { data: { id: string }[] }).data.map((s) => s.id)).toEqual(snapshots);
    const staged = await filesUnder(join(home, 'staging'));
    expect(staged.some((f) => f.includes('/data/'))).toBe(true);
    expect(staged.some((f) => f.includes('/snapshots/'))).toBe(true);
    expect(await coldSnapshots({ endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix })).toEqual([]);

    // S3 back: the next tier uploads what waited and completes, one cold copy each.
    write(s3.server.endpoint);
    const back = await runCli(['tier', runbook, '--json'], { env: env('2026-03-01T01:00:00Z') });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    const hotAfter = await runCli(['snapshots', runbook, '--json'], { env: env('2026-03-01T01:00:00Z') });
    expect((JSON.parse(hotAfter.stdout) as { data: { id: string }[] }).data.map((s) => s.id)).toEqual([snapshots[2]]);
    const cold = await coldSnapshots({ endpoint: s3.server.endpoint, bucket: s3.server.bucket, prefix });
    expect(cold.map((c) => c.copiedFrom?.snapshot)).toEqual(snapshots.slice(0, 2));
    expect((await filesUnder(join(home, 'staging'))).filter((f) => /\/(data|index|snapshots)\//.test(f))).toEqual([]);
  }, 180_000);
});
