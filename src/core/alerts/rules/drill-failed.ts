/**
 * The latest drill failed: the data did not come back validated (damaged
 * repository, a failing `drill.check`, a restore command that broke). Critical,
 * with the drill's own reason. Clears when a later drill comes back met or missed.
 */
import { oneLine } from '../describe.js';
import { alertKey, finishedDrills, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

export const drillFailedRule: AlertRule = {
  name: 'drill-failed',
  evaluate(ctx: RuleContext): AlertCondition[] {
    const drill = finishedDrills(ctx.drills)[0];
    if (!drill || drill.verdict !== 'failed') return [];
    return [
      {
        key: alertKey('drill-failed', ctx.runbook.name),
        severity: 'critical',
        message: `restore drill of snapshot ${drill.snapshotId.slice(0, 8)} failed: ${drill.reason ? oneLine(drill.reason, 400) : 'no reason recorded'}`,
        evidence: { drillId: drill.id, snapshotId: drill.snapshotId, startedAt: drill.startedAt, reason: drill.reason, phases: drill.phases.map((p) => p.name) },
      },
    ];
  },
};
