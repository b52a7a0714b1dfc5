import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { defaultConfig, type LifeboatConfig } from '../../../src/core/config/types.js';
import { retryDelayMs } from '../../../src/core/notify/backoff.js';
import { alertRoutes, deliveriesFor, IMPLICIT_SLACK_SINK, sinksFor, toldSinks } from '../../../src/core/notify/routing.js';
import type { AlertRoute } from '../../../src/core/runbook/types.js';
import type { AlertRecord } from '../../../src/core/store/records.js';

const runbook = (alerts: { slack?: string; notify?: readonly AlertRoute[] }) => ({ alerts: { anomaly: { window: 10, minHistory: 5, threshold: 3.5 }, ...alerts } });
const config = (notify: AlertRoute[]): LifeboatConfig => ({ ...defaultConfig, alerts: { ...defaultConfig.alerts, notify } });
const alert: AlertRecord = { key: 'stale:app', runbook: 'app', rule: 'stale', severity: 'warning', message: 'm', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:00.000Z', count: 1, status: 'open' };

describe('alert routing', () => {
  it("the runbook's routes, else lifeboat.yaml's, else the implicit Slack sink, else none", () => {
    expect(alertRoutes(runbook({ notify: [{ sink: 'a' }], slack: '#c' }), config([{ sink: 'b' }]))).toEqual([{ sink: 'a' }]);
    expect(alertRoutes(runbook({ slack: '#c' }), config([{ sink: 'b' }]))).toEqual([{ sink: 'b' }]);
    expect(alertRoutes(runbook({ slack: '#c' }), defaultConfig)).toEqual([{ sink: IMPLICIT_SLACK_SINK }]);
    expect(alertRoutes(runbook({ slack: '#c' }), undefined)).toEqual([{ sink: 'slack' }]);
    expect(alertRoutes(runbook({}), undefined)).toEqual([]);
    // An explicit empty list is the runbook saying "nowhere".
    expect(alertRoutes(runbook({ notify: [], slack: '#c' }), config([{ sink: 'b' }]))).toEqual([]);
  });

  it('a bare route takes every severity, `severity: X` takes X and above; each sink once', () => {
    const rb = runbook({ notify: [{ sink: 'chat' }, { sink: 'mail', severity: 'warning' }, { sink: 'pager', severity: 'critical' }, { sink: 'chat', severity: 'critical' }] });
    expect(sinksFor(rb, 'info', undefined)).toEqual(['chat']);
    expect(sinksFor(rb, 'warning', undefined)).toEqual(['chat', 'mail']);
    expect(sinksFor(rb, 'critical', undefined)).toEqual(['chat', 'mail', 'pager']);
  });

  it('a transition owes one pending delivery per sink, due now, each with its own id; closing ones also go to sinks already told', () => {
    const clock = new FakeClock('2026-01-01T00:05:00Z');
    const rb = runbook({ notify: [{ sink: 'chat' }, { sink: 'pager', severity: 'critical' }] });
    const raised = deliveriesFor({ alert, transition: 'raised', runbook: rb, clock, told: ['pager'] });
    expect(raised.map((d) => d.sink)).toEqual(['chat']);
    expect(raised[0]).toMatchObject({ alertKey: 'stale:app', runbook: 'app', transition: 'raised', status: 'pending', attempts: 0, createdAt: '2026-01-01T00:05:00.000Z', nextAttemptAt: '2026-01-01T00:05:00.000Z', alert });
    const resolved = deliveriesFor({ alert, transition: 'resolved', runbook: rb, clock, told: ['pager', 'chat'] });
    expect(resolved.map((d) => d.sink)).toEqual(['chat', 'pager']);
    expect(new Set(resolved.map((d) => d.id)).size).toBe(2);
  });

  it('sinks told of an alert are those of the same raising (same firstSeen)', () => {
    const d = (sink: string, firstSeen: string) => ({ ...deliveriesFor({ alert: { ...alert, firstSeen }, transition: 'raised', runbook: runbook({ notify: [{ sink }] }), clock: new FakeClock() })[0]! });
    expect(toldSinks([d('a', alert.firstSeen), d('b', '2025-01-01T00:00:00.000Z'), d('a', alert.firstSeen)], alert)).toEqual(['a']);
  });
});

describe('retry backoff', () => {
  it('5 s doubling to a 15 min cap, ±20%', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 8, 9, 10, 50].map((n) => retryDelayMs(n, mid))).toEqual([5_000, 10_000, 20_000, 40_000, 640_000, 900_000, 900_000, 900_000]);
    expect(retryDelayMs(1, () => 0)).toBe(4_000);
    expect(retryDelayMs(1, () => 0.999999)).toBe(6_000);
    expect(retryDelayMs(20, () => 0)).toBe(720_000);
    expect(retryDelayMs(20, () => 0.999999)).toBe(1_080_000);
  });
});
