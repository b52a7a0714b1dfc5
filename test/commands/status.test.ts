/**
 * `status` per runbook: the hot RTO (the last hot drill, measured) and the cold
 * RTO (the last cold drill that restored for real; else the last estimated one;
 * else an estimate computed from the newest backup's size), in the table and in
 * `--json` data. Runbooks are real YAML files in a temp folder; the store is the
 * in-memory one, seeded with records like the engine writes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { findCommand } from '../../commands/index.js';
import { statusCommand, type StatusEntry } from '../../commands/status.js';
import { ExitCode } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { DrillRecord, RunRecord } from '../../src/core/store/records.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext } from './alerts-context.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const MIN = 60_000;
const H = 60 * MIN;
const now = new Date('2026-03-10T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

const tempDir = useTempDirs('status');

async function writeRunbook(dir: string, name: string, rto: string, cold?: Record<string, unknown>): Promise<void> {
  const doc = {
    name,
    sources: [{ name: 'data', path: '/srv/data' }],
    repository: { hot: { url: `file:///var/backups/${name}` }, ...(cold ? { cold } : {}), password: { env: 'LIFEBOAT_PASSWORD' } },
    objectives: { rpo: '26h', rto },
  };
  await writeFile(join(dir, `${name}.yaml`), stringify(doc));
}

let n = 0;
function backup(runbook: string, msAgo: number, bytes: number | undefined): RunRecord {
  n++;
  return {
    id: `run-${n}`,
    runbook,
    kind: 'backup',
    status: 'succeeded',
    startedAt: ago(msAgo + MIN),
    endedAt: ago(msAgo),
    actor: { face: 'scheduler', user: 'scheduler' },
    host: 'box',
    pid: 1,
    stages: [],
    snapshotId: `snap-${runbook}-${n}`,
    stats: bytes === undefined ? { files: 3 } : { files: 3, bytes, bytesStored: Math.round(bytes / 2) },
  };
}

/** A drill as runDrill records it: fetch and write phases carry the restored bytes, so the restore's rate is bytes over their time. */
function drill(runbook: string, msAgo: number, fields: Partial<DrillRecord> & { mibPerSec?: number } = {}): DrillRecord {
  const { mibPerSec = 20, ...rest } = fields;
  n++;
  const bytes = 200 * MiB;
  const restoreMs = (bytes / (mibPerSec * MiB)) * 1000;
  return {
    id: `drill-${n}`,
    runbook,
    snapshotId: `snap-${runbook}`,
    tier: 'hot',
    startedAt: ago(msAgo + restoreMs + 1000),
    endedAt: ago(msAgo),
    verdict: 'met',
    rtoMs: restoreMs + 1000,
    targetMs: 15 * MIN,
    phases: [
      { name: 'plan', durationMs: 500 },
      { name: 'fetch', durationMs: restoreMs / 2, bytes: bytes / 2 },
      { name: 'write', durationMs: restoreMs / 2, bytes },
      { name: 'validate', durationMs: 500, bytes },
      { name: 'cleanup', durationMs: 5 },
    ],
    actor: { face: 'test', user: 'alice' },
    ...rest,
  };
}

let dir: string;
let memory: MemoryStore;

beforeAll(async () => {
  dir = await tempDir();
  const runbooks = join(dir, 'runbooks');
  await mkdir(runbooks);
  await writeRunbook(runbooks, 'web', '15m');
  await writeRunbook(runbooks, 'archive', '6h', { url: 's3://acme-archive/archive', storageClass: 'GLACIER', after: '30d', retrieval: 'Standard' });
  await writeRunbook(runbooks, 'vault', '2h', { url: 's3://acme-archive/vault', storageClass: 'DEEP_ARCHIVE', after: '30d', retrieval: 'Bulk' });
  await writeRunbook(runbooks, 'instant', '15m', { url: 's3://acme-archive/instant', storageClass: 'GLACIER_IR', after: '30d' });
  await writeRunbook(runbooks, 'guess', '15m', { url: 's3://acme-archive/guess', storageClass: 'GLACIER', after: '30d', retrieval: 'Expedited' });
  await writeRunbook(runbooks, 'fresh', '15m', { url: 's3://acme-archive/fresh', storageClass: 'DEEP_ARCHIVE', after: '90d' });

  memory = new MemoryStore();
  const put = async (records: (RunRecord | DrillRecord)[]) => {
    for (const r of records) await ('kind' in r ? memory.putRun(r) : memory.putDrill(r));
  };
  await put([
    // web: hot only, three hot drills (trend) and a newer one still running.
    backup('web', H, 5 * GiB),
    drill('web', 3 * H, { rtoMs: 50_000 }),
    drill('web', 2 * H, { rtoMs: 30_000 }),
    drill('web', 1 * H, { rtoMs: 42_000 }),
    drill('web', 1000, { verdict: 'running', rtoMs: undefined }),
    // archive: a measured cold drill, then a newer estimate: the measurement wins.
    backup('archive', H, 8 * GiB),
    drill('archive', 5 * H, { verdict: 'missed', rtoMs: 20 * MIN, targetMs: 6 * H - 5 * H }),
    drill('archive', 4 * H, { tier: 'cold', verdict: 'met', rtoMs: 4 * H + 10 * MIN, targetMs: 6 * H }),
    drill('archive', 2 * H, { tier: 'cold', estimated: true, verdict: 'met', rtoMs: 5 * H + 3 * MIN, targetMs: 6 * H }),
    // vault: only an estimated cold drill; the hot drill failed.
    backup('vault', H, 1 * GiB),
    drill('vault', 3 * H, { verdict: 'failed', rtoMs: undefined, targetMs: 2 * H, reason: 'check exited with 1' }),
    drill('vault', 2 * H, { tier: 'cold', estimated: true, verdict: 'missed', rtoMs: 48 * H + 20_000, targetMs: 2 * H }),
    // instant: no cold drill; computed from the last backup's 10 GiB and hot drills measuring 20 MiB/s.
    backup('instant', 3 * H, 2 * GiB),
    backup('instant', H, 10 * GiB),
    drill('instant', 2 * H, { mibPerSec: 20 }),
    drill('instant', 90 * MIN, { mibPerSec: 10 }),
    drill('instant', 80 * MIN, { mibPerSec: 40 }),
    drill('instant', 70 * MIN, { mibPerSec: 1, verdict: 'failed', rtoMs: undefined }),
    // guess: no drill at all, so throughput is assumed.
    backup('guess', H, GiB),
    // fresh: no backup yet.
  ]);
});

async function status() {
  const ctx = commandContext({ store: memory, dir });
  const res = await statusCommand.run({}, ctx);
  const rows = Object.fromEntries(res.table!.rows.map((r) => [r.runbook, r]));
  const data = Object.fromEntries((res.data as StatusEntry[]).map((e) => [e.runbook, e]));
  return { res, rows, data };
}

describe('status: hot and cold RTO', () => {
  it('is registered and shows the hot and the cold RTO as columns', async () => {
    expect(findCommand('status')).toBe(statusCommand);
    const { res } = await status();
    expect(res.exitCode).toBe(ExitCode.ok);
    expect(res.summary).toBe('6 runbooks');
    expect(res.table!.columns.map((c) => c.header)).toEqual(['RUNBOOK', 'LAST BACKUP', 'AGE / RPO', 'HOT: LAST DRILL RTO / TARGET', 'RTO TREND', 'COLD RTO / TARGET', 'OPEN ALERTS']);
  });

  it('a runbook without a cold tier: the last hot drill against its target, its trend, and — for cold', async () => {
    const { rows, data } = await status();
    expect(rows.web).toMatchObject({ rto: 'met 42.0s / 15m00s', trend: '█▁▅', cold: '—' });
    expect(data.web!.cold).toBeUndefined();
    expect(data.web!.hotRto).toEqual({ basis: 'measured', source: 'drill', verdict: 'met', rtoMs: 42_000, targetMs: 15 * MIN, at: ago(H), drillId: data.web!.lastDrill!.id, snapshotId: 'snap-web' });
    expect(data.web!.rtoTrendMs).toEqual([50_000, 30_000, 42_000]);
  });

  it('a measured cold drill wins over a newer estimate; the hot column keeps to hot drills', async () => {
    const { rows, data } = await status();
    expect(rows.archive).toMatchObject({ rto: 'missed 20m00s / 1h00m', trend: '—', cold: 'met 4h10m / 6h00m' });
    expect(data.archive!.lastDrill?.tier).toBe('hot');
    expect(data.archive!.cold).toMatchObject({
      storageClass: 'GLACIER',
      retrieval: 'Standard',
      rto: { basis: 'measured', source: 'drill', verdict: 'met', rtoMs: 4 * H + 10 * MIN, targetMs: 6 * H, at: ago(4 * H) },
    });
    expect(data.archive!.cold!.rto!.estimate).toBeUndefined();
  });

  it('only an estimated cold drill: shown as est., never as a measurement', async () => {
    const { rows, data } = await status();
    expect(rows.vault).toMatchObject({ rto: 'failed — / 2h00m', cold: 'missed est. 2d00h / 2h00m' });
    expect(data.vault!.hotRto).toMatchObject({ basis: 'measured', verdict: 'failed', targetMs: 2 * H });
    expect(data.vault!.hotRto!.rtoMs).toBeUndefined();
    expect(data.vault!.cold).toMatchObject({ storageClass: 'DEEP_ARCHIVE', retrieval: 'Bulk', rto: { basis: 'estimated', source: 'drill', verdict: 'missed', rtoMs: 48 * H + 20_000 } });
  });

  it('no cold drill: estimated now from the newest backup’s size and the throughput drills measured', async () => {
    const { rows, data } = await status();
    // GLACIER_IR needs no thaw; 10 GiB at the median of 20, 10 and 40 MiB/s (the failed drill does not count) is 512 s.
    expect(rows.instant).toMatchObject({ rto: 'failed — / 15m00s', cold: 'met est. 8m32s / 15m00s' });
    const rto = data.instant!.cold!.rto!;
    expect(rto).toMatchObject({ basis: 'estimated', source: 'computed', verdict: 'met', rtoMs: 512_000, targetMs: 15 * MIN, at: now.toISOString(), snapshotId: data.instant!.lastSuccess!.snapshotId });
    expect(rto.estimate).toMatchObject({ bytes: 10 * GiB, objects: 640, thawMs: 0, transferMs: 512_000, throughputBytesPerSec: 20 * MiB, throughputBasis: 'measured' });
    expect(rto.estimate!.costLines).toEqual(['retrieval 10.0 GB × $0.03/GB = $0.30', 'GET requests 640 × $0.01/1000 = $0.0064']);
  });

  it('no drill at all: the estimate says its throughput is assumed', async () => {
    const { rows, data } = await status();
    // GLACIER Expedited: 5 min thaw (the slow end), 1 GiB at the assumed 50 MiB/s is 20.48 s.
    expect(rows.guess).toMatchObject({ rto: 'no drill yet (target 15m00s)', cold: 'met est. 5m20s / 15m00s' });
    expect(data.guess!.hotRto).toBeUndefined();
    expect(data.guess!.cold!.rto).toMatchObject({ basis: 'estimated', source: 'computed', rtoMs: 5 * MIN + 20_480 });
    expect(data.guess!.cold!.rto!.estimate).toMatchObject({ throughputBasis: 'assumed', objects: 64, thawRangeMs: [MIN, 5 * MIN] });
  });

  it('no backup yet: nothing to estimate from, and it says so', async () => {
    const { rows, data } = await status();
    expect(rows.fresh).toMatchObject({ last: 'never', rto: 'no drill yet (target 15m00s)', cold: 'no estimate (no backup yet)' });
    expect(data.fresh!.cold).toEqual({ storageClass: 'DEEP_ARCHIVE', retrieval: 'Standard', reason: 'no estimate (no backup yet)' });
  });

  it('a backup that recorded no size gives no estimate rather than a wrong one', async () => {
    const ctx = commandContext({ dir });
      await ctx.memory.putRun(backup('fresh', H, undefined));
    const res = await statusCommand.run({}, ctx);
    expect(res.table!.rows.find((r) => r.runbook === 'fresh')?.cold).toBe('no estimate (the last backup recorded no size)');
  });

  it('--json data survives a JSON round trip with the same cold and hot RTO', async () => {
    const { res } = await status();
    const parsed = JSON.parse(JSON.stringify(res.data)) as StatusEntry[];
    expect(parsed.map((e) => [e.runbook, e.hotRto?.basis ?? null, e.cold?.rto?.basis ?? null, e.cold?.rto?.source ?? null])).toEqual([
      ['archive', 'measured', 'measured', 'drill'],
      ['fresh', null, null, null],
      ['guess', null, 'estimated', 'computed'],
      ['instant', 'measured', 'estimated', 'computed'],
      ['vault', 'measured', 'estimated', 'drill'],
      ['web', 'measured', null, null],
    ]);
  });
});
