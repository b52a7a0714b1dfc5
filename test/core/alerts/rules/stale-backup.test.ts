import { describe, expect, it } from 'vitest';
import { staleBackupRule } from '../../../../src/core/alerts/rules/stale-backup.js';
import { backupRun, checkGolden, HOUR, MINUTE, ruleContext, scenarioLines, testRunbook } from '../fixtures.js';

const now = Date.parse('2026-03-10T12:00:00Z');
const good = (hoursAgo: number, spec = {}) => backupRun(now - hoursAgo * HOUR, spec);

const scenarios = {
  'never backed up': () => staleBackupRule.evaluate(ruleContext({ now, runs: [] })),
  'last success 25h ago, RPO 26h': () => staleBackupRule.evaluate(ruleContext({ now, runs: [good(25)] })),
  'last success 27h ago, RPO 26h': () => staleBackupRule.evaluate(ruleContext({ now, runs: [good(27), good(51)] })),
  'last success 27h30m ago behind two failures': () =>
    staleBackupRule.evaluate(ruleContext({ now, runs: [good(3, { status: 'failed' }), good(15, { status: 'failed' }), good(27.5)] })),
  'only failures, the first 30h ago': () => staleBackupRule.evaluate(ruleContext({ now, runs: [good(2, { status: 'failed' }), backupRun(now - 30 * HOUR + MINUTE, { status: 'failed' })] })),
  'last success 3 days ago, RPO 1h': () => staleBackupRule.evaluate(ruleContext({ now, runs: [good(76)], runbook: testRunbook({ rpoMs: HOUR }) })),
};

describe('stale rule', () => {
  it('is silent within the RPO, at the RPO exactly, and critical past it', () => {
    expect(scenarios['last success 25h ago, RPO 26h']()).toEqual([]);
    expect(staleBackupRule.evaluate(ruleContext({ now, runs: [good(26)] }))).toEqual([]);
    expect(staleBackupRule.evaluate(ruleContext({ runs: [good(26)], now: now + 1000 }))).toHaveLength(1);
    const [c] = scenarios['last success 27h ago, RPO 26h']();
    expect(c).toEqual({
      key: 'stale:app-data',
      severity: 'critical',
      message: 'last successful backup 27h ago, RPO 26h',
      evidence: expect.objectContaining({ ageMs: 27 * HOUR, rpoMs: 26 * HOUR }) as unknown,
    });
  });

  it('a partial backup counts as a backup (most of the data is safe; failed-run warns about the rest)', () => {
    expect(staleBackupRule.evaluate(ruleContext({ now, runs: [good(2, { status: 'partial' }), good(40)] }))).toEqual([]);
  });

  it('failed, transfer-pending, cancelled and running runs do not count', () => {
    const runs = [good(1, { status: 'transfer-pending' }), good(2, { status: 'cancelled' }), good(3, { status: 'failed' }), good(30)];
    expect(staleBackupRule.evaluate(ruleContext({ now, runs }))).toHaveLength(1);
  });

  it('measures age to the end of the run, as `status` does', () => {
    // Started 27h ago, ended 25h ago: within the RPO.
    expect(staleBackupRule.evaluate(ruleContext({ now, runs: [good(25, { durationMs: 2 * HOUR })] }))).toEqual([]);
  });

  it('a runbook that never ran warns at once; failed attempts start the RPO clock at the first one', () => {
    expect(scenarios['never backed up']()).toMatchObject([{ severity: 'warning', message: 'no successful backup yet: no backup has run' }]);
    expect(staleBackupRule.evaluate(ruleContext({ now, runs: [good(2, { status: 'failed' })] }))).toEqual([]);
    expect(scenarios['only failures, the first 30h ago']()).toMatchObject([{ severity: 'critical', key: 'stale:app-data' }]);
  });

  it('messages match golden/stale.txt', () => {
    checkGolden('stale', scenarioLines(Object.fromEntries(Object.entries(scenarios).map(([k, f]) => [k, f()]))));
  });
});
