/**
 * The JSON store across real OS processes: what lowdb alone gets wrong (lost
 * writes between processes) and what a crash must not cost (a returned write).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openJsonStore, stateFilePath } from '../../../src/core/store/json-store.js';
import { run } from './helpers/records.js';
import { spawnWorker } from './helpers/spawn-worker.js';
import { expectDeliveredInOrder, expectEachClaimedOnce, seedOutbox } from './helpers/two-claimers.js';
import { useTempHomes } from './helpers/temp-home.js';

const newHome = useTempHomes();
const newMemoryHome = useTempHomes({ memory: true });

describe('JsonStore across processes', () => {
  it('two processes appending 500 audit entries each leave exactly 1,000', async () => {
    // On tmpfs: this test is about the lock, and 1,000 durable writes on this disk take ~8 s of fsync alone.
    const home = await newMemoryHome();
    const workers = [spawnWorker('append', home, 'a', '500'), spawnWorker('append', home, 'b', '500')];
    // Both open first, then start together, so their writes really interleave.
    await Promise.all(workers.map((w) => w.waitFor((l) => l === 'ready')));
    const started = performance.now();
    for (const w of workers) w.child.stdin.write('go\n');
    const ends = await Promise.all(workers.map((w) => w.exited));
    const elapsedMs = performance.now() - started;
    for (const end of ends) expect(end, end.stderr).toMatchObject({ code: 0 });

    const store = await openJsonStore(home);
    const entries = await store.listAudit();
    await store.close();
    expect(entries).toHaveLength(1_000);
    const expected = ['a', 'b'].flatMap((p) => Array.from({ length: 500 }, (_, i) => `${p}-${i}`));
    expect(new Set(entries.map((e) => e.id))).toEqual(new Set(expected));
    // Each process's own entries stay in its write order (newest first).
    const bIds = entries.filter((e) => e.id.startsWith('b-')).map((e) => Number(e.id.slice(2)));
    expect(bIds).toEqual([...bIds].sort((x, y) => y - x));
    // A store lock is held for milliseconds; a regression to back-off in seconds shows here.
    expect(elapsedMs).toBeLessThan(30_000);
  });

  it('a writer killed with SIGKILL mid-loop leaves a parseable file holding every write that returned', async () => {
    const home = await newHome();
    const writer = spawnWorker('loop', home);
    await writer.waitFor(() => writer.lines.length >= 150);
    writer.child.kill('SIGKILL');
    const end = await writer.exited;
    expect(end.signal).toBe('SIGKILL');
    const returned = writer.lines.filter((l) => l.startsWith('run-'));
    expect(returned.length).toBeGreaterThanOrEqual(150);

    const text = await readFile(stateFilePath(home), 'utf8');
    const state = JSON.parse(text) as { runs: { id: string }[] };
    const stored = new Set(state.runs.map((r) => r.id));
    expect(returned.filter((id) => !stored.has(id))).toEqual([]);
    // At most the write in flight at the kill landed without being reported.
    expect(stored.size - returned.length).toBeLessThanOrEqual(1);

    // The killed writer may have held the lock: a new writer takes it over once stale.
    const store = await openJsonStore(home, { lock: { staleMs: 2_000, timeoutMs: 5_000 } });
    await store.putRun(run('after-crash'));
    expect(await store.getRun('after-crash')).toBeDefined();
    expect((await store.listRuns()).length).toBe(stored.size + 1);
    await store.close();
    expect(await readdir(home)).toEqual(['state.json']);
  });

  it('opening a corrupt file in another process fails with STORE_CORRUPT and the path, bytes untouched', async () => {
    const home = await newHome();
    await mkdir(home, { recursive: true });
    const path = stateFilePath(home);
    const bytes = Buffer.from('{"format": "lifeboat-state", "version": 1, "runs": [{"id": "r1", \u0000\u00ff');
    await writeFile(path, bytes);
    const worker = spawnWorker('open', home);
    const end = await worker.exited;
    expect(end.code, end.stderr).toBe(1);
    const reported = JSON.parse(worker.lines[0] ?? '{}') as { code?: string; message?: string };
    expect(reported.code).toBe('STORE_CORRUPT');
    expect(reported.message).toContain(path);
    expect(reported.message).toMatch(/move it aside/);
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect(await readdir(home)).toEqual(['state.json']);
  });

  it('an alert and its deliveries are one write: a reader never sees one without the other, even across a SIGKILL', async () => {
    const home = await newMemoryHome();
    const writer = spawnWorker('alerts', home);
    const path = stateFilePath(home);
    const consistent = (text: string) => {
      const state = JSON.parse(text) as { alerts: { key: string }[]; deliveries?: { alertKey: string }[] };
      const withDeliveries = new Set((state.deliveries ?? []).map((d) => d.alertKey));
      const missing = state.alerts.filter((a) => !withDeliveries.has(a.key)).map((a) => a.key);
      return { alerts: state.alerts.length, deliveries: state.deliveries?.length ?? 0, missing };
    };
    // Read the file while the writer runs: every version of it holds both or neither.
    let reads = 0;
    while (writer.lines.length < 100) {
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined || text === '') continue;
      const seen = consistent(text);
      expect(seen.missing).toEqual([]);
      expect(seen.deliveries).toBe(2 * seen.alerts);
      reads++;
    }
    writer.child.kill('SIGKILL');
    await writer.exited;
    expect(reads).toBeGreaterThan(0);
    const last = consistent(await readFile(path, 'utf8'));
    expect(last.missing).toEqual([]);
    expect(last.deliveries).toBe(2 * last.alerts);
    expect(last.alerts).toBeGreaterThanOrEqual(100);
  });

  it('two processes claiming from one outbox never get the same delivery, and together deliver every one', async () => {
    const home = await newMemoryHome();
    const seed = await openJsonStore(home);
    const expected = await seedOutbox(seed);
    await seed.close();
    await expectEachClaimedOnce([spawnWorker('claim', home, 'one'), spawnWorker('claim', home, 'two')], expected);
    const store = await openJsonStore(home);
    const all = await store.listDeliveries();
    await store.close();
    expectDeliveredInOrder(all);
  });
});
