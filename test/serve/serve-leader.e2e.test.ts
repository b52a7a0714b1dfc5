/**
 * Two `lifeboat serve` processes on one PostgreSQL store, each with its own
 * state folder: one leads (holds the lease) and runs the schedule; SIGKILL it
 * while its backup may still run, and the other takes the lease over and goes
 * on. Over the fires before and after, every fire has exactly one run: none
 * missed, none run twice.
 *
 * Time: the runbook fires every minute on a clock that runs twelve times real
 * speed (LIFEBOAT_TEST_CLOCK_RATE=12: a fire every 5 s), with a 3 s lease
 * (store.leaderLease), so a takeover (≤ 3 s + a 1 s retry = 48 s of the fast
 * clock) never spans two fires. The takeover is measured in real time.
 * (At rate 12 the test takes 12 fires × 5 s; at 10 it took 12 × 6 s. The
 * margins around the kill below are the same at both rates.)
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { pipelineEnv } from '../helpers/pipeline-runbook.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { spawnServe } from '../helpers/serve-process.js';
import { useLifeboatPostgres, writeScheduledRunbook } from '../helpers/serve-postgres.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('serve-leader');
const pg = useLifeboatPostgres(tempDir);

const MINUTE = 60_000;
/** Fast-clock milliseconds per real one. */
const RATE = 12;

describe('two serves on one PostgreSQL store', () => {
  it('SIGKILL the leader: the other leads within 30 s, and over 10+ fires every fire ran exactly once', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const dir = await tempDir();
    const { runbooks } = await writeScheduledRunbook(dir, 'every-minute', { backup: '* * * * *' }, 'one fire, one run\n'.repeat(200));
    await writeFile(join(dir, 'lifeboat.yaml'), stringify({ store: { url: { env: 'LIFEBOAT_STORE_URL' }, leaderLease: '3s' } }));
    const url = pg.url();
    const query = pg.query;
    // Both read one fast clock: 20 s (1.7 s real) before a minute at the origin, a real instant shared by both.
    const origin = String(Date.now() + 3_000);
    const env = (name: string) =>
      pipelineEnv(join(dir, name), {
        LIFEBOAT_RUNBOOKS: runbooks,
        LIFEBOAT_CONFIG: join(dir, 'lifeboat.yaml'),
        LIFEBOAT_STORE_URL: url,
        LIFEBOAT_TEST_NOW: '2026-03-02T09:59:40Z',
        LIFEBOAT_TEST_CLOCK_RATE: String(RATE),
        LIFEBOAT_TEST_CLOCK_ORIGIN: origin,
      });
    expect((await runCli(['store', 'migrate'], { env: env('home-a'), cwd: dir })).code).toBe(0);
    expect((await runCli(['init', 'every-minute'], { env: env('home-a'), cwd: dir })).code).toBe(0);

    const a = pg.track(spawnServe({ cwd: dir, args: ['--metrics-port', '0'], env: env('home-a') }));
    await a.waitFor(/lifeboat serve: leading \(lease term/, 30_000);
    const b = pg.track(spawnServe({ cwd: dir, args: ['--metrics-port', '0'], env: env('home-b') }));
    const bMetrics = (await b.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/, 30_000))[1]!;
    // B follows: healthy, not leading, and says who leads.
    await expect.poll(async () => (await (await fetch(`${bMetrics}/healthz`)).json()) as Record<string, unknown>, { timeout: 10_000 }).toMatchObject({ status: 'ok', leader: false, leaderIs: expect.any(String) });

    const runCount = () => Number(query("SELECT count(*) FROM runs WHERE runbook = 'every-minute'"));
    await expect.poll(runCount, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(3);
    expect(b.output()).not.toMatch(/leading \(lease term/);
    // Kill A 42 s (fast clock, 3.5 s real) after that fire, so the next fire comes while nobody
    // leads: A's lease lapses ≥ 2 s (24 s fast) after the kill, so B can only catch that fire up;
    // B leads ≤ 4 s (48 s fast) after the kill, before the fire after it.
    await new Promise((resolve) => setTimeout(resolve, (42 * 1000) / RATE));
    a.child.kill('SIGKILL');
    const killedAt = performance.now();
    await a.exited;
    await b.waitFor(/lifeboat serve: leading \(lease term/, 30_000);
    const takeoverMs = performance.now() - killedAt;
    expect(takeoverMs).toBeLessThan(30_000);

    await expect.poll(runCount, { timeout: 120_000, interval: 250 }).toBeGreaterThanOrEqual(12);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);

    // One run per minute of the fast clock, from the first fire to the last: none missing, none doubled.
    const started = query("SELECT string_agg(record->>'startedAt', ',' ORDER BY started_at) FROM runs WHERE runbook = 'every-minute'").split(',');
    const minutes = started.map((iso) => Math.floor(new Date(iso).getTime() / MINUTE));
    const first = minutes[0]!;
    const last = minutes[minutes.length - 1]!;
    expect(last - first + 1).toBeGreaterThanOrEqual(10);
    expect(minutes).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
    // Both serves ran some of them, and nothing was reported missed or skipped.
    expect(a.output()).toMatch(/backup of every-minute started/);
    expect(b.output()).toMatch(/backup of every-minute started/);
    // The fire that came while nobody led was run once by B, as a catch-up.
    expect(b.output().match(/backup of every-minute started \(catch-up of/g)).toHaveLength(1);
    expect(Number(query("SELECT count(*) FROM audit WHERE record->>'result' = 'skipped'"))).toBe(0);
    expect(`${a.output()}${b.output()}`).not.toContain(url);
  }, 240_000);
});
