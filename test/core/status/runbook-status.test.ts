/**
 * runbookStatus (src/core/status/runbook-status.ts) on its own: which drill is
 * "the last drill". The status command's table and cold estimates are tested
 * in test/commands/status.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Runbook } from '../../../src/core/runbook/types.js';
import { runbookStatus } from '../../../src/core/status/runbook-status.js';
import type { DrillRecord } from '../../../src/core/store/records.js';

const now = new Date('2026-03-10T12:00:00Z');
const runbook = { name: 'web', objectives: { rpoMs: 3_600_000, rtoMs: 900_000 }, repository: {} } as unknown as Runbook;

function drill(id: string, startedAt: string, fields: Partial<DrillRecord>): DrillRecord {
  return { id, runbook: 'web', snapshotId: 'snap', tier: 'hot', startedAt, endedAt: startedAt, verdict: 'met', rtoMs: 60_000, targetMs: 900_000, phases: [], actor: { face: 'test', user: 'alice' }, ...fields };
}

describe('runbookStatus: the last drill', () => {
  it('is the newest drill with a verdict: a running drill has none yet, a blocked one never reached the data', () => {
    const drills = [
      drill('running', '2026-03-10T11:00:00Z', { verdict: 'running', rtoMs: undefined }),
      drill('blocked', '2026-03-10T10:00:00Z', { verdict: 'blocked', rtoMs: undefined }),
      drill('met', '2026-03-10T09:00:00Z', { rtoMs: 42_000 }),
      drill('older', '2026-03-10T08:00:00Z', { rtoMs: 50_000 }),
    ];
    const status = runbookStatus({ name: 'web', runbook }, { runs: [], drills, alerts: [] }, now);
    expect(status.lastDrill?.id).toBe('met');
    expect(status.hotRto).toMatchObject({ verdict: 'met', rtoMs: 42_000, drillId: 'met' });
    expect(status.rtoTrendMs).toEqual([50_000, 42_000]);
    expect(status.rtoTargetMs).toBe(900_000);
  });

  it('a failed drill is the last drill, with no RTO', () => {
    const drills = [drill('failed', '2026-03-10T10:00:00Z', { verdict: 'failed', rtoMs: undefined, reason: 'check exited with 1' }), drill('met', '2026-03-10T09:00:00Z', {})];
    const status = runbookStatus({ name: 'web', runbook }, { runs: [], drills, alerts: [] }, now);
    expect(status.hotRto).toMatchObject({ verdict: 'failed', drillId: 'failed' });
    expect(status.hotRto?.rtoMs).toBeUndefined();
  });
});
