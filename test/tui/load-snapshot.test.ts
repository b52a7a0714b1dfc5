/**
 * The console's poll (src/tui/load-snapshot.ts, runbook-cache.ts): each
 * dashboard row is core's status entry for the runbook (no command result
 * cast), with its next scheduled runs; the runbook files are read again only
 * when their folder changed, so an unchanged folder costs no YAML parsing.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { listRunbooks } from '../../src/core/runbook/index.js';
import { readStatus } from '../../src/core/status/runbook-status.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { RunRecord } from '../../src/core/store/records.js';
import { snapshotLoader } from '../../src/tui/load-snapshot.js';
import { cachedRunbooks } from '../../src/tui/runbook-cache.js';
import { writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('load-snapshot', 'each');
const clock = new FakeClock('2026-03-10T12:30:00Z');

async function setup() {
  const dir = await tempDir();
  const runbooksDir = join(dir, 'runbooks');
  await mkdir(runbooksDir);
  for (const name of ['app', 'web']) writePipelineRunbook(runbooksDir, name, { sources: [{ name: 'files', path: dir }], repo: join(dir, name) });
  return { dir, runbooksDir, locations: { runbooksDir, home: join(dir, 'home'), cwd: dir } };
}

function backup(id: string, runbook: string, endedAt: string, stats: Record<string, number>): RunRecord {
  return { id, runbook, kind: 'backup', status: 'succeeded', startedAt: endedAt, endedAt, actor: { face: 'test', user: 'alice' }, host: 'box', pid: 1, stages: [], stats };
}

describe('the console’s poll', () => {
  it('reads the store in bounded windows only, however long its history (a team store holds years of runs)', async () => {
    const { locations } = await setup();
    const store = new MemoryStore();
    for (let i = 0; i < 30; i++) await store.putRun(backup(`r${i}`, i % 2 ? 'app' : 'web', new Date(Date.UTC(2026, 2, 10, 0, i)).toISOString(), { repositoryBytes: i }));
    const asked: { list: string; options: Record<string, unknown> }[] = [];
    const watched = new Proxy(store, {
      get(target, name) {
        const value: unknown = Reflect.get(target, name, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (name === 'listRuns' || name === 'listDrills') asked.push({ list: name, options: (args[0] ?? {}) as Record<string, unknown> });
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const snapshot = await snapshotLoader({ ...locations, clock, store: async () => watched }, { runLimit: 5 })();
    expect(asked.length).toBeGreaterThan(0);
    for (const a of asked) expect(a.options.limit !== undefined || a.options.perRunbook !== undefined, `${a.list}(${JSON.stringify(a.options)})`).toBe(true);
    expect(snapshot.runs.map((r) => r.id)).toEqual(['r29', 'r28', 'r27', 'r26', 'r25']);
    // The last good backup of each runbook still gives the repository's size.
    expect(snapshot.runbooks.map((r) => [r.name, r.lastStoredBytes])).toEqual([['app', 29], ['web', 28]]);
  });

  it('shows each runbook as core’s status has it, with its next backup and the repository’s size', async () => {
    const { locations } = await setup();
    const store = new MemoryStore();
    await store.putRun(backup('b1', 'app', '2026-03-10T10:00:00Z', { bytesStored: 10, repositoryBytes: 4096 }));
    await store.putRun(backup('b2', 'web', '2026-03-09T01:00:00Z', { bytesStored: 7 }));
    for (let i = 0; i < 3; i++) await store.putRun({ ...backup(`c${i}`, 'app', `2026-03-10T11:0${i}:00Z`, {}), kind: 'verify' });
    const load = snapshotLoader({ ...locations, clock, store: async () => store }, { runLimit: 2 });

    const snapshot = await load();
    const status = await readStatus({ runbooks: await listRunbooks(locations), store, clock });
    expect(snapshot.runbooks.map((r) => [r.name, r.rpoState, r.ageMs, r.lastSuccess?.id])).toEqual([
      ['app', 'ok', 2.5 * 3_600_000, 'b1'],
      ['web', 'STALE', 35.5 * 3_600_000, 'b2'],
    ]);
    for (const [i, s] of status.entries()) {
      // The dashboard keeps the cold tier's RTO and reason (not its retrieval tier) and no hot RTO of its own.
      const { runbook, cold: _cold, hotRto: _hotRto, ...same } = s;
      expect(snapshot.runbooks[i]).toMatchObject({ name: runbook, ...JSON.parse(JSON.stringify(same)) });
    }
    // The demo schedule backs up hourly (pipeline-runbook.ts); the console shows when.
    expect(snapshot.runbooks[0]).toMatchObject({ valid: true, rtoTargetMs: 300_000, nextBackup: '2026-03-10T13:00:00.000Z', lastStoredBytes: 4096 });
    expect(snapshot.runbooks[1]!.lastStoredBytes).toBe(7);
    expect(snapshot.runs.map((r) => r.id)).toEqual(['c2', 'c1']);
    expect(snapshot.loadedAt).toBe(clock.now().toISOString());
  });

  it('reads the runbook files again only after their folder changed', async () => {
    const { runbooksDir, locations } = await setup();
    const runbooks = cachedRunbooks(locations);
    const first = await runbooks();
    expect(first.map((e) => e.name)).toEqual(['app', 'web']);
    expect(await runbooks()).toBe(first);

    const file = join(runbooksDir, 'app.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('rpo: 26h', 'rpo: sometime'));
    const edited = await runbooks();
    expect(edited).not.toBe(first);
    expect(edited.find((e) => e.name === 'app')?.issues[0]?.message).toMatch(/sometime/);
    expect(await runbooks()).toBe(edited);

    await rm(join(runbooksDir, 'web.yaml'));
    expect((await runbooks()).map((e) => e.name)).toEqual(['app']);
    await rm(runbooksDir, { recursive: true });
    expect(await runbooks()).toEqual([]);
  });
});
