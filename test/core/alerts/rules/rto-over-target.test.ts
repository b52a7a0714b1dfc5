import { describe, expect, it } from 'vitest';
import { rtoOverTargetRule } from '../../../../src/core/alerts/rules/rto-over-target.js';
import { checkGolden, drill, MINUTE, ruleContext, scenarioLines, SECOND } from '../fixtures.js';

const earlier = drill('2026-03-02T10:00:00Z', 3 * MINUTE);
const slow = drill('2026-03-09T10:00:00Z', 7 * MINUTE + 12 * SECOND);
const failed = drill('2026-03-10T10:00:00Z', undefined, { reason: 'pack 3f2a9c0d11aa is damaged' });

const scenarios = {
  'drill met its target': () => rtoOverTargetRule.evaluate(ruleContext({ drills: [earlier] })),
  'drill took 7m12s, target 5m': () => rtoOverTargetRule.evaluate(ruleContext({ drills: [slow, earlier] })),
  'cold-tier estimate over target': () =>
    rtoOverTargetRule.evaluate(ruleContext({ drills: [drill('2026-03-09T10:00:00Z', 13 * 3_600_000, { tier: 'cold', estimated: true, targetMs: 12 * 3_600_000 })] })),
};

describe('rto-over-target rule', () => {
  it('is silent without drills and when the latest met its target', () => {
    expect(rtoOverTargetRule.evaluate(ruleContext())).toEqual([]);
    expect(scenarios['drill met its target']()).toEqual([]);
  });

  it('warns with the RTO, the target and the slowest phase', () => {
    expect(scenarios['drill took 7m12s, target 5m']()).toMatchObject([
      { key: 'rto-over-target:app-data', severity: 'warning', message: 'drill took 7m12s, RTO target 5m; slowest phase fetch 4m19s', evidence: { drillId: slow.id, rtoMs: 432_000, targetMs: 300_000 } },
    ]);
  });

  it('judges the drill against the target it was measured with', () => {
    expect(rtoOverTargetRule.evaluate(ruleContext({ drills: [drill('2026-03-09T10:00:00Z', 7 * MINUTE, { targetMs: 10 * MINUTE })] }))).toEqual([]);
  });

  it('a failed or running drill measured nothing: the last measurement stands', () => {
    const running = { ...drill('2026-03-10T11:59:00Z', undefined), verdict: 'running' as const };
    expect(rtoOverTargetRule.evaluate(ruleContext({ drills: [running, failed, slow] }))).toHaveLength(1);
    expect(rtoOverTargetRule.evaluate(ruleContext({ drills: [failed, earlier, slow] }))).toEqual([]);
  });

  it('messages match golden/rto-over-target.txt', () => {
    checkGolden('rto-over-target', scenarioLines(Object.fromEntries(Object.entries(scenarios).map(([k, f]) => [k, f()]))));
  });
});
