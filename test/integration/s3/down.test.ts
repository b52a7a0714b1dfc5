/**
 * S3 down for a whole run (issue 4, "Must show" 3). After an init and one good
 * backup (so the metadata cache holds config, keys and the index), S3 goes
 * away, files change, and the next backup stages everything and ends
 * `transfer-pending` (exit 4) with staging kept. When S3 is back,
 * `lifeboat resume` uploads what was staged (each pack once, nothing that was
 * already there), the run is marked succeeded, and the latest snapshot
 * restores identically.
 *
 * Two ways of being down: a proxy that answers 503 to everything (so the test
 * can count every request that reaches the store), and the endpoint pointing
 * at a closed port (connection refused), where the next backup — not resume —
 * does the catching up.
 */
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { startFlakyProxy, type FlakyProxy, type ProxyRequest } from '../../helpers/flaky-proxy.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { MiB, filesUnder, objectsInBucket, runsOf, s3Env, stageOf, writeRandomFile, writeS3Runbook } from './harness.js';

const tempDir = useTempDirs('pipeline-s3-down');
let server: RunningS3rver;
let proxy: FlakyProxy;
/** Left by the closed-port test for the one after it. */
let refused: { home: string; pendingRunId: string } | undefined;

beforeAll(async () => {
  [server] = await Promise.all([startS3rver({ buckets: ['down'] }), ensureCliBuilt()]);
  proxy = await startFlakyProxy(server.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

/**
 * The key of an object upload, or undefined: a PutObject
 * (no partNumber) or a CreateMultipartUpload (`?uploads`) — one per upload of an
 * object, however many parts it has.
 */
function uploadStarted(r: ProxyRequest, bucket: string): string | undefined {
  const [path = '', query = ''] = r.url.split('?');
  const key = decodeURIComponent(path).replace(new RegExp(`^/${bucket}/`), '');
  if (r.method === 'PUT' && !/(^|&)partNumber=/.test(query)) return key;
  if (r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(query)) return key;
  return undefined;
}

/** A port that was free a moment ago and has nothing listening on it. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function changeFiles(data: string, round: number): Promise<void> {
  await writeRandomFile(join(data, `new-${round}/a.bin`), `new a ${round}`, 12 * MiB + 3);
  await writeRandomFile(join(data, `new-${round}/b.bin`), `new b ${round}`, 700 * 1024);
  await appendFile(join(data, 'log.txt'), `round ${round}\n`.repeat(1000));
  await rm(join(data, 'old.bin'), { force: true });
}

async function seedData(data: string): Promise<void> {
  await writeRandomFile(join(data, 'base.bin'), 'base', 20 * MiB);
  await writeRandomFile(join(data, 'old.bin'), 'old', 1 * MiB);
  await writeFile(join(data, 'log.txt'), 'start\n');
}

describe('S3 down for a whole run', () => {
  // The first two cases run side by side: their own prefixes and state folders, and only the first goes through the proxy.
  it.concurrent('ends transfer-pending (exit 4) with staging kept; resume uploads each missing pack once; the restore is identical', async () => {
    const base = await tempDir();
    const data = join(base, 'data');
    await seedData(data);
    const home = join(base, 'home');
    const runbook = writeS3Runbook(base, 'downrun', { endpoint: proxy.endpoint, bucket: 'down', prefix: 'p', source: './data' });
    const env = s3Env(home, { LIFEBOAT_TRANSFER_RETRY_BUDGET: '3s' });

    // Every upload that reaches s3rver, by key, over the whole test.
    const uploads = new Map<string, number>();
    let down = false;
    proxy.plan = () => (down ? { type: 'status', status: 503, code: 'ServiceUnavailable' } : undefined);
    // Counted when the server accepted it, not when it reached the proxy: a request the proxy could not
    // pass on (a kept-alive socket to s3rver that s3rver had closed while the test held S3 down) and the
    // client sent again is one upload, not two. Two uploads the server accepted are still two.
    proxy.onServerResponse = (r, status) => {
      const key = status >= 200 && status < 300 ? uploadStarted(r, 'down') : undefined;
      if (key !== undefined) uploads.set(key, (uploads.get(key) ?? 0) + 1);
    };

    expect((await runCli(['init', runbook], { env })).code).toBe(0);
    const first = await runCli(['backup', runbook], { env });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const packsBefore = new Set([...(await objectsInBucket(server.directory, 'down', 'p')).keys()].filter((k) => k.startsWith('p/data/')));
    expect(packsBefore.size).toBeGreaterThan(0);

    // S3 goes away; files change; the backup stages everything and gives up on the upload after the budget.
    down = true;
    proxy.resetStats();
    await changeFiles(data, 1);
    const started = Date.now();
    const pending = await runCli(['backup', runbook], { env });
    const pendingMs = Date.now() - started;
    expect(pending.code, pending.stdout + pending.stderr).toBe(4);
    expect(pending.stderr).toMatch(/transfer-pending/);
    expect(pending.stderr).toMatch(/lifeboat resume/);
    // The retry budget is 3 s: the run gives up soon after, and does not hammer the store meanwhile.
    expect(pendingMs).toBeLessThan(20_000);
    expect(proxy.stats.requests).toBeLessThan(200);
    console.log(`down: the backup gave up after ${(pendingMs / 1000).toFixed(1)} s and ${proxy.stats.requests} requests (all answered 503); stderr:\n${pending.stderr}`);

    const [pendingRun] = await runsOf(home, 'downrun');
    expect(pendingRun!.status).toBe('transfer-pending');
    expect(pendingRun!.snapshotId).toBeDefined();
    const transfer = stageOf(pendingRun!, 'transfer');
    expect(transfer.status).toBe('failed');
    expect(transfer.error?.code).toBe('TRANSFER_PENDING');
    expect(transfer.counters.pendingObjects).toBeGreaterThan(0);
    expect(transfer.counters.packs).toBeGreaterThan(0);
    expect(stageOf(pendingRun!, 'verify').status).toBe('skipped');
    const staged = await filesUnder(join(home, 'staging'));
    expect(staged.length).toBeGreaterThan(0);
    expect(staged.length).toBe(transfer.counters.pendingObjects);
    // Nothing of it reached the bucket.
    expect(new Set([...(await objectsInBucket(server.directory, 'down', 'p')).keys()].filter((k) => k.startsWith('p/data/')))).toEqual(packsBefore);

    // S3 is back: resume uploads what was staged and completes the run.
    down = false;
    const uploadsBeforeResume = new Map(uploads);
    const resume = await runCli(['resume', runbook], { env });
    expect(resume.code, resume.stdout + resume.stderr).toBe(0);
    expect(resume.stdout).toMatch(/1 transfer-pending run\(s\) completed/);
    expect(await filesUnder(join(home, 'staging'))).toEqual([]);

    const [resumed] = await runsOf(home, 'downrun');
    expect(resumed!.id).toBe(pendingRun!.id);
    expect(resumed!.status).toBe('succeeded');
    expect(stageOf(resumed!, 'transfer').status).toBe('succeeded');
    expect(resumed!.error).toBeUndefined();

    // No pack uploaded twice: every data object went up once over the whole test, the ones
    // the first backup stored were not sent again, and resume sent exactly the staged packs.
    const dataUploads = [...uploads].filter(([key]) => key.startsWith('p/data/'));
    expect(dataUploads.filter(([, n]) => n > 1)).toEqual([]);
    const resumedPacks = dataUploads.filter(([key]) => !uploadsBeforeResume.has(key)).map(([key]) => key);
    expect(resumedPacks.filter((k) => packsBefore.has(k))).toEqual([]);
    expect(resumedPacks).toHaveLength(transfer.counters.packs!);

    // The bucket holds exactly the packs the index knows.
    const check = await runCli(['check', runbook, '--read-data', '--json'], { env: s3Env(join(base, 'home-check')) });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const checked = JSON.parse(check.stdout) as { data: { packs: number; snapshots: number; unindexedPacks: number } };
    const packsAfter = [...(await objectsInBucket(server.directory, 'down', 'p')).keys()].filter((k) => k.startsWith('p/data/'));
    expect(checked.data.snapshots).toBe(2);
    expect(checked.data.unindexedPacks).toBe(0);
    expect(packsAfter).toHaveLength(checked.data.packs);
    expect(packsAfter).toHaveLength(packsBefore.size + resumedPacks.length);

    // The snapshot made while S3 was down restores identically, from S3 alone.
    const target = join(base, 'restored');
    const restore = await runCli(['restore', runbook, pendingRun!.snapshotId!, '--target', target], { env: s3Env(join(base, 'home-restore')) });
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(data));
  });

  it.concurrent('with the endpoint on a closed port, ends transfer-pending; the next backup uploads the leftovers first and succeeds', async () => {
    const base = await tempDir();
    const data = join(base, 'data');
    await seedData(data);
    const home = join(base, 'home');
    const writeRunbook = (endpoint: string) => writeS3Runbook(base, 'refused', { endpoint, bucket: 'down', prefix: 'q', source: './data' });
    const runbook = writeRunbook(server.endpoint);
    const env = s3Env(home, { LIFEBOAT_TRANSFER_RETRY_BUDGET: '3s' });

    expect((await runCli(['init', runbook], { env })).code).toBe(0);
    expect((await runCli(['backup', runbook], { env })).code).toBe(0);

    // The store moves away: nothing listens where the runbook points.
    writeRunbook(`http://127.0.0.1:${await closedPort()}`);
    await changeFiles(data, 1);
    const pending = await runCli(['backup', runbook], { env });
    expect(pending.code, pending.stdout + pending.stderr).toBe(4);
    const [pendingRun] = await runsOf(home, 'refused');
    expect(pendingRun!.status).toBe('transfer-pending');
    const staged = await filesUnder(join(home, 'staging'));
    expect(staged.length).toBeGreaterThan(0);

    // Back where it was: the next backup adopts the leftovers, uploads them first, then its own.
    writeRunbook(server.endpoint);
    await changeFiles(data, 2);
    const next = await runCli(['backup', runbook], { env });
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(await filesUnder(join(home, 'staging'))).toEqual([]);
    const [nextRun] = await runsOf(home, 'refused');
    expect(nextRun!.status).toBe('succeeded');
    expect(stageOf(nextRun!, 'transfer').counters.leftoversAdopted).toBe(staged.length);

    const target = join(base, 'restored');
    const restore = await runCli(['restore', runbook, '--target', target], { env: s3Env(join(base, 'home-restore')) });
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(data));
    const snapshots = JSON.parse((await runCli(['snapshots', runbook, '--json'], { env })).stdout) as { data: { id: string }[] };
    expect(snapshots.data.map((s) => s.id)).toContain(pendingRun!.snapshotId);
    expect(snapshots.data).toHaveLength(3);
    refused = { home, pendingRunId: pendingRun!.id };
  });

  // Runs after the two above (a test that is not concurrent waits for them).
  // `lifeboat resume --help`: "The next backup of the runbook does the same first" — the same
  // includes marking the run succeeded, as resume does; otherwise history keeps a run pending
  // whose data is in the repository, and the failed-run alert counts it in its streak.
  it('marks the transfer-pending run succeeded once the next backup has uploaded its data', async () => {
    expect(refused, 'the closed-port test ran first').toBeDefined();
    const runs = await runsOf(refused!.home, 'refused');
    const earlier = runs.find((r) => r.id === refused!.pendingRunId)!;
    expect(earlier.status).toBe('succeeded');
    expect(stageOf(earlier, 'transfer').status).toBe('succeeded');
  });
});
