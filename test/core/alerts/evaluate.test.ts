import { describe, expect, it } from 'vitest';
import { evaluateAlerts, evaluateAll } from '../../../src/core/alerts/evaluate.js';
import { eventNotifier, fanOutNotifier, type Notifier } from '../../../src/core/alerts/notifier.js';
import { renderAlertLine } from '../../../src/core/alerts/render.js';
import type { AlertRule } from '../../../src/core/alerts/rule.js';
import { staleBackupRule } from '../../../src/core/alerts/rules/stale-backup.js';
import { FakeClock } from '../../../src/core/clock.js';
import type { EngineEvent } from '../../../src/core/events.js';
import { MemoryStore } from '../../../src/core/store/memory-store.js';
import type { AlertRecord } from '../../../src/core/store/records.js';
import type { Store } from '../../../src/core/store/store.js';
import { backupRun, checkGolden, DAY, drill, HOUR, MiB, MINUTE, nightly, NOW, SECOND, testRunbook, weeklyDrills } from './fixtures.js';

/** A notifier that writes down what it was told. */
function recorder(): Notifier & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    raised: async (a) => void calls.push(`raised ${a.key} ${a.severity}`),
    resolved: async (a) => void calls.push(`resolved ${a.key}`),
  };
}

async function setup(runs = [backupRun(Date.parse(NOW) - 27 * HOUR)]) {
  const store = new MemoryStore();
  for (const r of runs) await store.putRun(r);
  const clock = new FakeClock(NOW);
  const notifier = recorder();
  const runbook = testRunbook();
  const evaluate = (rules?: readonly AlertRule[]) => evaluateAlerts({ runbook, store, clock, notifier, rules });
  return { store, clock, notifier, runbook, evaluate };
}

describe('evaluateAlerts', () => {
  it('a new condition becomes one open alert, stored, then notified', async () => {
    const { store, notifier, evaluate } = await setup();
    const out = await evaluate();
    expect(out.raised.map((a) => a.key)).toEqual(['stale:app-data']);
    expect(out.updated).toEqual([]);
    expect(out.resolved).toEqual([]);
    expect(out.errors).toEqual([]);
    expect(await store.getAlert('stale:app-data')).toEqual({
      key: 'stale:app-data',
      runbook: 'app-data',
      rule: 'stale',
      severity: 'critical',
      message: 'last successful backup 27h ago, RPO 26h',
      firstSeen: NOW,
      lastSeen: NOW,
      count: 1,
      status: 'open',
      lastNotifiedAt: NOW,
    });
    expect(notifier.calls).toEqual(['raised stale:app-data critical']);
    expect(out.conditions[0]).toMatchObject({ rule: 'stale', evidence: { ageMs: 27 * HOUR } });
  });

  it('the same condition does not page twice: evaluated again it updates lastSeen, count and message', async () => {
    const { store, clock, notifier, evaluate } = await setup();
    await evaluate();
    clock.advance(HOUR);
    const second = await evaluate();
    clock.advance(HOUR);
    await evaluate();
    expect(second.raised).toEqual([]);
    expect(second.updated.map((a) => a.count)).toEqual([2]);
    expect(notifier.calls).toEqual(['raised stale:app-data critical']);
    expect(await store.getAlert('stale:app-data')).toMatchObject({
      firstSeen: NOW,
      lastSeen: new Date(Date.parse(NOW) + 2 * HOUR).toISOString(),
      count: 3,
      message: 'last successful backup 29h ago, RPO 26h',
      status: 'open',
    });
    expect(await store.listAlerts()).toHaveLength(1);
  });

  it('resolves an alert once its condition clears, and says so once', async () => {
    const { store, clock, notifier, evaluate } = await setup();
    await evaluate();
    await store.putRun(backupRun(Date.parse(NOW) + 30 * MINUTE));
    clock.advance(HOUR);
    const out = await evaluate();
    expect(out.resolved.map((a) => a.key)).toEqual(['stale:app-data']);
    const resolvedAt = clock.now().toISOString();
    expect(await store.getAlert('stale:app-data')).toMatchObject({ status: 'resolved', resolvedAt, count: 1 });
    clock.advance(HOUR);
    const again = await evaluate();
    expect(again.resolved).toEqual([]);
    expect(notifier.calls).toEqual(['raised stale:app-data critical', 'resolved stale:app-data']);
  });

  it('an acknowledged alert stays open and keeps counting, is not notified again, and is resolved like any other', async () => {
    const { store, clock, notifier, evaluate } = await setup();
    await evaluate();
    const alert = (await store.getAlert('stale:app-data'))!;
    await store.putAlert({ ...alert, ackedBy: 'alice', ackedAt: NOW });
    for (let i = 0; i < 3; i++) {
      clock.advance(HOUR);
      await evaluate();
    }
    expect(await store.getAlert('stale:app-data')).toMatchObject({ status: 'open', count: 4, ackedBy: 'alice', ackedAt: NOW });
    expect(notifier.calls).toEqual(['raised stale:app-data critical']);
    await store.putRun(backupRun(clock.now().getTime()));
    await evaluate();
    expect(await store.getAlert('stale:app-data')).toMatchObject({ status: 'resolved', ackedBy: 'alice' });
    expect(notifier.calls).toEqual(['raised stale:app-data critical', 'resolved stale:app-data']);
  });

  it('a condition that comes back after resolving is a new alert, notified again', async () => {
    const { store, clock, notifier, evaluate } = await setup();
    await evaluate();
    await store.putRun(backupRun(clock.now().getTime()));
    await evaluate();
    clock.advance(27 * HOUR);
    await evaluate();
    expect(await store.getAlert('stale:app-data')).toMatchObject({ status: 'open', count: 1, firstSeen: clock.now().toISOString() });
    expect(notifier.calls).toEqual(['raised stale:app-data critical', 'resolved stale:app-data', 'raised stale:app-data critical']);
  });

  it('a rise in severity pages again, unless acknowledged; a fall does not', async () => {
    const t = Date.parse(NOW) - HOUR;
    const { store, clock, notifier, evaluate } = await setup([backupRun(t, { status: 'partial' })]);
    await evaluate();
    await store.putRun(backupRun(t + 30 * MINUTE, { status: 'failed', stages: [], error: { code: 'BACKEND_IO', message: 'disk full' } }));
    clock.advance(MINUTE);
    await evaluate();
    await store.putRun(backupRun(t + 40 * MINUTE, { status: 'partial' }));
    clock.advance(MINUTE);
    await evaluate();
    expect(notifier.calls).toEqual(['raised failed-run:app-data warning', 'raised failed-run:app-data critical']);
    expect(await store.getAlert('failed-run:app-data')).toMatchObject({ severity: 'warning', count: 3 });

    const acked = (await store.getAlert('failed-run:app-data'))!;
    await store.putAlert({ ...acked, ackedBy: 'bob', ackedAt: clock.now().toISOString() });
    await store.putRun(backupRun(t + 50 * MINUTE, { status: 'failed', stages: [], error: { code: 'BACKEND_IO', message: 'disk full' } }));
    clock.advance(MINUTE);
    await evaluate();
    expect(notifier.calls).toHaveLength(2);
    expect(await store.getAlert('failed-run:app-data')).toMatchObject({ severity: 'critical', count: 4, ackedBy: 'bob' });
  });

  it('leaves alerts alone that are not its to judge: other runbooks, other rules, rules that threw', async () => {
    const { store, notifier, evaluate } = await setup([backupRun(Date.parse(NOW) - HOUR)]);
    const open = (key: string, runbook: string, rule: string): AlertRecord => ({ key, runbook, rule, severity: 'warning', message: 'x', firstSeen: NOW, lastSeen: NOW, count: 1, status: 'open' });
    await store.putAlert(open('stale:web', 'web', 'stale'));
    await store.putAlert(open('custom:app-data', 'app-data', 'custom'));
    await store.putAlert(open('stale:app-data', 'app-data', 'stale'));
    const boom: AlertRule = {
      name: 'stale',
      evaluate: () => {
        throw new Error('bug in the rule');
      },
    };
    const out = await evaluate([boom]);
    expect(out.errors).toEqual([{ runbook: 'app-data', source: 'rule stale', message: 'bug in the rule' }]);
    expect((await store.listAlerts({ status: 'open' })).map((a) => a.key).sort()).toEqual(['custom:app-data', 'stale:app-data', 'stale:web']);
    // With the working rule, only app-data's stale alert clears.
    await evaluate([staleBackupRule]);
    expect((await store.listAlerts({ status: 'open' })).map((a) => a.key).sort()).toEqual(['custom:app-data', 'stale:web']);
    expect(notifier.calls).toEqual(['resolved stale:app-data']);
  });

  it('a failing sink is reported; the alert is stored and the other sinks still hear of it', async () => {
    const { store, clock, runbook } = await setup([backupRun(Date.parse(NOW) - 27 * HOUR, { status: 'partial' })]);
    const good = recorder();
    const broken: Notifier = {
      raised: async () => {
        throw new Error('slack: channel_not_found');
      },
      resolved: async () => {},
    };
    const out = await evaluateAlerts({ runbook, store, clock, notifier: fanOutNotifier(broken, good) });
    expect(out.raised.map((a) => a.key)).toEqual(['failed-run:app-data', 'stale:app-data']);
    expect(good.calls).toEqual(['raised failed-run:app-data warning', 'raised stale:app-data critical']);
    expect(out.errors.map((e) => e.source)).toEqual(['notifier', 'notifier']);
    expect(out.errors[0]!.message).toContain('slack: channel_not_found');
    expect(await store.listAlerts({ status: 'open' })).toHaveLength(2);
  });

  it('feeds the event stream through eventNotifier', async () => {
    const { store, clock, runbook } = await setup();
    const events: EngineEvent[] = [];
    await evaluateAlerts({ runbook, store, clock, notifier: eventNotifier((e) => events.push(e)) });
    expect(events).toEqual([{ type: 'alert.raised', alert: expect.objectContaining({ key: 'stale:app-data' }) as unknown }]);
  });

  it('every rule at once, seen four times over three hours (golden/evaluate-every-rule.txt)', async () => {
    const now = Date.parse(NOW);
    const lastNight = now - 10 * HOUR;
    const store = new MemoryStore();
    // Ten ordinary nights, then a night that added almost nothing and failed verification, 27h ago...
    for (const r of nightly(10, () => ({}), lastNight - 2 * DAY)) await store.putRun(r);
    await store.putRun(
      backupRun(now - 27 * HOUR, {
        stats: { files: 10_000, bytesStored: 12 * MiB },
        status: 'failed',
        stages: [{ name: 'snapshot', status: 'succeeded', counters: {} }, { name: 'verify', status: 'failed', counters: { problems: 1 }, error: { code: 'REPO_CORRUPT', message: 'pack 3f2a9c0d11aa: content does not match its name' } }],
      }),
    );
    // ...one that was fine but for its size (the anomaly is judged on successful runs)...
    await store.putRun(backupRun(now - 28 * HOUR, { stats: { files: 10_000, bytesStored: 12 * MiB } }));
    // ...and last night's, which could not reach the repository.
    await store.putRun(backupRun(lastNight, { status: 'failed', stages: [{ name: 'snapshot', status: 'failed', counters: {}, error: { code: 'REPO_LOCKED', message: 'repository locked by prune on nas-01 since 01:12' } }] }));
    // Drills: 3 minutes, weekly, then 7m12s, then one that failed validation.
    for (const d of weeklyDrills(4, () => 3 * MINUTE, now - 14 * DAY)) await store.putDrill(d);
    await store.putDrill(drill(now - 7 * DAY, 7 * MINUTE + 12 * SECOND));
    await store.putDrill(drill(now - 2 * HOUR, undefined, { reason: 'validate: /srv/data/orders/2026-03.csv differs from the snapshot (pack 3f2a9c0d damaged)' }));

    const clock = new FakeClock(NOW);
    const notifier = recorder();
    for (let i = 0; i < 4; i++) {
      await evaluateAlerts({ runbook: testRunbook(), store, clock, notifier });
      clock.advance(HOUR);
    }
    clock.advance(-HOUR);
    const open = await store.listAlerts({ status: 'open' });
    expect(new Set(open.map((a) => a.rule))).toEqual(new Set(['failed-run', 'stale', 'verify-failed', 'drill-failed', 'rto-over-target', 'rto-regression', 'anomaly']));
    expect(notifier.calls).toHaveLength(open.length);
    checkGolden('evaluate-every-rule', open.sort((a, b) => a.key.localeCompare(b.key)).map((a) => renderAlertLine(a, clock.now())));
  });
});

describe('evaluateAll', () => {
  it('evaluates every runbook, and one runbook failing does not stop the others', async () => {
    const store = new MemoryStore();
    await store.putRun(backupRun(Date.parse(NOW) - 27 * HOUR));
    await store.putRun({ ...backupRun(Date.parse(NOW) - HOUR), runbook: 'web' });
    const flaky = new Proxy(store, {
      get(target, name) {
        if (name === 'listRuns') {
          return async (o?: { runbook?: string }) => {
            if (o?.runbook === 'broken') throw new Error('state file unreadable');
            return target.listRuns(o);
          };
        }
        const value: unknown = Reflect.get(target, name);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Store;
    const notifier = recorder();
    const out = await evaluateAll([testRunbook({ name: 'broken' }), testRunbook(), testRunbook({ name: 'web' })], { store: flaky, clock: new FakeClock(NOW), notifier });
    expect(out.raised.map((a) => a.key)).toEqual(['stale:app-data']);
    expect(out.errors).toEqual([{ runbook: 'broken', source: 'store', message: 'state file unreadable' }]);
  });
});

describe('evaluateAlerts on a long history', () => {
  it('reads at most what the JSON store keeps per runbook (200 runs, 100 drills), however much the store holds', async () => {
    const store = new MemoryStore({ limits: { runsPerRunbook: 10_000 } });
    for (let i = 0; i < 250; i++) await store.putRun(backupRun(Date.parse(NOW) - (i + 1) * HOUR));
    const asked: Record<string, unknown>[] = [];
    const watched = new Proxy(store, {
      get(target, name) {
        const value: unknown = Reflect.get(target, name, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (name === 'listRuns' || name === 'listDrills') asked.push({ ...(args[0] as object) });
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as Store;
    const out = await evaluateAlerts({ runbook: testRunbook(), store: watched, clock: new FakeClock(NOW), notifier: recorder() });
    expect(asked).toEqual([
      { runbook: 'app-data', limit: 200 },
      { runbook: 'app-data', limit: 100 },
    ]);
    // The newest backup is an hour old: nothing to raise.
    expect(out.raised).toEqual([]);
  });
});
