import { describe, expect, it } from 'vitest';
import { drillFailedRule } from '../../../../src/core/alerts/rules/drill-failed.js';
import { checkGolden, drill, MINUTE, ruleContext, scenarioLines } from '../fixtures.js';

const ok = drill('2026-03-02T10:00:00Z', 3 * MINUTE);
const damaged = drill('2026-03-09T10:00:00Z', undefined, {
  reason: 'validate: 2 files differ from the snapshot: /srv/data/orders/2026-03.csv (pack 3f2a9c0d damaged), /srv/data/orders/2026-02.csv (pack 3f2a9c0d damaged)',
});
const checkFailed = drill('2026-03-09T10:00:00Z', undefined, {
  reason: 'drill.check exited with 1:\n  orders: expected 10482 rows, found 0\n  customers: 311 rows\n',
});

const scenarios = {
  'latest drill met': () => drillFailedRule.evaluate(ruleContext({ drills: [ok] })),
  'damaged repository': () => drillFailedRule.evaluate(ruleContext({ drills: [damaged, ok] })),
  'check failed (multi-line output)': () => drillFailedRule.evaluate(ruleContext({ drills: [checkFailed, ok] })),
  'no reason recorded': () => drillFailedRule.evaluate(ruleContext({ drills: [drill('2026-03-09T10:00:00Z', undefined)] })),
};

describe('drill-failed rule', () => {
  it('is silent without drills and when the latest passed', () => {
    expect(drillFailedRule.evaluate(ruleContext())).toEqual([]);
    expect(scenarios['latest drill met']()).toEqual([]);
  });

  it('is critical with the drill’s reason, on one line', () => {
    const [c] = scenarios['damaged repository']();
    expect(c).toMatchObject({ key: 'drill-failed:app-data', severity: 'critical', evidence: { drillId: damaged.id } });
    expect(c!.message).toContain('/srv/data/orders/2026-03.csv');
    expect(scenarios['check failed (multi-line output)']()[0]!.message).not.toContain('\n');
  });

  it('a running drill does not clear it; a passing one (met or missed) does', () => {
    const running = { ...drill('2026-03-10T11:59:00Z', undefined), verdict: 'running' as const };
    expect(drillFailedRule.evaluate(ruleContext({ drills: [running, damaged] }))).toHaveLength(1);
    expect(drillFailedRule.evaluate(ruleContext({ drills: [drill('2026-03-10T10:00:00Z', 9 * MINUTE), damaged] }))).toEqual([]);
  });

  it('a cancelled drill is no verdict: the one before it decides', () => {
    const cancelled = drill('2026-03-10T11:00:00Z', undefined, { reason: 'cancelled' });
    expect(drillFailedRule.evaluate(ruleContext({ drills: [cancelled, ok] }))).toEqual([]);
    expect(drillFailedRule.evaluate(ruleContext({ drills: [cancelled, damaged] }))).toHaveLength(1);
  });

  it('messages match golden/drill-failed.txt', () => {
    checkGolden('drill-failed', scenarioLines(Object.fromEntries(Object.entries(scenarios).map(([k, f]) => [k, f()]))));
  });
});
