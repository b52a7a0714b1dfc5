/**
 * evaluateAlerts and the outbox: which transitions it writes, with which
 * deliveries, on fake time (repeat, escalate, acknowledge, resolve), and what
 * the timer counts.
 */
import { describe, expect, it } from 'vitest';
import { evaluateAlerts, evaluateAll } from '../../../src/core/alerts/evaluate.js';
import { silentNotifier } from '../../../src/core/alerts/notifier.js';
import { FakeClock } from '../../../src/core/clock.js';
import { defaultConfig, type LifeboatConfig } from '../../../src/core/config/types.js';
import type { Runbook } from '../../../src/core/runbook/types.js';
import { MemoryStore } from '../../../src/core/store/memory-store.js';
import type { DeliveryRecord } from '../../../src/core/store/records.js';
import { backupRun, HOUR, MINUTE, NOW, testRunbook } from './fixtures.js';

const config: LifeboatConfig = {
  notify: {},
  alerts: { repeatMs: 4 * HOUR, notify: [{ sink: 'oncall-slack' }, { sink: 'pager', severity: 'critical' }] },
};

/** `transition sink` per delivery, oldest first. */
function owed(deliveries: readonly DeliveryRecord[]): string[] {
  return [...deliveries].sort((a, b) => a.seq - b.seq || a.sink.localeCompare(b.sink)).map((d) => `${d.seq} ${d.transition} ${d.sink}`);
}

async function setup(options: { runbook?: Runbook; config?: LifeboatConfig; runs?: ReturnType<typeof backupRun>[] } = {}) {
  const store = new MemoryStore();
  for (const r of options.runs ?? [backupRun(Date.parse(NOW) - 27 * HOUR)]) await store.putRun(r);
  const clock = new FakeClock(NOW);
  const runbook = options.runbook ?? testRunbook();
  const cfg = 'config' in options ? options.config : config;
  const evaluate = (trigger?: 'run' | 'timer') => evaluateAlerts({ runbook, store, clock, notifier: silentNotifier, config: cfg, trigger });
  const deliveries = async () => owed(await store.listDeliveries());
  return { store, clock, runbook, evaluate, deliveries };
}

const failedRun = (ms: number) => backupRun(ms, { status: 'failed', stages: [], error: { code: 'BACKEND_IO', message: 'disk full' } });

describe('evaluateAlerts writes transitions to the outbox', () => {
  it('a raised critical alert owes every sink its severity routes to, written with the alert', async () => {
    const { store, evaluate, deliveries } = await setup();
    const out = await evaluate();
    expect(out.transitions.map((t) => `${t.transition} ${t.alert.key}`)).toEqual(['raised stale:app-data']);
    expect(await deliveries()).toEqual(['1 raised oncall-slack', '1 raised pager']);
    const [d] = await store.listDeliveries();
    expect(d).toMatchObject({ alertKey: 'stale:app-data', runbook: 'app-data', status: 'pending', attempts: 0, createdAt: NOW, nextAttemptAt: NOW, alert: { key: 'stale:app-data', severity: 'critical' } });
  });

  it('a warning skips the critical-only route', async () => {
    const { evaluate, deliveries } = await setup({ runs: [backupRun(Date.parse(NOW) - HOUR, { status: 'partial' })] });
    await evaluate();
    expect(await deliveries()).toEqual(['1 raised oncall-slack']);
  });

  it('seen again, the same condition owes nothing; the timer does not count it again', async () => {
    const { store, clock, evaluate, deliveries } = await setup();
    await evaluate();
    clock.advance(MINUTE);
    await evaluate('timer');
    clock.advance(MINUTE);
    await evaluate('timer');
    expect(await store.getAlert('stale:app-data')).toMatchObject({ count: 1, lastSeen: new Date(Date.parse(NOW) + 2 * MINUTE).toISOString() });
    await evaluate('run');
    expect(await store.getAlert('stale:app-data')).toMatchObject({ count: 2 });
    expect(await deliveries()).toEqual(['1 raised oncall-slack', '1 raised pager']);
  });

  it("serve's minute check does not count a CLI run's failure twice (evaluateAll is the timer)", async () => {
    const { store, clock, runbook, evaluate } = await setup({ runs: [failedRun(Date.parse(NOW) - MINUTE)] });
    await evaluate('run');
    for (let i = 0; i < 3; i++) {
      clock.advance(MINUTE);
      await evaluateAll([runbook], { store, clock, notifier: silentNotifier, config });
    }
    expect(await store.getAlert('failed-run:app-data')).toMatchObject({ count: 1, status: 'open' });
  });

  it('two evaluations of one alert at once (a CLI run and serve\'s timer) raise it once', async () => {
    const { store, evaluate, deliveries } = await setup({ runs: [failedRun(Date.parse(NOW) - MINUTE)] });
    const [run, timer] = await Promise.all([evaluate('run'), evaluate('timer')]);
    expect([...run.raised, ...timer.raised].map((a) => a.key)).toEqual(['failed-run:app-data']);
    expect(await deliveries()).toEqual(['1 raised oncall-slack', '1 raised pager']);
    expect(await store.getAlert('failed-run:app-data')).toMatchObject({ count: 1, status: 'open' });
  });

  it('an open, unacknowledged critical alert is repeated after the repeat interval, counted from the last time people were told', async () => {
    const { store, clock, evaluate, deliveries } = await setup();
    await evaluate();
    clock.advance(4 * HOUR - MINUTE);
    await evaluate('timer');
    expect(await deliveries()).toHaveLength(2);
    clock.advance(MINUTE);
    const out = await evaluate('timer');
    expect(out.transitions.map((t) => t.transition)).toEqual(['repeated']);
    expect(await deliveries()).toEqual(['1 raised oncall-slack', '1 raised pager', '2 repeated oncall-slack', '2 repeated pager']);
    expect((await store.getAlert('stale:app-data'))!.lastNotifiedAt).toBe(clock.now().toISOString());
    clock.advance(2 * HOUR);
    await evaluate('timer');
    expect(await deliveries()).toHaveLength(4);
    clock.advance(2 * HOUR);
    await evaluate('timer');
    expect(await deliveries()).toHaveLength(6);
  });

  it("the runbook's repeat interval wins over lifeboat.yaml's", async () => {
    const base = testRunbook();
    const runbook: Runbook = { ...base, alerts: { ...base.alerts, repeatMs: HOUR } };
    const { clock, evaluate, deliveries } = await setup({ runbook });
    await evaluate();
    clock.advance(HOUR);
    await evaluate('timer');
    expect(await deliveries()).toContain('2 repeated pager');
  });

  it('is not repeated once acknowledged, nor when only a warning', async () => {
    const { store, clock, evaluate, deliveries } = await setup();
    await evaluate();
    const open = (await store.getAlert('stale:app-data'))!;
    await store.putAlert({ ...open, ackedBy: 'alice', ackedAt: NOW });
    clock.advance(9 * HOUR);
    await evaluate('timer');
    expect(await deliveries()).toHaveLength(2);

    const warn = await setup({ runs: [backupRun(Date.parse(NOW) - HOUR, { status: 'partial' })] });
    await warn.evaluate();
    warn.clock.advance(9 * HOUR);
    await warn.evaluate('timer');
    expect(await warn.deliveries()).toEqual(['1 raised oncall-slack']);
  });

  it('a rise in severity is escalated to every sink the new severity routes to, unless acknowledged', async () => {
    const t = Date.parse(NOW) - HOUR;
    const { store, clock, evaluate, deliveries } = await setup({ runs: [backupRun(t, { status: 'partial' })] });
    await evaluate();
    await store.putRun(failedRun(t + 30 * MINUTE));
    clock.advance(MINUTE);
    const out = await evaluate();
    expect(out.transitions.map((tr) => tr.transition)).toEqual(['escalated']);
    expect(await deliveries()).toEqual(['1 raised oncall-slack', '2 escalated oncall-slack', '2 escalated pager']);
    expect((await store.getAlert('failed-run:app-data'))!.lastNotifiedAt).toBe(clock.now().toISOString());

    // Down to a warning and up again, acknowledged meanwhile: nothing more.
    await store.putRun(backupRun(t + 40 * MINUTE, { status: 'partial' }));
    await evaluate();
    const acked = (await store.getAlert('failed-run:app-data'))!;
    await store.putAlert({ ...acked, ackedBy: 'bob', ackedAt: clock.now().toISOString() });
    await store.putRun(failedRun(t + 50 * MINUTE));
    await evaluate();
    expect(await deliveries()).toHaveLength(3);
  });

  it('a resolution goes to every sink told of the alert, even one its current severity no longer routes to', async () => {
    const t = Date.parse(NOW) - HOUR;
    const { store, evaluate, deliveries } = await setup({ runs: [failedRun(t)] });
    await evaluate();
    await store.putRun(backupRun(t + 10 * MINUTE, { status: 'partial' }));
    await evaluate(); // now a warning: the pager's route no longer takes it
    await store.putRun(backupRun(t + 20 * MINUTE));
    const out = await evaluate();
    expect(out.resolved.map((a) => a.key)).toEqual(['failed-run:app-data']);
    expect(await deliveries()).toEqual(['1 raised oncall-slack', '1 raised pager', '2 resolved oncall-slack', '2 resolved pager']);
  });

  it("a runbook's own routes win; with none anywhere, today's alerts.slack gets the implicit `slack` sink", async () => {
    const base = testRunbook();
    const own = await setup({ runbook: { ...base, alerts: { ...base.alerts, notify: [{ sink: 'hook' }] } } });
    await own.evaluate();
    expect(await own.deliveries()).toEqual(['1 raised hook']);

    const legacy = await setup({ runbook: { ...base, alerts: { ...base.alerts, slack: '#backups' } }, config: defaultConfig });
    await legacy.evaluate();
    expect(await legacy.deliveries()).toEqual(['1 raised slack']);

    const nowhere = await setup({ config: undefined });
    const out = await nowhere.evaluate();
    expect(out.raised).toHaveLength(1);
    expect(await nowhere.deliveries()).toEqual([]);
  });
});
