import { describe, expect, it } from 'vitest';
import { drillBlockedRule } from '../../../../src/core/alerts/rules/drill-blocked.js';
import { drillFailedRule } from '../../../../src/core/alerts/rules/drill-failed.js';
import { checkGolden, drill, MINUTE, ruleContext, scenarioLines } from '../fixtures.js';

const ok = drill('2026-03-02T10:00:00Z', 3 * MINUTE);
const damaged = drill('2026-03-03T10:00:00Z', undefined, { reason: 'validate: uploads/a.bin does not match the snapshot (1024 bytes restored, 2048 expected)' });
const unreachable = 'the repository could not be reached: list s3://acme-backups/app-data/locks/: S3 is unreachable, throttling or failing (ServiceUnavailable, HTTP 503)';
const blocked = (started: string) => drill(started, undefined, { verdict: 'blocked', reason: unreachable });

const scenarios = {
  'latest drill met': () => drillBlockedRule.evaluate(ruleContext({ drills: [ok] })),
  'S3 down at the drill': () => drillBlockedRule.evaluate(ruleContext({ drills: [blocked('2026-03-09T10:00:00Z'), ok] })),
  'blocked three weeks in a row': () =>
    drillBlockedRule.evaluate(ruleContext({ drills: [blocked('2026-03-09T10:00:00Z'), blocked('2026-03-02T10:00:00Z'), blocked('2026-02-23T10:00:00Z'), ok] })),
};

describe('drill-blocked rule', () => {
  it('is silent without drills and when the latest drill got a verdict', () => {
    expect(drillBlockedRule.evaluate(ruleContext())).toEqual([]);
    expect(scenarios['latest drill met']()).toEqual([]);
    expect(drillBlockedRule.evaluate(ruleContext({ drills: [damaged, blocked('2026-03-01T10:00:00Z')] }))).toEqual([]);
  });

  it('warns (not critical) with the reason when the latest drill could not reach its repository', () => {
    const [c] = scenarios['S3 down at the drill']();
    expect(c).toMatchObject({ key: 'drill-blocked:app-data', severity: 'warning', evidence: { inARow: 1 } });
    expect(c!.message).toContain('HTTP 503');
    expect(scenarios['blocked three weeks in a row']()[0]).toMatchObject({ evidence: { inARow: 3 } });
  });

  it('a running or cancelled drill after it does not clear it', () => {
    const running = { ...drill('2026-03-10T11:59:00Z', undefined), verdict: 'running' as const };
    const cancelled = drill('2026-03-10T11:00:00Z', undefined, { reason: 'cancelled' });
    expect(drillBlockedRule.evaluate(ruleContext({ drills: [running, cancelled, blocked('2026-03-09T10:00:00Z')] }))).toHaveLength(1);
  });

  it('a blocked drill neither raises drill-failed nor clears it: the drill before it decides', () => {
    expect(drillFailedRule.evaluate(ruleContext({ drills: [blocked('2026-03-09T10:00:00Z'), ok] }))).toEqual([]);
    expect(drillFailedRule.evaluate(ruleContext({ drills: [blocked('2026-03-09T10:00:00Z'), damaged] }))).toMatchObject([{ key: 'drill-failed:app-data' }]);
  });

  it('messages match golden/drill-blocked.txt', () => {
    checkGolden('drill-blocked', scenarioLines(Object.fromEntries(Object.entries(scenarios).map(([k, f]) => [k, f()]))));
  });
});
