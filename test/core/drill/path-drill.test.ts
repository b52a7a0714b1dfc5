/**
 * Path drills (issue 20, item 4), through core's surface against a real local
 * repository: `drill({ path })` restores only that path into scratch space,
 * hashes what it restored against the snapshot, skips `drill.check` (written
 * for the whole restore), and records the drill with its path; a path not in
 * the snapshot is a failed drill naming the path and the snapshot; a malformed
 * path is refused before anything is recorded. A path drill's RTO is the
 * path's: status, the RTO alert rules, /metrics' last-RTO reader and the cold
 * throughput estimate read whole drills only.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  backup,
  drill,
  drillPath,
  evaluateAlerts,
  eventNotifier,
  init,
  isLifeboatError,
  isPathDrill,
  loadRunbook,
  measuredDrills,
  readStatus,
  systemClock,
  wholeDrills,
  type DrillRecord,
  type EngineEvent,
  type RunContext,
  type Runbook,
} from '../../../src/core/index.js';
import { measuredThroughput } from '../../../src/core/tier/estimate.js';
import { MemoryStore } from '../../../src/core/store/index.js';
import { TEST_KEYS_ENV } from '../../helpers/cli.js';
import { PIPELINE_PASSWORD } from '../../helpers/pipeline-runbook.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('path-drill');

let base: string;
let runbook: Runbook;
let snapshotId: string;

beforeAll(async () => {
  base = await tempDir();
  const src = join(base, 'src');
  await mkdir(join(src, 'etc'), { recursive: true });
  await mkdir(join(src, 'uploads'), { recursive: true });
  await writeFile(join(src, 'etc', 'app.yaml'), 'listen: 8080\n');
  await writeFile(join(src, 'etc', 'My Notes.txt'), 'spaces in the name\n');
  for (let i = 0; i < 4; i++) await writeFile(join(src, 'uploads', `u${i}.bin`), Buffer.alloc(20_000, i));
  const file = join(base, 'paths.yaml');
  await writeFile(
    file,
    stringify({
      name: 'paths',
      owner: '@lifeboat-tests',
      sources: [{ name: 'data', path: src }],
      repository: { hot: { url: `file://${join(base, 'repo')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
      objectives: { rpo: '26h', rto: '15m' },
      // Written for the whole restore: it would fail a drill of data/etc/app.yaml, which is why a path drill does not run it.
      drill: { check: 'test -s data/uploads/u0.bin' },
    }),
  );
  runbook = await loadRunbook(file, { runbooksDir: base, home: join(base, 'home'), cwd: base });
  await init(context().ctx);
  const { run } = await backup(context().ctx);
  expect(run.status).toBe('succeeded');
  snapshotId = run.snapshotId!;
});

function context(store = new MemoryStore()): { ctx: RunContext; store: MemoryStore; events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  const ctx: RunContext = {
    runbook,
    store,
    clock: systemClock,
    emit: (e) => events.push(e),
    actor: { face: 'test', user: 'path-drill' },
    env: { LIFEBOAT_PASSWORD: PIPELINE_PASSWORD, ...TEST_KEYS_ENV },
    home: join(base, 'home'),
  };
  return { ctx, store, events };
}

/** Every file under `dir`, relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describe('a path drill', () => {
  it('restores only that path, hashes it against the snapshot, does not run drill.check, and records the path', async () => {
    const { ctx, store, events } = context();
    const result = await drill({ ...ctx, path: '/data/etc/app.yaml', keep: true });
    expect(result.problems).toEqual([]);
    expect(result.drill).toMatchObject({ verdict: 'met', path: 'data/etc/app.yaml', snapshotId, runbook: 'paths' });
    expect(await filesUnder(result.scratch)).toEqual(['data/etc/app.yaml']);
    expect(result.restore).toMatchObject({ files: 1, bytes: 'listen: 8080\n'.length });
    // The validate phase hashed what was restored (its bytes), and the RTO is start → validated, as for every drill.
    expect(result.drill.phases.map((p) => p.name)).toEqual(['plan', 'fetch', 'write', 'validate', 'cleanup']);
    expect(result.drill.phases.find((p) => p.name === 'validate')!.bytes).toBe('listen: 8080\n'.length);
    expect(result.drill.rtoMs).toBeGreaterThanOrEqual(0);
    const stored = await store.listDrills({ runbook: 'paths' });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ id: result.drill.id, path: 'data/etc/app.yaml', verdict: 'met' });
    expect(events.find((e) => e.type === 'drill.measured')).toMatchObject({ drill: { path: 'data/etc/app.yaml' } });
  });

  it('drills a folder (every file below it) and a name with spaces', async () => {
    const folder = await drill({ ...context().ctx, path: 'data/uploads', keep: true });
    expect(folder.drill.verdict).toBe('met');
    expect(await filesUnder(folder.scratch)).toEqual(['data/uploads/u0.bin', 'data/uploads/u1.bin', 'data/uploads/u2.bin', 'data/uploads/u3.bin']);
    const spaced = await drill({ ...context().ctx, path: 'data/etc/My Notes.txt' });
    expect(spaced.drill).toMatchObject({ verdict: 'met', path: 'data/etc/My Notes.txt' });
  });

  it('fails, naming the path and the snapshot, when the path is not in the snapshot; no drill-failed alert for a spot check', async () => {
    const { ctx, store } = context();
    const leaf = await drill({ ...ctx, path: 'data/etc/missing.yaml' });
    expect(leaf.drill.verdict).toBe('failed');
    expect(leaf.drill.reason).toBe(`path data/etc/missing.yaml is not in snapshot ${snapshotId.slice(0, 8)}`);
    expect(leaf.drill.rtoMs).toBeUndefined();
    expect(leaf.drill.path).toBe('data/etc/missing.yaml');
    const folder = await drill({ ...ctx, path: 'nope/app.yaml' });
    expect(folder.drill.reason).toBe(`path nope/app.yaml: "nope" is not in snapshot ${snapshotId.slice(0, 8)}`);
    expect((await store.listDrills()).map((d) => d.verdict)).toEqual(['failed', 'failed']);
    // The alert rules judge whole drills: a mistyped path does not page anyone as a failed restore.
    expect(folder.alerts.filter((a) => a.rule === 'drill-failed')).toEqual([]);
  });

  it('refuses a malformed path before anything is opened or recorded', async () => {
    const { ctx, store } = context();
    for (const bad of ['../etc/passwd', 'data/../../x', '/', '', 'a\0b']) {
      const e = await drill({ ...ctx, path: bad }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isLifeboatError(e, 'USAGE'), `${JSON.stringify(bad)}: ${String(e)}`).toBe(true);
    }
    expect(await store.listDrills()).toEqual([]);
    expect(drillPath('./data//etc/./app.yaml/')).toBe('data/etc/app.yaml');
  });
});

describe("a path drill's RTO is not the runbook's", () => {
  it('status, the RTO alerts, /metrics and the throughput estimate read whole drills only', async () => {
    const { ctx, store } = context();
    const whole = await drill(ctx);
    expect(whole.drill.verdict).toBe('met');
    // A slow whole drill on record, then a quick path drill that "meets" the target: the runbook's RTO stays the whole drill's.
    await store.putDrill({ ...whole.drill, id: `${whole.drill.id}-slow`, rtoMs: 20 * 60_000, verdict: 'missed', startedAt: new Date(Date.parse(whole.drill.startedAt) - 1).toISOString() });
    await store.putDrill({ ...whole.drill, id: `${whole.drill.id}-older`, startedAt: new Date(Date.parse(whole.drill.startedAt) - 2).toISOString() });
    await store.putDrill({ ...whole.drill, id: `${whole.drill.id}-now`, rtoMs: 20 * 60_000, verdict: 'missed' });
    const path = await drill({ ...ctx, path: 'data/etc/app.yaml' });
    expect(path.drill.verdict).toBe('met');
    const drills = await store.listDrills({ runbook: 'paths' });
    expect(drills[0]!.id).toBe(path.drill.id);

    const [status] = await readStatus({ runbooks: [{ name: 'paths', runbook }], store, clock: systemClock });
    expect(status!.lastDrill?.id).toBe(`${whole.drill.id}-now`);
    expect(status!.hotRto).toMatchObject({ rtoMs: 20 * 60_000 });
    expect(status!.rtoTrendMs).not.toContain(path.drill.rtoMs);

    // /metrics' last RTO per tier and the RTO rules go through measuredDrills.
    expect(measuredDrills(drills).map((d) => d.id)).not.toContain(path.drill.id);
    expect(measuredDrills(drills)[0]!.id).toBe(`${whole.drill.id}-now`);
    const evaluation = await evaluateAlerts({ runbook, store, clock: systemClock, notifier: eventNotifier(() => undefined) });
    expect(evaluation.conditions.map((c) => c.key)).toContain('rto-over-target:paths');

    // More path drills than status's window of drills: the whole drill is still the last one.
    for (let i = 0; i < 25; i++) await store.putDrill({ ...path.drill, id: `${path.drill.id}-${i}`, startedAt: new Date(Date.parse(path.drill.startedAt) + i + 1).toISOString() });
    const [crowded] = await readStatus({ runbooks: [{ name: 'paths', runbook }], store, clock: systemClock });
    expect(crowded!.lastDrill?.id).toBe(`${whole.drill.id}-now`);

    expect(wholeDrills(drills).some(isPathDrill)).toBe(false);
    const onlyPath: DrillRecord[] = drills.filter(isPathDrill);
    expect(measuredThroughput(onlyPath)).toBeUndefined();
  });
});
