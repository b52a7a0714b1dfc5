/**
 * What every Store must do (the contract in src/core/store/store.ts), run against
 * each implementation. A new store passes this file before anything uses it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import type { Store, StoreLimits } from '../../../src/core/store/store.js';
import { alert, at, audit, delivery, drill, ids, keys, run } from './helpers/records.js';

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

      it('lists the newest perRunbook of each runbook, filtered by kind and status, before limit', async () => {
        const store = await make();
        await store.putRun(run('a1', { runbook: 'a', startedAt: at(1) }));
        await store.putRun(run('b1', { runbook: 'b', startedAt: at(2), status: 'partial' }));
        await store.putRun(run('a2', { runbook: 'a', startedAt: at(3), status: 'failed' }));
        await store.putRun(run('c1', { runbook: 'c', startedAt: at(4), kind: 'check' }));
        await store.putRun(run('a3', { runbook: 'a', startedAt: at(5), kind: 'verify' }));
        await store.putRun(run('b2', { runbook: 'b', startedAt: at(5) }));
        // Across runbooks, newest first; a tie goes to the later write.
        expect(ids(await store.listRuns({ perRunbook: 1 }))).toEqual(['b2', 'a3', 'c1']);
        expect(ids(await store.listRuns({ perRunbook: 2 }))).toEqual(['b2', 'a3', 'c1', 'a2', 'b1']);
        expect(ids(await store.listRuns({ perRunbook: 2, limit: 3 }))).toEqual(['b2', 'a3', 'c1']);
        expect(ids(await store.listRuns({ perRunbook: 1, runbook: 'a' }))).toEqual(['a3']);
        expect(ids(await store.listRuns({ kind: 'backup', perRunbook: 1 }))).toEqual(['b2', 'a2']);
        expect(ids(await store.listRuns({ kind: 'backup', status: ['succeeded', 'partial'], perRunbook: 1 }))).toEqual(['b2', 'a1']);
        expect(ids(await store.listRuns({ kind: 'backup', status: ['partial'] }))).toEqual(['b1']);
        expect(await store.listRuns({ perRunbook: 0 })).toEqual([]);
        await expect(store.listRuns({ perRunbook: -1 })).rejects.toSatisfy((e) => isLifeboatError(e, 'USAGE'));
      });

      it('lists only the runbooks named by runbooks, with or without perRunbook, and with runbook both apply', async () => {
        const store = await make();
        await store.putRun(run('a1', { runbook: 'a', startedAt: at(1) }));
        await store.putRun(run('b1', { runbook: 'b', startedAt: at(2) }));
        await store.putRun(run('a2', { runbook: 'a', startedAt: at(3) }));
        await store.putRun(run('c1', { runbook: 'c', startedAt: at(4) }));
        // A name twice or one with no records changes nothing.
        const named = ['c', 'a', 'a', 'gone'];
        expect(ids(await store.listRuns({ runbooks: named }))).toEqual(['c1', 'a2', 'a1']);
        expect(ids(await store.listRuns({ runbooks: named, perRunbook: 1 }))).toEqual(['c1', 'a2']);
        expect(ids(await store.listRuns({ runbooks: named, perRunbook: 1, limit: 1 }))).toEqual(['c1']);
        expect(ids(await store.listRuns({ runbooks: named, runbook: 'a', perRunbook: 1 }))).toEqual(['a2']);
        expect(await store.listRuns({ runbooks: named, runbook: 'b' })).toEqual([]);
        expect(await store.listRuns({ runbooks: [], perRunbook: 1 })).toEqual([]);
        await store.putDrill(drill('d1', { runbook: 'b' }));
        await store.putAlert(alert('o1', { runbook: 'b' }));
        expect(await store.listDrills({ runbooks: ['a'], perRunbook: 1 })).toEqual([]);
        expect(ids(await store.listDrills({ runbooks: ['b'], perRunbook: 1 }))).toEqual(['d1']);
        expect(await store.listAlerts({ runbooks: ['a'], status: 'open' })).toEqual([]);
        expect(keys(await store.listAlerts({ runbooks: ['b'], status: 'open' }))).toEqual(['o1']);
      });

      it('lists runs that ended at or after endedSince (one with no end by its start)', async () => {
        const store = await make();
        await store.putRun(run('early', { startedAt: at(1), endedAt: at(2) }));
        await store.putRun(run('long', { startedAt: at(1), endedAt: at(10) }));
        await store.putRun(run('running', { startedAt: at(6), status: 'running' }));
        await store.putRun(run('late', { startedAt: at(7), endedAt: '2026-01-01T00:08:00+00:00' }));
        await store.putRun(run('garbled', { startedAt: at(8), endedAt: 'not a time' }));
        expect(ids(await store.listRuns({ endedSince: at(5) }))).toEqual(['late', 'running', 'long']);
        expect(ids(await store.listRuns({ endedSince: at(10) }))).toEqual(['long']);
        expect(ids(await store.listRuns({ endedSince: at(2), perRunbook: 1 }))).toEqual(['late']);
        await expect(store.listRuns({ endedSince: 'yesterday' })).rejects.toSatisfy((e) => isLifeboatError(e, 'USAGE'));
      });

      it('lists newest first by end when asked (a run with no end by its start), per runbook too', async () => {
        const store = await make();
        // a1 started first and ended last: by start it is the oldest of a, by end the newest.
        await store.putRun(run('a1', { runbook: 'a', startedAt: at(1), endedAt: at(10) }));
        await store.putRun(run('a2', { runbook: 'a', startedAt: at(5), endedAt: at(6) }));
        await store.putRun(run('a3', { runbook: 'a', startedAt: at(7), status: 'running' }));
        await store.putRun(run('b1', { runbook: 'b', startedAt: at(2), endedAt: at(3) }));
        expect(ids(await store.listRuns({ newestBy: 'end' }))).toEqual(['a1', 'a3', 'a2', 'b1']);
        expect(ids(await store.listRuns({ newestBy: 'start' }))).toEqual(['a3', 'a2', 'b1', 'a1']);
        expect(ids(await store.listRuns({ newestBy: 'end', perRunbook: 1 }))).toEqual(['a1', 'b1']);
        // Windows of several per runbook (PostgreSQL reads those as one row per runbook): an end that does not
        // parse counts as the oldest, and two runs of one time keep the later write first.
        await store.putRun(run('b2', { runbook: 'b', startedAt: at(4), endedAt: 'not a time' }));
        await store.putRun(run('b3', { runbook: 'b', startedAt: at(2), endedAt: at(3) }));
        expect(ids(await store.listRuns({ newestBy: 'end', perRunbook: 3 }))).toEqual(['a1', 'a3', 'a2', 'b3', 'b1', 'b2']);
        expect(ids(await store.listRuns({ newestBy: 'end', perRunbook: 2, runbooks: ['b'] }))).toEqual(['b3', 'b1']);
        expect(ids(await store.listRuns({ newestBy: 'end', status: ['succeeded'], runbook: 'a', limit: 1 }))).toEqual(['a1']);
      });

      it('lists briefly when asked: every field it gives is as recorded, and only the bulky parts may be missing', async () => {
        const store = await make();
        const whole = run('r1', {
          snapshotId: 'abc',
          endedAt: at(3),
          stats: { bytes: 10, files: 2 },
          diff: { filesAdded: 1 },
          hookOutput: ['pre: ok'],
          failedSources: [{ name: 'db', error: { code: 'SOURCE', message: 'gone' } }],
          copies: [{ name: 'offsite', status: 'succeeded', snapshotsCopied: 1 }],
        });
        await store.putRun(whole);
        await store.putDrill(drill('d1', { reason: 'slow disk' }));
        for (const list of [await store.listRuns({ brief: true }), await store.listRuns({ brief: true, perRunbook: 1 })]) {
          expect(list).toHaveLength(1);
          const { stages: _s, diff: _d, hookOutput: _h, failedSources: _f, ...kept } = whole;
          expect(list[0]).toMatchObject(kept);
          for (const [key, value] of Object.entries(list[0]!)) expect(value, key).toEqual(whole[key as keyof typeof whole]);
        }
        const [brief] = await store.listDrills({ brief: true, perRunbook: 1 });
        const { phases: _p, ...keptDrill } = drill('d1', { reason: 'slow disk' });
        expect(brief).toMatchObject(keptDrill);
        if (brief!.phases !== undefined) expect(brief!.phases).toEqual(drill('d1').phases);
        // Lists without the option stay whole.
        expect((await store.listRuns())[0]).toEqual(whole);
      });

      it('gives back any text a record holds, in windows of several per runbook as in single rows', async () => {
        const store = await make();
        // PostgreSQL joins a window's stored records as text: quotes, backslashes, control characters and
        // characters outside the BMP must come back as they went in.
        const odd = 'a "quoted" \\share\\path\n\ttab \u0001 é 𝄞 </script> ,"]';
        for (const n of [1, 2, 3]) await store.putRun(run(`r${n}`, { startedAt: at(n), hookOutput: [`${odd} ${n}`], failedSources: [{ name: odd, error: { code: 'SOURCE', message: odd } }] }));
        await store.putDrill(drill('d1', { startedAt: at(1), reason: odd }));
        await store.putDrill(drill('d2', { startedAt: at(2), reason: `${odd}!` }));
        const windows = await store.listRuns({ perRunbook: 2 });
        expect(ids(windows)).toEqual(['r3', 'r2']);
        expect(windows[0]).toEqual(run('r3', { startedAt: at(3), hookOutput: [`${odd} 3`], failedSources: [{ name: odd, error: { code: 'SOURCE', message: odd } }] }));
        expect((await store.listDrills({ perRunbook: 2, brief: true })).map((d) => d.reason)).toEqual([`${odd}!`, odd]);
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

      it('lists by tier and verdict, the newest perRunbook of each runbook, and by endedSince', async () => {
        const store = await make();
        await store.putDrill(drill('a1', { runbook: 'a', startedAt: at(1), endedAt: at(2) }));
        await store.putDrill(drill('a2', { runbook: 'a', startedAt: at(3), endedAt: at(4), tier: 'cold', estimated: true }));
        await store.putDrill(drill('b1', { runbook: 'b', startedAt: at(2), endedAt: at(9), verdict: 'missed' }));
        await store.putDrill(drill('a3', { runbook: 'a', startedAt: at(5), verdict: 'failed', rtoMs: undefined }));
        await store.putDrill(drill('b2', { runbook: 'b', startedAt: at(6), verdict: 'running' }));
        expect(ids(await store.listDrills({ perRunbook: 1 }))).toEqual(['b2', 'a3']);
        expect(ids(await store.listDrills({ tier: 'hot', verdict: ['met', 'missed'], perRunbook: 1 }))).toEqual(['b1', 'a1']);
        expect(ids(await store.listDrills({ tier: 'cold' }))).toEqual(['a2']);
        expect(ids(await store.listDrills({ verdict: ['failed', 'running'] }))).toEqual(['b2', 'a3']);
        expect(ids(await store.listDrills({ endedSince: at(4) }))).toEqual(['b2', 'a3', 'a2', 'b1']);
        expect(ids(await store.listDrills({ endedSince: at(6), runbook: 'b' }))).toEqual(['b2', 'b1']);
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
        expect(keys(await store.listAlerts({ perRunbook: 1 }))).toEqual(['o2', 'r1', 'o1']);
        expect(keys(await store.listAlerts({ perRunbook: 1, status: 'open' }))).toEqual(['o2', 'o1']);
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

    describe('deliveries (the alert outbox)', () => {
      /** Minute `n` (fractions allowed) after the fixed start. */
      const now = (n: number) => new Date(Date.parse(at(0)) + n * 60_000);
      const claim = (store: Store, owner: string, n = 0, sinks = ['slack', 'hook'], limit = 10) =>
        store.claimDeliveries({ owner, sinks, now: now(n), leaseMs: 60_000, limit });

      it('writes an alert and its deliveries together, numbering each transition of an alert', async () => {
        const store = await make();
        await store.putAlert(alert('failed-run:a'), [delivery('d1', 'failed-run:a', 'slack'), delivery('d2', 'failed-run:a', 'hook')]);
        await store.putAlert(alert('failed-run:a', { status: 'resolved', resolvedAt: at(1) }), [delivery('d3', 'failed-run:a', 'slack', { transition: 'resolved', createdAt: at(1) })]);
        await store.putAlert(alert('stale:a'), [delivery('d4', 'stale:a', 'slack', { createdAt: at(2) })]);
        expect(await store.getAlert('failed-run:a')).toMatchObject({ status: 'resolved' });
        const all = await store.listDeliveries();
        expect(all.map((d) => [d.id, d.seq])).toEqual([['d4', 1], ['d3', 2], ['d2', 1], ['d1', 1]]);
        expect(all[1]).toMatchObject({ transition: 'resolved', status: 'pending', attempts: 0, sink: 'slack' });
        await store.putAlert(alert('plain'));
        expect(await store.listDeliveries()).toHaveLength(4);
      });

      it('writes only if the stored alert is still the one the writer decided on (ifStored)', async () => {
        const store = await make();
        expect(await store.putAlert(alert('k'), [delivery('d1', 'k', 'slack')], { ifStored: null })).toBe(true);
        // Another writer raised it first: a second "raise" decided on "nothing stored" is refused, deliveries and all.
        expect(await store.putAlert(alert('k', { firstSeen: at(1) }), [delivery('d2', 'k', 'slack')], { ifStored: null })).toBe(false);
        const seen = (await store.getAlert('k'))!;
        expect(await store.putAlert({ ...seen, count: 2 }, [], { ifStored: seen })).toBe(true);
        expect(await store.putAlert({ ...seen, count: 3 }, [], { ifStored: seen })).toBe(false);
        expect(await store.getAlert('k')).toMatchObject({ count: 2, firstSeen: at(0) });
        expect(ids(await store.listDeliveries())).toEqual(['d1']);
        expect(await store.putAlert(alert('k', { count: 9 }))).toBe(true);
      });

      it('keeps a delivery already written when the same id is written again', async () => {
        const store = await make();
        await store.putAlert(alert('k'), [delivery('d1', 'k', 'slack')]);
        const [c] = await claim(store, 'p1');
        await store.finishDelivery(c!.id, 'p1', { ok: true, at: now(1) });
        await store.putAlert(alert('k'), [delivery('d1', 'k', 'slack')]);
        expect(await store.listDeliveries()).toMatchObject([{ id: 'd1', status: 'delivered', seq: 1 }]);
      });

      it('claims only due deliveries of the given sinks, the lowest seq of each alert and sink first', async () => {
        const store = await make();
        await store.putAlert(alert('k1'), [delivery('k1-raised-slack', 'k1', 'slack'), delivery('k1-raised-hook', 'k1', 'hook'), delivery('k1-raised-mail', 'k1', 'mail')]);
        await store.putAlert(alert('k1'), [delivery('k1-resolved-slack', 'k1', 'slack', { transition: 'resolved' })]);
        await store.putAlert(alert('k2'), [delivery('k2-later', 'k2', 'slack', { nextAttemptAt: now(0.5).toISOString() })]);
        const claimed = await claim(store, 'p1');
        expect(ids(claimed).sort()).toEqual(['k1-raised-hook', 'k1-raised-slack']);
        expect(claimed[0]).toMatchObject({ claimedBy: 'p1', claimUntil: new Date(now(0).getTime() + 60_000).toISOString() });
        // Claimed: nobody else gets them, and the next of the same alert and sink waits its turn.
        expect(await claim(store, 'p2')).toEqual([]);
        expect(ids(await claim(store, 'p2', 0.5))).toEqual(['k2-later']);
      });

      it('honours the limit, oldest due first', async () => {
        const store = await make();
        for (const n of [3, 1, 2]) await store.putAlert(alert(`k${n}`), [delivery(`d${n}`, `k${n}`, 'slack', { nextAttemptAt: at(n) })]);
        expect(ids(await claim(store, 'p1', 9, ['slack'], 2))).toEqual(['d1', 'd2']);
      });

      it('records a delivery only for the owner of its claim, then lets the next of that alert go', async () => {
        const store = await make();
        await store.putAlert(alert('k'), [delivery('raised', 'k', 'slack')]);
        await store.putAlert(alert('k'), [delivery('resolved', 'k', 'slack', { transition: 'resolved' })]);
        expect(ids(await claim(store, 'p1'))).toEqual(['raised']);
        expect(await store.finishDelivery('raised', 'p2', { ok: true, at: now(1) })).toBe(false);
        expect(await store.finishDelivery('raised', 'p1', { ok: true, at: now(1), receipt: { ts: '111.222' } })).toBe(true);
        expect(await store.finishDelivery('raised', 'p1', { ok: true, at: now(1) })).toBe(false);
        const [next] = await claim(store, 'p2', 1);
        expect(next).toMatchObject({ id: 'resolved', previous: { ts: '111.222' } });
        expect((await store.listDeliveries({ status: 'delivered' }))[0]).toMatchObject({ id: 'raised', attempts: 1, deliveredAt: at(1), receipt: { ts: '111.222' } });
        expect((await store.listDeliveries({ status: 'delivered' }))[0]).toMatchObject({ claimedBy: 'p1' });
        expect((await store.listDeliveries({ status: 'delivered' }))[0]!.claimUntil).toBeUndefined();
      });

      it('gives no previous receipt from an earlier raising of the same key', async () => {
        const store = await make();
        await store.putAlert(alert('k'), [delivery('old', 'k', 'slack')]);
        await claim(store, 'p1');
        await store.finishDelivery('old', 'p1', { ok: true, at: now(1), receipt: { ts: '1' } });
        const again = alert('k', { firstSeen: at(5) });
        await store.putAlert(again, [delivery('new', 'k', 'slack', { alert: again, createdAt: at(5) })]);
        const [c] = await claim(store, 'p1', 5);
        expect(c!.id).toBe('new');
        expect(c!.previous).toBeUndefined();
      });

      it('retries a transient failure after nextAttemptAt, holding back the alert\'s later deliveries meanwhile', async () => {
        const store = await make();
        await store.putAlert(alert('k'), [delivery('raised', 'k', 'slack')]);
        await store.putAlert(alert('k'), [delivery('resolved', 'k', 'slack', { transition: 'resolved' })]);
        await claim(store, 'p1');
        expect(await store.finishDelivery('raised', 'p1', { ok: false, at: now(0), error: 'slack (hooks.example): HTTP 500', permanent: false, nextAttemptAt: now(2) })).toBe(true);
        // That attempt is finished: its result cannot be recorded twice.
        expect(await store.finishDelivery('raised', 'p1', { ok: true, at: now(0) })).toBe(false);
        expect(await claim(store, 'p1', 1)).toEqual([]);
        const [again] = await claim(store, 'p1', 2);
        expect(again).toMatchObject({ id: 'raised', attempts: 1, lastError: 'slack (hooks.example): HTTP 500', status: 'pending', nextAttemptAt: at(2) });
      });

      it('marks a permanent failure failed, which does not block the alert\'s later deliveries', async () => {
        const store = await make();
        await store.putAlert(alert('k'), [delivery('raised', 'k', 'slack')]);
        await store.putAlert(alert('k'), [delivery('resolved', 'k', 'slack', { transition: 'resolved' })]);
        await claim(store, 'p1');
        await store.finishDelivery('raised', 'p1', { ok: false, at: now(0), error: 'HTTP 404', permanent: true, nextAttemptAt: now(9) });
        expect((await store.listDeliveries({ status: 'failed' }))[0]).toMatchObject({ id: 'raised', attempts: 1, lastError: 'HTTP 404' });
        expect(ids(await claim(store, 'p1'))).toEqual(['resolved']);
      });

      it('lets another owner take over a claim that lapsed; the first owner can no longer record it', async () => {
        const store = await make();
        await store.putAlert(alert('k'), [delivery('d', 'k', 'slack')]);
        await claim(store, 'dead');
        expect(await claim(store, 'p2', 0)).toEqual([]);
        expect(ids(await claim(store, 'p2', 1))).toEqual(['d']); // lease of 60 s: lapsed at minute 1
        expect(await store.finishDelivery('d', 'dead', { ok: true, at: now(1) })).toBe(false);
        expect(await store.finishDelivery('d', 'p2', { ok: true, at: now(1) })).toBe(true);
      });

      it('lists newest first by createdAt, by status and by runbook', async () => {
        const store = await make();
        await store.putAlert(alert('a'), [delivery('d1', 'a', 'slack', { createdAt: at(1) })]);
        await store.putAlert(alert('b', { runbook: 'other' }), [delivery('d2', 'b', 'slack', { runbook: 'other', createdAt: at(2) })]);
        await store.putAlert(alert('c'), [delivery('d3', 'c', 'slack', { createdAt: at(3) })]);
        await claim(store, 'p1', 3);
        await store.finishDelivery('d3', 'p1', { ok: true, at: now(3) });
        expect(ids(await store.listDeliveries())).toEqual(['d3', 'd2', 'd1']);
        expect(ids(await store.listDeliveries({ status: 'pending' }))).toEqual(['d2', 'd1']);
        expect(ids(await store.listDeliveries({ runbook: 'other' }))).toEqual(['d2']);
        expect(ids(await store.listDeliveries({ limit: 1 }))).toEqual(['d3']);
      });

      it('keeps `deliveries` delivered or failed ones in total, and never drops a pending one', async () => {
        const store = await make({ deliveries: 2 });
        for (let n = 1; n <= 4; n++) await store.putAlert(alert(`k${n}`), [delivery(`done${n}`, `k${n}`, 'slack', { createdAt: at(n) })]);
        for (let n = 1; n <= 4; n++) await store.putAlert(alert(`p${n}`), [delivery(`pending${n}`, `p${n}`, 'hook', { createdAt: at(n) })]);
        for (const c of await claim(store, 'p1', 10, ['slack'])) await store.finishDelivery(c.id, 'p1', { ok: true, at: now(Number(c.id.slice(4)) + 10) });
        expect(ids(await store.listDeliveries({ status: 'delivered' }))).toEqual(['done4', 'done3']);
        expect(await store.listDeliveries({ status: 'pending' })).toHaveLength(4);
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

      it('lists by runbook, by user and since an instant, every filter before limit', async () => {
        const store = await make();
        const slack = { face: 'slack', user: 'U1' } as const;
        await store.appendAudit(audit('e1', { at: at(1), command: 'backup', runbook: 'app-data', args: ['app-data'], actor: slack }));
        await store.appendAudit(audit('e2', { at: at(2), command: 'backup', runbook: 'orders-db', args: ['orders-db'] }));
        await store.appendAudit(audit('e3', { at: at(3), command: 'status' }));
        await store.appendAudit(audit('e4', { at: at(4), command: 'restore-drill', runbook: 'app-data', args: ['app-data'], actor: slack }));
        await store.appendAudit(audit('e5', { at: at(5), command: 'forget', runbook: 'app-data', args: ['app-data'] }));
        expect(await store.listAudit({ runbook: 'app-data' })).toMatchObject([{ id: 'e5' }, { id: 'e4', runbook: 'app-data' }, { id: 'e1' }]);
        expect(ids(await store.listAudit({ user: 'U1' }))).toEqual(['e4', 'e1']);
        expect(ids(await store.listAudit({ since: at(3) }))).toEqual(['e5', 'e4', 'e3']);
        // The filters first, then the newest `limit` of what matched.
        expect(ids(await store.listAudit({ runbook: 'app-data', user: 'U1', limit: 1 }))).toEqual(['e4']);
        expect(ids(await store.listAudit({ runbook: 'app-data', since: at(2), limit: 5 }))).toEqual(['e5', 'e4']);
        expect(await store.listAudit({ runbook: 'nope' })).toEqual([]);
        await expect(store.listAudit({ since: 'last tuesday' })).rejects.toSatisfy((e) => isLifeboatError(e, 'USAGE'));
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
