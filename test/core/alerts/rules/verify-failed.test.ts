import { describe, expect, it } from 'vitest';
import { verifyFailedRule } from '../../../../src/core/alerts/rules/verify-failed.js';
import type { RunRecord, StageRecord } from '../../../../src/core/store/records.js';
import { backupRun, checkGolden, nightly, ruleContext, scenarioLines } from '../fixtures.js';

const problems = [
  'pack 3f2a9c0d11aa: content does not match its name',
  'pack 77b1e0c4a9d2 written by this run is missing: ENOENT: no such file or directory',
];
const verify = (status: StageRecord['status'], extra: Partial<StageRecord> = {}): StageRecord => ({ name: 'verify', status, counters: {}, ...extra });
const withVerify = (ended: string, v: StageRecord, spec: Partial<RunRecord> = {}) =>
  backupRun(ended, { stages: [{ name: 'snapshot', status: 'succeeded', counters: {} }, v], ...spec });

const damaged = withVerify('2026-03-10T02:00:00Z', verify('failed', { counters: { problems: 2, packsRead: 12, packsWritten: 3 }, error: { code: 'REPO_CORRUPT', message: problems.join('; ') } }), { status: 'failed' });

const scenarios = {
  'verification passed': () => verifyFailedRule.evaluate(ruleContext({ runs: nightly(3) })),
  'verification found 2 problems': () => verifyFailedRule.evaluate(ruleContext({ runs: [damaged, ...nightly(3, () => ({}), Date.parse('2026-03-09T02:00:00Z'))] })),
  'a scheduled verify run failed without details': () =>
    verifyFailedRule.evaluate(ruleContext({ runs: [{ ...withVerify('2026-03-10T04:00:00Z', verify('failed')), kind: 'verify', id: 'verify-0400' }, ...nightly(2)] })),
};

describe('verify-failed rule', () => {
  it('is silent when the latest verification passed', () => {
    expect(scenarios['verification passed']()).toEqual([]);
  });

  it('is critical and names the problems', () => {
    const [c] = scenarios['verification found 2 problems']();
    expect(c).toMatchObject({ key: 'verify-failed:app-data', severity: 'critical', evidence: { runId: damaged.id, problems: 2 } });
    expect(c!.message).toContain('3f2a9c0d11aa: content does not match its name');
  });

  it('a run that did not verify (transfer-pending, failed earlier) neither raises nor clears it', () => {
    const pending = withVerify('2026-03-10T11:00:00Z', verify('skipped'), { status: 'transfer-pending' });
    const noVerify = backupRun('2026-03-10T10:00:00Z', { status: 'failed', stages: [{ name: 'snapshot', status: 'failed', counters: {} }] });
    expect(verifyFailedRule.evaluate(ruleContext({ runs: [pending, noVerify, damaged] }))).toHaveLength(1);
    expect(verifyFailedRule.evaluate(ruleContext({ runs: [pending, noVerify, ...nightly(2)] }))).toEqual([]);
  });

  it('clears once a later run verifies cleanly', () => {
    expect(verifyFailedRule.evaluate(ruleContext({ runs: [backupRun('2026-03-10T11:00:00Z'), damaged] }))).toEqual([]);
  });

  it('messages match golden/verify-failed.txt', () => {
    checkGolden('verify-failed', scenarioLines(Object.fromEntries(Object.entries(scenarios).map(([k, f]) => [k, f()]))));
  });
});
