/**
 * /metrics end to end: records written to a real JSON store (one of them by a
 * separate Node process), scraped over real HTTP on 127.0.0.1, the exposition
 * text parsed and its numbers compared with the records.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import type { Runbook } from '../../src/core/runbook/types.js';
import { openJsonStore, type JsonStore } from '../../src/core/store/json-store.js';
import type { AlertRecord, DrillRecord, RunRecord } from '../../src/core/store/records.js';
import { createMetrics } from '../../src/serve/metrics.js';
import { startOpsServer, type OpsServer } from '../../src/serve/ops-server.js';
import { backupRun, drill, HOUR, MiB, MINUTE, testRunbook } from '../core/alerts/fixtures.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const newDir = useTempDirs('metrics', 'each');
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const jsonStoreModule = fileURLToPath(new URL('../../src/core/store/json-store.ts', import.meta.url));

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format (0.0.4), samples only: `name{a="x",b="y"} value`. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const raw = m[3]!;
    samples.push({ name: m[1]!, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return samples;
}

/** The value of the one sample with this name and exactly these labels, or undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matches = samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

function alert(key: string, fields: Partial<AlertRecord>): AlertRecord {
  return {
    key,
    runbook: 'app-data',
    rule: key.split(':')[0]!,
    severity: 'warning',
    message: key,
    firstSeen: '2026-03-10T03:00:00.000Z',
    lastSeen: '2026-03-10T11:00:00.000Z',
    count: 1,
    status: 'open',
    ...fields,
  };
}

/** Writes a run and a drill from another OS process, as a CLI backup and drill would. */
async function writeFromAnotherProcess(home: string, run: RunRecord, drillRecord: DrillRecord): Promise<void> {
  const code = `
    import { openJsonStore } from ${JSON.stringify(jsonStoreModule)};
    const [home, run, drill] = process.argv.slice(1);
    const store = await openJsonStore(home);
    await store.putRun(JSON.parse(run));
    await store.putDrill(JSON.parse(drill));
    await store.close();`;
  await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', code, home, JSON.stringify(run), JSON.stringify(drillRecord)], { cwd: repoRoot });
}

let server: OpsServer | undefined;
let store: JsonStore | undefined;
afterEach(async () => {
  await server?.close();
  await store?.close();
  server = store = undefined;
});

interface Fixture {
  home: string;
  store: JsonStore;
  clock: FakeClock;
  loaded: Runbook[];
  scrape(): Promise<Sample[]>;
}

async function serveMetrics(runbooks: Runbook[], seed: (store: JsonStore) => Promise<void>, options: { home?: string } = {}): Promise<Fixture> {
  const home = options.home ?? (await newDir());
  store = await openJsonStore(home);
  const opened = store;
  await seed(opened);
  const clock = new FakeClock('2026-03-10T12:00:00.000Z');
  const loaded = [...runbooks];
  const { registry } = createMetrics({ store: async () => opened, runbooks: () => loaded, clock, home });
  server = await startOpsServer({ port: 0, registry, health: () => ({ ok: true }) });
  const url = `${server.url}/metrics`;
  return {
    home,
    store: opened,
    clock,
    loaded,
    async scrape() {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(registry.contentType);
      return parseExposition(await res.text());
    },
  };
}

const appData = testRunbook({ name: 'app-data', rpoMs: 26 * HOUR, rtoMs: 5 * MINUTE });
const wiki = testRunbook({ name: 'wiki', rpoMs: 2 * HOUR, rtoMs: 10 * MINUTE });

const lastGood = backupRun('2026-03-10T02:00:00.000Z', {
  id: 'app-data-good',
  durationMs: 90_000,
  stats: { files: 12_000, bytes: 5_000_000_000, bytesNew: 300 * MiB, bytesStored: 120 * MiB, repositoryBytes: 4_200_000_000 },
});

async function seedHistory(s: JsonStore): Promise<void> {
  await s.putRun(backupRun('2026-03-09T02:00:00.000Z', { id: 'app-data-older', stats: { bytes: 1, bytesNew: 2, bytesStored: 3, repositoryBytes: 4 } }));
  await s.putRun(lastGood);
  // A failure after the success: the success stays the last one, the RPO age runs from it.
  await s.putRun(backupRun('2026-03-10T03:00:00.000Z', { id: 'app-data-failed', status: 'failed', stats: { bytes: 9, bytesNew: 9, bytesStored: 9 } }));
  await s.putRun(backupRun('2026-03-10T12:00:00.000Z', { id: 'app-data-running', status: 'running', endedAt: undefined, durationMs: undefined }));
  await s.putDrill(drill('2026-03-02T10:00:00.000Z', 200_000, { id: 'hot-older' }));
  await s.putDrill(drill('2026-03-09T10:00:00.000Z', 120_000, { id: 'hot-last', targetMs: 300_000 }));
  // A newer failed drill has no RTO: the last RTO stays the one measured before it.
  await s.putDrill(drill('2026-03-10T10:00:00.000Z', undefined, { id: 'hot-failed', reason: 'check failed' }));
  await s.putDrill(drill('2026-03-08T10:00:00.000Z', 3 * HOUR, { id: 'cold-last', tier: 'cold', estimated: true, targetMs: 300_000 }));
  await s.putAlert(alert('stale:app-data', { severity: 'critical' }));
  await s.putAlert(alert('anomaly:app-data:bytes', { severity: 'warning' }));
  await s.putAlert(alert('failed-run:app-data', { severity: 'info', status: 'resolved', resolvedAt: '2026-03-10T04:00:00.000Z' }));
  await s.putAlert(alert('stale:wiki', { runbook: 'wiki', severity: 'warning' }));
  await s.putAlert(alert('runbook-invalid:old-runbook', { runbook: 'old-runbook', severity: 'critical' }));
}

describe('/metrics', () => {
  it('reports the last successful backup per runbook from the store: time, duration, bytes, age against the RPO', async () => {
    const f = await serveMetrics([appData, wiki], seedHistory);
    const m = await f.scrape();
    const app = { runbook: 'app-data' };
    expect(valueOf(m, 'lifeboat_runbooks')).toBe(2);
    expect(valueOf(m, 'lifeboat_backup_last_success_timestamp_seconds', app)).toBe(seconds(lastGood.endedAt!));
    expect(valueOf(m, 'lifeboat_backup_last_success_duration_seconds', app)).toBe(90);
    expect(valueOf(m, 'lifeboat_backup_last_success_source_bytes', app)).toBe(5_000_000_000);
    expect(valueOf(m, 'lifeboat_backup_last_success_added_bytes', app)).toBe(300 * MiB);
    expect(valueOf(m, 'lifeboat_backup_last_success_stored_bytes', app)).toBe(120 * MiB);
    expect(valueOf(m, 'lifeboat_backup_last_success_repository_bytes', app)).toBe(4_200_000_000);
    expect(valueOf(m, 'lifeboat_backup_last_good_age_seconds', app)).toBe(10 * 3600);
    expect(valueOf(m, 'lifeboat_rpo_target_seconds', app)).toBe(26 * 3600);
    // wiki never backed up: no timestamp or age (a zero would read as 1970), but its RPO is there.
    expect(valueOf(m, 'lifeboat_backup_last_success_timestamp_seconds', { runbook: 'wiki' })).toBeUndefined();
    expect(valueOf(m, 'lifeboat_backup_last_good_age_seconds', { runbook: 'wiki' })).toBeUndefined();
    expect(valueOf(m, 'lifeboat_rpo_target_seconds', { runbook: 'wiki' })).toBe(2 * 3600);
  });

  it('computes the age at scrape time from the clock', async () => {
    const f = await serveMetrics([appData], seedHistory);
    expect(valueOf(await f.scrape(), 'lifeboat_backup_last_good_age_seconds', { runbook: 'app-data' })).toBe(10 * 3600);
    f.clock.advance(17 * HOUR + 30 * 1000);
    expect(valueOf(await f.scrape(), 'lifeboat_backup_last_good_age_seconds', { runbook: 'app-data' })).toBe(27 * 3600 + 30);
  });

  it('reports the last drill RTO and its target per tier, skipping a newer drill that failed', async () => {
    const f = await serveMetrics([appData, wiki], seedHistory);
    const m = await f.scrape();
    const hot = { runbook: 'app-data', tier: 'hot' };
    const cold = { runbook: 'app-data', tier: 'cold' };
    expect(valueOf(m, 'lifeboat_drill_last_rto_seconds', hot)).toBe(120);
    expect(valueOf(m, 'lifeboat_drill_last_rto_target_seconds', hot)).toBe(300);
    expect(valueOf(m, 'lifeboat_drill_last_timestamp_seconds', hot)).toBe(seconds('2026-03-09T10:00:00.000Z'));
    expect(valueOf(m, 'lifeboat_drill_last_estimated', hot)).toBe(0);
    expect(valueOf(m, 'lifeboat_drill_last_rto_seconds', cold)).toBe(3 * 3600);
    expect(valueOf(m, 'lifeboat_drill_last_estimated', cold)).toBe(1);
    expect(valueOf(m, 'lifeboat_rto_target_seconds', { runbook: 'app-data' })).toBe(300);
    expect(valueOf(m, 'lifeboat_rto_target_seconds', { runbook: 'wiki' })).toBe(600);
    expect(m.filter((s) => s.name === 'lifeboat_drill_last_rto_seconds' && s.labels.runbook === 'wiki')).toEqual([]);
  });

  it('counts open alerts by severity, in total and per runbook, including runbooks no longer loaded', async () => {
    const f = await serveMetrics([appData, wiki], seedHistory);
    const m = await f.scrape();
    expect(valueOf(m, 'lifeboat_alerts_open', { severity: 'critical' })).toBe(2);
    expect(valueOf(m, 'lifeboat_alerts_open', { severity: 'warning' })).toBe(2);
    // The resolved info alert is not open.
    expect(valueOf(m, 'lifeboat_alerts_open', { severity: 'info' })).toBe(0);
    const per = (runbook: string, severity: string) => valueOf(m, 'lifeboat_runbook_alerts_open', { runbook, severity });
    expect([per('app-data', 'critical'), per('app-data', 'warning'), per('app-data', 'info')]).toEqual([1, 1, 0]);
    expect([per('wiki', 'critical'), per('wiki', 'warning'), per('wiki', 'info')]).toEqual([0, 1, 0]);
    expect(per('old-runbook', 'critical')).toBe(1);
  });

  it('counts runs and drills that finish after it started, in another process too, once each', async () => {
    const f = await serveMetrics([appData, wiki], seedHistory);
    const runs = (m: Sample[], runbook: string, kind: string, outcome: string) => valueOf(m, 'lifeboat_runs_total', { runbook, kind, outcome });
    const before = await f.scrape();
    // History from before the start is not counted, but every loaded runbook's series start at zero.
    expect(runs(before, 'app-data', 'backup', 'succeeded')).toBe(0);
    expect(runs(before, 'app-data', 'backup', 'failed')).toBe(0);
    expect(runs(before, 'wiki', 'drill', 'met')).toBe(0);
    expect(before.filter((s) => s.name === 'lifeboat_runs_total' && s.value !== 0)).toEqual([]);

    f.clock.advance(HOUR);
    const newRun = backupRun('2026-03-10T12:59:00.000Z', {
      id: 'app-data-new',
      durationMs: 45_000,
      stats: { files: 12_001, bytes: 5_000_100_000, bytesNew: 7 * MiB, bytesStored: 3 * MiB, repositoryBytes: 4_203_000_000 },
    });
    await writeFromAnotherProcess(f.home, newRun, drill('2026-03-10T12:30:00.000Z', 95_000, { id: 'hot-new' }));
    await f.store.putRun(backupRun('2026-03-10T12:40:00.000Z', { id: 'wiki-failed', runbook: 'wiki', status: 'failed' }));

    const after = await f.scrape();
    expect(runs(after, 'app-data', 'backup', 'succeeded')).toBe(1);
    expect(runs(after, 'app-data', 'drill', 'met')).toBe(1);
    expect(runs(after, 'wiki', 'backup', 'failed')).toBe(1);
    expect(after.filter((s) => s.name === 'lifeboat_runs_total').reduce((n, s) => n + s.value, 0)).toBe(3);
    // The other process's run is now the last success, and its drill the last hot RTO.
    expect(valueOf(after, 'lifeboat_backup_last_success_timestamp_seconds', { runbook: 'app-data' })).toBe(seconds(newRun.endedAt!));
    expect(valueOf(after, 'lifeboat_backup_last_good_age_seconds', { runbook: 'app-data' })).toBe(60);
    expect(valueOf(after, 'lifeboat_backup_last_success_stored_bytes', { runbook: 'app-data' })).toBe(3 * MiB);
    expect(valueOf(after, 'lifeboat_drill_last_rto_seconds', { runbook: 'app-data', tier: 'hot' })).toBe(95);

    // Scraped again with nothing new: a counter, not a recount.
    const again = await f.scrape();
    expect(runs(again, 'app-data', 'backup', 'succeeded')).toBe(1);
    expect(runs(again, 'wiki', 'backup', 'failed')).toBe(1);
  });

  it('counts only a succeeded backup as the last success; a partial one is the last failure, still good for the RPO age (as status counts it)', async () => {
    const f = await serveMetrics([appData], async (s) => {
      await s.putRun(lastGood);
      await s.putRun(backupRun('2026-03-10T04:00:00.000Z', { id: 'app-data-partial', status: 'partial', stats: { bytesStored: 77 } }));
      await s.putRun(backupRun('2026-03-10T05:00:00.000Z', { id: 'app-data-pending', status: 'transfer-pending', stats: { bytesStored: 88 } }));
    });
    const m = await f.scrape();
    const app = { runbook: 'app-data' };
    expect(valueOf(m, 'lifeboat_backup_last_success_timestamp_seconds', app)).toBe(seconds(lastGood.endedAt!));
    expect(valueOf(m, 'lifeboat_backup_last_success_stored_bytes', app)).toBe(120 * MiB);
    expect(valueOf(m, 'lifeboat_backup_last_failure_timestamp_seconds', app)).toBe(seconds('2026-03-10T04:00:00.000Z'));
    // The transfer-pending run is the last attempt (its start), neither a success nor a failure.
    const pendingStart = seconds('2026-03-10T05:00:00.000Z') - 60;
    expect(valueOf(m, 'lifeboat_backup_last_attempt_timestamp_seconds', app)).toBe(pendingStart);
    // 12:00 - 04:00: the partial run is the last good backup, as status and the stale rule count it.
    expect(valueOf(m, 'lifeboat_backup_last_good_age_seconds', app)).toBe(8 * 3600);

    f.clock.advance(HOUR);
    const pending = backupRun('2026-03-10T12:30:00.000Z', { id: 'app-data-pending-2', status: 'transfer-pending' });
    await f.store.putRun(pending);
    await f.store.putDrill(drill('2026-03-10T12:10:00.000Z', undefined, { id: 'stopped', reason: 'cancelled' }));
    const later = await f.scrape();
    expect(valueOf(later, 'lifeboat_runs_total', { runbook: 'app-data', kind: 'backup', outcome: 'transfer-pending' })).toBe(1);
    expect(valueOf(later, 'lifeboat_runs_total', { runbook: 'app-data', kind: 'drill', outcome: 'cancelled' })).toBe(1);
    expect(valueOf(later, 'lifeboat_runs_total', { runbook: 'app-data', kind: 'drill', outcome: 'failed' })).toBe(0);
    // Completed later by the next backup, the same run is not counted a second time.
    await f.store.putRun({ ...pending, status: 'succeeded' });
    const completed = await f.scrape();
    expect(valueOf(completed, 'lifeboat_runs_total', { runbook: 'app-data', kind: 'backup', outcome: 'succeeded' })).toBe(0);
    expect(valueOf(completed, 'lifeboat_backup_last_success_timestamp_seconds', app)).toBe(seconds(pending.endedAt!));
  });

  it('reports the last failure and the last attempt (a running backup included), and nothing for a runbook that never tried', async () => {
    const f = await serveMetrics([appData, wiki], async (s) => {
      await s.putRun(lastGood);
      await s.putRun(backupRun('2026-03-10T03:00:00.000Z', { id: 'app-data-failed', status: 'failed' }));
      await s.putRun(backupRun('2026-03-10T12:00:00.000Z', { id: 'app-data-running', status: 'running', startedAt: '2026-03-10T11:59:00.000Z', endedAt: undefined, durationMs: undefined }));
      // A check run is not a backup: it is nobody's last attempt.
      await s.putRun(backupRun('2026-03-10T11:59:30.000Z', { id: 'wiki-check', runbook: 'wiki', kind: 'check', status: 'failed' }));
    });
    const m = await f.scrape();
    const app = { runbook: 'app-data' };
    expect(valueOf(m, 'lifeboat_backup_last_failure_timestamp_seconds', app)).toBe(seconds('2026-03-10T03:00:00.000Z'));
    expect(valueOf(m, 'lifeboat_backup_last_attempt_timestamp_seconds', app)).toBe(seconds('2026-03-10T11:59:00.000Z'));
    expect(valueOf(m, 'lifeboat_backup_last_success_timestamp_seconds', app)).toBe(seconds(lastGood.endedAt!));
    for (const name of ['lifeboat_backup_last_failure_timestamp_seconds', 'lifeboat_backup_last_attempt_timestamp_seconds', 'lifeboat_snapshots']) {
      expect(valueOf(m, name, { runbook: 'wiki' }), name).toBeUndefined();
    }
  });

  it('reports the snapshot count the newest counting backup recorded, without opening any repository', async () => {
    const f = await serveMetrics([appData, wiki], async (s) => {
      await s.putRun(backupRun('2026-03-09T02:00:00.000Z', { id: 'app-data-older', stats: { snapshots: 6 } }));
      await s.putRun(backupRun('2026-03-10T02:00:00.000Z', { id: 'app-data-last', status: 'partial', stats: { snapshots: 7 } }));
      // Failed before retention: it counted nothing, so the count stays the partial run's.
      await s.putRun(backupRun('2026-03-10T03:00:00.000Z', { id: 'app-data-failed', status: 'failed' }));
    });
    const m = await f.scrape();
    expect(valueOf(m, 'lifeboat_snapshots', { runbook: 'app-data' })).toBe(7);
    expect(valueOf(m, 'lifeboat_snapshots', { runbook: 'wiki' })).toBeUndefined();
  });

  it('reports the bytes waiting in each staging folder of the state folder, by runbook and tier', async () => {
    const home = await newDir();
    // Folders as open-repository.ts names them (test/core/repo/staging-usage.test.ts checks the name against it).
    await mkdir(join(home, 'staging/app-data-hot-0123456789abcdef/data/ab'), { recursive: true });
    await writeFile(join(home, 'staging/app-data-hot-0123456789abcdef/data/ab/abcd'), Buffer.alloc(3000));
    await writeFile(join(home, 'staging/app-data-hot-0123456789abcdef/.tmp-0011'), Buffer.alloc(500));
    await mkdir(join(home, 'staging/app-data-cold-fedcba9876543210/data'), { recursive: true });
    await mkdir(join(home, 'staging/not-a-staging-folder'), { recursive: true });
    const f = await serveMetrics([appData], async () => undefined, { home });
    const m = await f.scrape();
    expect(valueOf(m, 'lifeboat_staging_bytes', { runbook: 'app-data', tier: 'hot' })).toBe(3500);
    expect(valueOf(m, 'lifeboat_staging_bytes', { runbook: 'app-data', tier: 'cold' })).toBe(0);
    expect(m.filter((s) => s.name === 'lifeboat_staging_bytes')).toHaveLength(2);
  });

  it('drops the series of a runbook that left the loaded set', async () => {
    const f = await serveMetrics([appData, wiki], seedHistory);
    // Counters keep their series (a counter that vanished would read as a reset); alerts are checked below.
    const wikiState = (m: Sample[]) => m.filter((s) => s.labels.runbook === 'wiki' && s.name !== 'lifeboat_runs_total' && s.name !== 'lifeboat_runbook_alerts_open').map((s) => s.name);
    expect(wikiState(await f.scrape())).toEqual(['lifeboat_rpo_target_seconds', 'lifeboat_rto_target_seconds']);
    f.loaded.splice(f.loaded.indexOf(wiki), 1);
    const m = await f.scrape();
    expect(valueOf(m, 'lifeboat_runbooks')).toBe(1);
    expect(wikiState(m)).toEqual([]);
    // Its open alert still shows: an alert does not vanish because the runbook did.
    expect(valueOf(m, 'lifeboat_runbook_alerts_open', { runbook: 'wiki', severity: 'warning' })).toBe(1);
  });

  it('uses its own registry, with Node process metrics under their standard names (process_*, nodejs_*), none prefixed lifeboat_', async () => {
    const f = await serveMetrics([appData], seedHistory);
    // prom-client counts CPU used since the registry was made: use some, so the count cannot round to 0.
    const until = performance.now() + 30;
    while (performance.now() < until) Math.sqrt(Math.random());
    const m = await f.scrape();
    expect(valueOf(m, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(m.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
    expect(m.some((s) => s.name === 'nodejs_heap_size_used_bytes')).toBe(true);
    expect(m.filter((s) => /^lifeboat_(process|nodejs)_/.test(s.name))).toEqual([]);
    expect(globalRegistry.getSingleMetric('lifeboat_runbooks')).toBeUndefined();
  });

  it('ends a name in _total only when it is a counter, over every metric it exposes (prom-client\'s included)', async () => {
    await serveMetrics([appData], seedHistory);
    const text = await (await fetch(`${server!.url}/metrics`)).text();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((t) => ({ name: t[1]!, type: t[2]! }));
    expect(types.length).toBeGreaterThan(40);
    expect(types).toContainEqual({ name: 'lifeboat_runs_total', type: 'counter' });
    expect(types).toContainEqual({ name: 'process_cpu_seconds_total', type: 'counter' });
    expect(types).toContainEqual({ name: 'lifeboat_backup_last_success_timestamp_seconds', type: 'gauge' });
    expect(types.filter((t) => t.name.endsWith('_total') !== (t.type === 'counter'))).toEqual([]);
    // The per-type gauges stay: sum without (type) (nodejs_active_handles) is what nodejs_active_handles_total said.
    expect(types).toContainEqual({ name: 'nodejs_active_handles', type: 'gauge' });
  });

  it('says which Lifeboat and which Node.js serve runs in lifeboat_build_info, even when the store cannot be read', async () => {
    const f = await serveMetrics([appData], seedHistory);
    const packageJson = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const info = (await f.scrape()).filter((s) => s.name === 'lifeboat_build_info');
    expect(info).toEqual([{ name: 'lifeboat_build_info', labels: { version: packageJson.version, node_version: process.version }, value: 1 }]);

    const { registry } = createMetrics({
      store: () => Promise.reject(new Error('store down')),
      runbooks: () => [appData],
      clock: new FakeClock('2026-03-10T12:00:00.000Z'),
      processMetrics: false,
      build: { version: '9.9.9', node_version: 'v0' },
    });
    await expect(registry.metrics()).rejects.toThrow('store down');
    expect(await registry.getSingleMetricAsString('lifeboat_build_info')).toMatch(/^lifeboat_build_info\{version="9\.9\.9",node_version="v0"\} 1$/m);
  });

  it('reads the store once per scrape however many metrics need it', async () => {
    const home = await newDir();
    store = await openJsonStore(home);
    const opened = store;
    await seedHistory(opened);
    let opens = 0;
    const { registry } = createMetrics({
      store: async () => {
        opens += 1;
        return opened;
      },
      runbooks: () => [appData],
      clock: new FakeClock('2026-03-10T12:00:00.000Z'),
      processMetrics: false,
    });
    await registry.metrics();
    expect(opens).toBe(1);
    await Promise.all([registry.metrics(), registry.metrics()]);
    expect(opens).toBe(2);
  });
});
