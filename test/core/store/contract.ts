/**
 * What every Store must do (the contract in src/core/store/store.ts), run against
 * each implementation. A new store passes this file before anything uses it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import type { Store, StoreLimits } from '../../../src/core/store/store.js';
import { alert, at, audit, drill, ids, keys, run } from './helpers/records.js';

export type MakeStore = (limits?: Partial<StoreLimits>) => Promise<Store>;

export function storeContract(name: string, makeStore: MakeStore): void {
  describe(`Store contract: ${name}`, () => {
    const open: Store[] = [];
    const make: MakeStore = async (limits) => {
      const store = await makeStore(limits);
      open.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    describe('runs', () => {
      it('starts empty', async () => {
        const store = await make();
        expect(await store.listRuns()).toEqual([]);
        expect(await store.getRun('nope')).toBeUndefined();
      });

      it('gives back what was put, with stages, and a copy rather than the stored object', async () => {
        const store = await make();
        const r = run('r1', { stats: { files: 10, bytesRead: 2048 }, snapshotId: 'abc' });
        await store.putRun(r);
        r.status = 'failed';
        const got = await store.getRun('r1');
        expect(got).toEqual({ ...r, status: 'succeeded' });
        got!.stages.push({ name: 'verify', status: 'running', counters: {} });
        expect((await store.getRun('r1'))!.stages).toHaveLength(1);
      });

      it('keeps what was put even when the caller changes its object before the next write', async () => {
        const store = await make();
        const r = run('r1');
        await store.putRun(r);
        r.status = 'failed';
        r.stages[0]!.status = 'failed';
        await store.putRun(run('r2'));
        expect(await store.getRun('r1')).toMatchObject({ status: 'succeeded', stages: [{ status: 'succeeded' }] });
      });

      it('stores the record as it was when put was called, not when the write ran', async () => {
        const store = await make();
        const r = run('r1');
        const written = store.putRun(r);
        r.status = 'failed';
        await written;
        expect((await store.getRun('r1'))!.status).toBe('succeeded');
      });

      it('replaces a run by id (a running run becomes a finished one)', async () => {
        const store = await make();
        await store.putRun(run('r1', { status: 'running', stages: [] }));
        await store.putRun(run('r1', { status: 'partial', endedAt: at(5), durationMs: 300_000 }));
        const runs = await store.listRuns();
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ id: 'r1', status: 'partial', endedAt: at(5) });
      });

      it('lists newest first by startedAt, whatever the write order', async () => {
        const store = await make();
        await store.putRun(run('b', { startedAt: at(2) }));
        await store.putRun(run('c', { startedAt: at(3) }));
        await store.putRun(run('a', { startedAt: at(1) }));
        expect(ids(await store.listRuns())).toEqual(['c', 'b', 'a']);
      });

      it('compares timestamps as instants, not as text', async () => {
        const store = await make();
        await store.putRun(run('later', { startedAt: '2026-01-01T00:00:00.500Z' }));
        await store.putRun(run('earlier', { startedAt: '2026-01-01T00:00:00Z' }));
        expect(ids(await store.listRuns())).toEqual(['later', 'earlier']);
      });

      it('orders equal startedAt by write order, newest write first, and a replaced run keeps its place', async () => {
        const store = await make();
        for (const id of ['x', 'y', 'z']) await store.putRun(run(id, { startedAt: at(1) }));
        await store.putRun(run('x', { startedAt: at(1), status: 'failed' }));
        expect(ids(await store.listRuns())).toEqual(['z', 'y', 'x']);
      });

      it('filters by runbook and honours limit', async () => {
        const store = await make();
        await store.putRun(run('a1', { runbook: 'a', startedAt: at(1) }));
        await store.putRun(run('b1', { runbook: 'b', startedAt: at(2) }));
        await store.putRun(run('a2', { runbook: 'a', startedAt: at(3) }));
        await store.putRun(run('a3', { runbook: 'a', startedAt: at(4) }));
        expect(ids(await store.listRuns({ runbook: 'a' }))).toEqual(['a3', 'a2', 'a1']);
        expect(ids(await store.listRuns({ runbook: 'a', limit: 2 }))).toEqual(['a3', 'a2']);
        expect(ids(await store.listRuns({ limit: 1 }))).toEqual(['a3']);
        expect(await store.listRuns({ limit: 0 })).toEqual([]);
        expect(await store.listRuns({ runbook: 'none' })).toEqual([]);
      });

      it('refuses a negative or fractional list limit', async () => {
        const store = await make();
        await expect(store.listRuns({ limit: -1 })).rejects.toSatisfy((e) => isLifeboatError(e, 'USAGE'));
        await expect(store.listAudit({ limit: 1.5 })).rejects.toSatisfy((e) => isLifeboatError(e, 'USAGE'));
      });

      it('keeps runsPerRunbook per runbook, dropping the oldest by startedAt', async () => {
        const store = await make({ runsPerRunbook: 3 });
        // Written out of order: the bound follows startedAt, not write order.
        for (const n of [5, 1, 4, 2, 3]) await store.putRun(run(`a${n}`, { runbook: 'a', startedAt: at(n) }));
        await store.putRun(run('b1', { runbook: 'b', startedAt: at(0) }));
        await store.putRun(run('b2', { runbook: 'b', startedAt: at(0) }));
        expect(ids(await store.listRuns({ runbook: 'a' }))).toEqual(['a5', 'a4', 'a3']);
        expect(ids(await store.listRuns({ runbook: 'b' }))).toEqual(['b2', 'b1']);
        expect(await store.getRun('a1')).toBeUndefined();
      });

      it('does not drop anything when a run is replaced at the limit', async () => {
        const store = await make({ runsPerRunbook: 2 });
        await store.putRun(run('r1', { startedAt: at(1) }));
        await store.putRun(run('r2', { startedAt: at(2), status: 'running' }));
        await store.putRun(run('r2', { startedAt: at(2), status: 'succeeded' }));
        expect(ids(await store.listRuns())).toEqual(['r2', 'r1']);
      });

      it('loses no write when many are issued at once', async () => {
        const store = await make();
        await Promise.all(Array.from({ length: 40 }, (_, i) => store.putRun(run(`r${i}`, { startedAt: at(i) }))));
        expect(await store.listRuns()).toHaveLength(40);
      });
    });

    describe('drills', () => {
      it('puts, replaces by id and lists newest first per runbook with limit', async () => {
        const store = await make();
        await store.putDrill(drill('d1', { startedAt: at(1), runbook: 'a' }));
        await store.putDrill(drill('d2', { startedAt: at(2), runbook: 'b', tier: 'cold', estimated: true }));
        await store.putDrill(drill('d3', { startedAt: at(3), runbook: 'a', verdict: 'running', phases: [] }));
        await store.putDrill(drill('d3', { startedAt: at(3), runbook: 'a', verdict: 'missed', rtoMs: 90_000, reason: 'fetch slow' }));
        expect(ids(await store.listDrills())).toEqual(['d3', 'd2', 'd1']);
        expect(ids(await store.listDrills({ runbook: 'a', limit: 1 }))).toEqual(['d3']);
        const [latest] = await store.listDrills({ runbook: 'a' });
        expect(latest).toMatchObject({ verdict: 'missed', rtoMs: 90_000, reason: 'fetch slow' });
        expect(latest!.phases).toEqual(drill('x').phases);
      });

      it('keeps drillsPerRunbook per runbook', async () => {
        const store = await make({ drillsPerRunbook: 2 });
        for (const n of [1, 2, 3]) await store.putDrill(drill(`a${n}`, { runbook: 'a', startedAt: at(n) }));
        await store.putDrill(drill('b1', { runbook: 'b', startedAt: at(0) }));
        expect(ids(await store.listDrills())).toEqual(['a3', 'a2', 'b1']);
      });
    });

    describe('alerts', () => {
      it('puts, gets and replaces by key', async () => {
        const store = await make();
        await store.putAlert(alert('stale:a'));
        await store.putAlert(alert('stale:a', { lastSeen: at(5), count: 2, ackedBy: 'U1', ackedAt: at(4) }));
        expect(await store.getAlert('stale:a')).toMatchObject({ count: 2, lastSeen: at(5), ackedBy: 'U1' });
        expect(await store.getAlert('stale:b')).toBeUndefined();
        expect(await store.listAlerts()).toHaveLength(1);
      });

      it('lists newest first by lastSeen, by status and by runbook', async () => {
        const store = await make();
        await store.putAlert(alert('o1', { lastSeen: at(1), runbook: 'a' }));
        await store.putAlert(alert('r1', { lastSeen: at(2), status: 'resolved', resolvedAt: at(2) }));
        await store.putAlert(alert('o2', { lastSeen: at(3), runbook: 'b' }));
        expect(keys(await store.listAlerts())).toEqual(['o2', 'r1', 'o1']);
        expect(keys(await store.listAlerts({ status: 'open' }))).toEqual(['o2', 'o1']);
        expect(keys(await store.listAlerts({ status: 'resolved' }))).toEqual(['r1']);
        expect(keys(await store.listAlerts({ status: 'open', runbook: 'a' }))).toEqual(['o1']);
        expect(keys(await store.listAlerts({ limit: 2 }))).toEqual(['o2', 'r1']);
      });

      it('keeps resolvedAlerts resolved alerts in total, and never drops an open one', async () => {
        const store = await make({ resolvedAlerts: 2 });
        for (let n = 1; n <= 4; n++) await store.putAlert(alert(`open${n}`, { lastSeen: at(n) }));
        for (let n = 1; n <= 3; n++) {
          await store.putAlert(alert(`res${n}`, { runbook: `rb${n}`, status: 'resolved', lastSeen: at(n), resolvedAt: at(10 + n) }));
        }
        expect(keys(await store.listAlerts({ status: 'open' }))).toHaveLength(4);
        expect(keys(await store.listAlerts({ status: 'resolved' }))).toEqual(['res3', 'res2']);
      });

      it('a reopened alert is open again and safe from the bound', async () => {
        const store = await make({ resolvedAlerts: 1 });
        await store.putAlert(alert('k', { status: 'resolved', resolvedAt: at(1) }));
        await store.putAlert(alert('k', { status: 'open', lastSeen: at(2), count: 2 }));
        await store.putAlert(alert('other', { status: 'resolved', resolvedAt: at(3) }));
        await store.putAlert(alert('other2', { status: 'resolved', resolvedAt: at(4) }));
        expect(await store.getAlert('k')).toMatchObject({ status: 'open', count: 2 });
        expect(keys(await store.listAlerts({ status: 'resolved' }))).toEqual(['other2']);
      });
    });

    describe('audit', () => {
      it('appends and lists newest first with limit', async () => {
        const store = await make();
        await store.appendAudit(audit('e1', { at: at(1), command: 'backup', args: ['app-data'], actor: { face: 'slack', user: 'U1' }, where: 'C1' }));
        await store.appendAudit(audit('e2', { at: at(2), result: 'refused', detail: 'not allowed' }));
        const all = await store.listAudit();
        expect(ids(all)).toEqual(['e2', 'e1']);
        expect(all[1]).toMatchObject({ command: 'backup', args: ['app-data'], actor: { face: 'slack', user: 'U1' }, where: 'C1' });
        expect(ids(await store.listAudit({ limit: 1 }))).toEqual(['e2']);
      });

      it('treats a repeated id as the same entry, so a retried append does not duplicate', async () => {
        const store = await make();
        await store.appendAudit(audit('e1', { result: 'failed' }));
        await store.appendAudit(audit('e1', { result: 'failed' }));
        expect(await store.listAudit()).toHaveLength(1);
      });

      it('keeps auditEntries in total, dropping the oldest', async () => {
        const store = await make({ auditEntries: 3 });
        for (let n = 1; n <= 5; n++) await store.appendAudit(audit(`e${n}`, { at: at(n) }));
        expect(ids(await store.listAudit())).toEqual(['e5', 'e4', 'e3']);
      });
    });

    describe('limits and lifecycle', () => {
      it('refuses limits that are not whole numbers of at least 1', async () => {
        await expect(makeStore({ runsPerRunbook: 0 })).rejects.toSatisfy((e) => isLifeboatError(e, 'USAGE'));
        await expect(makeStore({ auditEntries: 2.5 })).rejects.toSatisfy((e) => isLifeboatError(e, 'USAGE'));
      });

      it('bounds each collection by its own limit only', async () => {
        const store = await make({ runsPerRunbook: 1, drillsPerRunbook: 1, resolvedAlerts: 1, auditEntries: 1 });
        await store.putRun(run('r1', { startedAt: at(1) }));
        await store.putRun(run('r2', { startedAt: at(2) }));
        await store.putDrill(drill('d1', { startedAt: at(1) }));
        await store.appendAudit(audit('e1'));
        expect(ids(await store.listRuns())).toEqual(['r2']);
        expect(ids(await store.listDrills())).toEqual(['d1']);
        expect(ids(await store.listAudit())).toEqual(['e1']);
      });

      it('refuses to work after close', async () => {
        const store = await makeStore();
        await store.putRun(run('r1'));
        await store.close();
        await expect(store.getRun('r1')).rejects.toThrow(/closed/);
        await expect(store.putRun(run('r2'))).rejects.toThrow(/closed/);
      });
    });
  });
}
