/**
 * The latest drill failed: the data did not come back validated (damaged
 * repository, a failing `drill.check`, a restore command that broke). Critical,
 * with the drill's own reason. Clears when a later drill comes back met or missed;
 * a blocked one (the repository could not be reached) neither raises nor clears it.
 */
import { oneLine } from '../describe.js';
import { alertKey, finishedDrills, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

export const drillFailedRule: AlertRule = {
  name: 'drill-failed',
  evaluate(ctx: RuleContext): AlertCondition[] {
    // A blocked drill (repository unreachable) proved nothing either way: the drill before it decides (drill-blocked.ts speaks for it).
    const drill = finishedDrills(ctx.drills).find((d) => d.verdict !== 'blocked');
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
