/**
 * A whole backup through a bad network (issue 4, "Must show" 2): the CLI talks
 * to s3rver through a loopback proxy that drops connections in the middle of
 * request and response bodies, answers 500 InternalError and 503 SlowDown, and
 * stalls once (holds a connection open and silent). A ~300 MiB backup
 * completes, the run record counts the retries, and a restore through the same
 * bad network is byte-identical.
 *
 * One stall costs the S3 client's idle timeout, so the stall is aimed at the
 * first data upload: the rest of the backup goes on in the other transfer
 * slots meanwhile. The CLI gets LIFEBOAT_S3_IDLE_TIMEOUT=5s (default 30 s):
 * still far above any healthy pause on loopback (a spurious timeout would be a
 * retry no fault answers, which the retry count below would catch), and the
 * stall costs 5 s instead of 30.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { firstFault, randomFaults, seededRandom, startFlakyProxy, type FaultPlan, type FlakyProxy, type ProxyFault, type ProxyRequest } from '../../helpers/flaky-proxy.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { MiB, filesUnder, objectsInBucket, runsOf, s3Env, stageOf, writeRandomFile, writeS3Runbook } from './harness.js';

const tempDir = useTempDirs('pipeline-s3-flaky');
let server: RunningS3rver;
let proxy: FlakyProxy;

beforeAll(async () => {
  [server] = await Promise.all([startS3rver({ buckets: ['flaky'] }), ensureCliBuilt()]);
  proxy = await startFlakyProxy(server.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

const isUpload = (r: ProxyRequest) => r.method === 'PUT' && r.bodyBytes > 0;
const isDataUpload = (r: ProxyRequest) => isUpload(r) && r.url.includes('/data/');
const isGet = (r: ProxyRequest) => r.method === 'GET' && !r.url.includes('list-type');

/** `fault` for the first request that matches, once. */
function once(fault: ProxyFault, when: (r: ProxyRequest) => boolean): FaultPlan {
  let fired = false;
  return (request) => {
    if (fired || !when(request)) return undefined;
    fired = true;
    return fault;
  };
}

/** Every kind of fault at least once, then a steady random mix (seeded: the same run every time). */
function badNetwork(seed: number, withStall: boolean): FaultPlan {
  return firstFault(
    ...(withStall ? [once({ type: 'stall' }, isDataUpload)] : []),
    once({ type: 'drop-request', afterBytes: 2 * MiB }, (r) => isUpload(r) && r.bodyBytes >= 4 * MiB),
    once({ type: 'status', status: 503, code: 'SlowDown' }, isUpload),
    once({ type: 'status', status: 500, code: 'InternalError' }, (r) => r.method === 'POST' || r.method === 'HEAD'),
    once({ type: 'drop-response', afterBytes: 1 * MiB }, (r) => isGet(r) && r.url.includes('/data/')),
    randomFaults(
      [
        { probability: 0.04, when: (r) => isUpload(r) && r.bodyBytes > 64 * 1024, fault: (r, rnd) => ({ type: 'drop-request', afterBytes: Math.floor(rnd() * r.bodyBytes) }) },
        { probability: 0.03, fault: () => ({ type: 'status', status: 503, code: 'SlowDown' }) },
        { probability: 0.02, fault: () => ({ type: 'status', status: 500, code: 'InternalError' }) },
        { probability: 0.05, when: isGet, fault: (_r, rnd) => ({ type: 'drop-response', afterBytes: Math.floor(rnd() * 256 * 1024) }) },
      ],
      seededRandom(seed),
    ),
  );
}

describe('a backup to S3 through a flaky network', () => {
  it('completes ~300 MiB through drops, 500s, SlowDowns and a stall, counts the retries, and restores byte-identical', async () => {
    const base = await tempDir();
    const data = join(base, 'data');
    // 288 MiB in large files (multipart uploads of whole packs) and 12 MiB in 300 small ones.
    const big = Array.from({ length: 6 }, (_, i) => writeRandomFile(join(data, `large/part-${i}.bin`), `large ${i}`, 48 * MiB + i * 4099));
    const small = Array.from({ length: 300 }, (_, i) => writeRandomFile(join(data, `small/${i % 10}/f${i}.bin`), `small ${i}`, 40 * 1024 + i * 13));
    await Promise.all([...big, ...small]);
    const sourceBytes = 6 * 48 * MiB + 300 * 40 * 1024;

    const home = join(base, 'home');
    const runbook = writeS3Runbook(base, 'flaky', { endpoint: proxy.endpoint, bucket: 'flaky', prefix: 'r', source: './data', concurrency: 4 });
    const env = s3Env(home, { LIFEBOAT_S3_IDLE_TIMEOUT: '5s' });

    // The repository is made on a good network; the bad one starts with the backup.
    const init = await runCli(['init', runbook], { env });
    expect(init.code, init.stdout + init.stderr).toBe(0);

    proxy.resetStats();
    proxy.plan = badNetwork(4, true);
    const started = Date.now();
    const backup = await runCli(['backup', runbook], { env });
    const backupMs = Date.now() - started;
    const backupFaults = { ...proxy.stats.faults };
    const backupRequests = proxy.stats.requests;
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);

    // Every kind of fault happened during the backup.
    for (const type of ['drop-request', 'status', 'stall'] as const) expect(backupFaults[type], `${type} faults during the backup`).toBeGreaterThan(0);
    const injected = backupFaults['drop-request'] + backupFaults['drop-response'] + backupFaults.status + backupFaults.stall;

    const [run] = await runsOf(home, 'flaky');
    expect(run!.status).toBe('succeeded');
    const transfer = stageOf(run!, 'transfer');
    expect(transfer.status).toBe('succeeded');
    expect(transfer.counters.pendingObjects).toBe(0);
    expect(transfer.counters.uploadedBytes).toBeGreaterThan(sourceBytes);
    // The retries are counted, on the stage and the run; each one answers a fault (no storm).
    expect(transfer.counters.retries).toBeGreaterThan(0);
    expect(transfer.counters.retries).toBeLessThanOrEqual(injected);
    expect(transfer.counters.retriesSave).toBeGreaterThan(0);
    expect(run!.stats?.retries).toBe(transfer.counters.retries);
    expect(stageOf(run!, 'verify').status).toBe('succeeded');
    expect(await filesUnder(join(home, 'staging'))).toEqual([]);

    // The bucket holds exactly the packs the run wrote, at full size.
    const objects = await objectsInBucket(server.directory, 'flaky', 'r');
    expect([...objects.keys()].filter((k) => k.startsWith('r/data/'))).toHaveLength(transfer.counters.packs!);

    // Restore through the same bad network (no stall: it would only cost the idle timeout again).
    proxy.resetStats();
    proxy.plan = badNetwork(11, false);
    const target = join(base, 'restored');
    const restore = await runCli(['restore', runbook, '--target', target], { env: s3Env(join(base, 'home-restore'), { LIFEBOAT_S3_IDLE_TIMEOUT: '5s' }) });
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    expect(proxy.stats.faults['drop-response'], 'responses dropped during the restore').toBeGreaterThan(0);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(data));

    console.log(
      `flaky: backup of ${(sourceBytes / MiB).toFixed(0)} MiB in ${(backupMs / 1000).toFixed(1)} s, ${backupRequests} requests, ` +
        `faults ${JSON.stringify(backupFaults)}, retries ${transfer.counters.retries} (save ${transfer.counters.retriesSave}, load ${transfer.counters.retriesLoad}); ` +
        `restore faults ${JSON.stringify(proxy.stats.faults)}`,
    );
  }, 150_000);
});
