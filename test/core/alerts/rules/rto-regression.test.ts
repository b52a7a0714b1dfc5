import { describe, expect, it } from 'vitest';
import { rtoRegressionRule } from '../../../../src/core/alerts/rules/rto-regression.js';
import { checkGolden, drill, MINUTE, ruleContext, scenarioLines, SECOND, weeklyDrills } from '../fixtures.js';

// Earlier drills: 2m50s, 3m05s, 3m20s, 3m00s, 3m10s (median 3m05s).
const usual = [170, 185, 200, 180, 190].map((s) => s * SECOND);
const series = (latestMs: number, earlier = usual) => weeklyDrills(earlier.length + 1, (i) => (i === 0 ? latestMs : earlier[i - 1]!));
const evaluate = (drills: ReturnType<typeof series>) => rtoRegressionRule.evaluate(ruleContext({ drills }));

const scenarios = {
  'latest 3m15s, like the others': () => evaluate(series(195 * SECOND)),
  'latest 4m40s: 1.5x the median': () => evaluate(series(280 * SECOND)),
  'latest 7m12s: over target and rising': () => evaluate(series(7 * MINUTE + 12 * SECOND)),
  'only 2 earlier drills': () => evaluate(series(7 * MINUTE, usual.slice(0, 2))),
};

describe('rto-regression rule', () => {
  it('is silent near the median, and at 1.5× exactly', () => {
    expect(scenarios['latest 3m15s, like the others']()).toEqual([]);
    expect(evaluate(series(277.5 * SECOND))).toEqual([]);
  });

  it('warns above 1.5× the median of earlier drills, naming that history', () => {
    const [c] = scenarios['latest 4m40s: 1.5x the median']();
    expect(c).toMatchObject({ key: 'rto-regression:app-data', severity: 'warning', evidence: { median: 185 * SECOND, history: 5 } });
    expect(c!.message).toContain('the 5 earlier drills took 2m50s–3m20s (median 3m05s)');
  });

  it('is silent until 3 earlier drills exist', () => {
    expect(scenarios['only 2 earlier drills']()).toEqual([]);
    expect(evaluate(series(7 * MINUTE, usual.slice(0, 3)))).toHaveLength(1);
  });

  it('ignores a doubling of a few seconds (less than 10 s more)', () => {
    expect(evaluate(series(9 * SECOND, [4, 4, 5, 4].map((s) => s * SECOND)))).toEqual([]);
    expect(evaluate(series(20 * SECOND, [4, 4, 5, 4].map((s) => s * SECOND)))).toHaveLength(1);
  });

  it('compares like with like: failed drills and other tiers are not history', () => {
    const cold = usual.map((ms, i) => drill(Date.parse('2026-02-01T10:00:00Z') - i * 86_400_000, ms * 10, { tier: 'cold', estimated: true, targetMs: 12 * 3_600_000 }));
    const failed = drill('2026-03-09T12:00:00Z', undefined, { reason: 'check failed' });
    expect(rtoRegressionRule.evaluate(ruleContext({ drills: [failed, ...series(280 * SECOND, usual.slice(0, 2)), ...cold] }))).toEqual([]);
    expect(rtoRegressionRule.evaluate(ruleContext({ drills: [failed, ...series(280 * SECOND)] }))).toHaveLength(1);
  });

  it('messages match golden/rto-regression.txt', () => {
    checkGolden('rto-regression', scenarioLines(Object.fromEntries(Object.entries(scenarios).map(([k, f]) => [k, f()]))));
  });
});
